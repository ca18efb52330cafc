// Where a streamed model keeps the weights it made (quantized layers) when memory is not to hold
// them: an unlinked temporary file, written once per tensor and read back through a read-only
// mapping, so its pages are file-backed (the kernel writes them out and drops them as it needs)
// rather than anonymous memory. The file disappears with the last tensor that reads it.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

namespace qs {

class ScratchFile : public std::enable_shared_from_this<ScratchFile> {
 public:
  // In `dir`. Throws Io naming the folder when no file can be made there.
  static std::shared_ptr<ScratchFile> create(const std::filesystem::path& dir);
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Appends a [rows, ...] tensor of `sizes` and `dtype` that `produce(begin, count)` gives `block`
  // rows at a time (any device), and returns it as a CPU tensor mapped from the file: memory holds one
  // block, never the whole. Throws Io naming the folder when the disk is full.
  using RowsProduce = std::function<torch::Tensor(int64_t begin, int64_t count)>;
  torch::Tensor store(at::IntArrayRef sizes, torch::Dtype dtype, int64_t block, const RowsProduce& produce);

 private:
  ScratchFile(std::filesystem::path dir, int fd) : dir_(std::move(dir)), fd_(fd) {}
  std::filesystem::path dir_;
  int fd_ = -1;
  void write(const void* data, size_t bytes, uint64_t offset);
  std::mutex mutex_;
  uint64_t end_ = 0;
};

}  // namespace qs
