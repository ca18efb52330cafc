// Window layout and the batched model walk shared by perplexity_eval and kl_eval.
#include "eval/eval_windows.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

// With a budget only a prefix of the text is tokenized (a long file takes seconds to encode whole).
// sentencepiece splits at whitespace before it merges pieces, so the tokens well before a cut at
// whitespace are those of the whole text; kMargin tokens before the cut are left as a safety zone.
std::vector<int> tokens_within_budget(const Tokenizer& tokenizer, const std::string& text, int64_t budget) {
  constexpr int64_t kMargin = 64;
  if (budget > 0) {
    for (size_t length = static_cast<size_t>(budget + kMargin) * 8; length < text.size(); length *= 2) {
      const size_t cut = text.find_last_of(" \n", length);
      if (cut == std::string::npos || cut == 0) continue;
      std::vector<int> tokens = tokenizer.encode(text.substr(0, cut));
      if (static_cast<int64_t>(tokens.size()) >= budget + kMargin) {
        tokens.resize(budget);
        return tokens;
      }
    }
  }
  std::vector<int> tokens = tokenizer.encode(text);
  if (budget > 0 && static_cast<int64_t>(tokens.size()) > budget) tokens.resize(budget);
  return tokens;
}

}  // namespace

void eval_options_check(const EvalOptions& options, const Model& model) {
  eval_options_check(options, model.config().max_position_embeddings);
}

void eval_options_check(const EvalOptions& options, int64_t max_positions) {
  auto invalid = [](const std::string& message) { return Error(ErrorKind::Invalid, "eval: " + message); };
  const int64_t ctx = options.ctx > 0 ? options.ctx : std::min<int64_t>(512, max_positions);
  if (ctx < 2 || ctx > max_positions)
    throw invalid("--ctx " + std::to_string(ctx) + " is outside [2, " + std::to_string(max_positions) +
                  "] (the model's max positions)");
  const int64_t stride = options.stride > 0 ? options.stride : ctx - 1;
  if (options.stride < 0 || stride > ctx - 1)
    throw invalid("stride " + std::to_string(options.stride) + " is outside [1, ctx - 1 = " + std::to_string(ctx - 1) +
                  "]");
  if (options.max_tokens < 0) throw invalid("--max-tokens must not be negative");
  if (options.batch < 1) throw invalid("batch must be at least 1");
}

EvalWindows eval_windows_build(const Tokenizer& tokenizer, int bos, const std::string& text,
                               const EvalOptions& options, int64_t max_positions) {
  eval_options_check(options, max_positions);
  EvalWindows w;
  w.bos = bos;
  w.ctx = options.ctx > 0 ? options.ctx : std::min<int64_t>(512, max_positions);
  w.stride = options.stride > 0 ? options.stride : w.ctx - 1;
  w.batch = options.batch;
  if (text.empty()) throw Error(ErrorKind::Invalid, "eval: the text is empty");

  w.tokens = tokens_within_budget(tokenizer, text, options.max_tokens);
  const int64_t n = static_cast<int64_t>(w.tokens.size());
  if (n < 2) throw Error(ErrorKind::Invalid, "eval: the text has " + std::to_string(n) + " token(s); at least 2 are needed");
  w.bytes = static_cast<int64_t>(tokenizer.decode(w.tokens).size());

  int64_t end = 0;  // text tokens [0, end) are scored by the windows so far
  for (int64_t begin = 0; end < n; begin += w.stride) {
    const int64_t length = std::min(w.ctx - 1, n - begin);
    w.windows.push_back({begin, length, end - begin});
    end = begin + length;
  }
  return w;
}

torch::Tensor eval_windows_batch(const EvalWindows& windows, size_t first, size_t count, torch::Device device) {
  int64_t longest = 0;
  for (size_t i = first; i < first + count; ++i) longest = std::max(longest, windows.windows[i].length);
  torch::Tensor ids = torch::full({static_cast<int64_t>(count), longest}, windows.bos, torch::kInt64);
  auto acc = ids.accessor<int64_t, 2>();
  for (size_t i = 0; i < count; ++i) {
    const EvalWindow& window = windows.windows[first + i];
    for (int64_t p = 1; p < window.length; ++p) acc[i][p] = windows.tokens[window.begin + p - 1];
  }
  return ids.to(device);
}

torch::Tensor eval_window_targets(const EvalWindows& windows, const EvalWindow& window, torch::Device device) {
  torch::Tensor targets = torch::empty({window.length - window.scored}, torch::kInt64);
  auto acc = targets.accessor<int64_t, 1>();
  for (int64_t p = window.scored; p < window.length; ++p) acc[p - window.scored] = windows.tokens[window.begin + p];
  return targets.to(device);
}

void eval_windows_run(const EvalWindows& windows, const std::vector<const ModelState*>& models, JobContext* job,
                      const EvalVisit& visit) {
  c10::InferenceMode inference;
  const size_t total = windows.windows.size();
  const size_t batch = static_cast<size_t>(windows.batch);
  for (size_t first = 0; first < total; first += batch) {
    if (job) job->check_cancelled();
    const size_t count = std::min(batch, total - first);
    std::vector<torch::Tensor> logits;
    for (const ModelState* model : models)
      logits.push_back(llama_forward(*model, eval_windows_batch(windows, first, count, model->torch_device())));
    for (size_t i = 0; i < count; ++i) {
      const EvalWindow& window = windows.windows[first + i];
      std::vector<torch::Tensor> log_probs;
      for (const torch::Tensor& l : logits)
        log_probs.push_back(torch::log_softmax(l[i].narrow(0, window.scored, window.length - window.scored), -1));
      visit(window, log_probs);
    }
    if (job)
      job->progress(static_cast<double>(first + count) / total,
                    "window " + std::to_string(first + count) + " of " + std::to_string(total));
  }
}

void NllSums::add(const torch::Tensor& log_probs, const torch::Tensor& targets) {
  const torch::Tensor token_log_probs = log_probs.gather(1, targets.unsqueeze(1));
  sum -= token_log_probs.sum().item<double>();
  square_sum += token_log_probs.to(torch::kFloat64).square().sum().item<double>();
}

PerplexityResult eval_perplexity_result(const EvalWindows& windows, const NllSums& nll, double seconds) {
  if (!std::isfinite(nll.sum) || !std::isfinite(nll.square_sum))
    throw Error(ErrorKind::Numeric, "eval: the model produced non-finite log-probabilities");
  PerplexityResult r;
  for (const EvalWindow& window : windows.windows) r.tokens += window.length - window.scored;
  r.bytes = windows.bytes;
  r.windows = static_cast<int64_t>(windows.windows.size());
  r.nll = nll.sum / r.tokens;
  r.perplexity = std::exp(r.nll);
  r.bits_per_byte = r.bytes > 0 ? nll.sum / std::log(2.0) / r.bytes : 0.0;
  // eval_windows_build scores at least 2 tokens; rounding can leave the sum of squared deviations a hair
  // below zero for a constant nll.
  const double n = static_cast<double>(r.tokens);
  const double variance = std::max(0.0, (nll.square_sum - n * r.nll * r.nll) / (n - 1));
  r.nll_standard_error = std::sqrt(variance / n);
  r.perplexity_standard_error = r.perplexity * r.nll_standard_error;
  r.seconds = seconds;
  return r;
}

}  // namespace qs
