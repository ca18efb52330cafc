// The per-weight values, tile edges and pools of error_pool.hpp, defined once for the CPU references
// and the CUDA kernels: max pooling then gives the same floats on both, bit for bit.
#pragma once
#include <math.h>

#include <cstdint>
#include <type_traits>

#include "error_pool.hpp"
#include "host_device.hpp"

namespace qs::kernels {

template <ErrorValue V>
QS_HOST_DEVICE inline float error_value(float w, float wq, float eps) {
  if constexpr (V == ErrorValue::Abs) return fabsf(wq - w);
  else if constexpr (V == ErrorValue::Relative) return fabsf(wq - w) / fmaxf(fabsf(w), eps);
  else if constexpr (V == ErrorValue::Signed) return wq - w;
  else return fabsf(w);
}

// The first row (or column) of tile i of `tiles` over n.
QS_HOST_DEVICE inline int64_t tile_edge(int64_t i, int64_t n, int64_t tiles) { return i * n / tiles; }

// A pool is a State that starts value-initialised (0), a combine that is associative (so chunks can
// be combined in any grouping) and the pooled value of `count` weights.
template <ErrorPool P>
struct ErrorPooling;

template <>
struct ErrorPooling<ErrorPool::Max> {
  using State = float;
  QS_HOST_DEVICE static float combine(float a, float b) {
    const float ma = fabsf(a), mb = fabsf(b);
    return mb > ma || (mb == ma && b > a) ? b : a;
  }
  QS_HOST_DEVICE static float result(float s, int64_t) { return s; }
};

template <>
struct ErrorPooling<ErrorPool::Mean> {
  using State = double;
  QS_HOST_DEVICE static double combine(double a, double b) { return a + b; }
  QS_HOST_DEVICE static float result(double s, int64_t count) { return float(s / double(count)); }
};

// Calls f(value, pool) with the spec's value and pool as std::integral_constants, so that the loops
// are compiled once per combination instead of branching per weight.
template <class F>
void error_pool_dispatch(const ErrorPoolSpec& spec, const F& f) {
  const auto with_pool = [&](auto value) {
    if (spec.pool == ErrorPool::Max) f(value, std::integral_constant<ErrorPool, ErrorPool::Max>{});
    else f(value, std::integral_constant<ErrorPool, ErrorPool::Mean>{});
  };
  switch (spec.value) {
    case ErrorValue::Abs: return with_pool(std::integral_constant<ErrorValue, ErrorValue::Abs>{});
    case ErrorValue::Relative: return with_pool(std::integral_constant<ErrorValue, ErrorValue::Relative>{});
    case ErrorValue::Signed: return with_pool(std::integral_constant<ErrorValue, ErrorValue::Signed>{});
    case ErrorValue::Weight: return with_pool(std::integral_constant<ErrorValue, ErrorValue::Weight>{});
  }
}

}  // namespace qs::kernels
