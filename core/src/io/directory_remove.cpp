// directory_remove: see directory_remove.hpp for why this is not std::filesystem::remove_all.
#include "io/directory_remove.hpp"

#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

namespace qs {
namespace {

int entry_remove(const char* path, const struct stat*, int, struct FTW*) { return std::remove(path) == 0 ? 0 : errno; }

}  // namespace

void directory_remove(const std::filesystem::path& path, std::error_code& ec) {
  ec.clear();
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) ec = std::error_code(errno, std::generic_category());
    return;
  }
  const int status = ::nftw(path.c_str(), entry_remove, 32, FTW_DEPTH | FTW_PHYS);
  if (status != 0) ec = std::error_code(status > 0 ? status : errno, std::generic_category());
}

}  // namespace qs
