// Whole-file text reads for the commands that take --text or --calib.
#include "text_file.hpp"

#include <fstream>
#include <sstream>

#include "quantscope/error.hpp"

namespace qs::cli {

std::string text_file_read(const std::filesystem::path& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) throw Error(ErrorKind::Io, path.string() + ": is a directory, not a text file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Io, path.string() + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::Io, path.string() + ": read error");
  return text.str();
}

}  // namespace qs::cli
