// Quantization plans: which weight format (and, for QuEST formats, which activation format) each
// linear layer gets. A plan is a JSON file (docs/plans.md) of layer-name globs, most specific wins,
// plus a default for the decoder's linear layers. QAT runs export one with the codebooks they trained
// pinned, so that `eval --plan` rebuilds exactly the model the run evaluated.
#pragma once
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "quantscope/format.hpp"
#include "quantscope/model_quantize.hpp"

namespace qs {

class Model;

struct PlanRule {
  std::string match;                 // glob over layer names (fnmatch, whole name, no ".weight")
  FormatSpec weight;                 // Float formats keep the layer as stored
  std::optional<FormatSpec> activation;  // the layer's input, per token; QuEST formats only
  // KMeans only, and only on a rule whose match is one exact layer name: the codebooks to use instead
  // of a fit, [n, 2^bits] row-major (n = 1 for the block format, rows or groups otherwise).
  std::vector<float> codebooks;
};

struct QuantPlan {
  // For every linear layer under "model.layers." that no rule matches; unset: such layers stay as
  // stored. The embedding and lm_head change only when a rule names them.
  std::optional<FormatSpec> default_weight;
  std::optional<FormatSpec> default_activation;
  std::vector<PlanRule> rules;
};

// A plan from JSON text; `source` names it in errors. Throws Format for malformed JSON or unknown
// keys, Invalid for a bad format spec (naming the rule) or codebooks on a glob.
QuantPlan plan_parse(const std::string& json_text, const std::string& source);
QuantPlan plan_load(const std::filesystem::path& path);
// Canonical JSON (formats printed in their short form); plan_parse(plan_json(p)) == p.
std::string plan_json(const QuantPlan& plan);
// Atomic: a temporary file beside `path`, then rename.
void plan_save(const QuantPlan& plan, const std::filesystem::path& path);

// One format for every decoder linear layer (the same thing --format means).
QuantPlan plan_uniform(const FormatSpec& weight, std::optional<FormatSpec> activation = std::nullopt);

// How a plan applies to every tensor it may change, for editors that show each layer and each rule and
// must not stop at the first problem: the embedding, then the linear layers in forward order.
struct PlanLayer {
  static constexpr int kNone = -1;     // no rule and no default: stays as stored
  static constexpr int kDefault = -2;  // the plan's default
  std::string name;
  int64_t out = 0, in = 0;
  int rule = kNone;    // index in QuantPlan::rules of the rule that sets it, or kNone / kDefault
  LayerFormat format;  // a Float weight format (bf16 when nothing sets one) keeps the weight as stored
  bool changed = false;  // the weight or the input is quantized
  std::string error;     // why the format cannot apply to this layer (one line); empty when it can
};

struct PlanAssignment {
  std::vector<PlanLayer> layers;
  std::vector<int64_t> rule_matches;     // per rule: how many layers it matches, whether it wins or not
  std::vector<std::string> rule_errors;  // per rule: why it is wrong (it matches nothing), or empty
  std::string error;                     // a problem of the plan as a whole, or empty
};

// Never throws for a layer or rule that cannot apply: each carries its one-line error, the same text
// plan_resolve throws.
PlanAssignment plan_assign(const QuantPlan& plan, const Model& model);

struct PlanTotals {
  uint64_t quantized_parameters = 0;
  int64_t quantized_layers = 0;
  double bits_per_weight = std::numeric_limits<double>::quiet_NaN();  // over the quantized weights
  uint64_t model_bytes = 0;  // every tensor, each quantized weight at its exact size (as model_quantize reports)
  uint64_t bf16_bytes = 0;   // every tensor in bf16, the usual reference size
};
// Layers with an error are counted as stored.
PlanTotals plan_totals(const PlanAssignment& assignment, const Model& model);

// The per-layer assignment for this model, in the model's layer order, leaving out layers that stay
// as stored. Throws Invalid naming the rule or layer when a rule matches no layer, two rules of equal
// specificity match one layer, a format cannot apply (Hadamard block not dividing `in`, an
// activation format that is not QuEST, pinned codebooks of the wrong shape) or lm_head is tied.
// Specificity: an exact name beats any glob; among globs, more literal characters win.
std::vector<LayerFormat> plan_resolve(const QuantPlan& plan, const Model& model);

}  // namespace qs
