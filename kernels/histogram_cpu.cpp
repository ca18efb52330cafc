// Scalar CPU references for histogram.hpp.
#include <algorithm>
#include <cmath>

#include "histogram.hpp"

namespace qs::kernels {

Moments moments_cpu(const float* x, int64_t n) {
  Moments m;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (!std::isfinite(v)) {
      ++m.non_finite;
      continue;
    }
    const double v2 = v * v;
    m.s1 += v;
    m.s2 += v2;
    m.s3 += v2 * v;
    m.s4 += v2 * v2;
    m.absmax = std::max(m.absmax, std::abs(v));
  }
  return m;
}

void histogram_cpu(const float* x, int64_t n, float lo, float hi, int bins, double* counts) {
  if (bins <= 0) return;
  const double scale = hi > lo ? bins / (double(hi) - lo) : 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) continue;
    const int64_t b = static_cast<int64_t>(std::floor((double(v) - lo) * scale));
    counts[std::clamp<int64_t>(b, 0, bins - 1)] += 1.0;
  }
}

}  // namespace qs::kernels
