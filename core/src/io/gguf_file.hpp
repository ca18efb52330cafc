// GGUF, llama.cpp's checkpoint file (../shared/reference/formats.md): a reader that validates every
// field before it trusts it, over a memory map so that tensor data is viewed in place, and a writer
// that streams tensor data into an atomically published file. Layout: "GGUF", u32 version, u64 tensor
// and key counts, the key/values, the tensor infos (name, dims innermost first, ggml type, offset),
// padding to general.alignment, then the tensors in order, each padded to the alignment, which is the
// layout llama.cpp v0.4.0 (gguf.cpp) requires of the files it loads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"

namespace qs {

class MappedFile;

enum class GgufValueType : uint32_t { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 };

// A key's value: a scalar is an array of one. Integers and booleans go to `ints` (u64 as its bits),
// F32/F64 to `floats`, strings to `strings`.
struct GgufValue {
  GgufValueType type = GgufValueType::U32;
  GgufValueType element = GgufValueType::U32;  // Array: what it holds; otherwise type
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue string(std::string v);
  static GgufValue strings_array(std::vector<std::string> v);
  static GgufValue f32_array(const std::vector<float>& v);
  static GgufValue i32_array(const std::vector<int32_t>& v);
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the row length (an HF [out, in] weight is {in, out})
  uint32_t type = 0;          // ggml type id
  uint64_t offset = 0;        // from the start of the data section
  uint64_t bytes = 0;
  int64_t numel() const;
};

// ggml's ids of the float types (enum ggml_type).
constexpr uint32_t kGgmlF32 = 0, kGgmlF16 = 1, kGgmlBF16 = 30;

// ggml's name of a type id ("q4_K", "iq2_xxs"), or "type N" for an id it does not have.
std::string ggml_type_name(uint32_t type);
// Bytes of a row of n weights of a type Quantscope reads (F32, F16, BF16 and the gguf family's types),
// or 0 for any other type or for n that is not whole blocks.
uint64_t ggml_row_bytes(uint32_t type, int64_t n);

class GgufFile {
 public:
  // Maps and validates the whole header: magic, version (2 or 3), counts, every string and array
  // length, value types, general.alignment, tensor names, dimensions, types (Quantscope's readable
  // ones; any other is named), sizes, offsets inside the file and not overlapping. Each problem is one
  // Format (or Unsupported) error naming the file and the field; nothing is allocated from a count
  // before it is checked against the bytes left.
  static GgufFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const std::shared_ptr<const MappedFile>& file() const { return file_; }
  uint64_t data_offset() const { return data_offset_; }  // of the data section in the file
  const GgufTensorInfo* tensor_find(const std::string& name) const;

  // Typed reads of a key, throwing Format naming the file and the key when it is absent or of another
  // type.
  const GgufValue* find(const std::string& key) const;
  std::string string_get(const std::string& key) const;
  uint64_t uint_get(const std::string& key) const;  // any unsigned or non-negative signed integer
  double float_get(const std::string& key) const;

 private:
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  uint64_t data_offset_ = 0;
};

// A GGUF v3 file written in one pass: metadata and tensor infos first (so every size is known before
// the data), then each tensor's bytes from `data`, in the order the tensors were added.
class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32);
  void metadata_set(const std::string& key, GgufValue value);  // keeps the order keys were first set
  void tensor_add(const std::string& name, std::vector<int64_t> dims, uint32_t type);
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  uint64_t file_bytes() const;  // what write() will produce
  // `data(i, sink)` must write exactly tensors()[i].bytes bytes. Atomic (io/atomic_file.hpp).
  void write(const std::filesystem::path& path,
             const std::function<void(size_t index, const ByteSink& sink)>& data) const;

 private:
  uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  uint64_t data_bytes_ = 0;
};

}  // namespace qs
