// Number formatting for people (see text_format.hpp).
#include "text_format.hpp"

#include <cmath>
#include <cctype>
#include <cstdio>
#include <exception>

namespace qs::cli {

std::string count_format(int64_t count) {
  std::string digits = std::to_string(count < 0 ? -count : count);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return count < 0 ? "-" + out : out;
}

std::string count_short_format(int64_t count) {
  static const char* const suffixes[] = {"", "K", "M", "B", "T"};
  double value = static_cast<double>(count);
  int index = 0;
  while (std::fabs(value) >= 999.5 && index < 4) {
    value /= 1000;
    ++index;
  }
  if (index == 0) return std::to_string(count);
  char buffer[32];
  // Three significant digits: 1.23M, 12.3M, 123M.
  const int decimals = std::fabs(value) < 9.995 ? 2 : std::fabs(value) < 99.95 ? 1 : 0;
  std::snprintf(buffer, sizeof buffer, "%.*f%s", decimals, value, suffixes[index]);
  return buffer;
}

std::string bytes_format(uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int index = 0;
  while (value >= 999.5 && index < 4) {  // 0.99 MiB reads better than 1016 KiB
    value /= 1024;
    ++index;
  }
  char buffer[32];
  if (index == 0) std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buffer, sizeof buffer, "%.*f %s", value < 9.995 ? 2 : value < 99.95 ? 1 : 0, value, units[index]);
  return buffer;
}

std::optional<uint64_t> bytes_parse(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit;
  for (const char c : text.substr(used)) unit += char(std::toupper(static_cast<unsigned char>(c)));
  if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
  else if (unit.ends_with("B")) unit.pop_back();
  const std::string units = "KMGT";
  double scale = 1;
  if (unit.size() == 1 && units.find(unit[0]) != std::string::npos) scale = std::pow(1024.0, double(units.find(unit[0]) + 1));
  else if (!unit.empty()) return std::nullopt;
  const double bytes = value * scale;
  if (!std::isfinite(bytes) || bytes < 0 || bytes >= 1.8e19) return std::nullopt;
  return uint64_t(bytes);
}

std::string number_format(double value, int decimals) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string percent_format(double fraction) { return number_format(100 * fraction, 2) + " %"; }

std::string number_compact_format(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6g", value);
  return buffer;
}

std::string number_scientific_format(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*e", decimals, value);
  return buffer;
}

std::string seconds_format(double seconds) {
  char buffer[48];
  if (seconds < 100) {
    std::snprintf(buffer, sizeof buffer, "%.*f s", seconds < 10 ? 2 : 1, seconds);
  } else if (seconds < 3600) {
    const int total = static_cast<int>(std::lround(seconds));
    std::snprintf(buffer, sizeof buffer, "%d min %02d s", total / 60, total % 60);
  } else {
    const int minutes = static_cast<int>(std::lround(seconds / 60));
    std::snprintf(buffer, sizeof buffer, "%d h %02d min", minutes / 60, minutes % 60);
  }
  return buffer;
}

std::string rate_format(double per_second, const std::string& unit) {
  if (!std::isfinite(per_second)) return "- " + unit + "/s";
  if (per_second >= 100) return count_format(std::llround(per_second)) + " " + unit + "/s";
  return number_format(per_second, 1) + " " + unit + "/s";
}

}  // namespace qs::cli
