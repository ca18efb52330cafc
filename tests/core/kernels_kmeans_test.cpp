// The GPU's exact 1-D k-means (kernels/kmeans_exact.hpp) against core's CPU solver, which
// kmeans_1d_test checks against brute force: centroids and inertia equal bit for bit over many problems
// at once (duplicates, zero and all-zero weights, fewer distinct values than k, k from 1 to 256, up to
// 2^16 values a problem), and the refusals.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cuda_tensors.hpp"
#include "kmeans_exact.hpp"
#include "quant/kmeans_1d.hpp"

namespace qs {
namespace {

#ifdef QS_WITH_CUDA
using kernels::kmeans_exact_sorted_cuda;

torch::Tensor device_of(const std::vector<float>& v, int64_t rows) {
  return test::cuda_copy(v, {rows, int64_t(v.size()) / rows}, torch::kFloat32);
}

struct Problems {
  int64_t count = 0, stride = 0;
  std::vector<float> values, masses;  // [count, stride], each row sorted over its first counts[p]
  std::vector<int32_t> counts;
};

// Heavy-tailed values, every third problem rounded to 1/64 so that values repeat; masses in (0, 2)
// with a tenth of them zero, and one problem whose masses are all zero. The unused tail of a row is NaN,
// which the solver must never read.
Problems problems_make(int64_t count, int64_t stride, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> student(4.f);
  std::uniform_real_distribution<float> unit(0.f, 2.f);
  std::uniform_int_distribution<int64_t> length(1, stride);
  Problems p{count, stride, std::vector<float>(size_t(count * stride), NAN), std::vector<float>(size_t(count * stride), NAN), {}};
  for (int64_t r = 0; r < count; ++r) {
    const int64_t n = r == 0 ? stride : length(rng);
    std::vector<std::pair<float, float>> points(static_cast<size_t>(n));
    for (auto& [x, m] : points) {
      x = student(rng) * 0.02f;
      if (r % 3 == 1) x = std::round(x * 64 * 50) / (64 * 50);
      m = r == 2 || rng() % 10 == 0 ? 0.f : unit(rng);
    }
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (int64_t i = 0; i < n; ++i) {
      p.values[size_t(r * stride + i)] = points[size_t(i)].first;
      p.masses[size_t(r * stride + i)] = points[size_t(i)].second;
    }
    p.counts.push_back(int32_t(n));
  }
  return p;
}

// quantizer_kmeans's reading of one problem for the CPU solver: values of mass ≤ 0 left out, every value
// with mass 1 when none is positive.
Codebook1d cpu_fit(const Problems& p, int64_t r, bool weighted, int k) {
  std::vector<double> x, m;
  for (int64_t i = 0; i < p.counts[size_t(r)]; ++i) {
    const double mass = weighted ? p.masses[size_t(r * p.stride + i)] : 1.0;
    if (mass > 0) x.push_back(p.values[size_t(r * p.stride + i)]), m.push_back(mass);
  }
  if (x.empty())
    for (int64_t i = 0; i < p.counts[size_t(r)]; ++i) x.push_back(p.values[size_t(r * p.stride + i)]), m.push_back(1);
  return kmeans_exact(x, m, k);
}

TEST(KernelsKMeansExact, CudaEqualsTheCpuSolverBitForBit) {
  QS_REQUIRE_CUDA();
  struct Case {
    int k;
    int64_t stride, problems;
  };
  for (const Case c : {Case{1, 50, 20}, Case{2, 700, 64}, Case{4, 1000, 700}, Case{3, 4096, 40}, Case{16, 5000, 12},
                       Case{256, 3000, 6}, Case{4, 65536, 3}}) {
    const Problems p = problems_make(c.problems, c.stride, uint32_t(c.k * 1000 + c.stride));
    const torch::Tensor values = device_of(p.values, p.count), masses = device_of(p.masses, p.count);
    const torch::Tensor counts =
        torch::from_blob(const_cast<int32_t*>(p.counts.data()), {p.count}, torch::kInt32).to(torch::kCUDA);
    for (const bool weighted : {false, true}) {
      const std::string what = "k " + std::to_string(c.k) + ", " + std::to_string(c.problems) + " problems of up to " +
                               std::to_string(c.stride) + (weighted ? ", weighted" : "");
      torch::Tensor books = torch::empty({p.count, c.k}, values.options());
      std::vector<double> inertia(size_t(p.count));
      EXPECT_EQ(kmeans_exact_sorted_cuda(values.data_ptr<float>(), weighted ? masses.data_ptr<float>() : nullptr,
                                         counts.data_ptr<int32_t>(), p.count, p.stride, c.k, books.data_ptr<float>(),
                                         inertia.data()),
                -1)
          << what;
      const torch::Tensor host = books.cpu();
      int64_t differ = 0;
      for (int64_t r = 0; r < p.count; ++r) {
        const Codebook1d want = cpu_fit(p, r, weighted, c.k);
        const float* got = host.data_ptr<float>() + r * c.k;
        bool same = inertia[size_t(r)] == want.inertia;
        for (int j = 0; j < c.k; ++j) same = same && got[j] == float(want.centroids[size_t(j)]);
        differ += !same;
        if (!same && differ == 1)
          ADD_FAILURE() << what << ": problem " << r << " (" << p.counts[size_t(r)] << " values): inertia "
                        << inertia[size_t(r)] << " against " << want.inertia << ", first centroid " << got[0]
                        << " against " << want.centroids[0];
      }
      EXPECT_EQ(differ, 0) << what;
    }
  }
}

TEST(KernelsKMeansExact, CudaRefusesWhatTheCpuSolverRefuses) {
  QS_REQUIRE_CUDA();
  Problems p = problems_make(8, 100, 3);
  for (int r : {5, 6, 7}) {  // full rows, the tail repeating the last value
    for (int64_t i = p.counts[size_t(r)]; i < 100; ++i)
      p.values[size_t(r * 100 + i)] = p.values[size_t(r * 100 + i - 1)], p.masses[size_t(r * 100 + i)] = 1;
    p.counts[size_t(r)] = 100;
  }
  p.values[size_t(5 * 100 + 1)] = NAN;  // problems 5 and 7 hold a NaN, 6 an infinite mass
  p.values[size_t(7 * 100)] = NAN;
  p.masses[size_t(6 * 100)] = INFINITY;
  const torch::Tensor values = device_of(p.values, 8), masses = device_of(p.masses, 8);
  const torch::Tensor counts = torch::from_blob(p.counts.data(), {8}, torch::kInt32).to(torch::kCUDA);
  torch::Tensor books = torch::empty({8, 4}, values.options());
  std::vector<double> inertia(8);
  EXPECT_EQ(kmeans_exact_sorted_cuda(values.data_ptr<float>(), nullptr, counts.data_ptr<int32_t>(), 8, 100, 4,
                                     books.data_ptr<float>(), inertia.data()),
            5);
  p.values[size_t(5 * 100 + 1)] = p.values[size_t(5 * 100)];
  p.values[size_t(7 * 100)] = p.values[size_t(7 * 100 + 1)];
  const torch::Tensor fixed = device_of(p.values, 8);
  EXPECT_EQ(kmeans_exact_sorted_cuda(fixed.data_ptr<float>(), masses.data_ptr<float>(), counts.data_ptr<int32_t>(),
                                     8, 100, 4, books.data_ptr<float>(), inertia.data()),
            6);
  EXPECT_THROW(kmeans_exact_sorted_cuda(fixed.data_ptr<float>(), nullptr, counts.data_ptr<int32_t>(), 8, 100, 257,
                                        books.data_ptr<float>(), inertia.data()),
               std::invalid_argument);
  EXPECT_THROW(kmeans_exact_sorted_cuda(fixed.data_ptr<float>(), nullptr, counts.data_ptr<int32_t>(), 1,
                                        kernels::kKMeansExactMaxPoints + 1, 4, books.data_ptr<float>(), inertia.data()),
               std::invalid_argument);

}
#endif

}  // namespace
}  // namespace qs
