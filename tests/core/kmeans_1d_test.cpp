// One-dimensional k-means: the exact DP against brute force over every contiguous segmentation, the
// binned solver against the raw one and against the points' true inertia, exact never above Lloyd,
// Lloyd started at the optimum staying there, the same result for any number of threads, weights,
// degenerate inputs and bad arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <ATen/Parallel.h>

#include "quant/kmeans_1d.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

// Σ m·(x − mean)² of x[begin, end), two-pass.
double segment_cost(const std::vector<double>& x, const std::vector<double>& m, size_t begin, size_t end) {
  double mass = 0, sum = 0;
  for (size_t i = begin; i < end; ++i) mass += m[i], sum += m[i] * x[i];
  const double mean = sum / mass;
  double cost = 0;
  for (size_t i = begin; i < end; ++i) cost += m[i] * (x[i] - mean) * (x[i] - mean);
  return cost;
}

struct Brute {
  double inertia = std::numeric_limits<double>::infinity();
  std::vector<double> centroids;
};

// Every way to cut n sorted points into min(k, n) non-empty runs.
Brute brute_force(const std::vector<double>& x, const std::vector<double>& m, int k) {
  const size_t n = x.size(), parts = std::min<size_t>(size_t(k), n);
  Brute best;
  std::vector<size_t> cuts(parts + 1);
  cuts[0] = 0;
  cuts[parts] = n;
  std::function<void(size_t)> place = [&](size_t p) {
    if (p == parts) {
      double cost = 0;
      std::vector<double> c;
      for (size_t s = 0; s < parts; ++s) {
        cost += segment_cost(x, m, cuts[s], cuts[s + 1]);
        double mass = 0, sum = 0;
        for (size_t i = cuts[s]; i < cuts[s + 1]; ++i) mass += m[i], sum += m[i] * x[i];
        c.push_back(sum / mass);
      }
      if (cost < best.inertia) best.inertia = cost, best.centroids = c;
      return;
    }
    for (size_t at = cuts[p - 1] + 1; at <= n - (parts - p); ++at) {
      cuts[p] = at;
      place(p + 1);
    }
  };
  place(1);
  return best;
}

void expect_sorted(const std::vector<double>& c) { EXPECT_TRUE(std::is_sorted(c.begin(), c.end())); }

TEST(KMeans1d, ExactMatchesBruteForce) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> value(-3, 3), weight(0.05, 4);
  int checked = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const size_t n = 1 + rng() % 12;
    const int k = 1 + int(rng() % 5);
    std::vector<double> x(n), m(n);
    for (auto& v : x) v = value(rng);
    for (auto& w : m) w = weight(rng);
    std::sort(x.begin(), x.end());
    const Codebook1d fit = kmeans_exact(x, m, k);
    const Brute brute = brute_force(x, m, k);
    SCOPED_TRACE("trial " + std::to_string(trial));
    ASSERT_EQ(fit.centroids.size(), size_t(k));
    expect_sorted(fit.centroids);
    EXPECT_NEAR(fit.inertia, brute.inertia, 1e-10 * (1 + brute.inertia));
    for (size_t j = 0; j < brute.centroids.size(); ++j) EXPECT_NEAR(fit.centroids[j], brute.centroids[j], 1e-9);
    ++checked;
  }
  EXPECT_EQ(checked, 400);
}

TEST(KMeans1d, ExactMatchesBruteForceWithDuplicates) {
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 12;
    const int k = 1 + int(rng() % 5);
    std::vector<double> x(n), m(n);
    for (auto& v : x) v = double(int(rng() % 6)) * 0.5;  // few distinct values
    for (auto& w : m) w = 1 + double(rng() % 3);
    std::sort(x.begin(), x.end());
    const Codebook1d fit = kmeans_exact(x, m, k);
    SCOPED_TRACE("trial " + std::to_string(trial));
    ASSERT_EQ(fit.centroids.size(), size_t(k));
    expect_sorted(fit.centroids);
    EXPECT_NEAR(fit.inertia, brute_force(x, m, k).inertia, 1e-10);
  }
}

