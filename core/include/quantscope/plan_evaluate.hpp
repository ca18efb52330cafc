// One evaluation of a plan against the base model, the unit every analysis is made of (sweeps,
// allocations, uniform baselines, user plans): quantize a copy of the base model per the plan, then
// measure perplexity and KL divergence on a prepared text and the task scores. The base model is
// loaded once and its reference log-probabilities computed once for any number of plans.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "quantscope/eval.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/tasks.hpp"

namespace qs {

class Model;
class JobContext;

struct PlanEvalSetup {
  std::shared_ptr<const KlReference> text;  // prepared from the base model
  std::vector<TaskSet> tasks;
  TaskEvalOptions task_options;
  ModelQuantizeOptions quantize;  // seed; importance for `:fisher` formats
};

struct PlanMetrics {
  uint64_t quantized_parameters = 0;
  double bits_per_weight = 0;  // over the layers the plan quantizes; NaN when it quantizes none
  uint64_t model_bytes = 0;    // every tensor, each quantized one at its exact size
  KlResult kl;                 // kl.model: the quantized model's perplexity
  std::vector<TaskScore> tasks;
  double seconds = 0;
};

// A plan that resolves to no layer evaluates the base model itself (KL 0).
PlanMetrics plan_evaluate(const Model& base, const QuantPlan& plan, const PlanEvalSetup& setup,
                          JobContext* job = nullptr);

}  // namespace qs
