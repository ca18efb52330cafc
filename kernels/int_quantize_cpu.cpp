// Scalar CPU reference for int_quantize.hpp: the group statistics, the scale (and zero point) for a
// clip ratio, the clip search by group MSE, and round-to-nearest quantization, each spelled out once
// so the search measures exactly what quantization then does.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "int_quantize.hpp"
#include "int_quantize_ops.hpp"

namespace qs::kernels {
namespace {

GroupStats group_stats(const float* w, int64_t n) {
  GroupStats g;
  g.count = n;
  for (int64_t i = 0; i < n; ++i) {
    g.absmax = std::max(g.absmax, std::abs(w[i]));
    g.min = std::min(g.min, w[i]);
    g.max = std::max(g.max, w[i]);
    g.abs_sum += std::abs(double(w[i]));
  }
  return g;
}

// The code of w and its dequantized value; s = 0 encodes everything as 0.
void int_encode(float w, IntParams p, int bits, bool asymmetric, uint8_t* code, float* value) {
  if (bits == 1) {
    *code = w >= 0 ? 1 : 0;
  } else if (asymmetric) {
    const int top = (1 << bits) - 1;
    const float t = p.scale == 0 ? 0.0f : std::nearbyint(w / p.scale) + float(p.zero);
    *code = static_cast<uint8_t>(std::clamp(t, 0.0f, float(top)));
  } else {
    const float qmax = float((1 << (bits - 1)) - 1);
    const float q = p.scale == 0 ? 0.0f : std::clamp(std::nearbyint(w / p.scale), -qmax, qmax);
    *code = static_cast<uint8_t>(q + qmax);
  }
  *value = int_dequantize(*code, p.scale, static_cast<uint8_t>(p.zero), bits, asymmetric);
}

double group_mse_sum(const float* w, int64_t n, IntParams p, int bits, bool asymmetric) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint8_t code;
    float value;
    int_encode(w[i], p, bits, asymmetric, &code, &value);
    const double d = double(value) - double(w[i]);
    sum += d * d;
  }
  return sum;
}

}  // namespace

int64_t int_groups_per_row(int64_t cols, int64_t group) {
  if (group < 1)
    throw std::invalid_argument("int quantization: group size " + std::to_string(group) + " < 1");
  return (cols + group - 1) / group;
}

float int_dequantize(uint8_t code, float scale, uint8_t zero, int bits, bool asymmetric) {
  if (bits == 1) return code ? scale : -scale;
  const int level = asymmetric ? int(code) - int(zero) : int(code) - ((1 << (bits - 1)) - 1);
  return float(level) * scale;
}

void int_scales_cpu(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                    bool clip_search, float* scales, uint8_t* zeros) {
  const int64_t groups = int_groups_per_row(cols, group);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const float* wg = w + r * cols + g * group;
      const int64_t n = std::min(group, cols - g * group);
      const GroupStats stats = group_stats(wg, n);
      IntParams best = int_params(stats, bits, asymmetric, 1.0f);
      if (clip_search) {
        double best_sum = group_mse_sum(wg, n, best, bits, asymmetric);
        for (int c = 1; c < kClipCandidates; ++c) {
          const IntParams p = int_params(stats, bits, asymmetric, clip_ratio(c));
          const double sum = group_mse_sum(wg, n, p, bits, asymmetric);
          if (sum < best_sum) {  // strictly smaller: ties keep the larger ratio
            best_sum = sum;
            best = p;
          }
        }
      }
      scales[r * groups + g] = best.scale;
      if (asymmetric) zeros[r * groups + g] = static_cast<uint8_t>(best.zero);
    }
}

void int_quantize_cpu(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                      const float* scales, const uint8_t* zeros, uint8_t* codes, float* dequant) {
  const int64_t groups = int_groups_per_row(cols, group);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = r * cols + c, g = r * groups + c / group;
      const IntParams p{scales[g], asymmetric ? int(zeros[g]) : 0};
      int_encode(w[i], p, bits, asymmetric, &codes[i], &dequant[i]);
    }
}

}  // namespace qs::kernels
