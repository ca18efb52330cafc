// plan_evaluate: quantize a copy of the base model per a plan and measure it, the unit of every
// sweep, allocation and comparison.
#include "quantscope/plan_evaluate.hpp"

#include <chrono>
#include <limits>

#include "quantscope/model.hpp"

namespace qs {

PlanMetrics plan_evaluate(const Model& base, const QuantPlan& plan, const PlanEvalSetup& setup, JobContext* job) {
  const auto start = std::chrono::steady_clock::now();
  PlanMetrics metrics;
  const std::vector<LayerFormat> formats = plan_resolve(plan, base);
  std::shared_ptr<Model> quantized;
  metrics.model_bytes = base.stored_bytes();
  metrics.bits_per_weight = std::numeric_limits<double>::quiet_NaN();
  if (!formats.empty()) {
    ModelQuantizeReport report;
    quantized = model_quantize(base, formats, setup.quantize, &report, job);
    metrics.model_bytes = report.bytes_after;
    metrics.quantized_parameters = report.quantized_parameters;
    uint64_t bits = 0;
    for (const LayerReport& layer : report.layers) bits += format_storage_bits(layer.format, layer.out, layer.in);
    if (report.quantized_parameters > 0) metrics.bits_per_weight = double(bits) / double(report.quantized_parameters);
  }
  const Model& measured = quantized ? *quantized : base;
  metrics.kl = kl_eval(measured, *setup.text, job);
  for (const TaskSet& tasks : setup.tasks) metrics.tasks.push_back(task_evaluate(measured, tasks, setup.task_options, job));
  metrics.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return metrics;
}

}  // namespace qs
