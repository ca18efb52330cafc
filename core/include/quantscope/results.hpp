// The results of an analysis (sensitivity scans, allocations, sweeps, task scores) as plain tables
// and histograms, and their files: results.h5 (layout in docs/results-file.md, readable by any HDF5
// reader), one CSV per table, and summary.json. The experiment runner, the CLI's analysis commands
// and the GUI's plots all exchange this one shape.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

namespace qs {

// A column holds numbers (NaN where a value does not apply) or text.
struct ResultColumn {
  std::string name;
  std::string unit;  // "" when none: "nats", "bits", "bytes", "dB", ...
  std::variant<std::vector<double>, std::vector<std::string>> values;
  size_t size() const;
  bool is_text() const { return values.index() == 1; }
  const std::vector<double>& numbers() const;      // throws Invalid naming the column when text
  const std::vector<std::string>& texts() const;   // throws Invalid naming the column when numbers
};

struct ResultTable {
  std::string name;  // [a-z0-9_]+, unique within a result set: "sensitivity_int2_g64", "frontier"
  std::string description;
  std::vector<ResultColumn> columns;  // all of one length
  size_t rows() const { return columns.empty() ? 0 : columns.front().size(); }
  const ResultColumn& column(const std::string& name) const;  // throws Invalid naming table and column
  // Appending rows column by column: the helpers add a column on first use, and setting row r grows
  // every column to at least r + 1 rows (NaN or ""), so the table stays rectangular. Invalid when the
  // column holds the other kind, or (number_set) has another non-empty unit.
  void number_set(const std::string& column, size_t row, double value, const std::string& unit = "");
  void text_set(const std::string& column, size_t row, const std::string& value);
};

struct ResultHistogram {
  std::string name;  // unique within a result set
  std::string description;
  double lo = 0, hi = 0;
  std::vector<double> counts;
};

struct ResultSet {
  std::string title;
  std::string source;  // what produced it: the experiment file or the command line
  std::vector<ResultTable> tables;
  std::vector<ResultHistogram> histograms;
  const ResultTable* table_find(const std::string& name) const;  // null when absent
};

// Throws Invalid when a table has columns of unequal length or a name is empty, repeated or not
// [a-z0-9_]+. Writes atomically (temporary file beside `path`, then rename).
void results_write(const ResultSet& results, const std::filesystem::path& path);
// Throws Format naming the file for a file that is not a results file, or is damaged.
ResultSet results_read(const std::filesystem::path& path);

// One CSV per table, DIR/<table>.csv (RFC 4180 quoting; numbers with 10 significant digits, NaN
// as an empty field), each written atomically.
void results_csv_write(const ResultSet& results, const std::filesystem::path& dir);

}  // namespace qs
