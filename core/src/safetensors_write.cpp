// The safetensors writer: header padded to 8 bytes (so tensor data is aligned), atomic output.
#include <nlohmann/json.hpp>
#include <set>

#include "atomic_file.hpp"
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
    if (bytes != t.data.size())
      throw Error(ErrorKind::Invalid, where + std::to_string(t.data.size()) + " bytes given, the shape needs " +
                                          std::to_string(bytes));
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_len = text.size();
  file_write_atomic(path, [&](const ByteSink& sink) {
    sink(&header_len, sizeof header_len);  // little-endian host (asserted by the reader)
    sink(text.data(), text.size());
    for (const TensorWrite& t : tensors) sink(t.data.data(), t.data.size());
  });
}

}  // namespace qs
