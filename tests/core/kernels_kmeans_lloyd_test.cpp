// The GPU's Lloyd k-means (kernels/kmeans_lloyd.hpp) against core's kmeans_lloyd, which kmeans_1d_test
// checks: centroids and inertia equal bit for bit over many problems at once (short problems, repeated
// values, zero masses, fewer distinct values than k so that clusters empty and restart, k from 1 to
// 256, up to 2^16 values a problem), and the refusals.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cuda_tensors.hpp"
#include "kmeans_lloyd.hpp"
#include "quant/kmeans_1d.hpp"

namespace qs {
namespace {

#ifdef QS_WITH_CUDA
using kernels::kmeans_lloyd_cuda;
using kernels::LloydFailure;

// Problems in their original order and sorted by (value, mass), as core hands them to the kernel.
struct Problems {
  int64_t count = 0, stride = 0;
  std::vector<float> values, masses, sorted, sorted_masses;  // [count, stride]; the tail past counts[p] is NaN
  std::vector<int32_t> counts;
};

// Heavy-tailed values; every third problem rounded to a few levels so that values repeat (and, with
// many levels, clusters empty); masses in (0.01, 2.01) with a tenth zero, never all of a problem's.
Problems problems_make(int64_t count, int64_t stride, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> student(4.f);
  std::uniform_real_distribution<float> unit(0.f, 2.f);
  std::uniform_int_distribution<int64_t> length(1, stride);
  const size_t size = size_t(count * stride);
  Problems p{count, stride, std::vector<float>(size, NAN), std::vector<float>(size, NAN), std::vector<float>(size, NAN),
             std::vector<float>(size, NAN), {}};
  for (int64_t r = 0; r < count; ++r) {
    const int64_t n = r == 0 ? stride : length(rng);
    std::vector<std::pair<float, float>> points(static_cast<size_t>(n));
    for (size_t i = 0; i < points.size(); ++i) {  // the first value's mass positive: every problem has mass
      auto& [x, m] = points[i];
      x = student(rng) * 0.02f;
      if (r % 3 == 1) x = std::round(x * 200) / 200;
      m = i > 0 && rng() % 10 == 0 ? 0.f : 0.01f + unit(rng);
    }
    for (int64_t i = 0; i < n; ++i)
      p.values[size_t(r * stride + i)] = points[size_t(i)].first, p.masses[size_t(r * stride + i)] = points[size_t(i)].second;
    std::sort(points.begin(), points.end());
    for (int64_t i = 0; i < n; ++i)
      p.sorted[size_t(r * stride + i)] = points[size_t(i)].first,
                p.sorted_masses[size_t(r * stride + i)] = points[size_t(i)].second;
    p.counts.push_back(int32_t(n));
  }
  return p;
}

// Unweighted problems sorted by value alone (the masses are all 1, so ties need no order).
std::vector<float> values_sorted(const Problems& p) {
  std::vector<float> s = p.values;
  for (int64_t r = 0; r < p.count; ++r)
    std::sort(s.begin() + r * p.stride, s.begin() + r * p.stride + p.counts[size_t(r)]);
  return s;
}

TEST(KernelsKMeansLloyd, CudaEqualsTheCpuBitForBit) {
  QS_REQUIRE_CUDA();
  struct Case {
    int k;
    int64_t stride, problems;
  };
  const uint64_t seed = 77;
  for (const Case c : {Case{1, 50, 20}, Case{2, 700, 64}, Case{4, 1000, 300}, Case{3, 4096, 40}, Case{16, 5000, 12},
                       Case{256, 600, 6}, Case{4, 65536, 3}}) {
    const Problems p = problems_make(c.problems, c.stride, uint32_t(c.k * 1000 + c.stride));
    std::vector<double> draws;
    for (int64_t r = 0; r < p.count; ++r) {
      const std::vector<double> d = kmeans_lloyd_draws(seed + uint64_t(r), c.k);
      draws.insert(draws.end(), d.begin(), d.end());
    }
    const std::vector<int64_t> shape = {p.count, p.stride};
    const torch::Tensor values = test::cuda_copy(p.values, shape, torch::kFloat32),
                        masses = test::cuda_copy(p.masses, shape, torch::kFloat32),
                        sorted = test::cuda_copy(p.sorted, shape, torch::kFloat32),
                        sorted_masses = test::cuda_copy(p.sorted_masses, shape, torch::kFloat32),
                        by_value = test::cuda_copy(values_sorted(p), shape, torch::kFloat32),
                        counts = test::cuda_copy(p.counts, {p.count}, torch::kInt32),
                        draws_d = test::cuda_copy(draws, {p.count, c.k}, torch::kFloat64);
    for (const bool weighted : {false, true}) {
      const std::string what = "k " + std::to_string(c.k) + ", " + std::to_string(c.problems) + " problems of up to " +
                               std::to_string(c.stride) + (weighted ? ", weighted" : "");
      torch::Tensor books = torch::empty({p.count, c.k}, values.options());
      std::vector<double> inertia(size_t(p.count));
      const kernels::LloydStatus status = kmeans_lloyd_cuda(
          values.data_ptr<float>(), weighted ? masses.data_ptr<float>() : nullptr,
          (weighted ? sorted : by_value).data_ptr<float>(), weighted ? sorted_masses.data_ptr<float>() : nullptr,
          counts.data_ptr<int32_t>(), draws_d.data_ptr<double>(), p.count, p.stride, c.k, 1000, 1e-4,
          books.data_ptr<float>(), inertia.data());
      ASSERT_EQ(status.problem, -1) << what << ": failure " << int(status.failure);
      const torch::Tensor host = books.cpu();
      int64_t differ = 0;
      for (int64_t r = 0; r < p.count; ++r) {
        const size_t n = size_t(p.counts[size_t(r)]);
        const std::span<const float> x(p.values.data() + r * p.stride, n), m(p.masses.data() + r * p.stride, n);
        const Codebook1d want = kmeans_lloyd(x, weighted ? m : std::span<const float>(), c.k, seed + uint64_t(r));
        const float* got = host.data_ptr<float>() + r * c.k;
        bool same = inertia[size_t(r)] == want.inertia;
        for (int j = 0; j < c.k; ++j) same = same && got[j] == float(want.centroids[size_t(j)]);
        differ += !same;
        if (!same && differ == 1)
          ADD_FAILURE() << what << ": problem " << r << " (" << n << " values): inertia " << inertia[size_t(r)]
                        << " against " << want.inertia << ", first centroid " << got[0] << " against "
                        << want.centroids[0];
      }
      EXPECT_EQ(differ, 0) << what;
    }
  }
}

TEST(KernelsKMeansLloyd, CudaRefusesWhatTheCpuRefuses) {
  QS_REQUIRE_CUDA();
  Problems p;  // 8 problems of 50 values (unsorted: the refusals come first), in rows of 100
  p.values.assign(800, NAN), p.masses.assign(800, 1.f), p.counts.assign(8, 50);
  for (int r = 0; r < 8; ++r)
    for (int i = 0; i < 50; ++i) p.values[size_t(r * 100 + i)] = 0.01f * float((i * 7 + r) % 11) - 0.05f;
  std::vector<double> draws(8 * 4, 0.5);
  p.values[size_t(5 * 100 + 1)] = NAN;  // problem 5 holds a NaN, 6 an infinite mass, 7 no positive mass
  p.masses[size_t(6 * 100)] = INFINITY;
  for (int i = 0; i < 100; ++i) p.masses[size_t(7 * 100 + i)] = 0;
  const std::vector<int64_t> shape = {8, 100};
  const torch::Tensor values = test::cuda_copy(p.values, shape, torch::kFloat32),
                      masses = test::cuda_copy(p.masses, shape, torch::kFloat32),
                      counts = test::cuda_copy(p.counts, {8}, torch::kInt32), draws_d = test::cuda_copy(draws, {8, 4}, torch::kFloat64);
  torch::Tensor books = torch::empty({8, 4}, values.options());
  std::vector<double> inertia(8);
  const auto run = [&](const torch::Tensor& m, int k, int64_t stride) {
    const float* mp = m.defined() ? m.data_ptr<float>() : nullptr;
    return kmeans_lloyd_cuda(values.data_ptr<float>(), mp, values.data_ptr<float>(), mp, counts.data_ptr<int32_t>(),
                             draws_d.data_ptr<double>(), 8, stride, k, 1000, 1e-4, books.data_ptr<float>(),
                             inertia.data());
  };
  kernels::LloydStatus s = run(torch::Tensor(), 4, 100);
  EXPECT_EQ(s.problem, 5);
  EXPECT_EQ(s.failure, LloydFailure::NotFinite);
  p.values[size_t(5 * 100 + 1)] = 0.01f;
  const torch::Tensor fixed = test::cuda_copy(p.values, shape, torch::kFloat32);
  values.copy_(fixed);
  s = run(masses, 4, 100);
  EXPECT_EQ(s.problem, 6);
  EXPECT_EQ(s.failure, LloydFailure::NotFinite);
  masses.select(0, 6).fill_(1.f);
  s = run(masses, 4, 100);
  EXPECT_EQ(s.problem, 7);
  EXPECT_EQ(s.failure, LloydFailure::NoMass);
  EXPECT_THROW(run(torch::Tensor(), 257, 100), std::invalid_argument);
  EXPECT_THROW(run(torch::Tensor(), 4, kernels::kKMeansLloydMaxPoints + 1), std::invalid_argument);
}
#endif

}  // namespace
}  // namespace qs
