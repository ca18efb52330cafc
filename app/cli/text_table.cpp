// Plain-text table layout (see text_table.hpp).
#include "text_table.hpp"

#include <algorithm>

namespace qs::cli {
namespace {

// Terminal columns taken by UTF-8 text: one per character (the tables hold no wide characters).
size_t text_width(const std::string& text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

}  // namespace

TextTable::TextTable(std::vector<Column> columns) : columns_(std::move(columns)) {}

void TextTable::row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::render(size_t indent) const {
  const bool header = std::any_of(columns_.begin(), columns_.end(), [](const Column& c) { return !c.header.empty(); });
  std::vector<size_t> widths(columns_.size(), 0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = columns_[c].min_width;
    if (header) widths[c] = std::max(widths[c], text_width(columns_[c].header));
    for (const auto& row : rows_) widths[c] = std::max(widths[c], text_width(row[c]));
  }

  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    if (std::all_of(cells.begin(), cells.end(), [](const std::string& s) { return s.empty(); })) {
      out += '\n';
      return;
    }
    std::string text(indent, ' ');
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(widths[c] - text_width(cells[c]), ' ');
      if (c > 0) text += "  ";
      text += columns_[c].align == Align::Right ? pad + cells[c] : cells[c] + pad;
    }
    text.erase(text.find_last_not_of(' ') + 1);
    out += text + '\n';
  };

  if (header) {
    std::vector<std::string> names, rules;
    for (size_t c = 0; c < columns_.size(); ++c) {
      names.push_back(columns_[c].header);
      rules.push_back(columns_[c].header.empty() ? std::string() : std::string(widths[c], '-'));
    }
    line(names);
    line(rules);
  }
  for (const auto& row : rows_) line(row);
  return out;
}

}  // namespace qs::cli
