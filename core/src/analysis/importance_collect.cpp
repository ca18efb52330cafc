// importance_collect: per-input-channel second moments of every linear layer's input over a
// calibration text, the importance `:fisher` k-means formats weight their fit with; and the
// InputMoments accumulator behind it.
#include <torch/torch.h>

#include "eval/eval_windows.hpp"
#include "analysis/input_moments.hpp"
#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"

namespace qs {

LinearInputHook InputMoments::hook(LinearInputHook previous) {
  return [this, previous = std::move(previous)](const std::string& layer, const torch::Tensor& input) {
    const torch::Tensor x = previous ? previous(layer, input) : input;
    torch::Tensor rows = x.detach().reshape({-1, x.size(-1)});
    if (real_.defined()) rows = rows.index({real_.reshape({-1}).to(rows.device())});
    const torch::Tensor x2 = rows.to(torch::kFloat32).pow(2).sum(0, false, torch::kFloat64);
    Sum& s = sums_[layer];
    s.squares = s.squares.defined() ? s.squares.add_(x2) : x2;
    s.rows += rows.size(0);
    return x;
  };
}

std::shared_ptr<LayerImportance> InputMoments::result() const {
  auto result = std::make_shared<LayerImportance>();
  for (const auto& [layer, s] : sums_) {
    result->tokens = s.rows;  // every linear layer sees every position once
    const torch::Tensor mean = (s.squares / double(std::max<int64_t>(s.rows, 1))).to(torch::kFloat32).cpu().contiguous();
    result->input_second_moment[layer].assign(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
  }
  return result;
}

std::shared_ptr<LayerImportance> importance_collect(const Model& model, const std::string& text,
                                                    const EvalOptions& options, JobContext* job) {
  const ModelState& base = model.state();
  if (!base.tokenizer)
    throw Error(ErrorKind::Invalid, base.source.string() + ": no tokenizer to read the calibration text with");
  const EvalWindows windows = eval_windows_build(*base.tokenizer, static_cast<int>(base.config.bos_token_id), text,
                                                 options, base.config.max_position_embeddings);
  InputMoments moments;
  ModelState observed = base;
  observed.linear_input = moments.hook(base.linear_input);
  c10::InferenceMode inference;
  const size_t total = windows.windows.size(), batch = static_cast<size_t>(windows.batch);
  for (size_t first = 0; first < total; first += batch) {
    if (job) job->check_cancelled();
    const size_t count = std::min(batch, total - first);
    const torch::Tensor ids = eval_windows_batch(windows, first, count, observed.torch_device());
    // A short window is padded at its end; the padding is not the text, so its rows are left out.
    torch::Tensor real = torch::zeros({ids.size(0), ids.size(1)}, torch::kBool);
    bool padded = false;
    for (size_t i = 0; i < count; ++i) {
      const int64_t length = windows.windows[first + i].length;
      real[int64_t(i)].narrow(0, 0, length).fill_(true);
      padded = padded || length < ids.size(1);
    }
    moments.positions_set(padded ? real : torch::Tensor());
    llama_forward(observed, ids);
    if (job) job->progress(double(first + count) / total, "window " + std::to_string(first + count) + " of " + std::to_string(total));
  }
  return moments.result();
}

}  // namespace qs
