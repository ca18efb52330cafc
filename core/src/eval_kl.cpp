// KL divergence of a model's next-token distribution from a reference model's on the same tokens,
// with both models' perplexities from the same pass.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "eval_windows.hpp"
#include "model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

// Linear interpolation between order statistics (numpy's default), values sorted ascending.
double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

KlResult kl_eval(const Model& model, const Model& reference, const std::string& text, const EvalOptions& options,
                 JobContext* job) {
  const auto start = std::chrono::steady_clock::now();
  const ModelState& m = model.state();
  const ModelState& r = reference.state();
  if (m.config.vocab_size != r.config.vocab_size)
    throw Error(ErrorKind::Invalid, m.source.string() + ": vocabulary of " + std::to_string(m.config.vocab_size) +
                                        " differs from the reference's " + std::to_string(r.config.vocab_size) +
                                        " (" + r.source.string() + ")");
  if (!r.tokenizer)
    throw Error(ErrorKind::Invalid, r.source.string() + ": the reference model has no tokenizer");
  const int64_t max_positions = std::min(m.config.max_position_embeddings, r.config.max_position_embeddings);
  const EvalWindows windows =
      eval_windows_build(*r.tokenizer, static_cast<int>(r.config.bos_token_id), text, options, max_positions);

  std::vector<double> kl;
  kl.reserve(windows.tokens.size());
  int64_t agree = 0;
  double nll_model = 0, nll_reference = 0;
  eval_windows_run(windows, {&m, &r}, job, [&](const EvalWindow& window, const std::vector<torch::Tensor>& lp) {
    const torch::Tensor& lp_model = lp[0];
    const torch::Tensor lp_ref = lp[1].to(lp_model.device());
    const torch::Tensor targets = eval_window_targets(windows, window, lp_model.device()).unsqueeze(1);
    nll_model -= lp_model.gather(1, targets).sum().item<double>();
    nll_reference -= lp_ref.gather(1, targets).sum().item<double>();
    agree += lp_model.argmax(-1).eq(lp_ref.argmax(-1)).sum().item<int64_t>();
    const torch::Tensor per_token = (lp_ref.exp() * (lp_ref - lp_model)).sum(-1).to(torch::kCPU, torch::kFloat64);
    const double* values = per_token.data_ptr<double>();
    kl.insert(kl.end(), values, values + per_token.numel());
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  KlResult result;
  result.tokens = static_cast<int64_t>(kl.size());
  double sum = 0;
  for (double v : kl) sum += v;
  result.mean = sum / static_cast<double>(kl.size());
  std::sort(kl.begin(), kl.end());
  result.median = quantile_sorted(kl, 0.5);
  result.p99 = quantile_sorted(kl, 0.99);
  result.max = kl.back();
  result.top1_agreement = static_cast<double>(agree) / static_cast<double>(kl.size());
  result.model = eval_perplexity_result(windows, nll_model, seconds);
  result.reference = eval_perplexity_result(windows, nll_reference, seconds);
  return result;
}

}  // namespace qs
