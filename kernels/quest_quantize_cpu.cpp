// Scalar CPU reference for quest_quantize.hpp, written to the formula of methods.md §1. Every float
// operation is a single IEEE-rounded step (no fused multiply–add is possible here), so the CUDA
// kernel, which spells the same steps with __f*_rn intrinsics, reproduces it given the same σ.
#include <algorithm>
#include <cmath>

#include "quest_quantize.hpp"

namespace qs::kernels {

void quest_quantize_cpu(const float* x, int64_t rows, int64_t cols, int bits, float alpha, float* sigma,
                        uint8_t* codes, float* dequant) {
  const int top = (1 << bits) - 1;           // the highest code
  const int offset = (1 << (bits - 1)) - 1;  // code = n + offset for the rounded grid index n
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    double sum_squares = 0;
    for (int64_t i = 0; i < cols; ++i) {
      const double v = xr[i];
      sum_squares += v * v;
    }
    const double mean_square = cols > 0 ? sum_squares / double(cols) : 0.0;
    const float s = static_cast<float>(std::sqrt(mean_square) + 1e-8);
    sigma[r] = s;
    const float clip = alpha * s;
    const float delta = (2.0f * clip) / float(top);
    uint8_t* cr = codes + r * cols;
    float* dr = dequant + r * cols;  // may alias xr: each value is read before it is written
    for (int64_t i = 0; i < cols; ++i) {
      const float v = std::min(std::max(xr[i], -clip), clip);
      const float n = std::nearbyint(v / delta + 0.5f);
      // n lies in [−offset, offset + 1] mathematically; the clamp only guards float edge cases.
      const int code = std::clamp(static_cast<int>(n) + offset, 0, top);
      cr[i] = static_cast<uint8_t>(code);
      dr[i] = delta * (float(code - offset) - 0.5f);
    }
  }
}

void quest_trust_mask_cpu(const float* x, const float* q, const float* sigma, int64_t rows, int64_t cols,
                          float threshold, uint8_t* mask) {
  for (int64_t r = 0; r < rows; ++r) {
    const float limit = threshold * sigma[r];
    for (int64_t i = r * cols; i < (r + 1) * cols; ++i) mask[i] = std::abs(q[i] - x[i]) <= limit ? 1 : 0;
  }
}

}  // namespace qs::kernels
