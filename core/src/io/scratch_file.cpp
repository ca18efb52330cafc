// See scratch_file.hpp.
#include "io/scratch_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "quantscope/error.hpp"

namespace qs {

std::shared_ptr<ScratchFile> ScratchFile::create(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {  // file systems without O_TMPFILE: a named file, unlinked at once
    std::string name = (dir / "quantscope-scratch-XXXXXX").string();
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(name.c_str());
  }
  if (fd < 0)
    throw Error(ErrorKind::Io, dir.string() + ": cannot create a scratch file for streamed weights (" +
                                   std::strerror(errno) + ")");
  return std::shared_ptr<ScratchFile>(new ScratchFile(dir, fd));
}

ScratchFile::~ScratchFile() { ::close(fd_); }

void ScratchFile::write(const void* data, size_t bytes, uint64_t offset) {
  for (size_t done = 0; done < bytes;) {
    const ssize_t n = ::pwrite(fd_, static_cast<const char*>(data) + done, bytes - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorKind::Io, dir_.string() + ": cannot write streamed weights to a scratch file (" +
                                     std::strerror(n < 0 ? errno : ENOSPC) + ")");
    done += size_t(n);
  }
}

torch::Tensor ScratchFile::store(at::IntArrayRef sizes, torch::Dtype dtype, int64_t block, const RowsProduce& produce) {
  const auto options = torch::TensorOptions().dtype(dtype);
  const int64_t rows = sizes.empty() ? 1 : sizes[0];
  const int64_t numel = c10::multiply_integers(sizes);
  const size_t bytes = size_t(numel) * torch::elementSize(dtype);
  const size_t row_bytes = rows == 0 ? 0 : bytes / size_t(rows);
  if (bytes == 0) return torch::empty(sizes, options);
  static const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  uint64_t offset = 0;
  {
    std::lock_guard lock(mutex_);
    offset = end_;
    end_ = (end_ + bytes + page - 1) / page * page;
  }
  for (int64_t begin = 0; begin < rows; begin += block) {
    const int64_t count = std::min(block, rows - begin);
    const torch::Tensor part = produce(begin, count).detach().to(torch::kCPU, dtype).contiguous();
    if (size_t(part.nbytes()) != size_t(count) * row_bytes)
      throw Error(ErrorKind::Invalid, "scratch file: a block of " + std::to_string(count) + " rows has " +
                                          std::to_string(part.nbytes()) + " bytes");
    write(part.data_ptr(), part.nbytes(), offset + size_t(begin) * row_bytes);
  }
  void* mapped = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd_, off_t(offset));
  if (mapped == MAP_FAILED)
    throw Error(ErrorKind::Io, dir_.string() + ": cannot map a scratch file (" + std::strerror(errno) + ")");
  auto keep = shared_from_this();
  return torch::from_blob(mapped, sizes, [keep, bytes](void* p) { ::munmap(p, bytes); }, options);
}

}  // namespace qs
