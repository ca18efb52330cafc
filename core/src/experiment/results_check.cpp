// Checks a result set against the rules of results.hpp before it is written (see results_check.hpp).
#include "experiment/results_check.hpp"

#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "quantscope/error.hpp"

namespace qs {
namespace {

class Checker {
 public:
  explicit Checker(const std::filesystem::path& file) : file_(file) {}

  [[noreturn]] void invalid(const std::string& problem) const {
    throw Error(ErrorKind::Invalid, file_.string() + ": " + problem);
  }

  // `kind` is "table", "column" or "histogram"; `owner` is "" or " of table 't'"; `index` locates a
  // nameless one.
  void name_check(const std::string& kind, const std::string& owner, size_t index, const std::string& name,
                  std::set<std::string>& seen) const {
    if (name.empty()) invalid(kind + " " + std::to_string(index + 1) + owner + " has no name");
    if (!result_name_valid(name)) invalid(kind + " name '" + name + "'" + owner + " is not made of [a-z0-9_]");
    if (!seen.insert(name).second) invalid("two " + kind + "s" + owner + " are named '" + name + "'");
  }

  void text_check(const std::string& what, const std::string& text) const {
    if (text.find('\0') != std::string::npos) invalid(what + " contains a NUL byte");
  }

 private:
  const std::filesystem::path& file_;
};

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

bool result_name_valid(const std::string& name) {
  if (name.empty()) return false;
  for (const char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

void results_check(const ResultSet& results, const std::filesystem::path& file) {
  const Checker check(file);
  check.text_check("the title", results.title);
  check.text_check("the source", results.source);
  std::set<std::string> tables;
  for (size_t t = 0; t < results.tables.size(); ++t) {
    const ResultTable& table = results.tables[t];
    check.name_check("table", "", t, table.name, tables);
    const std::string where = "table '" + table.name + "'";
    check.text_check("the description of " + where, table.description);
    std::set<std::string> columns;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const ResultColumn& column = table.columns[c];
      check.name_check("column", " of " + where, c, column.name, columns);
      const std::string label = where + " column '" + column.name + "'";
      if (column.size() != table.rows())
        check.invalid(label + " has " + std::to_string(column.size()) + " rows, column '" + table.columns.front().name +
                      "' has " + std::to_string(table.rows()));
      check.text_check("the unit of " + label, column.unit);
      if (column.is_text())
        for (size_t row = 0; row < column.size(); ++row)
          check.text_check(label + " row " + std::to_string(row), column.texts()[row]);
    }
  }
  std::set<std::string> histograms;
  for (size_t h = 0; h < results.histograms.size(); ++h) {
    const ResultHistogram& histogram = results.histograms[h];
    check.name_check("histogram", "", h, histogram.name, histograms);
    const std::string where = "histogram '" + histogram.name + "'";
    check.text_check("the description of " + where, histogram.description);
    if (!std::isfinite(histogram.lo) || !std::isfinite(histogram.hi) || histogram.lo > histogram.hi ||
        (!histogram.counts.empty() && histogram.lo == histogram.hi))
      check.invalid(where + " has the range [" + number_text(histogram.lo) + ", " + number_text(histogram.hi) + "]");
  }
}

}  // namespace qs
