// layer_statistics_collect and layer_proxies: the calibration statistics that make cheap sensitivity
// proxies (input second moments and diagonal Fisher information) and the proxies themselves.
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "eval/eval_windows.hpp"
#include "analysis/input_moments.hpp"
#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/sensitivity.hpp"

namespace qs {

std::shared_ptr<LayerStatistics> layer_statistics_collect(const Model& model, const std::string& text,
                                                          const EvalOptions& options, JobContext* job) {
  const ModelState& base = model.state();
  if (!base.tokenizer)
    throw Error(ErrorKind::Invalid, base.source.string() + ": no tokenizer to read the calibration text with");
  const EvalWindows windows = eval_windows_build(*base.tokenizer, static_cast<int>(base.config.bos_token_id), text,
                                                 options, base.config.max_position_embeddings);
  // Gradients flow into detached leaves that share the weights' storage; the model is not changed.
  // The input moments are gathered in the same forward passes (one window each, so no padding).
  ModelState traced = base;
  InputMoments moments;
  traced.linear_input = moments.hook(base.linear_input);
  struct Leaf {
    torch::Tensor weight;   // requires grad
    torch::Tensor squares;  // Σ over windows of scored · g², float32
  };
  std::map<std::string, Leaf> leaves;
  double scored = 0;  // of the window being differentiated
  // Memory: each gradient is added into its layer's sum as the backward pass reaches the layer and
  // released when the next layer's arrives, so at most two gradients exist at once beside the sums,
  // rather than one per layer.
  torch::Tensor* held = nullptr;  // the .grad of the layer accumulated last
  for (const LinearLayer& layer : model.linear_layers()) {
    const std::string key = layer.name + ".weight";
    if (!traced.has(key)) continue;  // a tied head reads the embedding
    Leaf& leaf = leaves[layer.name];
    leaf.weight = traced.tensor(key).detach().requires_grad_(true);
    leaf.squares = torch::zeros(leaf.weight.sizes(), leaf.weight.options().dtype(torch::kFloat32));
    traced.tensors[key] = leaf.weight;
    leaf.weight.register_hook([&leaf, &scored, &held](const torch::Tensor& g) {
      if (held) *held = torch::Tensor();
      leaf.squares.addcmul_(g, g, scored);
      held = &leaf.weight.mutable_grad();
      return torch::Tensor();  // the gradient itself is unchanged
    });
  }
  torch::AutoGradMode grad_on(true);
  // The empirical Fisher from one gradient per window: the per-token Fisher is about the window's
  // token count times E[g_window²] when token gradients are roughly independent.
  int64_t scored_total = 0;
  for (size_t i = 0; i < windows.windows.size(); ++i) {
    if (job) job->check_cancelled();
    const EvalWindow& window = windows.windows[i];
    const int64_t count = window.length - window.scored;
    const torch::Tensor ids = eval_windows_batch(windows, i, 1, traced.torch_device());
    const torch::Tensor logits = llama_forward(traced, ids)[0].narrow(0, window.scored, count);
    const torch::Tensor targets = eval_window_targets(windows, window, traced.torch_device());
    const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, targets);
    scored = static_cast<double>(count);
    loss.backward();
    if (held) *held = torch::Tensor();
    held = nullptr;
    scored_total += count;
    if (job) job->progress(double(i + 1) / windows.windows.size(), "Fisher information, window " + std::to_string(i + 1));
  }
  auto stats = std::make_shared<LayerStatistics>();
  stats->inputs = moments.result();
  // Each sum becomes its mean and is released before the next, so the result does not coexist with a
  // second full copy.
  const double n = static_cast<double>(windows.windows.size());
  for (auto& [name, leaf] : leaves) {
    const torch::Tensor mean = leaf.squares.div_(n).cpu().contiguous();
    stats->fisher[name].assign(mean.data_ptr<float>(), mean.data_ptr<float>() + mean.numel());
    leaf = Leaf();
  }
  stats->tokens = scored_total;
  return stats;
}

LayerProxies layer_proxies(const std::string& layer, std::span<const float> weight, std::span<const float> dequantized,
                           const LayerStatistics& statistics) {
  const auto input = statistics.inputs ? statistics.inputs->input_second_moment.find(layer)
                                       : std::map<std::string, std::vector<float>>::const_iterator{};
  const auto fisher = statistics.fisher.find(layer);
  if (!statistics.inputs || input == statistics.inputs->input_second_moment.end() || fisher == statistics.fisher.end())
    throw Error(ErrorKind::Invalid, layer + ": the calibration statistics have no entry for this layer");
  const size_t in = input->second.size();
  if (weight.size() != dequantized.size() || fisher->second.size() != weight.size() || in == 0 ||
      weight.size() % in != 0)
    throw Error(ErrorKind::Invalid, layer + ": the calibration statistics do not match the weight's shape");
  double signal = 0, noise = 0, signal_x = 0, noise_x = 0, signal_f = 0, noise_f = 0;
  for (size_t i = 0; i < weight.size(); ++i) {
    const double w2 = double(weight[i]) * weight[i];
    const double d = double(dequantized[i]) - weight[i];
    const double x2 = input->second[i % in], f = fisher->second[i];
    signal += w2, noise += d * d;
    signal_x += x2 * w2, noise_x += x2 * d * d;
    signal_f += f * w2, noise_f += f * d * d;
  }
  auto sqnr = [](double s, double e) {
    return e > 0 ? 10.0 * std::log10(s / e) : std::numeric_limits<double>::infinity();
  };
  return {sqnr(signal, noise), sqnr(signal_x, noise_x), sqnr(signal_f, noise_f), 0.5 * noise_f};
}

}  // namespace qs
