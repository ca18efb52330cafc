// The safetensors writer: header padded to 8 bytes (so tensor data is aligned), atomic output, tensors
// given as bytes or produced one at a time as the file reaches them.
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "io/atomic_file.hpp"
#include "quantscope/error.hpp"
#include "quantscope/safetensors.hpp"

namespace qs {

void safetensors_write(const std::filesystem::path& path, const std::vector<TensorWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string file = path.string();
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const TensorWrite& t : tensors) {
    const std::string where = file + ": tensor \"" + t.name + "\": ";
    if (t.name.empty() || t.name == "__metadata__") throw Error(ErrorKind::Invalid, where + "reserved or empty name");
    if (!names.insert(t.name).second) throw Error(ErrorKind::Invalid, where + "written twice");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) throw Error(ErrorKind::Invalid, where + "negative dimension");
      numel *= uint64_t(d);
    }
    const uint64_t bytes = (numel * uint64_t(dtype_bits(t.dtype)) + 7) / 8;
    if (!t.produce && bytes != t.data.size())
      throw Error(ErrorKind::Invalid, where + std::to_string(t.data.size()) + " bytes given, the shape needs " +
                                          std::to_string(bytes));
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    sizes.push_back(bytes);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_len = text.size();
  file_write_atomic(path, [&](const ByteSink& sink) {
    sink(&header_len, sizeof header_len);  // little-endian host (asserted by the reader)
    sink(text.data(), text.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      const TensorWrite& t = tensors[i];
      if (!t.produce) {
        sink(t.data.data(), t.data.size());
        continue;
      }
      uint64_t written = 0;
      t.produce([&](std::span<const std::byte> piece) {
        sink(piece.data(), piece.size());
        written += piece.size();
      });
      if (written != sizes[i])
        throw Error(ErrorKind::Invalid, file + ": tensor \"" + t.name + "\": " + std::to_string(written) +
                                            " bytes produced, the shape needs " + std::to_string(sizes[i]));
    }
  });
}

}  // namespace qs
