// How quantscope-cli writes numbers for people: counts with thousands separators, sizes in binary
// units, durations and rates, so that every command prints them the same way.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace qs::cli {

std::string count_format(int64_t count);         // 1,234,567
std::string count_short_format(int64_t count);   // 1.23M, 6.74B, 512
std::string bytes_format(uint64_t bytes);        // 1.01 MiB, 512 B
// "6G", "800M", "1.5G", "4096": binary units K, M, G, T (an optional trailing B or iB); nullopt when
// not a size.
std::optional<uint64_t> bytes_parse(const std::string& text);
std::string number_format(double value, int decimals);  // fixed decimals; "nan"/"inf" as such
std::string number_compact_format(double value);        // six significant digits: 1e-05, 0.125
std::string number_scientific_format(double value, int decimals);  // 1.00e-03
std::string percent_format(double fraction);     // 0.125 -> 12.50 %
std::string seconds_format(double seconds);      // 0.42 s, 83.1 s, 1 h 02 min
std::string rate_format(double per_second, const std::string& unit);  // 12,345 tokens/s

}  // namespace qs::cli
