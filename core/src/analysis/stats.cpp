// Weight statistics and histograms for tables and plots, over the kernels' CPU references in
// parallel chunks (each chunk's sums and counts simply add, and so do those of separate pieces).
#include "quantscope/stats.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "histogram.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr int64_t kGrain = 1 << 16;

}  // namespace

void StatsAccumulator::add(std::span<const float> values) {
  std::mutex mutex;
  at::parallel_for(0, int64_t(values.size()), kGrain, [&](int64_t begin, int64_t end) {
    const kernels::Moments m = kernels::moments_cpu(values.data() + begin, end - begin);
    std::lock_guard lock(mutex);
    s1_ += m.s1;
    s2_ += m.s2;
    s3_ += m.s3;
    s4_ += m.s4;
    absmax_ = std::max(absmax_, double(m.absmax));
    non_finite_ += m.non_finite;
  });
  count_ += int64_t(values.size());
}

TensorStats StatsAccumulator::result() const {
  const int64_t n = count_;
  if (non_finite_ > 0)
    throw Error(ErrorKind::Numeric, "statistics: " + std::to_string(non_finite_) + " of " + std::to_string(n) +
                                        " values are NaN or Inf");
  TensorStats s;
  s.count = n;
  if (n == 0) return s;
  // Central moments from raw sums; weights are centred near zero, so the cancellation is mild.
  const double mu = s1_ / n, e2 = s2_ / n, e3 = s3_ / n, e4 = s4_ / n;
  const double m2 = std::max(0.0, e2 - mu * mu);
  const double m4 = e4 - 4 * mu * e3 + 6 * mu * mu * e2 - 3 * mu * mu * mu * mu;
  s.mean = mu;
  s.std = std::sqrt(m2);
  s.absmax = absmax_;
  s.kurtosis = m2 > 0 ? m4 / (m2 * m2) - 3.0 : 0.0;
  return s;
}

TensorStats stats_compute(std::span<const float> values) {
  StatsAccumulator accumulator;
  accumulator.add(values);
  return accumulator.result();
}

Histogram histogram_compute(std::span<const float> values, int bins, double lo, double hi) {
  if (bins <= 0) throw Error(ErrorKind::Invalid, "histogram: bins must be positive, got " + std::to_string(bins));
  if (!(lo <= hi)) throw Error(ErrorKind::Invalid, "histogram: range [" + std::to_string(lo) + ", " + std::to_string(hi) + "] is empty");
  const int64_t n = int64_t(values.size());
  if (lo == hi) {
    double mn = std::numeric_limits<double>::infinity(), mx = -mn;
    for (float v : values)
      if (std::isfinite(v)) mn = std::min<double>(mn, v), mx = std::max<double>(mx, v);
    if (mn > mx) mn = mx = 0;  // no finite values
    // A constant tensor still gets a visible bar: a unit-wide range around its value.
    if (mn == mx) mn -= 0.5, mx += 0.5;
    lo = mn, hi = mx;
  }
  Histogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(size_t(bins), 0.0);
  std::mutex mutex;
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    std::vector<double> local(size_t(bins), 0.0);
    kernels::histogram_cpu(values.data() + begin, end - begin, float(lo), float(hi), bins, local.data());
    std::lock_guard lock(mutex);
    for (int b = 0; b < bins; ++b) h.counts[size_t(b)] += local[size_t(b)];
  });
  return h;
}

}  // namespace qs
