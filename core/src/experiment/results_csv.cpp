// One CSV file per result table (results.hpp), for spreadsheets and pandas: RFC 4180 (CRLF line ends,
// fields with a comma, quote or line break quoted, quotes doubled), a header row of column names,
// numbers with 10 significant digits and NaN as an empty field.
#include <cmath>
#include <cstdio>
#include <string>
#include <system_error>

#include "io/atomic_file.hpp"
#include "quantscope/error.hpp"
#include "quantscope/results.hpp"
#include "experiment/results_check.hpp"

namespace qs {
namespace {

void field_append(std::string& csv, const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    csv += text;
    return;
  }
  csv += '"';
  for (const char c : text) {
    if (c == '"') csv += '"';
    csv += c;
  }
  csv += '"';
}

void number_append(std::string& csv, double value) {
  if (std::isnan(value)) return;
  char text[32];
  std::snprintf(text, sizeof text, "%.10g", value);
  csv += text;
}

std::string table_csv(const ResultTable& table) {
  std::string csv;
  if (table.columns.empty()) return csv;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (c) csv += ',';
    field_append(csv, table.columns[c].name);
  }
  csv += "\r\n";
  for (size_t row = 0; row < table.rows(); ++row) {
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const ResultColumn& column = table.columns[c];
      if (c) csv += ',';
      if (column.is_text()) field_append(csv, column.texts()[row]);
      else number_append(csv, column.numbers()[row]);
    }
    csv += "\r\n";
  }
  return csv;
}

}  // namespace

void results_csv_write(const ResultSet& results, const std::filesystem::path& dir) {
  results_check(results, dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorKind::Io, dir.string() + ": cannot create the folder (" + ec.message() + ")");
  for (const ResultTable& table : results.tables) file_write_atomic(dir / (table.name + ".csv"), table_csv(table));
}

}  // namespace qs
