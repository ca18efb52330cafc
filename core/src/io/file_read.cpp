// file_read: see quantscope/file_read.hpp.
#include "quantscope/file_read.hpp"

#include <fstream>
#include <sstream>

#include "quantscope/error.hpp"

namespace qs {

std::string file_read(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) throw Error(ErrorKind::Io, path.string() + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Io, path.string() + ": cannot read");
  return text.str();
}

}  // namespace qs
