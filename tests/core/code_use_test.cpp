// code_use_compute against hand-counted occupancies and a real int2 quantization.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "quantscope/code_use.hpp"
#include "quantscope/format.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

TEST(CodeUse, CountsUsedCodesAndTheirEntropy) {
  const std::vector<int64_t> half = {0, 5, 5, 0};
  const CodeUse a = code_use_compute(half);
  EXPECT_EQ(a.total, 4);
  EXPECT_EQ(a.used, 2);
  EXPECT_DOUBLE_EQ(a.entropy_bits, 1.0);
  const std::vector<int64_t> even = {3, 3, 3, 3, 3, 3, 3, 3};
  EXPECT_DOUBLE_EQ(code_use_compute(even).entropy_bits, 3.0);
  const std::vector<int64_t> skewed = {1, 3};  // −(¼·log2 ¼ + ¾·log2 ¾)
  EXPECT_NEAR(code_use_compute(skewed).entropy_bits, 0.811278124459133, 1e-12);
  const CodeUse none = code_use_compute({});
  EXPECT_EQ(none.used, 0);
  EXPECT_EQ(none.entropy_bits, 0.0);
}

TEST(CodeUse, Int2UsesAtMostFourCodesAndTwoBits) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<float> w(64 * 96);
  for (float& v : w) v = normal(rng);
  const QuantizedTensor q = tensor_quantize(format_parse("int2:g32"), w, 64, 96);
  const CodeUse use = code_use_compute(q.occupancy);
  EXPECT_EQ(use.total, 4);
  EXPECT_GE(use.used, 3);
  EXPECT_LE(use.entropy_bits, 2.0 + 1e-12);
  EXPECT_GT(use.entropy_bits, 1.0);
}

}  // namespace
}  // namespace qs
