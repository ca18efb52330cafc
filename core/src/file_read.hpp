// Reading a whole file into memory, with the one-line Io errors core uses everywhere.
#pragma once
#include <filesystem>
#include <string>

namespace qs {

std::string file_read(const std::filesystem::path& path);

}  // namespace qs