TEST(KMeans1d, BinnedEqualsRawWhenEachBinHoldsOneValue) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> weight(0.1, 2);
  for (int k : {1, 2, 3, 8}) {
    std::vector<double> x(300), m(300);
    for (auto& v : x) v = normal(rng);
    for (auto& w : m) w = weight(rng);
    std::sort(x.begin(), x.end());
    // Bins in order with empty ones between; a bin may hold two copies of its value.
    std::vector<double> s0, s1, s2, xs, ms;
    for (size_t i = 0; i < x.size(); ++i) {
      if (i % 3 == 0) s0.push_back(0), s1.push_back(0), s2.push_back(0);
      const double copies = 1 + double(i % 2);
      s0.push_back(copies * m[i]);
      s1.push_back(copies * m[i] * x[i]);
      s2.push_back(copies * m[i] * x[i] * x[i]);
      for (int c = 0; c < int(copies); ++c) xs.push_back(x[i]), ms.push_back(m[i]);
    }
    const Codebook1d raw = kmeans_exact(xs, ms, k), binned = kmeans_exact_binned(s0, s1, s2, k);
    SCOPED_TRACE(k);
    EXPECT_NEAR(binned.inertia, raw.inertia, 1e-10 * raw.inertia + 1e-12);
    ASSERT_EQ(binned.centroids.size(), raw.centroids.size());
    for (size_t j = 0; j < raw.centroids.size(); ++j) EXPECT_NEAR(binned.centroids[j], raw.centroids[j], 1e-12);
  }
}

TEST(KMeans1d, ExactIsTheSameWhateverTheThreads) {
  // Wide enough that the first levels' candidate scans are split into chunks across threads.
  std::mt19937_64 rng(12);
  std::normal_distribution<double> normal;
  std::vector<double> s0(1 << 16), s1(1 << 16), s2(1 << 16);
  for (size_t b = 0; b < s0.size(); ++b) {
    const double v = -4 + 8 * double(b) / double(s0.size()), m = std::exp(-v * v / 2) * (1 + 0.1 * normal(rng));
    s0[b] = b % 7 == 0 ? 0 : m, s1[b] = s0[b] * v, s2[b] = s0[b] * v * v;
  }
  const int threads = at::get_num_threads();
  for (int k : {2, 16}) {
    at::set_num_threads(1);
    const Codebook1d serial = kmeans_exact_binned(s0, s1, s2, k);
    at::set_num_threads(8);
    const Codebook1d parallel = kmeans_exact_binned(s0, s1, s2, k);
    at::set_num_threads(threads);
    EXPECT_EQ(serial.centroids, parallel.centroids) << k;
    EXPECT_EQ(serial.inertia, parallel.inertia) << k;
  }
}

TEST(KMeans1d, BinnedReportsTheInertiaOfThePoints) {
  // Points spread inside their bins: the centroids are the segments' weighted means and the inertia is
  // that of the actual points, not of the bins' means.
  std::mt19937_64 rng(10);
  std::uniform_real_distribution<double> unit(0, 1);
  const int bins = 40;
  std::vector<std::vector<double>> members(bins);
  std::vector<double> s0(bins, 0), s1(bins, 0), s2(bins, 0);
  for (int i = 0; i < 2000; ++i) {
    const double v = std::pow(unit(rng), 2) * 4 - 1;  // skewed on [-1, 3)
    const int b = std::min(bins - 1, int((v + 1) / 4 * bins));
    const double w = 0.5 + unit(rng);
    members[size_t(b)].push_back(v);
    members[size_t(b)].push_back(w);
    s0[size_t(b)] += w, s1[size_t(b)] += w * v, s2[size_t(b)] += w * v * v;
  }
  for (int k : {2, 3, 5}) {
    const Codebook1d fit = kmeans_exact_binned(s0, s1, s2, k);
    expect_sorted(fit.centroids);
    // Re-derive the segmentation: each non-empty bin goes to the centroid nearest its mean.
    std::vector<double> mass(size_t(k), 0), sum(size_t(k), 0);
    std::vector<int> owner(bins, -1);
    for (int b = 0; b < bins; ++b) {
      if (s0[size_t(b)] == 0) continue;
      const double mean = s1[size_t(b)] / s0[size_t(b)];
      int best = 0;
      for (int j = 1; j < k; ++j)
        if (std::abs(mean - fit.centroids[size_t(j)]) < std::abs(mean - fit.centroids[size_t(best)])) best = j;
      owner[size_t(b)] = best;
      mass[size_t(best)] += s0[size_t(b)], sum[size_t(best)] += s1[size_t(b)];
    }
    double inertia = 0;
    for (int b = 0; b < bins; ++b)
      for (size_t t = 0; t < members[size_t(b)].size(); t += 2) {
        const double v = members[size_t(b)][t], w = members[size_t(b)][t + 1];
        const double c = fit.centroids[size_t(owner[size_t(b)])];
        inertia += w * (v - c) * (v - c);
      }
    for (int j = 0; j < k; ++j)
      if (mass[size_t(j)] > 0) {
        EXPECT_NEAR(fit.centroids[size_t(j)], sum[size_t(j)] / mass[size_t(j)], 1e-12);
      }
    EXPECT_NEAR(fit.inertia, inertia, 1e-9 * inertia) << k;
  }
}

