// The character classes that task generation and answer normalisation share, so that a cloze answer
// is cut from its passage by exactly the rule its evaluation later compares with: ASCII whitespace,
// and punctuation = ASCII punctuation plus the dashes, quotes and ellipsis of U+2010 to U+2027.
#pragma once
#include <cctype>
#include <cstddef>
#include <string_view>

namespace qs {

inline bool task_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Bytes of the punctuation character that starts at `pos`, 0 when none does.
inline size_t task_punctuation_at(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  if (pos >= text.size()) return 0;
  if (byte(pos) < 0x80) return std::ispunct(byte(pos)) ? 1 : 0;
  if (pos + 2 < text.size() && byte(pos) == 0xE2 && byte(pos + 1) == 0x80 && byte(pos + 2) >= 0x90 &&
      byte(pos + 2) <= 0xA7)
    return 3;
  return 0;
}

// Bytes of the punctuation character that ends just before `end`, 0 when none does.
inline size_t task_punctuation_before(std::string_view text, size_t end) {
  if (end >= 1 && task_punctuation_at(text, end - 1) == 1) return 1;
  if (end >= 3 && task_punctuation_at(text, end - 3) == 3) return 3;
  return 0;
}

// `text` without whitespace and punctuation at either end.
inline std::string_view task_word_strip(std::string_view text) {
  for (;;) {
    if (!text.empty() && task_space(text.front())) text.remove_prefix(1);
    else if (size_t p = task_punctuation_at(text, 0)) text.remove_prefix(p);
    else if (!text.empty() && task_space(text.back())) text.remove_suffix(1);
    else if (size_t p = task_punctuation_before(text, text.size())) text.remove_suffix(p);
    else return text;
  }
}

}  // namespace qs
