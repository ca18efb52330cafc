// Vectorised CPU path of codebook.hpp. The reference finds a weight's block with an integer division
// and its centroid by walking the midpoints one weight at a time; here rows are cut into runs of one
// scale and one codebook, and each run goes through loops the compiler vectorises. Equal to the
// reference bit for bit on the same rows:
//   - block sums (absmean) and the histogram's per-bin sums run in the reference's order (one chain
//     per block, interleaved across blocks; the histogram's bins are found in vectors, then summed
//     one weight at a time);
//   - min and max do not depend on the order, except for the sign of a zero, which is taken from the
//     first zero in the reference's order when an extreme is zero;
//   - with sorted midpoints, the reference's walk stops at the number of midpoints below u, which is
//     counted instead (unsorted or NaN midpoints take the reference's walk).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "bf16_round.hpp"
#include "codebook.hpp"
#include "vector_clones.hpp"

namespace qs::kernels {
namespace {

constexpr int kLanes = 16;       // per-lane accumulators of min and max, kept in vector registers
constexpr int64_t kChunk = 256;  // weights normalised (and binned, and coded) at a time, on the stack

// Σ|w| in double over blocks [b, b + 4) of one row, each block one chain in index order.
inline void blocks_abs_sum4(const float* w, int64_t block, double* sums) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int64_t i = 0; i < block; ++i) {
    s0 += std::abs(double(w[i]));
    s1 += std::abs(double(w[block + i]));
    s2 += std::abs(double(w[2 * block + i]));
    s3 += std::abs(double(w[3 * block + i]));
  }
  sums[0] = s0, sums[1] = s1, sums[2] = s2, sums[3] = s3;
}

// max |w| of n weights, lane by lane: the order does not change a maximum of finite values.
inline float abs_max_lanes(const float* w, int64_t n) {
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float a = std::abs(w[i + j]);
      lane[j] = lane[j] < a ? a : lane[j];
    }
  float m = 0;
  for (int j = 0; j < kLanes; ++j) m = m < lane[j] ? lane[j] : m;
  for (; i < n; ++i) m = m < std::abs(w[i]) ? std::abs(w[i]) : m;
  return m;
}

QS_VECTOR_CLONES
void block_scales_rows(const float* w, int64_t rows, int64_t cols, int64_t block, bool absmean, float eps,
                       bool round_bf16, float* scales) {
  const int64_t blocks = blocks_per_row(cols, block), whole = cols / block;
  std::vector<double> sums(static_cast<size_t>(blocks));
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = w + r * cols;
    float* sr = scales + r * blocks;
    if (absmean) {
      int64_t b = 0;
      for (; b + 4 <= whole; b += 4) blocks_abs_sum4(wr + b * block, block, &sums[size_t(b)]);
      for (; b < blocks; ++b) {
        const int64_t n = std::min(block, cols - b * block);
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += std::abs(double(wr[b * block + i]));
        sums[size_t(b)] = s;
      }
      for (b = 0; b < blocks; ++b) {
        const int64_t n = std::min(block, cols - b * block);
        sr[b] = static_cast<float>(sums[size_t(b)] / double(n));
      }
    } else {
      for (int64_t b = 0; b < blocks; ++b) sr[b] = abs_max_lanes(wr + b * block, std::min(block, cols - b * block));
    }
    for (int64_t b = 0; b < blocks; ++b) {
      const float s = sr[b] < eps ? eps : sr[b];
      sr[b] = round_bf16 ? bf16_round(s) : s;
    }
  }
}

// Without scales a weight's scale is 1: w / 1 and 1 · c are w and c exactly, as the reference leaves them.
inline float scale_at(const float* scales, int64_t r, int64_t c, int64_t block, int64_t blocks) {
  return scales ? scales[r * blocks + c / block] : 1.0f;
}

// Walks the rows in runs of one block scale and one codebook (codebook_group 0: one for the tensor),
// at most kChunk weights at a time: fn(u, n, i, r, c, scale) with u[0..n) = w[i..i+n) / scale, the
// weights from row r, column c on.
template <class F>
inline void runs_visit(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                       int64_t codebook_group, const F& fn) {
  const int64_t blocks = scales ? blocks_per_row(cols, block) : 0;
  float u[kChunk];
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols;) {
      int64_t end = cols;
      if (scales) end = std::min(end, (c / block + 1) * block);
      if (codebook_group > 0) end = std::min(end, (c / codebook_group + 1) * codebook_group);
      const float scale = scale_at(scales, r, c, block, blocks);
      for (int64_t b = c; b < end; b += kChunk) {
        const int64_t n = std::min(kChunk, end - b), i = r * cols + b;
        for (int64_t j = 0; j < n; ++j) u[j] = w[i + j] / scale;
        fn(static_cast<const float*>(u), n, i, r, b, scale);
      }
      c = end;
    }
}

