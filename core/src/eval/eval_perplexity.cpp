// Perplexity and bits per byte of one model over a text.
#include <torch/torch.h>

#include <chrono>

#include "eval/eval_windows.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {

PerplexityResult perplexity_eval(const Model& model, const std::string& text, const EvalOptions& options,
                                 JobContext* job) {
  const auto start = std::chrono::steady_clock::now();
  const ModelState& state = model.state();
  if (!state.tokenizer)
    throw Error(ErrorKind::Invalid, state.source.string() + ": no tokenizer to evaluate the model with");
  const EvalWindows windows = eval_windows_build(*state.tokenizer, static_cast<int>(state.config.bos_token_id),
                                                 text, options, state.config.max_position_embeddings);
  NllSums nll;
  eval_windows_run(windows, {&state}, job, [&](const EvalWindow& window, const std::vector<torch::Tensor>& lp) {
    nll.add(lp[0], eval_window_targets(windows, window, state.torch_device()));
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return eval_perplexity_result(windows, nll, seconds);
}

}  // namespace qs
