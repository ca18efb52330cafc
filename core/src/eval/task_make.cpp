// The task generators: held-out text cut into documents and sentences, then LAMBADA-style last-word
// cloze items and HellaSwag-style 4-way continuation items. Every random choice comes from one
// std::mt19937_64 through this file's own modulo picks and Fisher–Yates shuffle, because the standard
// distributions and std::shuffle differ between standard libraries and a seed must give the same file
// everywhere.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/tasks.hpp"
#include "eval/task_text.hpp"

namespace qs {
namespace {

// A continuation choice is a sentence of this many words (whitespace-separated).
constexpr int64_t kChoiceMinWords = 3;
constexpr int64_t kChoiceMaxWords = 60;
constexpr int kChoices = 4;

struct Sentence {
  size_t begin = 0, end = 0;  // bytes of the text; end is just after its closing punctuation
  size_t document = 0;
};

// Words whose full stop does not end a sentence.
bool abbreviation(std::string_view word) {
  while (!word.empty() && std::ispunct(static_cast<unsigned char>(word.front()))) word.remove_prefix(1);
  static const char* const kWords[] = {"Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Mt", "Messrs", "Gen", "Gov",
                                       "Col", "Capt", "Lt", "Rev", "Hon", "Prof", "Sen", "Rep", "vs", "No"};
  if (word.size() == 1 && std::isalpha(static_cast<unsigned char>(word[0]))) return true;  // an initial
  if (word.find('.') != std::string_view::npos) return true;                                // U.S.
  return std::find(std::begin(kWords), std::end(kWords), word) != std::end(kWords);
}

bool sentence_starter(char c) {
  const auto u = static_cast<unsigned char>(c);
  return std::isupper(u) || std::isdigit(u) || c == '"' || c == '\'' || c == '(' || c == '[' || u >= 0x80;
}

// Documents are separated by blank lines and by "<|endoftext|>".
std::vector<std::pair<size_t, size_t>> documents_split(const std::string& text) {
  static const std::string kEnd = "<|endoftext|>";
  std::vector<std::pair<size_t, size_t>> documents;
  auto paragraphs = [&](size_t begin, size_t end) {
    size_t start = begin;
    for (size_t line = begin; line < end;) {
      size_t next = text.find('\n', line);
      next = next == std::string::npos || next >= end ? end : next + 1;
      bool blank = true;
      for (size_t i = line; i < next; ++i) blank = blank && task_space(text[i]);
      if (blank) {
        if (line > start) documents.emplace_back(start, line);
        start = next;
      }
      line = next;
    }
    if (end > start) documents.emplace_back(start, end);
  };
  size_t begin = 0;
  for (size_t end; (end = text.find(kEnd, begin)) != std::string::npos; begin = end + kEnd.size())
    paragraphs(begin, end);
  paragraphs(begin, text.size());
  return documents;
}

// A sentence ends at a line break, or at . ! ? (and any closing quotes or brackets) followed by
// whitespace and a capital, digit or opening quote, outside a double-quoted passage, unless the word
// before the full stop is an abbreviation or an initial.
std::vector<Sentence> sentences_split(const std::string& text) {
  std::vector<Sentence> sentences;
  const auto documents = documents_split(text);
  for (size_t d = 0; d < documents.size(); ++d) {
    const auto [begin, end] = documents[d];
    auto skip_space = [&](size_t i) {
      while (i < end && task_space(text[i])) ++i;
      return i;
    };
    auto emit = [&](size_t from, size_t to) {
      while (to > from && task_space(text[to - 1])) --to;
      if (to > from) sentences.push_back({from, to, d});
    };
    size_t start = skip_space(begin);
    bool quoted = false;
    for (size_t i = start; i < end; ++i) {
      const char c = text[i];
      if (c == '\n') {
        emit(start, i);
        start = skip_space(i);
        i = start - 1;
        quoted = false;
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c != '.' && c != '!' && c != '?') continue;
      size_t j = i + 1;
      while (j < end && (text[j] == '.' || text[j] == '!' || text[j] == '?')) ++j;
      while (j < end && (text[j] == '"' || text[j] == '\'' || text[j] == ')' || text[j] == ']')) {
        if (text[j] == '"') quoted = !quoted;
        ++j;
      }
      if (j < end && !task_space(text[j])) {
        i = j - 1;
        continue;
      }
      size_t word = i;
      while (word > start && !task_space(text[word - 1])) --word;
      const size_t next = skip_space(j);
      const bool ends = next == end || (!quoted && sentence_starter(text[next]) &&
                                        !(c == '.' && j == i + 1 && abbreviation({text.data() + word, i - word})));
      if (ends && (next == end || text.find('\n', j) >= next)) {  // a line break in between is handled above
        emit(start, j);
        start = next;
      }
      i = j - 1;
    }
    emit(start, end);
  }
  return sentences;
}

size_t utf8_invalid_offset(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > n || (len == 2 && c < 0xC2)) return i;
    for (size_t k = 1; k < len; ++k)
      if ((s[i + k] & 0xC0) != 0x80) return i;
    // The code point's top bits: overlong forms, surrogates and anything beyond U+10FFFF are invalid.
    const uint32_t top = len == 3   ? ((c & 0x0Fu) << 6 | (s[i + 1] & 0x3Fu))
                         : len == 4 ? ((c & 0x07u) << 6 | (s[i + 1] & 0x3Fu))
                                    : 0;
    if ((len == 3 && (top < 0x20 || (top >= 0x360 && top < 0x380))) || (len == 4 && (top < 0x10 || top > 0x10F)))
      return i;
    i += len;
  }
  return std::string::npos;
}