QS_VECTOR_CLONES
void range_rows(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block, float* lo,
                float* hi) {
  float lane_lo[kLanes], lane_hi[kLanes];
  std::fill(lane_lo, lane_lo + kLanes, w[0] / scale_at(scales, 0, 0, block, 0));
  std::fill(lane_hi, lane_hi + kLanes, lane_lo[0]);
  runs_visit(w, scales, rows, cols, block, 0, [&](const float* u, int64_t n, int64_t, int64_t, int64_t, float) {
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        lane_lo[j] = u[i + j] < lane_lo[j] ? u[i + j] : lane_lo[j];
        lane_hi[j] = u[i + j] > lane_hi[j] ? u[i + j] : lane_hi[j];
      }
    for (; i < n; ++i) {
      lane_lo[0] = u[i] < lane_lo[0] ? u[i] : lane_lo[0];
      lane_hi[0] = u[i] > lane_hi[0] ? u[i] : lane_hi[0];
    }
  });
  float mn = lane_lo[0], mx = lane_hi[0];
  for (int j = 1; j < kLanes; ++j) {
    mn = lane_lo[j] < mn ? lane_lo[j] : mn;
    mx = lane_hi[j] > mx ? lane_hi[j] : mx;
  }
  *lo = mn;
  *hi = mx;
}

// The sign of a zero extreme, as the reference's first-in-order comparison leaves it: the first zero u.
float zero_first(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block) {
  const int64_t blocks = scales ? blocks_per_row(cols, block) : 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float u = w[r * cols + c] / scale_at(scales, r, c, block, blocks);
      if (u == 0) return u;
    }
  return 0.0f;
}

QS_VECTOR_CLONES
void histogram_rows(const float* w, const float* scales, const float* importance, int64_t rows, int64_t cols,
                    int64_t block, float lo, float hi, int bins, double* sum_m, double* sum_mu, double* sum_muu) {
  const double bin_scale = hi > lo ? bins / (double(hi) - double(lo)) : 0.0;
  const double lo_d = lo, top = double(bins - 1);
  int32_t bin[kChunk];
  runs_visit(w, scales, rows, cols, block, 0, [&](const float* u, int64_t n, int64_t i0, int64_t, int64_t, float) {
    // floor then clamp to [0, bins − 1] equals clamp then truncate for every finite value
    for (int64_t i = 0; i < n; ++i) {
      double f = (double(u[i]) - lo_d) * bin_scale;
      f = f < 0.0 ? 0.0 : f;
      f = f > top ? top : f;
      bin[i] = static_cast<int32_t>(f);
    }
    // m = 1 without importance: m·u and m·u·u are u and u·u exactly
    for (int64_t i = 0; i < n; ++i) {
      const double m = importance ? double(importance[i0 + i]) : 1.0, x = u[i];
      sum_m[bin[i]] += m;
      sum_mu[bin[i]] += m * x;
      sum_muu[bin[i]] += m * x * x;
    }
  });
}

// Codes of at most kChunk weights against sorted midpoints, K = 2^b centroids: the number of
// midpoints below u, then the centroid looked up in a second loop (a select per midpoint would let
// the compiler turn the loop into loads it does not vectorise).
template <int K>
inline void run_assign_sorted(const float* u, int64_t n, const float* mids, const float* cb, float scale,
                              uint8_t* codes, float* dequant) {
  float mid[K - 1];
  std::copy(mids, mids + K - 1, mid);
  int32_t code[kChunk];
  for (int64_t i = 0; i < n; ++i) {
    int32_t q = 0;
#pragma GCC unroll 16
    for (int j = 0; j < K - 1; ++j) q += mid[j] < u[i] ? 1 : 0;
    code[i] = q;
  }
  for (int64_t i = 0; i < n; ++i) {
    codes[i] = static_cast<uint8_t>(code[i]);
    dequant[i] = scale * cb[code[i]];
  }
}

