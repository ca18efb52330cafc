// Scoring a model on a task set: greedy decoding with stop rules and answer normalisation for generate
// items, length-normalised log-likelihood for choice items, and the accuracy with its standard error.
// Tensors stay on the model's device; only the chosen token and the per-choice sums come back.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tasks.hpp"
#include "quantscope/tokenizer.hpp"
#include "eval/task_text.hpp"

namespace qs {
namespace {

std::string trailing_space(const std::string& text) {
  size_t end = text.size();
  while (end > 0 && task_space(text[end - 1])) --end;
  return text.substr(end);
}

// The continuation cut at the first stop string and, with stop_at_word_end, at the whitespace after
// its first word. `final` tells whether more tokens could still change the cut text.
struct Cut {
  std::string text;
  bool final = false;
};

Cut continuation_cut(const std::string& continuation, const TaskEvalOptions& options) {
  size_t end = continuation.size();
  bool final = false;
  for (const std::string& stop : options.stop) {
    const size_t at = continuation.find(stop);
    if (at != std::string::npos && at <= end) end = at, final = true;
  }
  if (options.stop_at_word_end) {
    size_t i = 0;
    while (i < end && task_space(continuation[i])) ++i;
    while (i < end && !task_space(continuation[i])) ++i;
    if (i < end) end = i, final = true;
  }
  return {continuation.substr(0, end), final};
}

void options_check(const TaskEvalOptions& options, const ModelState& state, TaskKind kind) {
  auto invalid = [](const std::string& message) { return Error(ErrorKind::Invalid, "tasks: " + message); };
  const int64_t positions = state.config.max_position_embeddings;
  if (options.max_new < 1) throw invalid("max-new must be at least 1");
  if (kind == TaskKind::Generate && options.max_new >= positions)
    throw invalid("max-new " + std::to_string(options.max_new) + " leaves no room for a prompt in the model's " +
                  std::to_string(positions) + " positions");
  if (options.max_items < 0) throw invalid("max-items must not be negative");
  for (const std::string& stop : options.stop)
    if (stop.empty()) throw invalid("a stop string is empty");
  if (!state.tokenizer) throw Error(ErrorKind::Invalid, state.source.string() + ": no tokenizer to score tasks with");
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids, torch::Device device) {
  return torch::tensor(ids, torch::kInt64).view({1, -1}).to(device);
}

bool generate_correct(const ModelState& state, const TaskItem& item, const TaskEvalOptions& options) {
  const Tokenizer& tokenizer = *state.tokenizer;
  const ModelConfig& c = state.config;
  std::vector<int> prompt = tokenizer.encode(item.prompt);
  // BOS, the prompt and all generated tokens but the last are fed.
  const size_t room = static_cast<size_t>(c.max_position_embeddings - options.max_new);
  if (prompt.size() > room) prompt.erase(prompt.begin(), prompt.end() - static_cast<std::ptrdiff_t>(room));
  std::vector<int64_t> input = {c.bos_token_id};
  input.insert(input.end(), prompt.begin(), prompt.end());

  KvCache cache;
  torch::Tensor logits = llama_forward(state, ids_tensor(input, state.torch_device()), &cache);
  std::vector<int> all = prompt;  // decoded together so that the continuation's spacing is right
  const size_t prompt_bytes = tokenizer.decode(prompt).size();
  Cut cut;
  for (int64_t generated = 0; generated < options.max_new; ++generated) {
    const int next = static_cast<int>(logits[0][-1].argmax().item<int64_t>());
    // llama2.c-trained models end a story with the BOS that starts the next rather than with EOS.
    if (next == c.eos_token_id || next == c.bos_token_id) break;
    all.push_back(next);
    const std::string text = tokenizer.decode(all);
    cut = continuation_cut(text.size() > prompt_bytes ? text.substr(prompt_bytes) : std::string(), options);
    if (cut.final || generated + 1 == options.max_new) break;
    logits = llama_forward(state, torch::full({1, 1}, next, torch::kInt64).to(state.torch_device()), &cache);
  }
  return task_normalise_apply(cut.text, options.normalise) == task_normalise_apply(item.answer, options.normalise);
}

size_t common_prefix(const std::vector<int>& a, const std::vector<int>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// The index of the choice with the highest log-likelihood per byte of its continuation. The
// context's trailing whitespace is moved to the front of every continuation: sentencepiece attaches a
// space to the word after it, so "context " + "choice" would otherwise be tokenized unlike the text.
// Tokens are those of context + continuation after the ones they share with the context alone (all of
// the context's, except where sentencepiece merges across the boundary).
int choice_pick(const ModelState& state, const TaskItem& item, const std::string& where) {
  const Tokenizer& tokenizer = *state.tokenizer;
  const ModelConfig& c = state.config;
  const std::string space = trailing_space(item.context);
  const std::string context = item.context.substr(0, item.context.size() - space.size());
  const std::vector<int> context_ids = tokenizer.encode(context);
  const size_t n = item.choices.size();
  std::vector<std::vector<int>> whole(n);
  std::vector<size_t> shared(n);
  size_t shared_min = context_ids.size();
  for (size_t i = 0; i < n; ++i) {
    whole[i] = tokenizer.encode(context + space + item.choices[i]);
    shared[i] = common_prefix(context_ids, whole[i]);
    shared_min = std::min(shared_min, shared[i]);
  }
  // Every row is BOS + the shared context + its own tokens; the context loses tokens from its start
  // (BOS stays) until the longest row fits the model's positions.
  size_t longest = 0;
  for (size_t i = 0; i < n; ++i) longest = std::max(longest, whole[i].size() - shared_min);
  const size_t positions = static_cast<size_t>(c.max_position_embeddings);
  // Positions fed: the prefix but its last token (cached), then the longest row without its last token.
  if (longest > positions)
    throw Error(ErrorKind::Invalid, where + ": a choice takes " + std::to_string(longest) +
                                        " tokens; with BOS that exceeds the model's " + std::to_string(positions) +
                                        " positions");
  const size_t kept = std::min(shared_min, positions - longest);
  std::vector<int64_t> prefix = {c.bos_token_id};
  prefix.insert(prefix.end(), context_ids.begin() + static_cast<std::ptrdiff_t>(shared_min - kept),
                context_ids.begin() + static_cast<std::ptrdiff_t>(shared_min));

  // The prefix but its last token runs once into a cache shared by the rows; each row then feeds that
  // last token and its own tokens, so position p's logits predict the row's token p + 1.
  const torch::Device device = state.torch_device();
  KvCache cache;
  KvCache* row_cache = nullptr;
  if (prefix.size() > 1) {
    llama_forward(state, ids_tensor({prefix.begin(), prefix.end() - 1}, device), &cache);
    for (size_t layer = 0; layer < cache.k.size(); ++layer) {
      cache.k[layer] = cache.k[layer].expand({static_cast<int64_t>(n), -1, -1, -1});
      cache.v[layer] = cache.v[layer].expand({static_cast<int64_t>(n), -1, -1, -1});
    }
    row_cache = &cache;
  }
  const int64_t length = static_cast<int64_t>(longest) + 1;
  torch::Tensor rows = torch::full({static_cast<int64_t>(n), length}, prefix.back(), torch::kInt64);
  torch::Tensor targets = torch::zeros({static_cast<int64_t>(n), length}, torch::kInt64);
  torch::Tensor scored = torch::zeros({static_cast<int64_t>(n), length}, torch::kFloat32);
  auto rows_a = rows.accessor<int64_t, 2>();
  auto targets_a = targets.accessor<int64_t, 2>();
  auto scored_a = scored.accessor<float, 2>();
  for (size_t i = 0; i < n; ++i) {
    for (size_t t = shared_min; t < whole[i].size(); ++t) {
      const int64_t p = static_cast<int64_t>(t - shared_min);  // the position that predicts token t
      rows_a[i][p + 1] = whole[i][t];
      targets_a[i][p] = whole[i][t];
      if (t >= shared[i]) scored_a[i][p] = 1;
    }
  }
  // Only positions [0, longest) predict a row token; the last column is padding for all rows.
  const torch::Tensor logits = llama_forward(state, rows.narrow(1, 0, length - 1).to(device), row_cache);
  const torch::Tensor log_probs = torch::log_softmax(logits, -1);
  const torch::Tensor sums = (log_probs.gather(2, targets.narrow(1, 0, length - 1).to(device).unsqueeze(2))
                                  .squeeze(2) *
                              scored.narrow(1, 0, length - 1).to(device))
                                 .sum(1)
                                 .to(torch::kCPU, torch::kFloat64);
  int best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n; ++i) {
    const double score = sums[static_cast<int64_t>(i)].item<double>() /
                         static_cast<double>(space.size() + item.choices[i].size());
    if (!std::isfinite(score))
      throw Error(ErrorKind::Numeric, where + ": the model gives choice " + std::to_string(i) +
                                          " a non-finite log-likelihood");
    if (score > best_score) best = static_cast<int>(i), best_score = score;
  }
  return best;
}

}  // namespace

const char* task_normalise_name(TaskNormalise normalise) {
  switch (normalise) {
    case TaskNormalise::Exact: return "exact";
    case TaskNormalise::Trim: return "trim";
    case TaskNormalise::Word: return "word";
  }
  return "?";
}

TaskNormalise task_normalise_parse(const std::string& text, const std::string& source) {
  for (TaskNormalise n : {TaskNormalise::Exact, TaskNormalise::Trim, TaskNormalise::Word})
    if (text == task_normalise_name(n)) return n;
  throw Error(ErrorKind::Invalid, source + ": unknown normalisation \"" + text + "\" (exact, trim or word)");
}

std::string task_normalise_apply(const std::string& text, TaskNormalise normalise) {
  if (normalise == TaskNormalise::Exact) return text;
  if (normalise == TaskNormalise::Trim) {
    size_t begin = 0, end = text.size();
    while (begin < end && task_space(text[begin])) ++begin;
    while (end > begin && task_space(text[end - 1])) --end;
    return text.substr(begin, end - begin);
  }
  std::string word(task_word_strip(text));
  for (char& ch : word)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return word;
}

TaskScore task_evaluate(const Model& model, const TaskSet& tasks, const TaskEvalOptions& options, JobContext* job) {
  const auto start = std::chrono::steady_clock::now();
  const ModelState& state = model.state();
  options_check(options, state, tasks.kind);
  const int64_t total = static_cast<int64_t>(tasks.items.size());
  const int64_t n = options.max_items > 0 ? std::min(options.max_items, total) : total;
  if (n == 0) throw Error(ErrorKind::Invalid, tasks.name + ": no items to evaluate");

  c10::InferenceMode inference;
  TaskScore score;
  score.name = tasks.name;
  score.kind = tasks.kind;
  score.items = n;
  score.item_correct.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (job) job->check_cancelled();
    const TaskItem& item = tasks.items[static_cast<size_t>(i)];
    const bool correct = tasks.kind == TaskKind::Generate
                             ? generate_correct(state, item, options)
                             : choice_pick(state, item, tasks.name + " item " + std::to_string(i)) == item.label;
    score.item_correct.push_back(correct ? 1 : 0);
    score.correct += correct ? 1 : 0;
    if (job)
      job->progress(static_cast<double>(i + 1) / static_cast<double>(n),
                    tasks.name + ": item " + std::to_string(i + 1) + " of " + std::to_string(n));
  }
  const double p = static_cast<double>(score.correct) / static_cast<double>(n);
  score.accuracy = p;
  // One item has no spread to estimate.
  score.standard_error = n > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(n - 1))
                               : std::numeric_limits<double>::quiet_NaN();
  score.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return score;
}

}  // namespace qs