std::vector<float> sample(const std::string& kind, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::student_t_distribution<float> student(3);
  std::bernoulli_distribution coin(0.3);
  std::vector<float> x(n);
  for (auto& v : x) {
    if (kind == "gaussian") {
      v = normal(rng);
    } else if (kind == "student") {
      v = student(rng);
    } else {
      v = coin(rng) ? 2.5f + 0.4f * normal(rng) : -1.0f + 0.7f * normal(rng);
    }
  }
  return x;
}

TEST(KMeans1d, ExactNeverAboveLloyd) {
  for (const std::string kind : {"gaussian", "student", "bimodal"}) {
    const std::vector<float> xf = sample(kind, 20000, 11);
    std::vector<double> x(xf.begin(), xf.end()), m(x.size(), 1.0);
    std::sort(x.begin(), x.end());
    for (int k : {2, 4, 16}) {
      const Codebook1d exact = kmeans_exact(x, m, k);
      for (uint64_t seed = 0; seed < 3; ++seed) {
        const Codebook1d lloyd = kmeans_lloyd(xf, {}, k, seed);
        SCOPED_TRACE(kind + " k=" + std::to_string(k) + " seed " + std::to_string(seed));
        ASSERT_EQ(lloyd.centroids.size(), size_t(k));
        expect_sorted(lloyd.centroids);
        EXPECT_GE(lloyd.iterations, 1);
        EXPECT_LE(exact.inertia, lloyd.inertia * (1 + 1e-12));
      }
    }
  }
}

TEST(KMeans1d, ExactNeverAboveLloydWeighted) {
  const std::vector<float> xf = sample("student", 5000, 12);
  std::mt19937_64 rng(13);
  std::exponential_distribution<float> expo(1);
  std::vector<float> mf(xf.size());
  for (auto& w : mf) w = expo(rng);
  std::vector<size_t> order(xf.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return xf[a] < xf[b]; });
  std::vector<double> x, m;
  for (size_t i : order) x.push_back(xf[i]), m.push_back(mf[i]);
  for (int k : {2, 4, 16}) {
    const Codebook1d exact = kmeans_exact(x, m, k), lloyd = kmeans_lloyd(xf, mf, k, 5);
    EXPECT_LE(exact.inertia, lloyd.inertia * (1 + 1e-12)) << k;
  }
}

TEST(KMeans1d, LloydFromTheOptimumStaysThere) {
  for (const std::string kind : {"gaussian", "bimodal"}) {
    const std::vector<float> xf = sample(kind, 10000, 14);
    std::vector<double> x(xf.begin(), xf.end()), m(x.size(), 1.0);
    std::sort(x.begin(), x.end());
    for (int k : {2, 4, 16}) {
      const Codebook1d exact = kmeans_exact(x, m, k);
      const Codebook1d lloyd = kmeans_lloyd_refine(xf, {}, exact.centroids, 1000, 0.0);
      SCOPED_TRACE(kind + " k=" + std::to_string(k));
      EXPECT_EQ(lloyd.iterations, 1);
      for (int j = 0; j < k; ++j)
        EXPECT_NEAR(lloyd.centroids[size_t(j)], exact.centroids[size_t(j)],
                    1e-12 * (1 + std::abs(exact.centroids[size_t(j)])));
      EXPECT_NEAR(lloyd.inertia, exact.inertia, 1e-10 * exact.inertia);
    }
  }
}

TEST(KMeans1d, FewerDistinctValuesThanK) {
  const std::vector<double> x = {1, 1, 2, 2, 2, 5}, m(6, 1.0);
  const Codebook1d fit = kmeans_exact(x, m, 5);
  EXPECT_EQ(fit.centroids, (std::vector<double>{1, 2, 5, 5, 5}));
  EXPECT_EQ(fit.inertia, 0);
  const Codebook1d one = kmeans_exact(std::vector<double>{3.5}, std::vector<double>{2}, 4);
  EXPECT_EQ(one.centroids, (std::vector<double>(4, 3.5)));
  const Codebook1d binned =
      kmeans_exact_binned(std::vector<double>{2, 0, 3}, std::vector<double>{2, 0, 6},
                          std::vector<double>{2, 0, 12}, 4);
  EXPECT_EQ(binned.centroids, (std::vector<double>{1, 2, 2, 2}));
  EXPECT_NEAR(binned.inertia, 0, 1e-12);

  const std::vector<float> xf = {1, 1, 2, 2, 2, 5};
  const Codebook1d lloyd = kmeans_lloyd(xf, {}, 5, 3);
  ASSERT_EQ(lloyd.centroids.size(), 5u);
  expect_sorted(lloyd.centroids);
  EXPECT_EQ(lloyd.inertia, 0);
  for (double v : {1.0, 2.0, 5.0})
    EXPECT_NE(std::find(lloyd.centroids.begin(), lloyd.centroids.end(), v), lloyd.centroids.end()) << v;
}