void inputs_check(const std::string& text, const TaskMakeOptions& options, const char* kind) {
  const std::string who = std::string(kind) + ": ";
  if (options.count < 1) throw Error(ErrorKind::Invalid, who + "the item count must be at least 1");
  if (options.max_chars < 1) throw Error(ErrorKind::Invalid, who + "the longest prompt must be at least 1 byte");
  const size_t bad = utf8_invalid_offset(text);
  if (bad != std::string::npos)
    throw Error(ErrorKind::Invalid, who + "the text is not valid UTF-8 (byte " + std::to_string(bad) + ")");
}

// Uniform in [0, n); the modulo bias is below 2^-40 for the sizes used here.
uint64_t pick(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

// The first `count` of a Fisher–Yates shuffle of [0, n), in increasing order.
std::vector<size_t> sample_sorted(size_t n, int64_t count, std::mt19937_64& rng) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[pick(rng, i)]);
  order.resize(std::min<size_t>(n, static_cast<size_t>(count)));
  std::sort(order.begin(), order.end());
  return order;
}

// The first sentence of the longest run of whole sentences of `s`'s document that ends at `end` and
// spans at most max_chars bytes; `last` itself when even it is too long (the caller checks).
size_t run_start(const std::vector<Sentence>& s, size_t last, size_t end, int64_t max_chars) {
  size_t first = last;
  while (first > 0 && s[first - 1].document == s[last].document &&
         static_cast<int64_t>(end - s[first - 1].begin) <= max_chars)
    --first;
  return first;
}

// Letters only: ASCII letters and any non-ASCII character but the punctuation of U+2010 to U+2027.
bool letters_only(std::string_view word) {
  for (size_t i = 0; i < word.size(); ++i) {
    const auto c = static_cast<unsigned char>(word[i]);
    if (c < 0x80 ? !std::isalpha(c) : task_punctuation_at(word, i) != 0) return false;
  }
  return !word.empty();
}

int64_t words_count(std::string_view text) {
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    if (!task_space(c) && !in_word) ++words;
    in_word = !task_space(c);
  }
  return words;
}

}  // namespace

TaskSet task_make_cloze(const std::string& text, const TaskMakeOptions& options) {
  inputs_check(text, options, "cloze");
  const std::vector<Sentence> sentences = sentences_split(text);
  struct Candidate {
    size_t first, answer_begin, answer_end, prompt_end;
  };
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const Sentence& s = sentences[i];
    // The final word: the last whitespace-separated token, punctuation stripped from both ends.
    size_t token = s.end;
    while (token > s.begin && !task_space(text[token - 1])) --token;
    const std::string_view word = task_word_strip(std::string_view(text).substr(token, s.end - token));
    if (word.size() < 2 || !letters_only(word)) continue;
    const size_t word_begin = static_cast<size_t>(word.data() - text.data());
    const size_t word_end = word_begin + word.size();
    size_t prompt_end = word_begin;
    while (prompt_end > s.begin && task_space(text[prompt_end - 1])) --prompt_end;
    const size_t first = run_start(sentences, i, prompt_end, options.max_chars);
    if (static_cast<int64_t>(prompt_end - sentences[first].begin) > options.max_chars) continue;
    // LAMBADA's condition: the word already appeared in the passage.
    const std::string answer = task_normalise_apply(std::string(word), TaskNormalise::Word);
    bool seen = false;
    for (size_t p = sentences[first].begin; p < prompt_end && !seen;) {
      while (p < prompt_end && task_space(text[p])) ++p;
      size_t q = p;
      while (q < prompt_end && !task_space(text[q])) ++q;
      seen = q > p && task_normalise_apply(text.substr(p, q - p), TaskNormalise::Word) == answer;
      p = q;
    }
    if (seen) candidates.push_back({first, word_begin, word_end, prompt_end});
  }
  if (candidates.empty())
    throw Error(ErrorKind::Invalid, "cloze: the text yields no item (no sentence ends in a word of letters that "
                                    "appears earlier in a passage of at most " +
                                        std::to_string(options.max_chars) + " bytes)");
  std::mt19937_64 rng(options.seed);
  TaskSet tasks;
  tasks.name = "cloze";
  tasks.kind = TaskKind::Generate;
  for (size_t index : sample_sorted(candidates.size(), options.count, rng)) {
    const Candidate& c = candidates[index];
    TaskItem item;
    item.prompt = text.substr(sentences[c.first].begin, c.prompt_end - sentences[c.first].begin);
    item.answer = text.substr(c.answer_begin, c.answer_end - c.answer_begin);
    tasks.items.push_back(std::move(item));
  }
  return tasks;
}

