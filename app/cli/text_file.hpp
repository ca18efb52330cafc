// Reading a whole UTF-8 text file (evaluation and calibration texts), with one-line errors.
#pragma once
#include <filesystem>
#include <string>

namespace qs::cli {

std::string text_file_read(const std::filesystem::path& path);

}  // namespace qs::cli
