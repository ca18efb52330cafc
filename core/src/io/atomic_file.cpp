// See atomic_file.hpp.
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "quantscope/error.hpp"

namespace qs {
namespace {

[[noreturn]] void io_fail(const std::filesystem::path& path, const char* what, int err) {
  throw Error(ErrorKind::Io, path.string() + ": cannot " + what + " (" + std::strerror(err) + ")");
}

// pid and a counter keep concurrent writers (processes or threads) off each other's temporaries.
std::filesystem::path temp_path(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  return tmp;
}

// Makes a rename in the folder of `path` durable.
void directory_sync(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

void file_write_atomic(const std::filesystem::path& path, const std::function<void(const ByteSink&)>& produce) {
  const std::filesystem::path tmp = temp_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail(path, "create a temporary file", errno);
  bool fd_open = true;
  try {
    const ByteSink sink = [&](const void* data, size_t size) {
      const char* p = static_cast<const char*>(data);
      while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0) {
          if (errno == EINTR) continue;
          io_fail(path, "write", errno);
        }
        p += n;
        size -= size_t(n);
      }
    };
    produce(sink);
    if (::fsync(fd) != 0) io_fail(path, "flush", errno);
    fd_open = false;
    if (::close(fd) != 0) io_fail(path, "close", errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) io_fail(path, "rename the temporary file onto", errno);
  } catch (...) {
    if (fd_open) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  directory_sync(path);
}

void file_write_atomic(const std::filesystem::path& path, std::string_view content) {
  file_write_atomic(path, [&](const ByteSink& sink) { sink(content.data(), content.size()); });
}

void path_write_atomic(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path& temp)>& produce) {
  const std::filesystem::path tmp = temp_path(path);
  try {
    produce(tmp);
    // The producer closed the file; reopening it is the only way to flush what it wrote.
    const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_fail(path, "reopen the temporary file", errno);
    const int synced = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (synced != 0) io_fail(path, "flush", err);
    if (::rename(tmp.c_str(), path.c_str()) != 0) io_fail(path, "rename the temporary file onto", errno);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  directory_sync(path);
}

}  // namespace qs
