// Aligned plain-text columns: the one way quantscope-cli lays out tables and key/value blocks.
#pragma once
#include <string>
#include <vector>

namespace qs::cli {

class TextTable {
 public:
  enum class Align { Left, Right };
  struct Column {
    std::string header;  // all headers empty: no header line
    Align align = Align::Left;
    size_t min_width = 0;  // lines up consecutive tables that share a first column
  };

  explicit TextTable(std::vector<Column> columns);
  // Fewer cells than columns leave the rest empty; an empty row prints as a blank line.
  void row(std::vector<std::string> cells);
  // Columns are two spaces apart; with headers, a rule of dashes follows them.
  std::string render(size_t indent = 0) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace qs::cli
