// The allocator against brute force on small random problems: it never exceeds the budget, finds the
// true optimum, and beats (or ties) every uniform plan of equal or larger size on predicted loss.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quantscope/allocate.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

// Layers of a few sizes; more bits always cost more and lose less, as with real formats.
AllocationProblem problem_random(uint32_t seed, int layers, int candidates) {
  std::mt19937 rng(seed);
  AllocationProblem p;
  for (int c = 0; c < candidates; ++c) p.candidates.push_back(format_parse("int" + std::to_string(c + 2) + ":g64"));
  const int64_t sizes[] = {4096, 8192, 20480};
  for (int l = 0; l < layers; ++l) {
    AllocationLayer layer;
    layer.name = "layer" + std::to_string(l);
    layer.parameters = sizes[rng() % 3];
    const double sensitivity = 0.01 + (rng() % 1000) / 1000.0;
    for (int c = 0; c < candidates; ++c) {
      const double bits = (c + 2) + 16.0 / 64;
      layer.bits.push_back(static_cast<uint64_t>(bits * double(layer.parameters)));
      layer.loss.push_back(sensitivity * std::pow(4.0, -c) * (1 + (rng() % 100) / 500.0));
    }
    p.layers.push_back(layer);
  }
  p.fixed_bytes = 1000;
  return p;
}

// Every assignment, the best one within `max_bits`.
double brute_force(const AllocationProblem& p, uint64_t max_bits) {
  const size_t k = p.candidates.size();
  size_t total = 1;
  for (size_t i = 0; i < p.layers.size(); ++i) total *= k;
  double best = INFINITY;
  for (size_t code = 0; code < total; ++code) {
    uint64_t bits = 0;
    double loss = 0;
    size_t rest = code;
    for (const AllocationLayer& layer : p.layers) {
      bits += layer.bits[rest % k];
      loss += layer.loss[rest % k];
      rest /= k;
    }
    if (bits <= max_bits) best = std::min(best, loss);
  }
  return best;
}

TEST(Allocation, MatchesBruteForceAndStaysWithinBudget) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    const AllocationProblem p = problem_random(seed, 7, 3);
    uint64_t parameters = 0;
    for (const AllocationLayer& l : p.layers) parameters += uint64_t(l.parameters);
    for (double budget : {2.3, 2.5, 2.8, 3.1, 3.5, 4.2}) {
      const Allocation a = allocation_solve(p, {AllocationBudget::Kind::BitsPerWeight, budget});
      EXPECT_LE(a.bits_per_weight, budget) << "seed " << seed;
      const uint64_t max_bits = static_cast<uint64_t>(std::floor(budget * double(parameters)));
      EXPECT_NEAR(a.predicted_loss, brute_force(p, max_bits), 1e-12) << "seed " << seed << " budget " << budget;
      // The reported totals are those of the choice.
      double loss = 0;
      uint64_t bits = 0, bytes = p.fixed_bytes;
      for (size_t i = 0; i < p.layers.size(); ++i) {
        loss += p.layers[i].loss[a.choice[i]];
        bits += p.layers[i].bits[a.choice[i]];
        bytes += (p.layers[i].bits[a.choice[i]] + 7) / 8;
      }
      EXPECT_DOUBLE_EQ(a.predicted_loss, loss);
      EXPECT_EQ(a.bits, bits);
      EXPECT_EQ(a.model_bytes, bytes);
    }
  }
}

TEST(Allocation, ByteBudgetsCountTheFixedTensors) {
  const AllocationProblem p = problem_random(9, 6, 3);
  const Allocation uniform3 = allocation_uniform(p, 1);
  const Allocation a = allocation_solve(p, {AllocationBudget::Kind::Bytes, double(uniform3.model_bytes)});
  EXPECT_LE(a.model_bytes, uniform3.model_bytes);
  EXPECT_LE(a.predicted_loss, uniform3.predicted_loss);
}

TEST(Allocation, BeatsEveryUniformPlanOfEqualOrLargerSize) {
  for (uint32_t seed = 11; seed <= 14; ++seed) {
    const AllocationProblem p = problem_random(seed, 9, 3);
    for (int c = 0; c < 3; ++c) {
      const Allocation uniform = allocation_uniform(p, c);
      const Allocation a = allocation_solve(p, {AllocationBudget::Kind::BitsPerWeight, uniform.bits_per_weight});
      EXPECT_LE(a.bits, uniform.bits);
      EXPECT_LE(a.predicted_loss, uniform.predicted_loss) << "seed " << seed << " candidate " << c;
    }
    // Between two uniform sizes, the allocation is strictly better than the smaller uniform plan.
    const Allocation low = allocation_uniform(p, 0), high = allocation_uniform(p, 1);
    const Allocation mid =
        allocation_solve(p, {AllocationBudget::Kind::BitsPerWeight, (low.bits_per_weight + high.bits_per_weight) / 2});
    EXPECT_LT(mid.predicted_loss, low.predicted_loss);
  }
}

TEST(Allocation, FrontierIsOrderedAndItsPlanNamesEveryLayer) {
  const AllocationProblem p = problem_random(3, 8, 4);
  const std::vector<Allocation> front = allocation_frontier(p);
  ASSERT_GE(front.size(), 2u);
  for (size_t i = 1; i < front.size(); ++i) {
    EXPECT_GT(front[i].bits, front[i - 1].bits);
    EXPECT_LT(front[i].predicted_loss, front[i - 1].predicted_loss);
  }
  EXPECT_EQ(front.front().choice, std::vector<int>(8, 0));  // the cheapest is every layer at the fewest bits
  EXPECT_EQ(front.back().choice, std::vector<int>(8, 3));   // the most accurate, every layer at the most
  const QuantPlan plan = allocation_plan(p, front[front.size() / 2]);
  ASSERT_EQ(plan.rules.size(), 8u);
  EXPECT_EQ(plan.rules[0].match, "layer0");
  EXPECT_FALSE(plan.default_weight);
}

TEST(Allocation, RefusesABudgetBelowTheSmallestPlan) {
  const AllocationProblem p = problem_random(4, 5, 3);
  try {
    allocation_solve(p, {AllocationBudget::Kind::BitsPerWeight, 2.0});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    EXPECT_NE(std::string(e.what()).find("below the smallest allocation"), std::string::npos) << e.what();
  }
  EXPECT_THROW(allocation_solve(p, {AllocationBudget::Kind::Bytes, -1}), Error);
}

}  // namespace
}  // namespace qs
