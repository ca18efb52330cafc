// mmap-based read-only file views (see mapped_file.hpp).
#include "mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fingerprint.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

std::string identity_of(const struct stat& st, std::span<const std::byte> bytes) {
  constexpr size_t kEdge = 64 * 1024, kBlock = 4096, kBlocks = 64;
  const auto chunk = [&](size_t offset, size_t length) {
    offset = std::min(offset, bytes.size());
    return std::string_view(reinterpret_cast<const char*>(bytes.data()) + offset, std::min(length, bytes.size() - offset));
  };
  uint64_t h = fingerprint_update(kFingerprintSeed, chunk(0, kEdge));
  for (size_t i = 0; i < kBlocks; ++i) h = fingerprint_update(h, chunk(bytes.size() / kBlocks * i, kBlock));
  h = fingerprint_update(h, chunk(bytes.size() > kEdge ? bytes.size() - kEdge : 0, kEdge));
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
  ::close(fd);  // the mapping stays valid without the descriptor
  auto file = std::shared_ptr<MappedFile>(new MappedFile(path, static_cast<const std::byte*>(data), size));
  file->identity_ = identity_of(st, file->bytes());
  return file;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace qs
