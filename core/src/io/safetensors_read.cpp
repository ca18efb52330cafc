// The safetensors reader: maps the file, validates the whole header against the format (see
// ../shared/reference/formats.md) and hands out zero-copy views of tensor data.
#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/json_strict.hpp"
#include "io/mapped_file.hpp"
#include "quantscope/error.hpp"
#include "quantscope/safetensors.hpp"

namespace qs {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr uint64_t kMaxHeaderBytes = 100'000'000;

using json = nlohmann::json;

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string file = path.string();
  SafetensorsFile st;
  st.path_ = path;
  st.map_ = MappedFile::open(path);
  const uint64_t size = st.map_->size();
  if (size < 8) throw Error(ErrorKind::Format, file + ": file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t header_len;
  std::memcpy(&header_len, st.map_->data(), 8);
  if (header_len > kMaxHeaderBytes)
    throw Error(ErrorKind::Format, file + ": header length " + std::to_string(header_len) + " exceeds the limit of " +
                                       std::to_string(kMaxHeaderBytes) + " bytes");
  if (header_len > size - 8)
    throw Error(ErrorKind::Format, file + ": header length " + std::to_string(header_len) + " runs past the end of the file (" +
                                       std::to_string(size) + " bytes)");
  const std::string text(reinterpret_cast<const char*>(st.map_->data() + 8), header_len);
  if (text.empty() || text.front() != '{') throw Error(ErrorKind::Format, file + ": header does not start with '{'");
  // The format forbids duplicate keys, which nlohmann would silently resolve to the last one.
  const json header = json_parse_strict<json>(text, file + ": header");
  if (!header.is_object()) throw Error(ErrorKind::Format, file + ": header is not a JSON object");
  st.data_offset_ = 8 + header_len;
  const uint64_t buffer = size - st.data_offset_;

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw Error(ErrorKind::Format, file + ": __metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          throw Error(ErrorKind::Format, file + ": __metadata__ value of \"" + key + "\" is not a string");
        st.metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = file + ": tensor \"" + name + "\": ";
    if (!entry.is_object()) throw Error(ErrorKind::Format, where + "entry is not an object");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(key)) throw Error(ErrorKind::Format, where + "missing \"" + key + "\"");
    const json& jd = entry.at("dtype");
    const json& js = entry.at("shape");
    const json& jo = entry.at("data_offsets");
    if (!jd.is_string()) throw Error(ErrorKind::Format, where + "\"dtype\" is not a string");
    if (!js.is_array()) throw Error(ErrorKind::Format, where + "\"shape\" is not an array");
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      throw Error(ErrorKind::Format, where + "\"data_offsets\" is not a pair of non-negative integers");
    TensorInfo info;
    info.name = name;
    const auto dtype = dtype_parse(jd.get<std::string>());
    if (!dtype) throw Error(ErrorKind::Format, where + "unknown dtype \"" + jd.get<std::string>() + "\"");
    info.dtype = *dtype;
    unsigned __int128 numel = 1;
    for (const json& d : js) {
      if (!d.is_number_integer()) throw Error(ErrorKind::Format, where + "shape entry " + d.dump() + " is not an integer");
      if (d.is_number_unsigned() ? false : d.get<int64_t>() < 0)
        throw Error(ErrorKind::Format, where + "negative dimension " + d.dump() + " in the shape");
      if (d.is_number_unsigned() && d.get<uint64_t>() > uint64_t(INT64_MAX))
        throw Error(ErrorKind::Format, where + "dimension " + d.dump() + " is too large");
      info.shape.push_back(d.get<int64_t>());
      numel *= uint64_t(info.shape.back());
      if (numel > (unsigned __int128)(UINT64_MAX)) numel = (unsigned __int128)(UINT64_MAX) + 1;  // saturate
    }
    info.begin = jo[0].get<uint64_t>();
    info.end = jo[1].get<uint64_t>();
    const unsigned __int128 expected = (numel * unsigned(dtype_bits(info.dtype)) + 7) / 8;
    if (info.end < info.begin)
      throw Error(ErrorKind::Format, where + "data_offsets end " + std::to_string(info.end) + " is before begin " +
                                         std::to_string(info.begin));
    if (expected != info.end - info.begin)
      throw Error(ErrorKind::Format, where + "byte range [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                                         ") holds " + std::to_string(info.end - info.begin) + " bytes, shape " + js.dump() +
                                         " of " + std::string(dtype_name(info.dtype)) + " needs " +
                                         (expected > UINT64_MAX ? std::string("more than 2^64")
                                                                : std::to_string(uint64_t(expected))));
    if (info.end > buffer)
      throw Error(ErrorKind::Format, where + "byte range [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                                         ") lies outside the " + std::to_string(buffer) + "-byte data buffer");
    st.tensors_.push_back(std::move(info));
  }

  // Ranges must tile the buffer exactly: no overlaps, no holes, no unused tail.
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : st.tensors_) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : sorted) {
    if (t->begin < covered)
      throw Error(ErrorKind::Format, file + ": tensor \"" + t->name + "\": byte range [" + std::to_string(t->begin) + ", " +
                                         std::to_string(t->end) + ") overlaps tensor \"" + previous->name + "\"");
    if (t->begin > covered)
      throw Error(ErrorKind::Format, file + ": tensor \"" + t->name + "\": unused bytes [" + std::to_string(covered) + ", " +
                                         std::to_string(t->begin) + ") before its data (holes are not allowed)");
    covered = t->end;
    if (t->end > t->begin) previous = t;
  }
  if (covered != buffer)
    throw Error(ErrorKind::Format, file + ": " + std::to_string(buffer - covered) + " unused bytes at the end of the data buffer");

  // Readers must not assume tensor order; keeping file order (by offset) makes listings stable.
  std::stable_sort(st.tensors_.begin(), st.tensors_.end(),
                   [](const TensorInfo& a, const TensorInfo& b) { return a.begin < b.begin; });
  for (size_t i = 0; i < st.tensors_.size(); ++i) st.index_[st.tensors_[i].name] = i;
  return st;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::at(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (!info) throw Error(ErrorKind::Format, path_.string() + ": no tensor \"" + name + "\"");
  return *info;
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& info) const {
  return {map_->data() + data_offset_ + info.begin, info.end - info.begin};
}

}  // namespace qs
