// safetensors input and output. The reader memory-maps the file and hands out views into it without
// copying; it validates the whole header up front so later code can trust every range it is given.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quantscope/dtype.hpp"

namespace qs {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets relative to the start of the data buffer, end exclusive
  uint64_t end = 0;
  int64_t numel() const;
};

class MappedFile;

class SafetensorsFile {
 public:
  // Throws qs::Error (Io or Format) naming the file and, where there is one, the tensor.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in file order
  const TensorInfo* find(const std::string& name) const;
  const TensorInfo& at(const std::string& name) const;  // throws Format if absent
  std::span<const std::byte> bytes(const TensorInfo& info) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Keeps the mapping alive for views that outlive this object.
  std::shared_ptr<const MappedFile> mapping() const { return map_; }

 private:
  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> map_;
  uint64_t data_offset_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Hands a tensor's bytes to `write`, in order, in any number of pieces.
using TensorBytes = std::function<void(const std::function<void(std::span<const std::byte>)>& write)>;

struct TensorWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;  // little-endian, row-major, exactly numel × element size
  // Instead of `data`: called when the file reaches this tensor, so that a writer converts one tensor
  // at a time and memory holds one tensor, not the model.
  TensorBytes produce;
};

// Writes atomically (temporary file in the same folder, then rename); the header is padded with
// spaces to a multiple of 8 bytes. Tensors are laid out in the order given. Throws Invalid when a
// tensor's bytes do not match its shape and dtype.
void safetensors_write(const std::filesystem::path& path, const std::vector<TensorWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace qs
