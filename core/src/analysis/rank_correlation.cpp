// spearman_correlation: how well a cheap proxy ranks layers compared with the measured scan.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "quantscope/sensitivity.hpp"

namespace qs {
namespace {

// 1-based ranks; tied values share the mean of the ranks they span.
std::vector<double> ranks_average(std::span<const double> values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + j) + 2.0) / 2.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = mean_rank;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

double spearman_correlation(std::span<const double> a, std::span<const double> b) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (a.size() != b.size() || a.size() < 2) return nan;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::isnan(a[i]) || std::isnan(b[i])) return nan;
  const std::vector<double> ra = ranks_average(a), rb = ranks_average(b);
  const double mean = (static_cast<double>(a.size()) + 1.0) / 2.0;
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (va == 0 || vb == 0) return nan;
  return cov / std::sqrt(va * vb);
}

}  // namespace qs
