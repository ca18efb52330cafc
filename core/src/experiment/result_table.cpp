// The in-memory shape of analysis results (results.hpp): typed columns, tables built row by row, and
// lookups that fail with a message naming the table and column.
#include <algorithm>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/results.hpp"

namespace qs {
namespace {

[[noreturn]] void invalid(const std::string& problem) { throw Error(ErrorKind::Invalid, problem); }

// Every column grows to `rows`, so that a table built through number_set/text_set stays rectangular
// whatever the order in which its cells are set (a row may leave a column unset: NaN or "").
void rows_grow(std::vector<ResultColumn>& columns, size_t rows) {
  for (auto& column : columns) {
    if (auto* numbers = std::get_if<std::vector<double>>(&column.values))
      numbers->resize(std::max(numbers->size(), rows), std::numeric_limits<double>::quiet_NaN());
    else
      std::get<std::vector<std::string>>(column.values).resize(std::max(column.size(), rows));
  }
}

size_t rows_max(const std::vector<ResultColumn>& columns) {
  size_t rows = 0;
  for (const auto& column : columns) rows = std::max(rows, column.size());
  return rows;
}

ResultColumn* column_find(std::vector<ResultColumn>& columns, const std::string& name) {
  const auto it = std::find_if(columns.begin(), columns.end(), [&](const ResultColumn& c) { return c.name == name; });
  return it == columns.end() ? nullptr : &*it;
}

}  // namespace

size_t ResultColumn::size() const {
  return std::visit([](const auto& values) { return values.size(); }, values);
}

const std::vector<double>& ResultColumn::numbers() const {
  if (is_text()) invalid("result column '" + name + "' holds text, not numbers");
  return std::get<std::vector<double>>(values);
}

const std::vector<std::string>& ResultColumn::texts() const {
  if (!is_text()) invalid("result column '" + name + "' holds numbers, not text");
  return std::get<std::vector<std::string>>(values);
}

const ResultColumn& ResultTable::column(const std::string& column_name) const {
  for (const auto& column : columns)
    if (column.name == column_name) return column;
  invalid("result table '" + name + "' has no column '" + column_name + "'");
}

void ResultTable::number_set(const std::string& column_name, size_t row, double value, const std::string& unit) {
  ResultColumn* column = column_find(columns, column_name);
  if (!column) {
    columns.push_back({.name = column_name, .unit = unit, .values = std::vector<double>()});
    column = &columns.back();
  } else if (column->is_text()) {
    invalid("result table '" + name + "': column '" + column_name + "' holds text, cannot set a number");
  } else if (!unit.empty() && column->unit != unit) {
    if (!column->unit.empty())
      invalid("result table '" + name + "': column '" + column_name + "' is in " + column->unit + ", not " + unit);
    column->unit = unit;
  }
  rows_grow(columns, std::max(rows_max(columns), row + 1));
  std::get<std::vector<double>>(column->values)[row] = value;
}

void ResultTable::text_set(const std::string& column_name, size_t row, const std::string& value) {
  ResultColumn* column = column_find(columns, column_name);
  if (!column) {
    columns.push_back({.name = column_name, .unit = "", .values = std::vector<std::string>()});
    column = &columns.back();
  } else if (!column->is_text()) {
    invalid("result table '" + name + "': column '" + column_name + "' holds numbers, cannot set text");
  }
  rows_grow(columns, std::max(rows_max(columns), row + 1));
  std::get<std::vector<std::string>>(column->values)[row] = value;
}

const ResultTable* ResultSet::table_find(const std::string& table_name) const {
  for (const auto& table : tables)
    if (table.name == table_name) return &table;
  return nullptr;
}

}  // namespace qs
