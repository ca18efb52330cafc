// Which format should each layer get under my memory budget? Given candidate formats and, for each,
// a per-layer predicted loss (a sensitivity scan's ΔKL, assumed additive over layers), choose one
// candidate per layer minimising the total predicted loss under a budget of model bytes or of average
// bits per weight. This is a multiple-choice knapsack; it is solved exactly by building the Pareto
// front of (bits, loss) layer by layer, which also gives the whole budget-loss frontier at once.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quantscope/format.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/sensitivity.hpp"

namespace qs {

class Model;

struct AllocationLayer {
  std::string name;
  int64_t parameters = 0;
  std::vector<uint64_t> bits;  // storage bits of the weight in each candidate format
  std::vector<double> loss;    // predicted loss of each candidate
};

struct AllocationProblem {
  std::vector<FormatSpec> candidates;
  std::vector<AllocationLayer> layers;
  uint64_t fixed_bytes = 0;  // everything the allocation leaves as stored (embedding, norms, head)
};

// One scan per candidate over the same layers; the loss is each scan's ΔKL. Throws Invalid when the
// scans cover different layers or two scans have one format.
AllocationProblem allocation_problem(const Model& model, const std::vector<SensitivityScan>& scans);

struct AllocationBudget {
  enum class Kind { BitsPerWeight, Bytes } kind = Kind::BitsPerWeight;
  double value = 0;  // average bits per weight over the allocated layers, or model bytes in all
  std::string print() const;  // "2.5 bits/weight", "3145728 bytes"
};

struct Allocation {
  std::vector<int> choice;  // candidate index per layer
  uint64_t bits = 0;        // storage bits of the allocated layers
  double bits_per_weight = 0;
  uint64_t model_bytes = 0;  // fixed_bytes + the allocated layers rounded up to bytes each
  double predicted_loss = 0;
};

// The Pareto-optimal allocations, by increasing bits and strictly decreasing predicted loss. Every
// budget's optimum is the last point within it.
std::vector<Allocation> allocation_frontier(const AllocationProblem& problem);

// The optimum within the budget. Throws Invalid when even the smallest allocation exceeds it.
Allocation allocation_solve(const AllocationProblem& problem, const AllocationBudget& budget);
// The same from a frontier computed once (allocation_frontier's): what a budget slider asks at every
// value. Throws as allocation_solve does.
Allocation allocation_pick(const std::vector<Allocation>& frontier, const AllocationBudget& budget);

// A plan with one exact-name rule per allocated layer.
QuantPlan allocation_plan(const AllocationProblem& problem, const Allocation& allocation);

// The allocation of one candidate for every layer (a uniform plan), for comparison.
Allocation allocation_uniform(const AllocationProblem& problem, int candidate);

}  // namespace qs
