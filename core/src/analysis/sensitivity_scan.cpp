// sensitivity_scan: quantize one layer at a time and measure the KL divergence it alone causes.
#include <chrono>
#include <cmath>
#include <limits>

#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/sensitivity.hpp"

namespace qs {
namespace {

double spearman_of(const std::vector<LayerSensitivity>& layers, double (*harm)(const LayerSensitivity&)) {
  std::vector<double> measured, predicted;
  for (const LayerSensitivity& l : layers) {
    measured.push_back(l.delta_kl);
    predicted.push_back(harm(l));
  }
  return layers.size() < 3 ? std::numeric_limits<double>::quiet_NaN() : spearman_correlation(predicted, measured);
}

}  // namespace

SensitivityScan sensitivity_scan(const Model& model, const FormatSpec& format, const KlReference& calibration,
                                 const SensitivityOptions& options, JobContext* job) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> names = options.layers;
  if (names.empty()) names = layers_select(model, "");
  const double nan = std::numeric_limits<double>::quiet_NaN();

  SensitivityScan scan;
  scan.format = format;
  for (size_t i = 0; i < names.size(); ++i) {
    if (job) job->check_cancelled();
    const std::string& name = names[i];
    LayerSensitivity entry;
    if (!options.cached || !options.cached(name, entry)) {
      ModelQuantizeReport report;
      const auto quantized = model_quantize(model, {LayerFormat{name, format, std::nullopt, {}}}, options.quantize,
                                            &report, nullptr);
      const KlResult kl = kl_eval(*quantized, calibration, nullptr);
      const LayerReport& layer = report.layers.at(0);
      entry.name = name;
      entry.parameters = layer.out * layer.in;
      entry.storage_bits = format_storage_bits(format, layer.out, layer.in);
      entry.bits_per_weight = layer.metrics.bits_per_weight;
      entry.delta_kl = kl.mean;
      entry.kl_p99 = kl.p99;
      entry.top1_agreement = kl.top1_agreement;
      entry.proxies = {nan, nan, nan, nan};
      if (options.statistics) {
        const std::string key = name + ".weight";
        entry.proxies = layer_proxies(name, model.tensor_values(key), quantized->tensor_values(key), *options.statistics);
      }
      if (options.measured) options.measured(entry);
    }
    scan.layers.push_back(entry);
    if (job)
      job->progress(double(i + 1) / names.size(), format_print(format) + " " + name + ": ΔKL " + std::to_string(entry.delta_kl));
  }
  scan.spearman_weight = spearman_of(scan.layers, [](const LayerSensitivity& l) { return -l.proxies.weight_sqnr_db; });
  scan.spearman_input = spearman_of(scan.layers, [](const LayerSensitivity& l) { return -l.proxies.input_sqnr_db; });
  scan.spearman_fisher = spearman_of(scan.layers, [](const LayerSensitivity& l) { return -l.proxies.fisher_sqnr_db; });
  scan.spearman_fisher_loss = spearman_of(scan.layers, [](const LayerSensitivity& l) { return l.proxies.fisher_loss; });
  scan.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return scan;
}

}  // namespace qs
