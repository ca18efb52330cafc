// QatLayers: per-layer fake quantization, the k-means fit schedule and QAT telemetry.
//
// Choices:
// - The full-precision warm-up covers every weight and input quantizer, so that formats trained
//   side by side start quantized at the same step.
// - A fit serves the step it is made for: the evaluation before step s uses the codebooks step s
//   will train with, so a fine-tune's initial held-out loss is that of the post-training-quantized
//   model. Refits come every kmeans_refit_every steps after the previous fit.
// - Fisher-weighted formats fit with the optimizer's second moments; before the optimizer has any
//   (a fine-tune's first fit) the fit is unweighted.
// - Codebook drift is the RMS difference from the first fitted codebook, in the block-normalised
//   units the codebook lives in.
#include "qat/qat_layers.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<float> floats_of(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).cpu().contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

torch::Tensor tensor_of(const nlohmann::json& values, int64_t k, const std::string& source) {
  if (!values.is_array() || values.empty() || values.size() % size_t(k) != 0)
    throw Error(ErrorKind::Format, source + ": codebooks must be a list of floats, a multiple of " + std::to_string(k));
  std::vector<float> v;
  for (const auto& x : values) v.push_back(x.get<float>());
  return torch::tensor(v).view({-1, k});
}

}  // namespace

QatLayers::QatLayers(const QatConfig& config, const Model& model, int64_t fp_warmup_steps)
    : config_(config), warmup_(fp_warmup_steps) {
  for (const LayerFormat& lf : plan_resolve(config.plan, model)) {
    Layer layer;
    layer.name = lf.name;
    layer.weight = lf.format;
    layer.act = lf.activation;
    if (!lf.codebooks.empty()) {
      layer.codebooks = torch::tensor(lf.codebooks).view({-1, lf.format.levels()});
      layer.first_codebooks = layer.codebooks;
    }
    by_tensor_[lf.name + ".weight"] = layers_.size();
    by_layer_[lf.name] = layers_.size();
    layers_.push_back(std::move(layer));
  }
  if (layers_.empty())
    throw Error(ErrorKind::Invalid, "quantization plan: quantizes no layer of " + model.source().string());
}

std::vector<std::string> QatLayers::names() const {
  std::vector<std::string> out;
  for (const Layer& l : layers_) out.push_back(l.name);
  return out;
}

bool QatLayers::quantizes_weight(const std::string& tensor_name) const {
  const auto it = by_tensor_.find(tensor_name);
  return it != by_tensor_.end() && layers_[it->second].weight.quantized();
}

bool QatLayers::active() const { return step_ > warmup_; }

void QatLayers::prepare(int64_t step, const TensorLookup& master, const TensorLookup& importance) {
  step_ = step;
  for (Layer& l : layers_) {
    if (l.weight.family != QuantFamily::KMeans || !active()) continue;
    const bool due = !l.codebooks.defined() ||
                     (config_.kmeans_refit_every > 0 && step - l.fitted_for >= config_.kmeans_refit_every);
    if (!due) continue;
    torch::NoGradGuard no_grad;
    const std::string tensor_name = l.name + ".weight";
    QuantizerInput input;
    input.weight = master(tensor_name).detach().to(torch::kFloat32).contiguous();
    input.name = l.name;
    FormatSpec spec = l.weight;
    if (spec.fisher) {
      input.importance = importance(tensor_name);
      if (!input.importance.defined()) spec.fisher = false;
    }
    l.codebooks = quantizer_run(spec, input).codebooks;
    if (!l.first_codebooks.defined()) l.first_codebooks = l.codebooks;
    l.fitted_for = step;
  }
}

FakeQuantStats* QatLayers::stats_for(FakeQuantStats& stats, const torch::Tensor& x) {
  if (!stats.sums.defined()) stats.sums = torch::zeros({2}, x.options().dtype(torch::kFloat32));
  return &stats;
}

torch::Tensor QatLayers::weight(const std::string& tensor_name, const torch::Tensor& master, bool training) {
  Layer& l = layers_.at(by_tensor_.at(tensor_name));
  if (!l.weight.quantized() || !active()) return master;
  const FakeQuantInput extra{.codebooks = l.weight.family == QuantFamily::KMeans ? l.codebooks : torch::Tensor(),
                             .name = l.name};
  const torch::Tensor q =
      fake_quantize(master, l.weight, config_.estimator, extra, training ? stats_for(l.weight_stats, master) : nullptr);
  l.weight_calls += training;
  return q;
}

