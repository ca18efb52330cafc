// Vectorised CPU path of int_quantize.hpp: int_scales_cpu and int_quantize_cpu in one sweep of each
// group while it sits in L1, with loops the compiler vectorises (no integer division per weight, no
// libm call), equal to the scalar reference bit for bit. What keeps it equal:
//   - min and max of finite floats do not depend on the order they are taken in;
//   - the 1-bit absmean and the clip search's sums of squares run in the reference's order: a group's
//     sum is one chain, and the clip search puts the 91 candidates, not the weights, in the lanes;
//   - every other step is the reference's own float operation, element by element.
#include <algorithm>
#include <cmath>

#include "int_quantize.hpp"
#include "int_quantize_ops.hpp"
#include "vector_clones.hpp"

namespace qs::kernels {
namespace {

constexpr int kLanes = 16;
constexpr int kCandidateLanes = 96;  // kClipCandidates rounded up to whole vectors

// The reference's group_stats: per-lane min and max in the reference's comparisons, merged the same way.
inline GroupStats group_stats_lanes(const float* w, int64_t n, int bits) {
  float absmax[kLanes] = {}, lo[kLanes] = {}, hi[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float v = w[i + j], a = std::abs(v);
      absmax[j] = absmax[j] < a ? a : absmax[j];
      lo[j] = v < lo[j] ? v : lo[j];
      hi[j] = hi[j] < v ? v : hi[j];
    }
  GroupStats g;
  g.count = n;
  for (int j = 0; j < kLanes; ++j) {
    g.absmax = g.absmax < absmax[j] ? absmax[j] : g.absmax;
    g.min = lo[j] < g.min ? lo[j] : g.min;
    g.max = g.max < hi[j] ? hi[j] : g.max;
  }
  for (; i < n; ++i) {
    const float v = w[i], a = std::abs(v);
    g.absmax = g.absmax < a ? a : g.absmax;
    g.min = v < g.min ? v : g.min;
    g.max = g.max < v ? v : g.max;
  }
  if (bits == 1)  // one chain, as the reference sums it
    for (int64_t k = 0; k < n; ++k) g.abs_sum += std::abs(double(w[k]));
  return g;
}

// The reference's int_encode over a group whose scale is not zero (or any scale for one bit). Before rounding, w/s is clamped to
// one step beyond the code range, which changes no code and keeps nearbyint_small in its range.
inline void group_encode(const float* w, int64_t n, IntParams p, int bits, bool asymmetric, uint8_t* codes,
                         float* out) {
  const float s = p.scale;
  if (bits == 1) {
    for (int64_t i = 0; i < n; ++i) {
      const bool up = w[i] >= 0;
      codes[i] = up ? 1 : 0;
      out[i] = up ? s : -s;
    }
  } else if (asymmetric) {
    const float top = float((1 << bits) - 1), bound = top + 1, zero = float(p.zero);
    for (int64_t i = 0; i < n; ++i) {
      float t = w[i] / s;
      t = t < -bound ? -bound : t;
      t = bound < t ? bound : t;
      t = nearbyint_small(t) + zero;
      t = t < 0.0f ? 0.0f : t;
      t = top < t ? top : t;
      const int code = static_cast<int>(t);
      codes[i] = static_cast<uint8_t>(code);
      out[i] = (float(code) - zero) * s;
    }
  } else {
    const float qmax = float((1 << (bits - 1)) - 1), bound = qmax + 1;
    for (int64_t i = 0; i < n; ++i) {
      float t = w[i] / s;
      t = t < -bound ? -bound : t;
      t = bound < t ? bound : t;
      t = nearbyint_small(t);
      t = t < -qmax ? -qmax : t;
      t = qmax < t ? qmax : t;
      const int code = static_cast<int>(t + qmax);
      codes[i] = static_cast<uint8_t>(code);
      out[i] = (float(code) - qmax) * s;
    }
  }
}

// A zero scale (b ≥ 2) encodes every weight as level 0, as the reference does.
inline void group_encode_zero(int64_t n, int bits, bool asymmetric, uint8_t* codes, float* out) {
  std::fill(codes, codes + n, static_cast<uint8_t>(asymmetric ? 0 : (1 << (bits - 1)) - 1));
  std::fill(out, out + n, 0.0f);
}

// Σ (ŵ − w)² of the group for every clip candidate, each summed over the weights in the reference's
// order (the candidates are the lanes). A zero scale divides by 1 instead, and its ŵ = level · 0 is
// then zero as the reference's; the sign of a zero ŵ does not change ŵ − w.
inline void clip_sums(const float* w, int64_t n, const IntParams* params, int bits, bool asymmetric, double* sums) {
  float scale[kCandidateLanes] = {}, divisor[kCandidateLanes], zero[kCandidateLanes] = {};
  std::fill(divisor, divisor + kCandidateLanes, 1.0f);
  for (int c = 0; c < kClipCandidates; ++c) {
    scale[c] = params[c].scale;
    divisor[c] = scale[c] == 0 ? 1.0f : scale[c];
    zero[c] = float(params[c].zero);
  }
  std::fill(sums, sums + kCandidateLanes, 0.0);
  const float top = float((1 << bits) - 1), qmax = float((1 << (bits - 1)) - 1);
  for (int64_t i = 0; i < n; ++i) {
    const float x = w[i];
    const double xd = x;
    if (bits == 1) {
      for (int c = 0; c < kCandidateLanes; ++c) {
        const double d = double(x >= 0 ? scale[c] : -scale[c]) - xd;
        sums[c] += d * d;
      }
    } else if (asymmetric) {
      const float bound = top + 1;
      for (int c = 0; c < kCandidateLanes; ++c) {
        float t = x / divisor[c];
        t = t < -bound ? -bound : t;
        t = bound < t ? bound : t;
        t = nearbyint_small(t) + zero[c];
        t = t < 0.0f ? 0.0f : t;
        t = top < t ? top : t;
        const double d = double((t - zero[c]) * scale[c]) - xd;
        sums[c] += d * d;
      }
    } else {
      const float bound = qmax + 1;
      for (int c = 0; c < kCandidateLanes; ++c) {
        float t = x / divisor[c];
        t = t < -bound ? -bound : t;
        t = bound < t ? bound : t;
        t = nearbyint_small(t);
        t = t < -qmax ? -qmax : t;
        t = qmax < t ? qmax : t;
        const double d = double(t * scale[c]) - xd;
        sums[c] += d * d;
      }
    }
  }
}

QS_VECTOR_CLONES
void int_rows_quantize(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                       bool clip_search, float* scales, uint8_t* zeros, uint8_t* codes, float* dequant) {
  const int64_t groups = int_groups_per_row(cols, group);
  IntParams params[kClipCandidates];
  double sums[kCandidateLanes];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t begin = r * cols + g * group, n = std::min(group, cols - g * group);
      const GroupStats stats = group_stats_lanes(w + begin, n, bits);
      IntParams best = int_params(stats, bits, asymmetric, 1.0f);
      if (clip_search) {
        for (int c = 0; c < kClipCandidates; ++c) params[c] = int_params(stats, bits, asymmetric, clip_ratio(c));
        clip_sums(w + begin, n, params, bits, asymmetric, sums);
        double best_sum = sums[0];
        for (int c = 1; c < kClipCandidates; ++c)
          if (sums[c] < best_sum) {  // strictly smaller: ties keep the larger ratio
            best_sum = sums[c];
            best = params[c];
          }
      }
      scales[r * groups + g] = best.scale;
      if (asymmetric) zeros[r * groups + g] = static_cast<uint8_t>(best.zero);
      if (best.scale == 0 && bits > 1) group_encode_zero(n, bits, asymmetric, codes + begin, dequant + begin);
      else group_encode(w + begin, n, best, bits, asymmetric, codes + begin, dequant + begin);
    }
}

}  // namespace

void int_quantize_fast(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                       bool clip_search, float* scales, uint8_t* zeros, uint8_t* codes, float* dequant) {
  int_rows_quantize(w, rows, cols, group, bits, asymmetric, clip_search, scales, zeros, codes, dequant);
}

}  // namespace qs::kernels
