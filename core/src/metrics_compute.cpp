// Per-tensor error metrics of a quantized weight against the original (quantize.hpp): the numbers of
// every per-layer table, accumulated in double over parallel chunks.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>

#include "quantscope/error.hpp"
#include "quantscope/quantize.hpp"

namespace qs {

TensorMetrics metrics_compute(std::span<const float> w, std::span<const float> wq, uint64_t storage_bits) {
  if (w.size() != wq.size())
    throw Error(ErrorKind::Invalid, "metrics: the weight has " + std::to_string(w.size()) +
                                        " values but its quantization " + std::to_string(wq.size()));
  if (w.empty()) throw Error(ErrorKind::Invalid, "metrics: the weight is empty");
  struct Sums {
    double ww = 0, qq = 0, wq = 0, ee = 0, max_abs = 0;
  } total;
  std::mutex mutex;
  at::parallel_for(0, int64_t(w.size()), int64_t(1) << 16, [&](int64_t begin, int64_t end) {
    Sums s;
    for (int64_t i = begin; i < end; ++i) {
      const double a = w[size_t(i)], b = wq[size_t(i)], e = b - a;
      s.ww += a * a;
      s.qq += b * b;
      s.wq += a * b;
      s.ee += e * e;
      s.max_abs = std::max(s.max_abs, std::abs(e));
    }
    std::lock_guard lock(mutex);
    total.ww += s.ww;
    total.qq += s.qq;
    total.wq += s.wq;
    total.ee += s.ee;
    total.max_abs = std::max(total.max_abs, s.max_abs);
  });
  // NaN or Inf in either tensor makes a sum non-finite (squares of finite floats cannot overflow double).
  if (!std::isfinite(total.ww) || !std::isfinite(total.qq) || !std::isfinite(total.ee))
    throw Error(ErrorKind::Numeric, "metrics: the weight or its quantization contains NaN or Inf");

  const double n = double(w.size()), inf = std::numeric_limits<double>::infinity();
  TensorMetrics m;
  m.count = int64_t(w.size());
  m.mse = total.ee / n;
  m.relative_mse = total.ee == 0 ? 0 : total.ww == 0 ? inf : total.ee / total.ww;
  m.sqnr_db = total.ee == 0 ? inf : 10 * std::log10(total.ww / total.ee);
  if (total.ee == 0) m.cosine = 1;  // identical, including two zero tensors
  else if (total.ww == 0 || total.qq == 0) m.cosine = 0;
  else m.cosine = std::clamp(total.wq / std::sqrt(total.ww * total.qq), -1.0, 1.0);
  m.max_abs_error = total.max_abs;
  m.bits_per_weight = double(storage_bits) / n;
  m.bytes = (storage_bits + 7) / 8;
  return m;
}

}  // namespace qs
