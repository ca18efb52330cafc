// The per-group arithmetic of int_quantize.hpp that the scalar reference and the vectorised CPU path
// share: the clip candidates and the scale (and zero point) of a group for a clip ratio. Defined once,
// so that the two paths can differ only in how they sweep the weights, which the tests compare.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "bf16_round.hpp"

namespace qs::kernels {

constexpr int kClipCandidates = 91;  // r = 1.00, 0.99, …, 0.10
inline float clip_ratio(int candidate) { return float(100 - candidate) / 100.0f; }

struct GroupStats {
  float absmax = 0, min = 0, max = 0;  // min = min(w, 0), max = max(w, 0)
  double abs_sum = 0;
  int64_t count = 0;
};

struct IntParams {
  float scale = 0;
  int zero = 0;
};

inline IntParams int_params(const GroupStats& g, int bits, bool asymmetric, float r) {
  if (bits == 1) return {bf16_round(r * float(g.abs_sum / double(g.count))), 0};
  if (!asymmetric) {
    const int qmax = (1 << (bits - 1)) - 1;
    return {bf16_round((r * g.absmax) / float(qmax)), 0};
  }
  const int top = (1 << bits) - 1;
  const float lo = r * g.min, hi = r * g.max;
  const float s = bf16_round((hi - lo) / float(top));
  if (s == 0) return {0, 0};
  return {s, static_cast<int>(std::clamp(std::nearbyint(-lo / s), 0.0f, float(top)))};
}

}  // namespace qs::kernels
