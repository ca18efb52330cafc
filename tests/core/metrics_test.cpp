// Per-tensor quantization metrics: hand-computed values, the exact and degenerate cases, the parallel
// sums against a serial loop, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

TEST(Metrics, HandComputed) {
  const std::vector<float> w = {1, 2, 3, 4}, wq = {1, 2, 3, 5};
  const TensorMetrics m = metrics_compute(w, wq, 20);
  EXPECT_EQ(m.count, 4);
  EXPECT_DOUBLE_EQ(m.mse, 0.25);
  EXPECT_DOUBLE_EQ(m.relative_mse, 0.25 / 7.5);
  EXPECT_DOUBLE_EQ(m.sqnr_db, 10 * std::log10(30.0));
  EXPECT_DOUBLE_EQ(m.cosine, 34 / std::sqrt(30.0 * 39.0));
  EXPECT_DOUBLE_EQ(m.max_abs_error, 1.0);
  EXPECT_DOUBLE_EQ(m.bits_per_weight, 5.0);
  EXPECT_EQ(m.bytes, 3u);

  const std::vector<float> a = {0.5f, -1.5f, 2}, b = {0, -1, 3};  // errors -0.5, 0.5, 1
  const TensorMetrics n = metrics_compute(a, b, 7);
  EXPECT_DOUBLE_EQ(n.mse, 1.5 / 3);
  EXPECT_DOUBLE_EQ(n.relative_mse, 1.5 / 6.5);
  EXPECT_DOUBLE_EQ(n.sqnr_db, 10 * std::log10(6.5 / 1.5));
  EXPECT_DOUBLE_EQ(n.cosine, 7.5 / std::sqrt(6.5 * 10));
  EXPECT_DOUBLE_EQ(n.max_abs_error, 1.0);
  EXPECT_DOUBLE_EQ(n.bits_per_weight, 7.0 / 3);
  EXPECT_EQ(n.bytes, 1u);

  const TensorMetrics flipped = metrics_compute(std::vector<float>{1, -2}, std::vector<float>{-1, 2}, 16);
  EXPECT_DOUBLE_EQ(flipped.cosine, -1.0);
  EXPECT_DOUBLE_EQ(flipped.sqnr_db, 10 * std::log10(5.0 / 20.0));
}

TEST(Metrics, ExactAndDegenerate) {
  const std::vector<float> w = {0.25f, -3, 7};
  const TensorMetrics same = metrics_compute(w, w, 48);
  EXPECT_EQ(same.mse, 0);
  EXPECT_EQ(same.relative_mse, 0);
  EXPECT_EQ(same.sqnr_db, std::numeric_limits<double>::infinity());
  EXPECT_EQ(same.cosine, 1);
  EXPECT_EQ(same.max_abs_error, 0);

  const std::vector<float> zero(3, 0.0f);
  const TensorMetrics zeros = metrics_compute(zero, zero, 3);
  EXPECT_EQ(zeros.relative_mse, 0);
  EXPECT_EQ(zeros.cosine, 1);
  EXPECT_EQ(zeros.sqnr_db, std::numeric_limits<double>::infinity());

  const TensorMetrics flushed = metrics_compute(w, zero, 3);  // everything quantized to zero
  EXPECT_DOUBLE_EQ(flushed.relative_mse, 1.0);
  EXPECT_DOUBLE_EQ(flushed.sqnr_db, 0.0);
  EXPECT_EQ(flushed.cosine, 0);
  EXPECT_DOUBLE_EQ(flushed.max_abs_error, 7.0);
}

TEST(Metrics, ParallelSumsMatchSerial) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> w(1 << 20), wq(w.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = normal(rng), wq[i] = w[i] + 0.05f * normal(rng);
  double ww = 0, qq = 0, wqs = 0, ee = 0, mx = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double a = w[i], b = wq[i];
    ww += a * a, qq += b * b, wqs += a * b, ee += (a - b) * (a - b), mx = std::max(mx, std::abs(a - b));
  }
  const TensorMetrics m = metrics_compute(w, wq, uint64_t(w.size()) * 4 + 100);
  EXPECT_NEAR(m.mse, ee / double(w.size()), 1e-12 * m.mse);
  EXPECT_NEAR(m.sqnr_db, 10 * std::log10(ww / ee), 1e-9);
  EXPECT_NEAR(m.cosine, wqs / std::sqrt(ww * qq), 1e-12);
  EXPECT_EQ(m.max_abs_error, mx);
  EXPECT_DOUBLE_EQ(m.bits_per_weight, 4 + 100.0 / double(w.size()));
  EXPECT_EQ(m.bytes, uint64_t(w.size()) / 2 + 13);
}

TEST(Metrics, Errors) {
  const std::vector<float> w = {1, 2, 3};
  try {
    metrics_compute(w, std::vector<float>{1, 2}, 8);
    ADD_FAILURE() << "length mismatch accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
  }
  try {
    metrics_compute(w, std::vector<float>{1, NAN, 3}, 8);
    ADD_FAILURE() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Numeric);
  }
  EXPECT_THROW(metrics_compute(std::vector<float>{}, std::vector<float>{}, 0), Error);
}

}  // namespace
}  // namespace qs
