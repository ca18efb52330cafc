// The rules every written result set follows (results.hpp), checked before anything is written so that
// results.h5 and the CSV files agree on what they accept, and results_read checks the names it reads
// by the same rule.
#pragma once
#include <filesystem>
#include <string>

#include "quantscope/results.hpp"

namespace qs {

// [a-z0-9_]+: a table, column or histogram name, usable as an HDF5 member, a file name and a CSV header.
bool result_name_valid(const std::string& name);

// Throws Invalid "<file>: <problem>" for an empty, repeated or malformed name, columns of unequal
// length, a histogram whose range is not finite and increasing, or text with a NUL byte (the file's
// fixed-length strings end at the first one).
void results_check(const ResultSet& results, const std::filesystem::path& file);

}  // namespace qs
