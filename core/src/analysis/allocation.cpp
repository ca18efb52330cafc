// Budgeted bit allocation as an exact multiple-choice knapsack: the Pareto front of (bits, predicted
// loss) over layers 0..i is built from the front over 0..i-1 and layer i's candidates, pruning every
// point that another point beats on both; the front after the last layer holds every budget's optimum.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "quantscope/allocate.hpp"
#include "quantscope/error.hpp"
#include "quantscope/model.hpp"

namespace qs {
namespace {

Error invalid(const std::string& message) { return Error(ErrorKind::Invalid, "allocate: " + message); }

// Stored bytes of a layer's weight in the source checkpoint.
uint64_t stored_bytes(const LinearLayer& layer) {
  return (static_cast<uint64_t>(layer.parameters()) * dtype_bits(layer.stored_dtype) + 7) / 8;
}

Allocation allocation_summary(const AllocationProblem& problem, std::vector<int> choice) {
  Allocation a;
  a.choice = std::move(choice);
  a.model_bytes = problem.fixed_bytes;
  uint64_t parameters = 0;
  for (size_t i = 0; i < problem.layers.size(); ++i) {
    const AllocationLayer& layer = problem.layers[i];
    const size_t c = static_cast<size_t>(a.choice[i]);
    a.bits += layer.bits[c];
    a.model_bytes += (layer.bits[c] + 7) / 8;
    a.predicted_loss += layer.loss[c];
    parameters += static_cast<uint64_t>(layer.parameters);
  }
  a.bits_per_weight = parameters ? static_cast<double>(a.bits) / static_cast<double>(parameters) : 0.0;
  return a;
}

}  // namespace

std::string AllocationBudget::print() const {
  std::ostringstream out;
  if (kind == Kind::BitsPerWeight)
    out << value << " bits/weight";
  else
    out << static_cast<uint64_t>(value) << " bytes";
  return out.str();
}

AllocationProblem allocation_problem(const Model& model, const std::vector<SensitivityScan>& scans) {
  if (scans.empty()) throw invalid("no candidate formats (no sensitivity scan)");
  AllocationProblem problem;
  std::map<std::string, LinearLayer> layers;
  for (const LinearLayer& layer : model.linear_layers()) layers[layer.name] = layer;
  for (const SensitivityScan& scan : scans) {
    if (std::find(problem.candidates.begin(), problem.candidates.end(), scan.format) != problem.candidates.end())
      throw invalid("the format " + format_print(scan.format) + " is scanned twice");
    problem.candidates.push_back(scan.format);
    if (scan.layers.size() != scans.front().layers.size())
      throw invalid("the scans of " + format_print(scans.front().format) + " and " + format_print(scan.format) +
                    " cover different layers");
  }
  uint64_t allocated_stored = 0;
  for (size_t i = 0; i < scans.front().layers.size(); ++i) {
    AllocationLayer layer;
    layer.name = scans.front().layers[i].name;
    const auto found = layers.find(layer.name);
    if (found == layers.end()) throw invalid(layer.name + " is not a linear layer of " + model.source().string());
    layer.parameters = found->second.parameters();
    allocated_stored += stored_bytes(found->second);
    for (const SensitivityScan& scan : scans) {
      const LayerSensitivity& s = scan.layers[i];
      if (s.name != layer.name)
        throw invalid("the scans of " + format_print(scans.front().format) + " and " + format_print(scan.format) +
                      " cover different layers (" + layer.name + " against " + s.name + ")");
      if (!std::isfinite(s.delta_kl)) throw invalid(s.name + ": the measured ΔKL of " + format_print(scan.format) + " is not finite");
      layer.bits.push_back(s.storage_bits);
      layer.loss.push_back(s.delta_kl);
    }
    problem.layers.push_back(std::move(layer));
  }
  problem.fixed_bytes = model.stored_bytes() - allocated_stored;
  return problem;
}

std::vector<Allocation> allocation_frontier(const AllocationProblem& problem) {
  // Each front point remembers how it was reached: the previous front's point and the candidate.
  struct Point {
    uint64_t bits;
    double loss;
    uint32_t parent;
    int candidate;
  };
  constexpr size_t kMaxFront = size_t{1} << 24;
  std::vector<std::vector<Point>> fronts;
  std::vector<Point> front = {{0, 0.0, 0, -1}};
  for (const AllocationLayer& layer : problem.layers) {
    if (layer.bits.size() != problem.candidates.size() || layer.loss.size() != problem.candidates.size())
      throw invalid(layer.name + ": one size and one loss per candidate are needed");
    std::vector<Point> next;
    next.reserve(front.size() * layer.bits.size());
    for (uint32_t p = 0; p < front.size(); ++p)
      for (size_t c = 0; c < layer.bits.size(); ++c)
        next.push_back({front[p].bits + layer.bits[c], front[p].loss + layer.loss[c], p, static_cast<int>(c)});
    std::sort(next.begin(), next.end(), [](const Point& a, const Point& b) {
      return a.bits != b.bits ? a.bits < b.bits : a.loss < b.loss;
    });
    std::vector<Point> pruned;
    for (const Point& point : next)
      if (pruned.empty() || point.loss < pruned.back().loss) pruned.push_back(point);
    if (pruned.size() > kMaxFront)
      throw invalid("the Pareto front grew past " + std::to_string(kMaxFront) + " points at " + layer.name);
    fronts.push_back(std::move(front));
    front = std::move(pruned);
  }
  std::vector<Allocation> result;
  for (size_t i = 0; i < front.size(); ++i) {
    std::vector<int> choice(problem.layers.size());
    const Point* point = &front[i];
    for (size_t layer = problem.layers.size(); layer-- > 0;) {
      choice[layer] = point->candidate;
      point = &fronts[layer][point->parent];
    }
    result.push_back(allocation_summary(problem, std::move(choice)));
  }
  return result;
}

Allocation allocation_solve(const AllocationProblem& problem, const AllocationBudget& budget) {
  if (!(budget.value > 0)) throw invalid("the budget must be positive, not " + budget.print());
  return allocation_pick(allocation_frontier(problem), budget);
}

Allocation allocation_pick(const std::vector<Allocation>& front, const AllocationBudget& budget) {
  if (!(budget.value > 0)) throw invalid("the budget must be positive, not " + budget.print());
  if (front.empty()) throw invalid("an empty frontier has no allocation");
  const Allocation* best = nullptr;
  for (const Allocation& a : front) {
    const bool fits = budget.kind == AllocationBudget::Kind::BitsPerWeight ? a.bits_per_weight <= budget.value
                                                                           : double(a.model_bytes) <= budget.value;
    if (fits) best = &a;  // the front is ordered by bits with falling loss: the last fitting point wins
  }
  if (!best) {
    std::ostringstream smallest;
    smallest << front.front().bits_per_weight << " bits/weight, " << front.front().model_bytes << " bytes";
    throw invalid("the budget of " + budget.print() + " is below the smallest allocation (" + smallest.str() + ")");
  }
  return *best;
}

QuantPlan allocation_plan(const AllocationProblem& problem, const Allocation& allocation) {
  QuantPlan plan;
  for (size_t i = 0; i < problem.layers.size(); ++i)
    plan.rules.push_back({problem.layers[i].name, problem.candidates.at(allocation.choice.at(i)), std::nullopt, {}});
  return plan;
}

Allocation allocation_uniform(const AllocationProblem& problem, int candidate) {
  if (candidate < 0 || static_cast<size_t>(candidate) >= problem.candidates.size())
    throw invalid("no candidate " + std::to_string(candidate));
  return allocation_summary(problem, std::vector<int>(problem.layers.size(), candidate));
}

}  // namespace qs
