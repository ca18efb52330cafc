// The sums behind metrics_compute (quantize.hpp), for a weight quantized a block of rows at a time:
// blocks add their sums, and result() gives what metrics_compute over the whole weight gives, up to
// the order of the additions.
#pragma once
#include <cstdint>
#include <span>

#include "quantscope/quantize.hpp"

namespace qs {

class MetricsAccumulator {
 public:
  // w and wq of equal length.
  void add(std::span<const float> w, std::span<const float> wq);
  // Throws Numeric when a value of either was NaN or Inf, Invalid when nothing was added.
  TensorMetrics result(uint64_t storage_bits) const;

 private:
  double ww_ = 0, qq_ = 0, wq_ = 0, ee_ = 0, max_abs_ = 0;
  int64_t count_ = 0;
};

}  // namespace qs