torch::Tensor QatLayers::input(const std::string& layer, const torch::Tensor& x, bool training) {
  const auto it = by_layer_.find(layer);
  if (it == by_layer_.end() || !layers_[it->second].act || !active()) return x;
  Layer& l = layers_[it->second];
  const torch::Tensor q = activation_fake_quantize(x, *l.act, config_.estimator, l.name,
                                                   training ? stats_for(l.act_stats, x) : nullptr);
  l.act_calls += training;
  return q;
}

RunLayerSample QatLayers::sample_take(int64_t step) {
  RunLayerSample sample;
  sample.step = step;
  // Every value that lives on a device is gathered into one tensor and read back at once: one host
  // sync per sample rather than one per layer and value. slots[i]: where layer value i is, or -1.
  std::vector<torch::Tensor> gathered;
  std::vector<int64_t> slots;
  const auto gather = [&](const torch::Tensor& value) {
    if (!value.defined()) return slots.push_back(-1);
    slots.push_back(int64_t(gathered.size()));
    gathered.push_back(value.detach().to(torch::kFloat64).reshape({1}));
  };
  for (Layer& l : layers_) {
    const auto mean = [](const FakeQuantStats& stats, int64_t calls, int i) {
      return calls > 0 && stats.sums.defined() ? stats.sums[i] / double(calls) : torch::Tensor();
    };
    gather(mean(l.weight_stats, l.weight_calls, 0));
    gather(mean(l.weight_stats, l.weight_calls, 1));
    gather(mean(l.act_stats, l.act_calls, 0));
    if (l.codebooks.defined() && l.first_codebooks.defined()) {
      // Codebooks restored from a checkpoint are on the CPU until the next fit moves them.
      if (l.first_codebooks.device() != l.codebooks.device())
        l.first_codebooks = l.first_codebooks.to(l.codebooks.device());
      gather((l.codebooks - l.first_codebooks).pow(2).mean().sqrt());
    } else {
      gather(torch::Tensor());
    }
    l.weight_stats = l.act_stats = FakeQuantStats();
    l.weight_calls = l.act_calls = 0;
  }
  // Codebooks restored from a checkpoint stay on the CPU until the next fit: their values join the
  // others on the first value's device.
  std::vector<double> read;
  if (!gathered.empty()) {
    const torch::Device device = gathered.front().device();
    for (torch::Tensor& g : gathered) g = g.to(device);
    const torch::Tensor values = torch::cat(gathered).cpu().contiguous();
    read.assign(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
  }
  const auto value = [&](size_t i) { return slots[i] < 0 ? kNaN : read[size_t(slots[i])]; };
  for (size_t l = 0; l < layers_.size(); ++l) {
    sample.weight_masked.push_back(value(4 * l));
    sample.weight_error.push_back(value(4 * l + 1));
    sample.act_masked.push_back(value(4 * l + 2));
    sample.codebook_drift.push_back(value(4 * l + 3));
  }
  return sample;
}

std::optional<double> QatLayers::layers_mean(const std::vector<double>& values) {
  double sum = 0;
  int n = 0;
  for (const double v : values)
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  if (n == 0) return std::nullopt;
  return sum / n;
}

QuantPlan QatLayers::plan_export() const {
  QuantPlan plan = config_.plan;
  for (const Layer& l : layers_) {
    if (l.weight.family != QuantFamily::KMeans || !l.codebooks.defined()) continue;
    std::erase_if(plan.rules, [&](const PlanRule& r) { return r.match == l.name; });
    plan.rules.push_back({.match = l.name, .weight = l.weight, .activation = l.act, .codebooks = floats_of(l.codebooks)});
  }
  return plan;
}

std::string QatLayers::state_save() const {
  nlohmann::json layers = nlohmann::json::object();
  for (const Layer& l : layers_) {
    if (!l.codebooks.defined()) continue;
    layers[l.name] = {{"codebooks", floats_of(l.codebooks)},
                      {"first_codebooks", floats_of(l.first_codebooks)},
                      {"fitted_for", l.fitted_for}};
  }
  return nlohmann::json{{"layers", layers}}.dump();
}

void QatLayers::state_restore(const std::string& json_text, const std::string& source) {
  try {
    const nlohmann::json j = nlohmann::json::parse(json_text);
    for (const auto& [name, entry] : j.at("layers").items()) {
      const auto it = by_layer_.find(name);
      if (it == by_layer_.end())
        throw Error(ErrorKind::Invalid, source + ": the run quantized layer " + name + ", which the plan does not");
      Layer& l = layers_[it->second];
      const int64_t k = l.weight.levels();
      l.codebooks = tensor_of(entry.at("codebooks"), k, source);
      l.first_codebooks = tensor_of(entry.at("first_codebooks"), k, source);
      l.fitted_for = entry.at("fitted_for").get<int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Format, source + ": unreadable QAT state (" + std::string(e.what()) + ")");
  }
}

}  // namespace qs
