// experiment_check: everything about an experiment that the model's shapes decide, checked before the
// first measurement, so that an impossible budget or a format that cannot apply fails in a second
// rather than after an hour of scans.
#include "quantscope/allocate.hpp"
#include "quantscope/error.hpp"
#include "quantscope/experiment.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/plan.hpp"

namespace qs {
namespace {

void window_check(int64_t ctx, const char* what, const Model& model) {
  const int64_t positions = model.config().max_position_embeddings;
  if (ctx > positions)
    throw Error(ErrorKind::Invalid, std::string(what) + " window of " + std::to_string(ctx) + " tokens exceeds the " +
                                        std::to_string(positions) + " positions of " + model.source().string());
}

}  // namespace

void experiment_check(const Experiment& e, const Model& model) {
  window_check(e.evaluation.ctx, "the evaluation", model);
  window_check(e.calibration.ctx, "the calibration", model);
  if (e.qat) window_check(e.qat->ctx, "the QAT", model);

  // plan_resolve finds every rule that cannot apply to this model's layers.
  for (const auto& [name, plan] : e.plans) plan_resolve(plan, model);
  if (e.sweep)
    for (const FormatSpec& format : experiment_sweep_formats(*e.sweep)) plan_resolve(plan_uniform(format), model);
  std::vector<FormatSpec> candidates;
  for (const std::string& text : e.sensitivity) {
    candidates.push_back(format_parse(text));
    plan_resolve(plan_uniform(candidates.back()), model);
  }

  // A budget below the smallest allocation the candidates allow is known from the shapes alone: the
  // allocation over zero predicted losses is the cheapest one.
  if (e.budgets.empty()) return;
  std::vector<SensitivityScan> sizes;
  for (const FormatSpec& format : candidates) {
    SensitivityScan& scan = sizes.emplace_back();
    scan.format = format;
    for (const LayerFormat& layer : plan_resolve(plan_uniform(format), model)) {
      const std::vector<int64_t> shape = model.tensor_shape(layer.name + ".weight");
      LayerSensitivity& s = scan.layers.emplace_back();
      s.name = layer.name;
      s.parameters = shape.at(0) * shape.at(1);
      s.storage_bits = format_storage_bits(format, shape.at(0), shape.at(1));
    }
  }
  const AllocationProblem problem = allocation_problem(model, sizes);
  for (const AllocationBudget& budget : e.budgets) allocation_solve(problem, budget);
}

}  // namespace qs
