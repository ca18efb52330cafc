// Recursive removal of a directory tree through POSIX nftw. std::filesystem::remove_all is not used:
// PyTorch's LibTorch 2.x exports its own copy of it, calls from our code bind to that copy, and it
// crashes (seen on the GPU machine with torch 2.11).
#pragma once
#include <filesystem>
#include <system_error>

namespace qs {

// Removes `path` and everything below it; a missing path is not an error. Symbolic links are removed,
// never followed.
void directory_remove(const std::filesystem::path& path, std::error_code& ec);

}  // namespace qs
