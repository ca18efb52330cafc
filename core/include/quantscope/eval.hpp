// Evaluation of a model on text: perplexity and bits per byte, and the KL divergence of one model's
// next-token distribution from a reference model's on the same tokens (the metric llama.cpp asks of
// every new quantization format).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "quantscope/stats.hpp"

namespace qs {

class Model;
class JobContext;

struct EvalOptions {
  int64_t ctx = 0;         // window length in tokens, BOS included; 0: min(512, max positions)
  int64_t stride = 0;      // window start advance; 0: ctx - 1 (non-overlapping scored tokens)
  int64_t max_tokens = 0;  // budget of text tokens read from the start of the text; 0: all
  int64_t batch = 8;       // windows per forward pass
};

// Throws Invalid when the options cannot apply to the model: ctx outside [2, its max positions], a
// stride outside [1, ctx - 1], a negative budget or a batch below 1. Every evaluation checks this
// first; front ends call it to report a bad option before any work.
void eval_options_check(const EvalOptions& options, const Model& model);

struct PerplexityResult {
  int64_t tokens = 0;        // tokens scored
  int64_t bytes = 0;         // UTF-8 bytes of the scored tokens' text
  int64_t windows = 0;
  double nll = 0;            // mean negative log-likelihood per token, nats
  double perplexity = 0;     // exp(nll)
  // How far the text's sampling moves the mean: the sample standard deviation of the per-token nll
  // over sqrt(tokens), treating tokens as independent (they are not quite, so it is a lower bound).
  // The perplexity's follows by the delta method, d exp(nll) = exp(nll) d nll: perplexity times
  // nll_standard_error.
  double nll_standard_error = 0;
  double perplexity_standard_error = 0;
  double bits_per_byte = 0;  // total nll / ln 2 / bytes
  double seconds = 0;
};

// Each window starts with BOS followed by ctx - 1 text tokens; in every window but the first only the
// tokens not scored by an earlier window count, so each text token is scored exactly once.
PerplexityResult perplexity_eval(const Model& model, const std::string& text, const EvalOptions& options,
                                 JobContext* job = nullptr);

struct KlResult {
  int64_t tokens = 0;
  double mean = 0, median = 0, p99 = 0, max = 0;  // KL(reference || model) per token, nats
  double top1_agreement = 0;                      // fraction of tokens where both argmax agree
  Histogram histogram;                            // per-token KL, 64 bins over [0, max]
  PerplexityResult model;
  PerplexityResult reference;
};

// Both models must share the vocabulary; the text is tokenized with the reference's tokenizer.
KlResult kl_eval(const Model& model, const Model& reference, const std::string& text,
                 const EvalOptions& options, JobContext* job = nullptr);

// The reference side of KL evaluation prepared once for many models (sweeps, sensitivity scans,
// allocations): the text's windows and the reference's log-probabilities, kept in memory when they
// fit in `cache_bytes` and recomputed for every evaluation otherwise. The reference model must
// outlive it.
class KlReference;
std::shared_ptr<const KlReference> kl_reference_prepare(const Model& reference, const std::string& text,
                                                        const EvalOptions& options, JobContext* job = nullptr,
                                                        uint64_t cache_bytes = uint64_t{1} << 30);
KlResult kl_eval(const Model& model, const KlReference& reference, JobContext* job = nullptr);

}  // namespace qs