// Other sizes against sorted midpoints: binary search for the first midpoint not below u.
inline void run_assign_search(const float* u, int64_t n, const float* mids, int k, const float* cb,
                              float scale, uint8_t* codes, float* dequant) {
  for (int64_t i = 0; i < n; ++i) {
    int lo = 0, count = k - 1;
    while (count > 0) {
      const int half = count / 2;
      if (mids[lo + half] < u[i]) lo += half + 1, count -= half + 1;
      else count = half;
    }
    codes[i] = static_cast<uint8_t>(lo);
    dequant[i] = scale * cb[lo];
  }
}

// Unsorted or NaN midpoints: the reference's walk.
inline void run_assign_walk(const float* u, int64_t n, const float* cb, int k, float scale, uint8_t* codes,
                            float* dequant) {
  for (int64_t i = 0; i < n; ++i) {
    int code = 0;
    while (code + 1 < k && 0.5f * (cb[code] + cb[code + 1]) < u[i]) ++code;
    codes[i] = static_cast<uint8_t>(code);
    dequant[i] = scale * cb[code];
  }
}

// The midpoints of a codebook, as the reference computes them; false when they do not ascend.
inline bool midpoints_sorted(const float* cb, int k, float* mids) {
  for (int j = 0; j + 1 < k; ++j) mids[j] = 0.5f * (cb[j] + cb[j + 1]);
  for (int j = 0; j + 2 < k; ++j)
    if (!(mids[j] <= mids[j + 1])) return false;
  return k < 2 || !std::isnan(mids[0]);
}

QS_VECTOR_CLONES
void assign_rows(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                 const float* codebooks, int k, int64_t codebook_group, uint8_t* codes, float* dequant) {
  const int64_t groups = codebook_group > 0 ? blocks_per_row(cols, codebook_group) : 0;
  float mids[256];
  const float* mids_of = nullptr;  // the codebook whose midpoints `mids` holds
  bool sorted = false;
  runs_visit(w, scales, rows, cols, block, codebook_group,
             [&](const float* u, int64_t n, int64_t i, int64_t r, int64_t c, float scale) {
               const float* cb = codebook_group > 0 ? codebooks + (r * groups + c / codebook_group) * k : codebooks;
               if (cb != mids_of) {
                 sorted = midpoints_sorted(cb, k, mids);
                 mids_of = cb;
               }
               uint8_t* cp = codes + i;
               float* dp = dequant + i;
               if (!sorted) run_assign_walk(u, n, cb, k, scale, cp, dp);
               else if (k == 2) run_assign_sorted<2>(u, n, mids, cb, scale, cp, dp);
               else if (k == 4) run_assign_sorted<4>(u, n, mids, cb, scale, cp, dp);
               else if (k == 8) run_assign_sorted<8>(u, n, mids, cb, scale, cp, dp);
               else if (k == 16) run_assign_sorted<16>(u, n, mids, cb, scale, cp, dp);
               else run_assign_search(u, n, mids, k, cb, scale, cp, dp);
             });
}

}  // namespace

void block_scales_fast(const float* w, int64_t rows, int64_t cols, int64_t block, bool absmean, float eps,
                       bool round_bf16, float* scales) {
  block_scales_rows(w, rows, cols, block, absmean, eps, round_bf16, scales);
}

void normalized_range_fast(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                           float* lo, float* hi) {
  if (rows * cols == 0) {
    *lo = *hi = 0;
    return;
  }
  range_rows(w, scales, rows, cols, block, lo, hi);
  if (*lo == 0 || *hi == 0) {
    const float zero = zero_first(w, scales, rows, cols, block);
    if (*lo == 0) *lo = zero;
    if (*hi == 0) *hi = zero;
  }
}

void codebook_histogram_fast(const float* w, const float* scales, const float* importance, int64_t rows,
                             int64_t cols, int64_t block, float lo, float hi, int bins, double* sum_m,
                             double* sum_mu, double* sum_muu) {
  if (bins <= 0) return;
  histogram_rows(w, scales, importance, rows, cols, block, lo, hi, bins, sum_m, sum_mu, sum_muu);
}

void codebook_assign_fast(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                          const float* codebooks, int k, int64_t codebook_group, uint8_t* codes, float* dequant) {
  if (k < 1 || k > 256)
    throw std::invalid_argument("codebook_assign: codebook size " + std::to_string(k) + " outside 1…256");
  assign_rows(w, scales, rows, cols, block, codebooks, k, codebook_group, codes, dequant);
}

}  // namespace qs::kernels
