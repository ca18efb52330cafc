// Which layer hurts? For each linear layer, quantize only that layer and measure how far the model's
// next-token distribution moves from the base model's on a calibration text (ΔKL), next to cheap
// proxies computed from the weights alone or from one calibration pass: weight SQNR, SQNR weighted
// by the layer's input second moments E[x²], and SQNR weighted by the diagonal Fisher information
// E[g²]. How well each proxy ranks the layers is the Spearman correlation with the measured ΔKL.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quantscope/eval.hpp"
#include "quantscope/format.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/results.hpp"

namespace qs {

class Model;
class JobContext;

// Per-weight statistics from one calibration pass, shared by every format scanned.
struct LayerStatistics {
  std::shared_ptr<const LayerImportance> inputs;        // E[x_j²] per layer input channel
  std::map<std::string, std::vector<float>> fisher;    // layer -> E[(∂L/∂w_ij)²], [out, in] row-major
  int64_t tokens = 0;
};

// Runs the model over the text (windows as in EvalOptions, one window per backward pass) and records
// the inputs of every linear layer and the squared gradients of the next-token loss.
std::shared_ptr<LayerStatistics> layer_statistics_collect(const Model& model, const std::string& text,
                                                          const EvalOptions& options, JobContext* job = nullptr);

struct LayerProxies {
  double weight_sqnr_db = 0;  // 10·log10(Σw² / Σδ²), δ = ŵ − w
  double input_sqnr_db = 0;   // the same with each term weighted by E[x_j²]
  double fisher_sqnr_db = 0;  // the same weighted by E[g_ij²]
  double fisher_loss = 0;     // ½ Σ E[g²]·δ², the second-order estimate of the loss change (nats/token)
};

// Throws Invalid when the statistics lack the layer or the shapes disagree.
LayerProxies layer_proxies(const std::string& layer, std::span<const float> weight, std::span<const float> dequantized,
                           const LayerStatistics& statistics);

struct LayerSensitivity {
  std::string name;
  int64_t parameters = 0;
  uint64_t storage_bits = 0;  // of the weight in the scanned format
  double bits_per_weight = 0;
  double delta_kl = 0;        // KL(base ‖ base with only this layer quantized), mean nats/token
  double kl_p99 = 0;
  double top1_agreement = 0;
  LayerProxies proxies;       // NaN when no statistics were given
};

struct SensitivityScan {
  FormatSpec format;
  std::vector<LayerSensitivity> layers;  // in the model's layer order
  // Spearman ρ between each proxy's predicted harm (−SQNR, or fisher_loss) and the measured ΔKL;
  // NaN without statistics or with fewer than 3 layers.
  double spearman_weight = 0, spearman_input = 0, spearman_fisher = 0, spearman_fisher_loss = 0;
  double seconds = 0;
};

struct SensitivityOptions {
  std::vector<std::string> layers;  // empty: every decoder linear layer
  ModelQuantizeOptions quantize;    // seed; importance for `:fisher` formats
  std::shared_ptr<const LayerStatistics> statistics;  // null: no proxies
  // Called after each layer (for resumable runs that store each measurement as it is made); a layer
  // for which `cached` returns true is taken from it instead of being measured.
  std::function<bool(const std::string& layer, LayerSensitivity& out)> cached;
  std::function<void(const LayerSensitivity&)> measured;
};

// Throws Invalid naming the layer when the format cannot apply to it.
SensitivityScan sensitivity_scan(const Model& model, const FormatSpec& format, const KlReference& calibration,
                                 const SensitivityOptions& options = {}, JobContext* job = nullptr);

// The scans a result set holds: its "sensitivity_<format>" tables as experiment_run writes them, with
// proxy_correlation's ρ, so that a results file answers the allocation without measuring again. A table
// written before the "format" and "storage_bits" columns existed takes its format from
// proxy_correlation's row of the same position and its bits from bits_per_weight × parameters. Throws
// Format naming the table and column when one is missing or a value is unusable.
std::vector<SensitivityScan> sensitivity_scans_from_results(const ResultSet& results);

// Spearman's rank correlation with average ranks for ties; NaN when either side is constant or the
// sizes differ or are below 2.
double spearman_correlation(std::span<const double> a, std::span<const double> b);

}  // namespace qs
