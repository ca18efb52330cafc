// importance_collect: per-input-channel second moments of every linear layer's input over a
// calibration text, the importance `:fisher` k-means formats weight their fit with.
#include <torch/torch.h>

#include "eval_windows.hpp"
#include "model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/model.hpp"

namespace qs {

std::shared_ptr<LayerImportance> importance_collect(const Model& model, const std::string& text,
                                                    const EvalOptions& options, JobContext* job) {
  const ModelState& base = model.state();
  if (!base.tokenizer)
    throw Error(ErrorKind::Invalid, base.source.string() + ": no tokenizer to read the calibration text with");
  const EvalWindows windows = eval_windows_build(*base.tokenizer, static_cast<int>(base.config.bos_token_id), text,
                                                 options, base.config.max_position_embeddings);
  ModelState observed = base;
  struct Moments {
    torch::Tensor sum;  // Σx² per input channel, float64
    int64_t rows = 0;
  };
  std::map<std::string, Moments> moments;
  // Padding positions of short windows are inputs too; they are few (one window per text at most
  // is short) and only shift the second moments slightly, so they are kept rather than masked.
  // An activation-quantized model's layers see quantized inputs; the statistics are of those.
  const auto previous = base.linear_input;
  observed.linear_input = [&](const std::string& layer, const torch::Tensor& input) {
    const torch::Tensor x = previous ? previous(layer, input) : input;
    const torch::Tensor x2 = x.to(torch::kFloat32).pow(2).reshape({-1, x.size(-1)}).sum(0, false, torch::kFloat64);
    Moments& m = moments[layer];
    m.sum = m.sum.defined() ? m.sum + x2 : x2;
    m.rows += x.numel() / x.size(-1);
    return x;
  };
  eval_windows_run(windows, {&observed}, job, [](const EvalWindow&, const std::vector<torch::Tensor>&) {});
  auto result = std::make_shared<LayerImportance>();
  for (auto& [layer, m] : moments) {
    result->tokens = m.rows;  // every linear layer sees every position once
    const torch::Tensor mean = (m.sum / double(std::max<int64_t>(m.rows, 1))).to(torch::kFloat32).cpu().contiguous();
    result->input_second_moment[layer].assign(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
  }
  return result;
}

}  // namespace qs