TaskSet task_make_choice(const std::string& text, const TaskMakeOptions& options) {
  inputs_check(text, options, "choice");
  const std::vector<Sentence> sentences = sentences_split(text);
  auto sentence_text = [&](size_t i) {
    return text.substr(sentences[i].begin, sentences[i].end - sentences[i].begin);
  };
  std::vector<size_t> usable;  // sentences that may be a choice
  for (size_t i = 0; i < sentences.size(); ++i) {
    const int64_t words = words_count(sentence_text(i));
    if (words >= kChoiceMinWords && words <= kChoiceMaxWords) usable.push_back(i);
  }
  struct Candidate {
    size_t first, next;  // the context is sentences [first, next), the true choice sentence `next`
  };
  std::vector<Candidate> candidates;
  for (size_t k = 0; k < usable.size(); ++k) {
    const size_t next = usable[k];
    if (next == 0 || sentences[next - 1].document != sentences[next].document) continue;
    // The context runs to the start of the true sentence, keeping the whitespace before it.
    const size_t first = run_start(sentences, next - 1, sentences[next].begin, options.max_chars);
    if (static_cast<int64_t>(sentences[next].begin - sentences[first].begin) > options.max_chars) continue;
    candidates.push_back({first, next});
  }
  if (candidates.empty())
    throw Error(ErrorKind::Invalid, "choice: the text yields no item (no sentence of " +
                                        std::to_string(kChoiceMinWords) + " to " + std::to_string(kChoiceMaxWords) +
                                        " words follows a sentence of its document within " +
                                        std::to_string(options.max_chars) + " bytes)");
  std::mt19937_64 rng(options.seed);
  TaskSet tasks;
  tasks.name = "choice";
  tasks.kind = TaskKind::Choice;
  for (size_t index : sample_sorted(candidates.size(), options.count, rng)) {
    const Candidate& c = candidates[index];
    const std::string truth = sentence_text(c.next);
    // Distractors: distinct sentences of other documents, drawn uniformly; a bounded number of draws so
    // that a text of one document (or of one sentence repeated) ends instead of looping.
    std::vector<std::string> others;
    for (int draw = 0; draw < 1000 && static_cast<int>(others.size()) < kChoices - 1; ++draw) {
      const size_t other = usable[pick(rng, usable.size())];
      if (sentences[other].document == sentences[c.next].document) continue;
      std::string candidate = sentence_text(other);
      if (candidate == truth || std::find(others.begin(), others.end(), candidate) != others.end()) continue;
      others.push_back(std::move(candidate));
    }
    if (static_cast<int>(others.size()) < kChoices - 1) continue;
    TaskItem item;
    const size_t context_begin = sentences[c.first].begin;
    item.context = text.substr(context_begin, sentences[c.next].begin - context_begin);
    item.label = static_cast<int>(pick(rng, kChoices));
    for (int k = 0, o = 0; k < kChoices; ++k) item.choices.push_back(k == item.label ? truth : others[o++]);
    tasks.items.push_back(std::move(item));
  }
  if (tasks.items.empty())
    throw Error(ErrorKind::Invalid, "choice: the text yields no item (distractors need sentences of " +
                                        std::to_string(kChoiceMinWords) + " to " + std::to_string(kChoiceMaxWords) +
                                        " words in at least two documents)");
  return tasks;
}

}  // namespace qs
