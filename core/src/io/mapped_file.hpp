// A read-only memory mapping of a whole file. Checkpoints are read through it so that tensors are
// viewed in place instead of copied through buffers, and large files cost no heap.
#pragma once
#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

namespace qs {

class MappedFile {
 public:
  // Throws Io naming the file when it cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // What tells this file's content from another's, for keying cached measurements: size,
  // modification and change times, device and inode of the file that was mapped, and a fingerprint
  // of its first and last 64 KiB and 64 evenly spaced 4 KiB blocks. A rewrite changes the times (and
  // an atomic replacement the inode) even where the sampled bytes stay the same.
  const std::string& identity() const { return identity_; }
  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  // Drops the pages wholly inside [offset, offset + length) from this process's resident set once
  // their contents were copied (converted): a streamed model then holds one layer's file pages, not
  // every page it ever read. The data stays valid; a later read pages it in again.
  void release(size_t offset, size_t length) const;

 private:
  MappedFile(std::filesystem::path path, const std::byte* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::filesystem::path path_;
  std::string identity_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qs
