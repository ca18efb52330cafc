// Weight statistics and histograms: hand-computed values, a Gaussian sample's excess kurtosis near
// zero, the parallel path against a serial sum, edge-bin clamping, data-derived ranges, and errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/stats.hpp"

namespace qs {
namespace {

TEST(Stats, KnownValues) {
  const std::vector<float> x = {1, 2, 3, 4};
  const TensorStats s = stats_compute(x);
  EXPECT_EQ(s.count, 4);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_NEAR(s.std, std::sqrt(1.25), 1e-12);
  EXPECT_DOUBLE_EQ(s.absmax, 4.0);
  EXPECT_NEAR(s.kurtosis, 2.5625 / 1.5625 - 3.0, 1e-12);  // central m4 / m2^2 - 3
  const std::vector<float> neg = {-5, 1};
  EXPECT_DOUBLE_EQ(stats_compute(neg).absmax, 5.0);
}

TEST(Stats, GaussianSampleHasExcessKurtosisNearZero) {
  torch::manual_seed(11);
  const torch::Tensor t = torch::randn({1 << 20}) * 0.02 + 0.001;  // spans many parallel chunks
  const TensorStats s = stats_compute({t.data_ptr<float>(), size_t(t.numel())});
  EXPECT_NEAR(s.mean, 0.001, 1e-4);
  EXPECT_NEAR(s.std, 0.02, 2e-4);
  EXPECT_NEAR(s.kurtosis, 0.0, 0.05);
  EXPECT_NEAR(s.mean, t.mean().item<double>(), 1e-7);  // parallel chunks add up to the whole
  // A heavy-tailed sample (Laplace: excess kurtosis 3) is clearly told apart.
  const torch::Tensor u = torch::rand({1 << 20}, torch::kFloat64) - 0.5;
  const torch::Tensor laplace = (-torch::sign(u) * torch::log1p(-2 * u.abs())).to(torch::kFloat32).contiguous();
  EXPECT_NEAR(stats_compute({laplace.data_ptr<float>(), size_t(laplace.numel())}).kurtosis, 3.0, 0.2);
}

TEST(Stats, EmptyAndConstantInputs) {
  EXPECT_EQ(stats_compute({}).count, 0);
  const std::vector<float> c(100, 0.5f);
  const TensorStats s = stats_compute(c);
  EXPECT_DOUBLE_EQ(s.std, 0.0);
  EXPECT_DOUBLE_EQ(s.kurtosis, 0.0);
}

TEST(Stats, NonFiniteValuesAreNumericErrors) {
  std::vector<float> x(1000, 1.f);
  x[500] = std::numeric_limits<float>::quiet_NaN();
  try {
    stats_compute(x);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Numeric);
    EXPECT_NE(std::string(e.what()).find("1 of 1000"), std::string::npos) << e.what();
  }
  x[500] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(stats_compute(x), Error);
}

TEST(Histogram, ClampsOutsideValuesToEdgeBins) {
  const std::vector<float> x = {-10, -0.9f, -0.1f, 0.1f, 0.6f, 10, 1.0f};
  const Histogram h = histogram_compute(x, 4, -1, 1);
  EXPECT_EQ(h.counts, (std::vector<double>{2, 1, 1, 3}));
  EXPECT_DOUBLE_EQ(h.bin_width(), 0.5);
  EXPECT_DOUBLE_EQ(h.bin_center(0), -0.75);
}

TEST(Histogram, RangeFromDataAndParallelCountsAddUp) {
  torch::manual_seed(5);
  const torch::Tensor t = torch::randn({300000});
  const Histogram h = histogram_compute({t.data_ptr<float>(), size_t(t.numel())}, 64);
  EXPECT_FLOAT_EQ(float(h.lo), t.min().item<float>());
  EXPECT_FLOAT_EQ(float(h.hi), t.max().item<float>());
  EXPECT_DOUBLE_EQ(std::accumulate(h.counts.begin(), h.counts.end(), 0.0), 300000.0);
  // The bins hold what torch's own histogram says (up to values on bin edges).
  const torch::Tensor ref = torch::histc(t.to(torch::kFloat64), 64, h.lo, h.hi);
  for (int b = 0; b < 64; ++b) EXPECT_NEAR(h.counts[size_t(b)], ref[b].item<double>(), 2.0) << b;
  const std::vector<float> constant(10, 3.f);
  const Histogram hc = histogram_compute(constant, 5);
  EXPECT_LT(hc.lo, 3.0);
  EXPECT_GT(hc.hi, 3.0);
  EXPECT_DOUBLE_EQ(hc.counts[2], 10.0);
}

TEST(Histogram, BadArgumentsAreInvalid) {
  const std::vector<float> x = {1, 2};
  EXPECT_THROW(histogram_compute(x, 0), Error);
  EXPECT_THROW(histogram_compute(x, 4, 2, 1), Error);
}

}  // namespace
}  // namespace qs
