// KL divergence of a model's next-token distribution from a reference model's on the same tokens,
// with both models' perplexities from the same pass. The reference side can be prepared once
// (KlReference) so that sweeps and scans over many quantized models run the reference only once.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "eval/eval_windows.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {

class KlReference {
 public:
  const ModelState* reference = nullptr;
  EvalWindows windows;
  // The reference's log-probabilities at each window's scored positions; empty when they did not
  // fit the cache and are recomputed by every evaluation.
  std::vector<torch::Tensor> log_probs;
  NllSums nll;  // the reference's (cached mode)
};

namespace {

// Linear interpolation between order statistics (numpy's default), values sorted ascending.
double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

void vocabulary_check(const ModelState& m, const ModelState& r) {
  if (m.config.vocab_size != r.config.vocab_size)
    throw Error(ErrorKind::Invalid, m.source.string() + ": vocabulary of " + std::to_string(m.config.vocab_size) +
                                        " differs from the reference's " + std::to_string(r.config.vocab_size) +
                                        " (" + r.source.string() + ")");
}

EvalWindows reference_windows(const ModelState& r, const std::string& text, const EvalOptions& options,
                              int64_t max_positions) {
  if (!r.tokenizer) throw Error(ErrorKind::Invalid, r.source.string() + ": the reference model has no tokenizer");
  return eval_windows_build(*r.tokenizer, static_cast<int>(r.config.bos_token_id), text, options, max_positions);
}

// Per-token KL and agreement of one model against the reference over the prepared windows.
KlResult kl_measure(const ModelState& m, const KlReference& ref, JobContext* job) {
  const auto start = std::chrono::steady_clock::now();
  vocabulary_check(m, *ref.reference);
  const EvalWindows& windows = ref.windows;
  if (windows.ctx > m.config.max_position_embeddings)
    throw Error(ErrorKind::Invalid, m.source.string() + ": ctx " + std::to_string(windows.ctx) +
                                        " exceeds the model's " + std::to_string(m.config.max_position_embeddings) +
                                        " positions");
  const bool cached = !ref.log_probs.empty();
  std::vector<const ModelState*> models = {&m};
  if (!cached) models.push_back(ref.reference);

  std::vector<double> kl;
  kl.reserve(windows.tokens.size());
  int64_t agree = 0;
  NllSums nll_model, nll_reference = cached ? ref.nll : NllSums{};
  size_t window_index = 0;
  eval_windows_run(windows, models, job, [&](const EvalWindow& window, const std::vector<torch::Tensor>& lp) {
    const torch::Tensor& lp_model = lp[0];
    const torch::Tensor lp_ref = (cached ? ref.log_probs[window_index] : lp[1]).to(lp_model.device());
    ++window_index;
    const torch::Tensor targets = eval_window_targets(windows, window, lp_model.device());
    nll_model.add(lp_model, targets);
    if (!cached) nll_reference.add(lp_ref, targets);
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
  // Rounding can make a token's KL slightly negative; the histogram starts at 0 regardless.
  std::vector<float> clamped(kl.size());
  std::transform(kl.begin(), kl.end(), clamped.begin(), [](double v) { return static_cast<float>(std::max(v, 0.0)); });
  result.histogram = histogram_compute(clamped, 64, 0.0, std::max(result.max, 1e-12));
  result.model = eval_perplexity_result(windows, nll_model, seconds);
  result.reference = eval_perplexity_result(windows, nll_reference, seconds);
  return result;
}

}  // namespace

std::shared_ptr<const KlReference> kl_reference_prepare(const Model& reference, const std::string& text,
                                                        const EvalOptions& options, JobContext* job,
                                                        uint64_t cache_bytes) {
  const ModelState& r = reference.state();
  auto ref = std::make_shared<KlReference>();
  ref->reference = &r;
  ref->windows = reference_windows(r, text, options, r.config.max_position_embeddings);
  const uint64_t need = static_cast<uint64_t>(ref->windows.tokens.size()) *
                        static_cast<uint64_t>(r.config.vocab_size) * sizeof(float);
  if (need > cache_bytes) return ref;
  eval_windows_run(ref->windows, {&r}, job, [&](const EvalWindow& window, const std::vector<torch::Tensor>& lp) {
    ref->nll.add(lp[0], eval_window_targets(ref->windows, window, lp[0].device()));
    ref->log_probs.push_back(lp[0].clone());
  });
  return ref;
}

KlResult kl_eval(const Model& model, const KlReference& reference, JobContext* job) {
  return kl_measure(model.state(), reference, job);
}

KlResult kl_eval(const Model& model, const Model& reference, const std::string& text, const EvalOptions& options,
                 JobContext* job) {
  const ModelState& m = model.state();
  const ModelState& r = reference.state();
  vocabulary_check(m, r);
  // One evaluation: nothing to cache, both models run side by side.
  KlReference ref;
  ref.reference = &r;
  ref.windows = reference_windows(
      r, text, options, std::min(m.config.max_position_embeddings, r.config.max_position_embeddings));
  return kl_measure(m, ref, job);
}

}  // namespace qs
