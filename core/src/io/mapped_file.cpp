// mmap-based read-only file views (see mapped_file.hpp).
#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fingerprint.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

// The samples are read with pread, not through the mapping: a page fault there would map (and read
// ahead) far more than the sample, and opening a model is to touch none of its tensors.
std::string identity_of(int fd, const struct stat& st) {
  constexpr size_t kEdge = 64 * 1024, kBlock = 4096, kBlocks = 64;
  const size_t size = size_t(st.st_size);
  std::string buffer;
  const auto chunk = [&](size_t offset, size_t length) {
    offset = std::min(offset, size);
    buffer.resize(std::min(length, size - offset));
    size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t n = ::pread(fd, buffer.data() + done, buffer.size() - done, off_t(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // a file that shrank under us: its identity is what could be read
      done += size_t(n);
    }
    buffer.resize(done);
    return std::string_view(buffer);
  };
  uint64_t h = fingerprint_update(kFingerprintSeed, chunk(0, kEdge));
  for (size_t i = 0; i < kBlocks; ++i) h = fingerprint_update(h, chunk(size / kBlocks * i, kBlock));
  h = fingerprint_update(h, chunk(size > kEdge ? size - kEdge : 0, kEdge));
  const auto nanoseconds = [](const struct timespec& t) { return std::to_string(t.tv_sec) + "." + std::to_string(t.tv_nsec); };
  return "size=" + std::to_string(st.st_size) + " mtime=" + nanoseconds(st.st_mtim) + " ctime=" +
         nanoseconds(st.st_ctim) + " file=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) +
         " sample=" + fingerprint_hex(h);
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::Io, path.string() + ": cannot open (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw Error(ErrorKind::Io, path.string() + ": cannot stat (" + std::strerror(err) + ")");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::Io, path.string() + ": not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* data = nullptr;
  if (size > 0) {  // mmap refuses empty ranges; an empty file is simply an empty view
    data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorKind::Io, path.string() + ": cannot map (" + std::strerror(err) + ")");
    }
  }
  auto file = std::shared_ptr<MappedFile>(new MappedFile(path, static_cast<const std::byte*>(data), size));
  file->identity_ = identity_of(fd, st);
  ::close(fd);  // the mapping stays valid without the descriptor
  return file;
}

void MappedFile::release(size_t offset, size_t length) const {
  static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data_) + offset, end = begin + std::min(length, size_ - offset);
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace qs
