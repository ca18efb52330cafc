// Summary statistics and histograms of weight tensors, as data the GUI and reports plot.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace qs {

struct TensorStats {
  int64_t count = 0;
  double mean = 0, std = 0, absmax = 0;
  double kurtosis = 0;  // excess kurtosis: 0 for a Gaussian, > 0 for heavy tails
};

// Statistics of values that arrive in pieces (a weight read a block of rows at a time): the same
// result as stats_compute over all of them, from sums that simply add.
class StatsAccumulator {
 public:
  void add(std::span<const float> values);
  // Throws Numeric when a value was NaN or Inf.
  TensorStats result() const;

 private:
  double s1_ = 0, s2_ = 0, s3_ = 0, s4_ = 0, absmax_ = 0;
  int64_t count_ = 0, non_finite_ = 0;
};

// Throws Numeric when a value is NaN or Inf.
TensorStats stats_compute(std::span<const float> values);

struct Histogram {
  double lo = 0, hi = 0;         // range of the bins
  std::vector<double> counts;   // bins of equal width (hi - lo) / counts.size()
  double bin_width() const { return counts.empty() ? 0 : (hi - lo) / counts.size(); }
  double bin_center(size_t i) const { return lo + (i + 0.5) * bin_width(); }
};

// Values outside [lo, hi] go to the edge bins. With lo == hi the range is taken from the data.
Histogram histogram_compute(std::span<const float> values, int bins, double lo = 0, double hi = 0);

}  // namespace qs
