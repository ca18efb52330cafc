// Text generation with a KV cache, greedy or sampled (temperature, top-k, top-p), streaming the decoded
// text as it grows. Sampling draws from a std::mt19937_64 on the CPU so a seed gives the same text
// whatever the device's own random generators do.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <utility>

#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/generate.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

void options_check(const GenerateOptions& o) {
  auto invalid = [](const std::string& message) { return Error(ErrorKind::Invalid, "generate: " + message); };
  if (o.max_new < 0) throw invalid("--max-new must not be negative");
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
    throw invalid("--temperature must be a finite number >= 0");
  if (o.top_k < 0) throw invalid("top-k must not be negative");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw invalid("top-p must be in (0, 1]");
}

// logits: [vocab] float32 on the CPU.
int token_sample(const torch::Tensor& logits, const GenerateOptions& o, std::mt19937_64& rng) {
  if (o.temperature == 0) return static_cast<int>(logits.argmax().item<int64_t>());
  const float* l = logits.data_ptr<float>();
  const int64_t vocab = logits.numel();
  const double top = *std::max_element(l, l + vocab);
  std::vector<std::pair<double, int>> probs(vocab);  // unnormalised
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    probs[i] = {std::exp((l[i] - top) / o.temperature), static_cast<int>(i)};
    total += probs[i].first;
  }
  size_t keep = probs.size();
  if (o.top_k > 0 || o.top_p < 1) {
    // Descending; ties break on the token id so the order, and with it the draw, is reproducible.
    std::sort(probs.begin(), probs.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    if (o.top_k > 0) keep = std::min<size_t>(o.top_k, probs.size());
    double cumulative = 0;
    for (size_t i = 0; i < keep && o.top_p < 1; ++i) {
      cumulative += probs[i].first / total;
      if (cumulative >= o.top_p) keep = i + 1;
    }
  }
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += probs[i].first;
  double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * kept;
  for (size_t i = 0; i < keep; ++i) {
    u -= probs[i].first;
    if (u < 0) return probs[i].second;
  }
  return probs[keep - 1].second;  // u landed on the rounding error at the top of the range
}

// Byte-fallback tokens can end the text in the middle of a UTF-8 character, which decodes to U+FFFD
// until the rest of it arrives.
bool ends_incomplete(const std::string& text) {
  static const std::string replacement = "\xEF\xBF\xBD";
  return text.size() >= replacement.size() && text.compare(text.size() - replacement.size(), replacement.size(),
                                                           replacement) == 0;
}

}  // namespace

GenerateResult text_generate(const Model& model, const GenerateOptions& options,
                             const std::function<void(const std::string&)>& on_text, JobContext* job) {
  const ModelState& state = model.state();
  options_check(options);
  if (!state.tokenizer)
    throw Error(ErrorKind::Invalid, state.source.string() + ": no tokenizer to generate text with");
  const Tokenizer& tokenizer = *state.tokenizer;
  const ModelConfig& c = state.config;
  const std::vector<int> prompt = tokenizer.encode(options.prompt);
  if (static_cast<int64_t>(prompt.size()) + 1 > c.max_position_embeddings)
    throw Error(ErrorKind::Invalid, "generate: the prompt's " + std::to_string(prompt.size()) +
                                        " tokens and BOS exceed the model's " +
                                        std::to_string(c.max_position_embeddings) + " positions");
  const auto start = std::chrono::steady_clock::now();
  GenerateResult result;
  if (options.max_new == 0) return result;

  c10::InferenceMode inference;
  std::vector<int64_t> input = {c.bos_token_id};
  input.insert(input.end(), prompt.begin(), prompt.end());
  KvCache cache;
  torch::Tensor logits =
      llama_forward(state, torch::tensor(input, torch::kInt64).view({1, -1}).to(state.torch_device()), &cache);

  std::mt19937_64 rng(options.seed);
  std::vector<int> all = prompt;  // prompt and generated tokens
  // Streaming decodes each new token with a few tokens before it as context (so that spacing comes out
  // as in the whole text) and emits what it added; decoding the whole text at every token would cost
  // time quadratic in its length. Tokens [context, shown) were emitted already.
  size_t context = prompt.size() > 4 ? prompt.size() - 4 : 0, shown = prompt.size();
  std::string streamed;
  for (;;) {
    if (job) job->check_cancelled();
    const int next = token_sample(logits[0][-1].to(torch::kCPU).contiguous(), options, rng);
    // llama2.c-trained models never emit EOS; they end a story with the BOS that starts the next.
    if (next == c.eos_token_id || next == c.bos_token_id) break;
    result.tokens.push_back(next);
    all.push_back(next);
    if (on_text) {
      const std::string before = tokenizer.decode({all.begin() + long(context), all.begin() + long(shown)});
      const std::string after = tokenizer.decode({all.begin() + long(context), all.end()});
      if (after.size() > before.size() && !ends_incomplete(after) && after.compare(0, before.size(), before) == 0) {
        streamed += after.substr(before.size());
        on_text(after.substr(before.size()));
        context = shown;
        shown = all.size();
      }
    }
    if (job)
      job->progress(static_cast<double>(result.tokens.size()) / options.max_new,
                    std::to_string(result.tokens.size()) + " tokens");
    if (cache.length >= c.max_position_embeddings || static_cast<int64_t>(result.tokens.size()) == options.max_new)
      break;
    logits = llama_forward(state, torch::full({1, 1}, next, torch::kInt64).to(state.torch_device()), &cache);
  }
  const std::string text = tokenizer.decode(all);
  const size_t prompt_bytes = tokenizer.decode(prompt).size();
  result.text = text.size() > prompt_bytes ? text.substr(prompt_bytes) : std::string();
  // What the last tokens completed (a character split across tokens).
  if (on_text && result.text.size() > streamed.size() && result.text.compare(0, streamed.size(), streamed) == 0)
    on_text(result.text.substr(streamed.size()));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.tokens_per_second = seconds > 0 ? static_cast<double>(result.tokens.size()) / seconds : 0.0;
  return result;
}

}  // namespace qs
