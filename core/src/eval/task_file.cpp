// Task files (JSONL, docs/tasks.md): one item per line, so that a bad item is reported by its line and
// files can be concatenated, filtered and diffed with line tools. Loading and saving apply the same
// item checks, so every file this writes loads again.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "base/json_strict.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/tasks.hpp"

namespace qs {
namespace {

// Keys in the order the file writes them.
using json = nlohmann::ordered_json;

const char* const kKeysHint = "a generate item has \"prompt\" and \"answer\"; a choice item \"context\", "
                              "\"choices\" and \"label\"";

bool generate_key(const std::string& key) { return key == "prompt" || key == "answer"; }
bool choice_key(const std::string& key) { return key == "context" || key == "choices" || key == "label"; }

std::optional<std::string> choices_problem(const std::vector<std::string>& choices) {
  const size_t n = choices.size();
  if (n < 2) return "\"choices\" has " + std::to_string(n) + " entries; at least two are needed";
  for (size_t i = 0; i < n; ++i) {
    if (choices[i].empty()) return "choice " + std::to_string(i) + " is empty";
    for (size_t j = 0; j < i; ++j)
      if (choices[i] == choices[j])
        return "choices " + std::to_string(j) + " and " + std::to_string(i) + " are the same";
  }
  return std::nullopt;
}

// `written`: the label as the file spells it.
std::optional<std::string> label_problem(int64_t label, size_t choices, const std::string& written) {
  if (label >= 0 && label < static_cast<int64_t>(choices)) return std::nullopt;
  return "label " + written + " is outside the " + std::to_string(choices) + " choices (0 to " +
         std::to_string(choices - 1) + ")";
}

// The problem with an item, if any: what task_file_save refuses to write.
std::optional<std::string> item_problem(const TaskItem& item, TaskKind kind) {
  if (kind == TaskKind::Generate) {
    if (item.answer.empty()) return "\"answer\" is empty";
    if (!item.context.empty() || !item.choices.empty() || item.label != -1)
      return "a generate item with choice fields (context, choices, label)";
    return std::nullopt;
  }
  if (!item.prompt.empty() || !item.answer.empty()) return "a choice item with generate fields (prompt, answer)";
  if (auto problem = choices_problem(item.choices)) return problem;
  return label_problem(item.label, item.choices.size(), std::to_string(item.label));
}

json line_parse(const std::string& line, const std::string& where) {
  const json j = json_parse_strict(line, where);
  if (!j.is_object()) throw Error(ErrorKind::Format, where + ": an item is a JSON object (" + kKeysHint + ")");
  return j;
}

TaskKind item_kind(const json& j, const std::string& where) {
  bool generate = false, choice = false;
  for (const auto& [key, value] : j.items()) {
    if (generate_key(key)) generate = true;
    else if (choice_key(key)) choice = true;
    else throw Error(ErrorKind::Format, where + ": unknown key \"" + key + "\" (" + kKeysHint + ")");
  }
  if (generate && choice)
    throw Error(ErrorKind::Format, where + ": mixes generate keys with choice keys (" + kKeysHint + ")");
  if (!generate && !choice) throw Error(ErrorKind::Format, where + ": an empty item (" + kKeysHint + ")");
  return generate ? TaskKind::Generate : TaskKind::Choice;
}

const json& key_get(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw Error(ErrorKind::Format, where + ": \"" + key + "\" is missing");
  return j.at(key);
}

std::string string_get(const json& j, const char* key, const std::string& where) {
  const json& value = key_get(j, key, where);
  if (!value.is_string()) throw Error(ErrorKind::Format, where + ": \"" + key + "\" must be a string");
  return value.get<std::string>();
}

TaskItem item_parse(const json& j, TaskKind kind, const std::string& where) {
  TaskItem item;
  if (kind == TaskKind::Generate) {
    item.prompt = string_get(j, "prompt", where);
    item.answer = string_get(j, "answer", where);
    return item;
  }
  item.context = string_get(j, "context", where);
  const json& choices = key_get(j, "choices", where);
  if (!choices.is_array()) throw Error(ErrorKind::Format, where + ": \"choices\" must be an array of strings");
  for (const json& choice : choices) {
    if (!choice.is_string()) throw Error(ErrorKind::Format, where + ": \"choices\" must be an array of strings");
    item.choices.push_back(choice.get<std::string>());
  }
  if (const auto problem = choices_problem(item.choices)) throw Error(ErrorKind::Format, where + ": " + *problem);
  const json& label = key_get(j, "label", where);
  if (!label.is_number_integer())
    throw Error(ErrorKind::Format, where + ": \"label\" must be a whole number (the index of the right choice)");
  const int64_t value = label.is_number_unsigned() && label.get<uint64_t>() > uint64_t(INT64_MAX)
                            ? INT64_MAX
                            : label.get<int64_t>();
  if (const auto problem = label_problem(value, item.choices.size(), label.dump()))
    throw Error(ErrorKind::Format, where + ": " + *problem);
  item.label = static_cast<int>(value);
  return item;
}

}  // namespace

const char* task_kind_name(TaskKind kind) { return kind == TaskKind::Generate ? "generate" : "choice"; }

TaskSet task_file_load(const std::filesystem::path& path) {
  const std::string text = file_read(path);
  TaskSet tasks;
  tasks.name = path.stem().string();
  int64_t first_line = 0;  // of the first item, which fixes the file's kind
  size_t begin = 0;
  for (int64_t number = 1; begin < text.size(); ++number) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(number);
    const json j = line_parse(line, where);
    const TaskKind kind = item_kind(j, where);
    if (first_line == 0) {
      tasks.kind = kind;
      first_line = number;
    } else if (kind != tasks.kind) {
      throw Error(ErrorKind::Format, where + ": a " + task_kind_name(kind) + " item in a file of " +
                                         task_kind_name(tasks.kind) + " items (line " + std::to_string(first_line) +
                                         " is one)");
    }
    TaskItem item = item_parse(j, kind, where);
    if (const auto problem = item_problem(item, kind)) throw Error(ErrorKind::Format, where + ": " + *problem);
    tasks.items.push_back(std::move(item));
  }
  if (tasks.items.empty())
    throw Error(ErrorKind::Format, path.string() + ": no items (one JSON object per line: " + kKeysHint + ")");
  return tasks;
}

void task_file_save(const TaskSet& tasks, const std::filesystem::path& path) {
  if (tasks.items.empty()) throw Error(ErrorKind::Invalid, path.string() + ": no items to write");
  std::string out;
  for (size_t i = 0; i < tasks.items.size(); ++i) {
    const TaskItem& item = tasks.items[i];
    const std::string where = path.string() + ": item " + std::to_string(i);
    if (const auto problem = item_problem(item, tasks.kind)) throw Error(ErrorKind::Invalid, where + ": " + *problem);
    json j;
    if (tasks.kind == TaskKind::Generate) {
      j["prompt"] = item.prompt;
      j["answer"] = item.answer;
    } else {
      j["context"] = item.context;
      j["choices"] = item.choices;
      j["label"] = item.label;
    }
    try {
      out += j.dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception&) {
      throw Error(ErrorKind::Invalid, where + ": text that is not valid UTF-8");
    }
    out += '\n';
  }
  file_write_atomic(path, out);
}

}  // namespace qs
