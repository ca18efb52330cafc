// Downstream task scores, not only perplexity: task files (JSONL, docs/tasks.md) of generative
// exact-match items and multiple-choice items, the generators that build them from held-out text
// (LAMBADA-style last-word cloze, HellaSwag-style 4-way continuation), and their evaluation on a
// model with a standard error, so that a quantized model can be asked "does it still do the task?".
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qs {

class Model;
class JobContext;

enum class TaskKind { Generate, Choice };
const char* task_kind_name(TaskKind kind);

// How a generated answer and the expected one are compared. Exact: byte for byte after cutting at
// the first stop string. Trim: surrounding whitespace removed. Word: trimmed, lower-cased, and
// punctuation removed from both ends (LAMBADA's convention).
enum class TaskNormalise { Exact, Trim, Word };
const char* task_normalise_name(TaskNormalise normalise);
TaskNormalise task_normalise_parse(const std::string& text, const std::string& source);
// The text as `normalise` compares it; the evaluation and the cloze generator both use it.
std::string task_normalise_apply(const std::string& text, TaskNormalise normalise);

struct TaskItem {
  // Generate: greedy continuation of `prompt`, compared with `answer`.
  std::string prompt, answer;
  // Choice: the choice whose continuation of `context` has the highest log-likelihood per UTF-8 byte.
  std::string context;
  std::vector<std::string> choices;
  int label = -1;
};

struct TaskSet {
  std::string name;  // the file's stem unless set
  TaskKind kind = TaskKind::Generate;
  std::vector<TaskItem> items;
};

// One JSON object per line: {"prompt", "answer"} or {"context", "choices", "label"}; every line of a
// file has the same kind. Throws Format naming the file and line for malformed JSON, unknown or
// missing keys, a mixed file, a label outside the choices or fewer than two choices.
TaskSet task_file_load(const std::filesystem::path& path);
// Atomic: a temporary file beside `path`, then rename.
void task_file_save(const TaskSet& tasks, const std::filesystem::path& path);

// Generators over a held-out text. Documents are separated by blank lines (or "<|endoftext|>"); both
// are deterministic functions of (text, options). Throws Invalid when the text yields no item.
struct TaskMakeOptions {
  int64_t count = 200;       // at most this many items
  uint64_t seed = 0;
  int64_t max_chars = 1000;  // longest prompt / context kept, in bytes (cut at a sentence start)
};
// Last-word cloze: a passage whose final word appeared earlier in the passage; the prompt is the
// passage up to that word, the answer the word.
TaskSet task_make_cloze(const std::string& text, const TaskMakeOptions& options);
// 4-way continuation: the context is a document's first sentences, the true choice its next
// sentence, the three others sentences from other documents; the label is placed by the seed.
TaskSet task_make_choice(const std::string& text, const TaskMakeOptions& options);

struct TaskEvalOptions {
  // Generate items: decoding stops at EOS, after max_new tokens, or when the continuation contains a
  // stop string (it is cut there). Default: a newline, or the end of the first word.
  std::vector<std::string> stop = {"\n"};
  bool stop_at_word_end = true;
  int64_t max_new = 16;
  TaskNormalise normalise = TaskNormalise::Word;
  int64_t max_items = 0;  // 0: every item
};

struct TaskScore {
  std::string name;
  TaskKind kind = TaskKind::Generate;
  int64_t items = 0;
  int64_t correct = 0;
  double accuracy = 0;
  // sqrt(p (1 − p) / (n − 1)), the sample standard error of the accuracy; NaN for one item.
  double standard_error = 0;
  std::vector<uint8_t> item_correct;  // per item, 1 when correct
  double seconds = 0;
};

// Prompts and contexts longer than the model's positions keep their last tokens.
TaskScore task_evaluate(const Model& model, const TaskSet& tasks, const TaskEvalOptions& options = {},
                        JobContext* job = nullptr);

}  // namespace qs
