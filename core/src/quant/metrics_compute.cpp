// Per-tensor error metrics of a quantized weight against the original (quantize.hpp): the numbers of
// every per-layer table, accumulated in double over parallel chunks and over blocks of rows.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

#include "quant/metrics_accumulator.hpp"
#include "quantscope/error.hpp"

namespace qs {

void MetricsAccumulator::add(std::span<const float> w, std::span<const float> wq) {
  if (w.size() != wq.size())
    throw Error(ErrorKind::Invalid, "metrics: the weight has " + std::to_string(w.size()) +
                                        " values but its quantization " + std::to_string(wq.size()));
  std::mutex mutex;
  at::parallel_for(0, int64_t(w.size()), int64_t(1) << 16, [&](int64_t begin, int64_t end) {
    double ww = 0, qq = 0, wq_sum = 0, ee = 0, max_abs = 0;
    for (int64_t i = begin; i < end; ++i) {
      const double a = w[size_t(i)], b = wq[size_t(i)], e = b - a;
      ww += a * a;
      qq += b * b;
      wq_sum += a * b;
      ee += e * e;
      max_abs = std::max(max_abs, std::abs(e));
    }
    std::lock_guard lock(mutex);
    ww_ += ww;
    qq_ += qq;
    wq_ += wq_sum;
    ee_ += ee;
    max_abs_ = std::max(max_abs_, max_abs);
  });
  count_ += int64_t(w.size());
}

TensorMetrics MetricsAccumulator::result(uint64_t storage_bits) const {
  if (count_ == 0) throw Error(ErrorKind::Invalid, "metrics: the weight is empty");
  // NaN or Inf in either tensor makes a sum non-finite (squares of finite floats cannot overflow double).
  if (!std::isfinite(ww_) || !std::isfinite(qq_) || !std::isfinite(ee_))
    throw Error(ErrorKind::Numeric, "metrics: the weight or its quantization contains NaN or Inf");

  const double n = double(count_), inf = std::numeric_limits<double>::infinity();
  TensorMetrics m;
  m.count = count_;
  m.mse = ee_ / n;
  m.relative_mse = ee_ == 0 ? 0 : ww_ == 0 ? inf : ee_ / ww_;
  m.sqnr_db = ee_ == 0 ? inf : 10 * std::log10(ww_ / ee_);
  if (ee_ == 0) m.cosine = 1;  // identical, including two zero tensors
  else if (ww_ == 0 || qq_ == 0) m.cosine = 0;
  else m.cosine = std::clamp(wq_ / std::sqrt(ww_ * qq_), -1.0, 1.0);
  m.max_abs_error = max_abs_;
  m.bits_per_weight = double(storage_bits) / n;
  m.bytes = (storage_bits + 7) / 8;
  return m;
}

TensorMetrics metrics_compute(std::span<const float> w, std::span<const float> wq, uint64_t storage_bits) {
  MetricsAccumulator sums;
  sums.add(w, wq);
  return sums.result(storage_bits);
}

}  // namespace qs
