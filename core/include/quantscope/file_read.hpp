// Reading a whole file into memory (texts, configs, plans), with one-line Io errors naming the file.
// Public so that the CLI reads --text and --calib files the same way core reads its own.
#pragma once
#include <filesystem>
#include <string>

namespace qs {

// Throws Io for a folder, a missing or unreadable file.
std::string file_read(const std::filesystem::path& path);

}  // namespace qs
