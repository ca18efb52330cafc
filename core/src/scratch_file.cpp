// See scratch_file.hpp.
#include "scratch_file.hpp"

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

torch::Tensor ScratchFile::store(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  const size_t bytes = t.nbytes();
  static const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  uint64_t offset = 0;
  {
    std::lock_guard lock(mutex_);
    offset = end_;
    end_ = (end_ + std::max<uint64_t>(bytes, 1) + page - 1) / page * page;
  }
  const auto* data = static_cast<const char*>(t.data_ptr());
  for (size_t done = 0; done < bytes;) {
    const ssize_t n = ::pwrite(fd_, data + done, bytes - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorKind::Io, dir_.string() + ": cannot write streamed weights to a scratch file (" +
                                     std::strerror(n < 0 ? errno : ENOSPC) + ")");
    done += size_t(n);
  }
  if (bytes == 0) return t.clone();
  void* mapped = ::mmap(nullptr, bytes, PROT_READ, MAP_SHARED, fd_, off_t(offset));
  if (mapped == MAP_FAILED)
    throw Error(ErrorKind::Io, dir_.string() + ": cannot map a scratch file (" + std::strerror(errno) + ")");
  auto keep = shared_from_this();
  return torch::from_blob(mapped, t.sizes(), [keep, bytes](void* p) { ::munmap(p, bytes); }, t.options());
}

}  // namespace qs
