// Vectorised CPU path of QuEST (quest_quantize.hpp with the rotation of hadamard.hpp on both sides):
// a few rows at a time are rotated, quantized and their dequantized values rotated back while they
// sit in the core's cache, instead of three passes over the whole weight. Equal bit for bit to
// hadamard_cpu, quest_quantize_cpu, hadamard_cpu in turn: the rotation is the reference's floats
// (hadamard_block.hpp), each row's Σx² runs in the reference's order (the rows of a tile are separate
// chains, interleaved for speed), and the grid is the reference's float steps element by element.
#include <algorithm>
#include <cmath>
#include <vector>

#include "hadamard_block.hpp"
#include "quest_quantize.hpp"
#include "vector_clones.hpp"

namespace qs::kernels {
namespace {

constexpr int64_t kTileRows = 4;

// Σ x² in double of each of `rows` (≤ kTileRows) rows, each in index order.
inline void rows_sum_squares(const float* x, int64_t rows, int64_t cols, double* sums) {
  double s[kTileRows] = {};
  if (rows == kTileRows) {
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t r = 0; r < kTileRows; ++r) {
        const double v = x[r * cols + i];
        s[r] += v * v;
      }
  } else {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < cols; ++i) {
        const double v = x[r * cols + i];
        s[r] += v * v;
      }
  }
  std::copy(s, s + rows, sums);
}

// quest_quantize_cpu's grid for one row whose σ is known.
inline void row_quantize(const float* x, int64_t cols, int bits, float alpha, float sigma, uint8_t* codes,
                         float* dequant) {
  const int top = (1 << bits) - 1, offset = (1 << (bits - 1)) - 1;
  const float clip = alpha * sigma;
  const float delta = (2.0f * clip) / float(top);
  for (int64_t i = 0; i < cols; ++i) {
    float v = x[i] < -clip ? -clip : x[i];
    v = clip < v ? clip : v;
    // |v/Δ + ½| ≤ 2^(b−1) + 1: within nearbyint_small's range
    int code = static_cast<int>(nearbyint_small(v / delta + 0.5f)) + offset;
    code = code < 0 ? 0 : code;
    code = top < code ? top : code;
    codes[i] = static_cast<uint8_t>(code);
    dequant[i] = delta * (float(code - offset) - 0.5f);
  }
}

QS_VECTOR_CLONES
void quest_tiles(const float* w, int64_t rows, int64_t cols, int64_t block, int bits, float alpha, float* sigma,
                 uint8_t* codes, float* dequant, float* rotated) {
  const float scale = block > 1 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(block))) : 1.0f;
  std::vector<float> buffer(rotated ? 0 : size_t(kTileRows * cols));
  for (int64_t r0 = 0; r0 < rows; r0 += kTileRows) {
    const int64_t n = std::min(kTileRows, rows - r0);
    float* x = rotated ? rotated + r0 * cols : buffer.data();
    std::copy(w + r0 * cols, w + (r0 + n) * cols, x);
    if (block > 1)
      for (int64_t i = 0; i < n * cols; i += block) hadamard_block(x + i, block, scale);
    double sums[kTileRows];
    rows_sum_squares(x, n, cols, sums);
    for (int64_t r = 0; r < n; ++r) {
      const double mean_square = cols > 0 ? sums[r] / double(cols) : 0.0;
      const float s = static_cast<float>(std::sqrt(mean_square) + 1e-8);
      sigma[r0 + r] = s;
      row_quantize(x + r * cols, cols, bits, alpha, s, codes + (r0 + r) * cols, dequant + (r0 + r) * cols);
    }
    if (block > 1)
      for (int64_t i = (r0 * cols); i < (r0 + n) * cols; i += block) hadamard_block(dequant + i, block, scale);
  }
}

}  // namespace

void quest_rows_fast(const float* w, int64_t rows, int64_t cols, int64_t block, int bits, float alpha,
                     float* sigma, uint8_t* codes, float* dequant, float* rotated) {
  if (block > 1) hadamard_block_check(block, cols);
  quest_tiles(w, rows, cols, block, bits, alpha, sigma, codes, dequant, rotated);
}

}  // namespace qs::kernels