TEST(KMeans1d, WeightsShiftCentroids) {
  const std::vector<double> x = {0, 1, 10, 11};
  const Codebook1d even = kmeans_exact(x, std::vector<double>{1, 1, 1, 1}, 2);
  EXPECT_EQ(even.centroids, (std::vector<double>{0.5, 10.5}));
  const Codebook1d weighted = kmeans_exact(x, std::vector<double>{1, 3, 1, 1}, 2);
  EXPECT_DOUBLE_EQ(weighted.centroids[0], 0.75);
  EXPECT_DOUBLE_EQ(weighted.centroids[1], 10.5);
  EXPECT_DOUBLE_EQ(weighted.inertia, 1 * 0.75 * 0.75 + 3 * 0.25 * 0.25 + 0.25 + 0.25);
  const Codebook1d single = kmeans_exact(x, std::vector<double>{1, 3, 1, 1}, 1);
  EXPECT_DOUBLE_EQ(single.centroids[0], (0 + 3 + 10 + 11) / 6.0);
  // Zero weight: the point does not pull its centroid.
  const Codebook1d ignored = kmeans_exact(std::vector<double>{0, 1, 100}, std::vector<double>{1, 1, 0}, 1);
  EXPECT_DOUBLE_EQ(ignored.centroids[0], 0.5);

  const std::vector<float> xf = {0, 1, 10, 11}, mf = {1, 3, 1, 1};
  const Codebook1d lloyd = kmeans_lloyd(xf, mf, 2, 1);
  EXPECT_NEAR(lloyd.centroids[0], 0.75, 1e-12);
  EXPECT_NEAR(lloyd.centroids[1], 10.5, 1e-12);
  EXPECT_NEAR(lloyd.inertia, weighted.inertia, 1e-12);
}

TEST(KMeans1d, LloydSamplesLargeInputsAndReportsInertiaOverAll) {
  const size_t n = (size_t(1) << 20) + 12345;
  const std::vector<float> x = sample("bimodal", n, 15);
  const Codebook1d a = kmeans_lloyd(x, {}, 4, 42), b = kmeans_lloyd(x, {}, 4, 42);
  EXPECT_EQ(a.centroids, b.centroids);  // seeded
  EXPECT_EQ(a.inertia, b.inertia);
  expect_sorted(a.centroids);
  double inertia = 0;
  for (float v : x) {
    double best = std::numeric_limits<double>::infinity();
    for (double c : a.centroids) best = std::min(best, (v - c) * (v - c));
    inertia += best;
  }
  EXPECT_NEAR(a.inertia, inertia, 1e-9 * inertia);
}

TEST(KMeans1d, RejectsBadArguments) {
  const std::vector<double> x = {1, 2, 3}, m = {1, 1, 1};
  const auto kind = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::Cancelled;  // "did not throw"
  };
  EXPECT_EQ(kind([&] { kmeans_exact(x, m, 0); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_exact(x, std::vector<double>{1, 1}, 2); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_exact(std::vector<double>{3, 1, 2}, m, 2); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_exact(x, std::vector<double>{1, -1, 1}, 2); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_exact(x, std::vector<double>{0, 0, 0}, 2); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_exact({}, {}, 2); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_exact(std::vector<double>{1, NAN, 3}, m, 2); }), ErrorKind::Numeric);
  EXPECT_EQ(kind([&] { kmeans_exact_binned(m, m, std::vector<double>{1}, 2); }), ErrorKind::Invalid);
  const std::vector<float> xf = {1, 2, 3};
  EXPECT_EQ(kind([&] { kmeans_lloyd(xf, {}, 0, 1); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_lloyd(xf, std::vector<float>{1}, 2, 1); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([&] { kmeans_lloyd(std::vector<float>{1, INFINITY}, {}, 2, 1); }), ErrorKind::Numeric);
  EXPECT_EQ(kind([&] { kmeans_lloyd({}, {}, 2, 1); }), ErrorKind::Invalid);
}

}  // namespace
}  // namespace qs
