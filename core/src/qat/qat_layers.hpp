// The quantized layers of a QAT run: each layer's weight fake quantizer (and input quantizer for
// WxAy), the full-precision warm-up, the k-means codebooks with their fit schedule (1-Bit Wonder:
// a fit when the warm-up ends, then optional refits), the per-layer telemetry accumulated between logging
// steps, and the state a resumed run needs. train_run owns one and asks it for each weight.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "quant/fake_quant.hpp"
#include "quantscope/model.hpp"
#include "quantscope/run_file.hpp"
#include "quantscope/train.hpp"

namespace qs {

class QatLayers {
 public:
  // Resolves the plan against the model; throws Invalid naming the layer when it cannot apply.
  QatLayers(const QatConfig& config, const Model& model, int64_t fp_warmup_steps);

  // Layer names, in the model's order.
  std::vector<std::string> names() const;
  bool quantizes_weight(const std::string& tensor_name) const;

  // Before the weights are bound for step `step` (training) or for an evaluation after `step - 1`:
  // fits the codebooks that are due. Both lookups take a weight's tensor name: `master` gives the
  // float32 latent weight, `importance` its Fisher weights (the optimizer's second moments) or an
  // undefined tensor when there are none yet.
  using TensorLookup = std::function<torch::Tensor(const std::string& tensor_name)>;
  void prepare(int64_t step, const TensorLookup& master, const TensorLookup& importance);
  // The tensor the forward pass reads for a quantized weight: q(master) with the estimator's
  // gradient, or the master itself during the full-precision warm-up. `training` accumulates
  // telemetry.
  torch::Tensor weight(const std::string& tensor_name, const torch::Tensor& master, bool training);
  // The linear_input hook: quantizes a layer's input when the plan gives it an activation format.
  torch::Tensor input(const std::string& layer, const torch::Tensor& x, bool training);

  // Means since the previous call (NaN where nothing applies), then starts a new interval.
  RunLayerSample sample_take(int64_t step);
  // Means of the sample over the layers that have a value.
  static std::optional<double> layers_mean(const std::vector<double>& values);

  // The plan the run used with every k-means layer's current codebooks pinned (what `eval --plan`
  // needs to rebuild the model the run evaluated).
  QuantPlan plan_export() const;
  // JSON of the codebooks and fit steps (trainer_state.json), and its inverse.
  std::string state_save() const;
  void state_restore(const std::string& json_text, const std::string& source);

 private:
  struct Layer {
    std::string name;
    FormatSpec weight;
    std::optional<FormatSpec> act;
    torch::Tensor codebooks, first_codebooks;  // KMeans
    int64_t fitted_for = 0;                    // the step the current codebooks were fitted for
    FakeQuantStats weight_stats, act_stats;  // sums over the interval, on the device
    int64_t weight_calls = 0, act_calls = 0;
  };
  // The sums a call adds to, made (zeros) on x's device when the interval's first call comes.
  static FakeQuantStats* stats_for(FakeQuantStats& stats, const torch::Tensor& x);
  bool active() const;  // past the full-precision warm-up

  QatConfig config_;
  int64_t warmup_;
  int64_t step_ = 0;
  std::vector<Layer> layers_;
  std::map<std::string, size_t> by_tensor_, by_layer_;
};

}  // namespace qs
