// The histogram kernels: the CPU reference against hand-computed values, and the CUDA path against
// the CPU reference (run on the GPU machine; skipped where this build or machine has no CUDA).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

#include "histogram.hpp"

namespace qs::kernels {
namespace {

TEST(KernelsHistogram, CpuMomentsAndBinsByHand) {
  const std::vector<float> x = {-2.f, -0.5f, 0.f, 0.25f, 3.f, std::numeric_limits<float>::quiet_NaN()};
  const Moments m = moments_cpu(x.data(), x.size());
  EXPECT_DOUBLE_EQ(m.s1, 0.75);
  EXPECT_DOUBLE_EQ(m.s2, 4 + 0.25 + 0.0625 + 9);
  EXPECT_DOUBLE_EQ(m.absmax, 3.0);
  EXPECT_EQ(m.non_finite, 1);
  std::vector<double> counts(4, 0.0);
  histogram_cpu(x.data(), x.size(), -1.f, 1.f, 4, counts.data());  // bins [-1,-.5) [-.5,0) [0,.5) [.5,1]
  EXPECT_EQ(counts, (std::vector<double>{1, 1, 2, 1}));             // -2 and 3 clamp to the edges
}

#ifdef QS_WITH_CUDA
TEST(KernelsHistogram, CudaMatchesCpuReference) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  torch::manual_seed(3);
  for (int64_t n : {int64_t(1), int64_t(1000), int64_t(1) << 22}) {
    const torch::Tensor host = torch::randn({n}) * 2.0;
    const torch::Tensor device = host.to(torch::kCUDA);
    const Moments ref = moments_cpu(host.data_ptr<float>(), n);
    const Moments got = moments_cuda(device.data_ptr<float>(), n);
    EXPECT_NEAR(got.s1, ref.s1, 1e-9 * n + 1e-9);
    EXPECT_NEAR(got.s2, ref.s2, 1e-10 * std::abs(ref.s2) + 1e-9);
    EXPECT_NEAR(got.s4, ref.s4, 1e-10 * std::abs(ref.s4) + 1e-9);
    EXPECT_EQ(got.absmax, ref.absmax);
    for (int bins : {16, 4096, 1 << 16}) {  // shared-memory and global-atomic paths
      std::vector<double> want(bins, 0.0), have(bins, 0.0);
      histogram_cpu(host.data_ptr<float>(), n, -3.f, 3.f, bins, want.data());
      histogram_cuda(device.data_ptr<float>(), n, -3.f, 3.f, bins, have.data());
      EXPECT_EQ(have, want) << "n=" << n << " bins=" << bins;  // integer counts: exact
    }
  }
}
#endif

}  // namespace
}  // namespace qs::kernels
