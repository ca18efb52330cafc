// Scalar CPU reference for codebook.hpp: block scales, the range and weighted histogram of the
// normalised values u = w / s, and nearest-centroid assignment against the codebook's midpoints.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "bf16_round.hpp"
#include "codebook.hpp"

namespace qs::kernels {
namespace {

// u of the weight at (r, c) of the flat row-major index i.
float normalized(const float* w, const float* scales, int64_t i, int64_t r, int64_t c, int64_t block,
                 int64_t blocks) {
  return scales ? w[i] / scales[r * blocks + c / block] : w[i];
}

}  // namespace

int64_t blocks_per_row(int64_t cols, int64_t block) {
  if (block < 1) throw std::invalid_argument("codebook: block size " + std::to_string(block) + " < 1");
  return (cols + block - 1) / block;
}

void block_scales_cpu(const float* w, int64_t rows, int64_t cols, int64_t block, bool absmean, float eps,
                      bool round_bf16, float* scales) {
  const int64_t blocks = blocks_per_row(cols, block);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < blocks; ++b) {
      const float* wb = w + r * cols + b * block;
      const int64_t n = std::min(block, cols - b * block);
      float s = 0;
      if (absmean) {
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += std::abs(double(wb[i]));
        s = static_cast<float>(sum / double(n));
      } else {
        for (int64_t i = 0; i < n; ++i) s = std::max(s, std::abs(wb[i]));
      }
      s = std::max(s, eps);
      scales[r * blocks + b] = round_bf16 ? bf16_round(s) : s;
    }
}

void normalized_range_cpu(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                          float* lo, float* hi) {
  const int64_t blocks = scales ? blocks_per_row(cols, block) : 0;
  float mn = 0, mx = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float u = normalized(w, scales, r * cols + c, r, c, block, blocks);
      if ((r == 0 && c == 0) || u < mn) mn = u;
      if ((r == 0 && c == 0) || u > mx) mx = u;
    }
  *lo = mn;
  *hi = mx;
}

void codebook_histogram_cpu(const float* w, const float* scales, const float* importance, int64_t rows,
                            int64_t cols, int64_t block, float lo, float hi, int bins, double* sum_m,
                            double* sum_mu, double* sum_muu) {
  if (bins <= 0) return;
  const int64_t blocks = scales ? blocks_per_row(cols, block) : 0;
  const double bin_scale = hi > lo ? bins / (double(hi) - double(lo)) : 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = r * cols + c;
      const double u = normalized(w, scales, i, r, c, block, blocks);
      const double f = std::floor((u - lo) * bin_scale);  // clamped as a double: far outliers stay defined
      const int64_t bin = f < 0 ? 0 : (f > bins - 1 ? bins - 1 : static_cast<int64_t>(f));
      const double m = importance ? double(importance[i]) : 1.0;
      sum_m[bin] += m;
      sum_mu[bin] += m * u;
      sum_muu[bin] += m * u * u;
    }
}

void codebook_assign_cpu(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                         const float* codebooks, int k, int64_t codebook_group, uint8_t* codes,
                         float* dequant) {
  if (k < 1 || k > 256)
    throw std::invalid_argument("codebook_assign: codebook size " + std::to_string(k) + " outside 1…256");
  const int64_t blocks = scales ? blocks_per_row(cols, block) : 0;
  const int64_t groups = codebook_group > 0 ? blocks_per_row(cols, codebook_group) : 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t i = r * cols + c;
      const float* cb = codebook_group > 0 ? codebooks + (r * groups + c / codebook_group) * k : codebooks;
      const float u = normalized(w, scales, i, r, c, block, blocks);
      int code = 0;
      while (code + 1 < k && 0.5f * (cb[code] + cb[code + 1]) < u) ++code;
      codes[i] = static_cast<uint8_t>(code);
      dequant[i] = scales ? scales[r * blocks + c / block] * cb[code] : cb[code];
    }
}

}  // namespace qs::kernels
