// The token windows that perplexity and KL evaluation share: the text tokenized once, cut into windows
// that start with BOS and advance by a stride, each text token scored by exactly one window, and the
// batched, cancellable walk of one or more models over them. Both evaluations use this one layout, so
// their token counts and perplexities agree.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "quantscope/eval.hpp"

namespace qs {

class Tokenizer;
struct ModelState;

// A window is fed BOS followed by text tokens. Position p holds BOS (p = 0) or text token
// begin + p - 1 and predicts text token begin + p; positions [scored, length) are scored.
struct EvalWindow {
  int64_t begin = 0;   // index of the window's first text token
  int64_t length = 0;  // text tokens predicted in the window (= positions fed), at most ctx - 1
  int64_t scored = 0;  // first scored position: the tokens before it were scored by an earlier window
};

struct EvalWindows {
  std::vector<int> tokens;  // the text tokens within the budget
  int64_t ctx = 0, stride = 0, batch = 0;
  int bos = 1;
  int64_t bytes = 0;  // UTF-8 bytes of the decoded tokens (every token is scored once)
  std::vector<EvalWindow> windows;
};

// eval_options_check (eval.hpp) for a model of `max_positions` positions.
void eval_options_check(const EvalOptions& options, int64_t max_positions);

// Throws Invalid for an empty text, fewer than 2 tokens, and what eval_options_check throws.
EvalWindows eval_windows_build(const Tokenizer& tokenizer, int bos, const std::string& text,
                               const EvalOptions& options, int64_t max_positions);

// The input ids of windows [first, first + count), [count, longest length] int64; shorter windows
// are padded at the end, where causal attention keeps the padding from reaching real positions.
torch::Tensor eval_windows_batch(const EvalWindows& windows, size_t first, size_t count, torch::Device device);

// The text tokens a window's scored positions predict, [length - scored] int64.
torch::Tensor eval_window_targets(const EvalWindows& windows, const EvalWindow& window, torch::Device device);

// log_probs[m]: model m's log-softmax at the window's scored positions, [length - scored, vocab]
// float32 on that model's device.
using EvalVisit = std::function<void(const EvalWindow& window, const std::vector<torch::Tensor>& log_probs)>;

// Runs the models over all windows, `batch` windows per forward pass, without autograd; reports
// progress to the job and checks for cancellation between batches.
void eval_windows_run(const EvalWindows& windows, const std::vector<const ModelState*>& models, JobContext* job,
                      const EvalVisit& visit);

// The scored tokens' negative log-likelihoods so far: the sum (of float32 window sums, as perplexity
// always was) and the sum of squares in double, which the standard error needs.
struct NllSums {
  double sum = 0, square_sum = 0;
  // `log_probs` of the scored positions, [tokens, vocab]; `targets` [tokens] int64 on its device.
  void add(const torch::Tensor& log_probs, const torch::Tensor& targets);
};

PerplexityResult eval_perplexity_result(const EvalWindows& windows, const NllSums& nll, double seconds);

}  // namespace qs
