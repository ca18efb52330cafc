// The vectorised CPU paths (kernels/*_fast.cpp) against the scalar references they stand in for, bit
// for bit: codes, bf16 scales, zero points, σ, dequantized values, ranges and histogram sums, compared
// as bits (so −0 and +0 differ). Shapes are odd on purpose (rows and columns not multiples of the
// vector width, the group or the tile; short last groups), and the inputs hold the edge cases the
// fast paths treat apart: all-zero groups and rows, weights exactly halfway between two levels or two
// centroids, subnormal weights, unsorted and repeated centroids, zero extremes of either sign.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "codebook.hpp"
#include "hadamard.hpp"
#include "int_quantize.hpp"
#include "quest_quantize.hpp"

namespace qs::kernels {
namespace {

// The first index where two arrays differ in their bits, or −1.
template <class T>
int64_t first_difference(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0) return int64_t(i);
  return -1;
}

template <class T>
void expect_bits_eq(const std::vector<T>& got, const std::vector<T>& want, const std::string& what) {
  const int64_t i = first_difference(got, want);
  EXPECT_EQ(i, -1) << what << ": got " << (i >= 0 && size_t(i) < got.size() ? double(got[size_t(i)]) : 0.0)
                   << ", want " << (i >= 0 && size_t(i) < want.size() ? double(want[size_t(i)]) : 0.0);
}

// Student-t(3) × 0.02: heavy tails, as real weights have.
std::vector<float> weights(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::student_t_distribution<float> t(3);
  std::vector<float> w(static_cast<size_t>(n));
  for (float& x : w) x = 0.02f * t(rng);
  return w;
}

void row_fill(std::vector<float>& w, int64_t cols, int64_t row, float value) {
  std::fill(w.begin() + row * cols, w.begin() + (row + 1) * cols, value);
}

// ---- integer ---------------------------------------------------------------------------------------

struct IntRun {
  std::vector<float> scales;
  std::vector<uint8_t> zeros, codes;
  std::vector<float> values;
};

IntRun int_run(bool fast, const std::vector<float>& w, int64_t rows, int64_t cols, int64_t group, int bits,
               bool asymmetric, bool clip_search) {
  const int64_t groups = rows * int_groups_per_row(cols, group);
  IntRun q{std::vector<float>(groups), std::vector<uint8_t>(groups), std::vector<uint8_t>(w.size()),
           std::vector<float>(w.size())};
  if (fast) {
    int_quantize_fast(w.data(), rows, cols, group, bits, asymmetric, clip_search, q.scales.data(), q.zeros.data(),
                      q.codes.data(), q.values.data());
  } else {
    int_scales_cpu(w.data(), rows, cols, group, bits, asymmetric, clip_search, q.scales.data(), q.zeros.data());
    int_quantize_cpu(w.data(), rows, cols, group, bits, asymmetric, q.scales.data(), q.zeros.data(), q.codes.data(),
                     q.values.data());
  }
  if (!asymmetric) q.zeros.clear();
  return q;
}

// Row 0..: Student-t; row 1 all zero; row 2 with each group's scale exactly 1/16 and every other
// weight an odd multiple of 1/32, i.e. halfway between two levels; row 3 subnormal.
std::vector<float> int_weights(int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric) {
  std::vector<float> w = weights(rows * cols, 11);
  row_fill(w, cols, 1, 0.0f);
  const int top = (1 << bits) - 1, qmax = (1 << (bits - 1)) - 1;
  // The group's extremes: ±qmax/16 symmetric; asymmetric −lo/16 … (top − lo)/16 with lo = top / 2.
  const float hi = asymmetric ? float(top - top / 2) / 16 : float(qmax) / 16;
  const float lo = asymmetric ? -float(top / 2) / 16 : -hi;
  for (int64_t c = 0; c < cols; ++c) {
    const int64_t at = c % group;
    const float halfway = float(2 * (c % (2 * qmax + 1)) - 2 * qmax + 1) / 32;  // odd multiples of 1/32
    w[2 * cols + c] = at == 0 ? hi : at == 1 ? lo : std::clamp(halfway, lo, hi);
  }
  for (int64_t c = 0; c < cols; ++c) w[3 * cols + c] = 1e-40f * float(c % 7 - 3);
  return w;
}

TEST(KernelsFastInt, EqualsReferenceBitForBitForEveryWidth) {
  const int64_t rows = 7, cols = 301;
  for (int bits = 1; bits <= 8; ++bits)
    for (const bool asymmetric : {false, true})
      for (const bool clip_search : {false, true})
        for (const int64_t group : {1, 3, 16, 128, 301, 1000}) {
          const std::string what = "int" + std::to_string(bits) + (asymmetric ? ":asym" : "") +
                                   (clip_search ? ":mse" : "") + " group " + std::to_string(group);
          const std::vector<float> w = int_weights(rows, cols, group, bits, asymmetric);
          const IntRun want = int_run(false, w, rows, cols, group, bits, asymmetric, clip_search);
          const IntRun got = int_run(true, w, rows, cols, group, bits, asymmetric, clip_search);
          expect_bits_eq(got.scales, want.scales, what + ": scales");
          expect_bits_eq(got.zeros, want.zeros, what + ": zero points");
          expect_bits_eq(got.codes, want.codes, what + ": codes");
          expect_bits_eq(got.values, want.values, what + ": values");
        }
}

TEST(KernelsFastInt, InputsHoldTiesAndZeroGroups) {
  // What the test above relies on: row 2 has weights exactly halfway between two levels, row 1 zero scales.
  const int64_t rows = 7, cols = 301, group = 16;
  for (const bool asymmetric : {false, true}) {
    const std::vector<float> w = int_weights(rows, cols, group, 4, asymmetric);
    const IntRun q = int_run(false, w, rows, cols, group, 4, asymmetric, false);
    const int64_t groups = int_groups_per_row(cols, group);
    int64_t ties = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const float s = q.scales[2 * groups + c / group];
      const float t = w[2 * cols + c] / s;
      ties += s != 0 && t - std::floor(t) == 0.5f;
    }
    EXPECT_GT(ties, cols / 4) << asymmetric;
    EXPECT_EQ(q.scales[groups], 0.0f) << asymmetric;
  }
}

// ---- Hadamard and QuEST ----------------------------------------------------------------------------

TEST(KernelsFastHadamard, EqualsReferenceBitForBit) {
  for (const int64_t block : {2, 4, 8, 16, 32, 128, 1024})
    for (const int64_t rows : {1, 3}) {
      const int64_t cols = 3 * block;
      std::vector<float> want = weights(rows * cols, 21), got = want;
      hadamard_cpu(want.data(), rows, cols, block);
      hadamard_fast(got.data(), rows, cols, block);
      expect_bits_eq(got, want, "block " + std::to_string(block));
    }
  std::vector<float> x(24, 1.0f);
  EXPECT_THROW(hadamard_fast(x.data(), 2, 12, 8), std::invalid_argument);
}

struct QuestRun {
  std::vector<float> sigma;
  std::vector<uint8_t> codes;
  std::vector<float> values, rotated;
};

QuestRun quest_reference(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t block, int bits,
                         float alpha) {
  QuestRun q{std::vector<float>(rows), std::vector<uint8_t>(w.size()), std::vector<float>(w.size()), w};
  if (block > 1) hadamard_cpu(q.rotated.data(), rows, cols, block);
  quest_quantize_cpu(q.rotated.data(), rows, cols, bits, alpha, q.sigma.data(), q.codes.data(), q.values.data());
  if (block > 1) hadamard_cpu(q.values.data(), rows, cols, block);
  return q;
}

QuestRun quest_fast(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t block, int bits, float alpha,
                    bool rotated) {
  QuestRun q{std::vector<float>(rows), std::vector<uint8_t>(w.size()), std::vector<float>(w.size()),
             std::vector<float>(rotated ? w.size() : 0)};
  quest_rows_fast(w.data(), rows, cols, block, bits, alpha, q.sigma.data(), q.codes.data(), q.values.data(),
                  rotated ? q.rotated.data() : nullptr);
  return q;
}

TEST(KernelsFastQuest, EqualsRotationThenReferenceThenRotationBitForBit) {
  // Rows: 4 at a time in the fast path, so 1, 4 and 9 cover a lone row, one tile and a short last tile.
  for (int bits = 1; bits <= 8; ++bits)
    for (const int64_t block : {1, 2, 8, 32, 128})
      for (const int64_t rows : {1, 4, 9}) {
        const int64_t cols = block == 1 ? 301 : 5 * block;
        std::vector<float> w = weights(rows * cols, 31 + uint64_t(bits));
        if (rows > 1) row_fill(w, cols, 1, 0.0f);  // σ = 1e-8
        const float alpha = 0.8f + 0.4f * float(bits);
        const std::string what = "quest" + std::to_string(bits) + ":h" + std::to_string(block) + " rows " +
                                 std::to_string(rows);
        const QuestRun want = quest_reference(w, rows, cols, block, bits, alpha);
        const QuestRun got = quest_fast(w, rows, cols, block, bits, alpha, rows == 9);
        expect_bits_eq(got.sigma, want.sigma, what + ": sigma");
        expect_bits_eq(got.codes, want.codes, what + ": codes");
        expect_bits_eq(got.values, want.values, what + ": values");
        if (rows == 9) expect_bits_eq(got.rotated, want.rotated, what + ": rotated weight");
      }
}

TEST(KernelsFastQuest, RejectsBlocksThatDoNotDivideTheRow) {
  std::vector<float> w(24, 1.0f), sigma(2), values(24);
  std::vector<uint8_t> codes(24);
  EXPECT_THROW(quest_rows_fast(w.data(), 2, 12, 8, 4, 2.5f, sigma.data(), codes.data(), values.data(), nullptr),
               std::invalid_argument);
}

// ---- codebook pieces -------------------------------------------------------------------------------

TEST(KernelsFastCodebook, BlockScalesEqualReferenceBitForBit) {
  const int64_t rows = 7, cols = 301;
  std::vector<float> w = weights(rows * cols, 41);
  row_fill(w, cols, 2, 0.0f);  // scale = eps
  for (const int64_t block : {1, 3, 4, 64, 100, 301})
    for (const bool absmean : {false, true})
      for (const bool round_bf16 : {false, true})
        for (const float eps : {1e-5f, 1e-30f}) {
          std::vector<float> want(rows * blocks_per_row(cols, block)), got(want.size());
          block_scales_cpu(w.data(), rows, cols, block, absmean, eps, round_bf16, want.data());
          block_scales_fast(w.data(), rows, cols, block, absmean, eps, round_bf16, got.data());
          expect_bits_eq(got, want, "block " + std::to_string(block) + (absmean ? " absmean" : " absmax") +
                                        (round_bf16 ? " bf16" : "") + " eps " + std::to_string(eps));
        }
}

TEST(KernelsFastCodebook, RangeEqualsReferenceBitForBitWithZeroExtremes) {
  const int64_t rows = 5, cols = 37, block = 8;
  std::vector<float> scales(rows * blocks_per_row(cols, block));
  for (size_t i = 0; i < scales.size(); ++i) scales[i] = 0.01f * float(1 + i % 5);
  std::vector<float> w = weights(rows * cols, 43);
  std::vector<float> nonnegative(w.size()), nonpositive(w.size());
  for (size_t i = 0; i < w.size(); ++i) nonnegative[i] = std::abs(w[i]), nonpositive[i] = -std::abs(w[i]);
  // The minimum 0 occurs first as −0, the maximum 0 first as +0, then the other sign, at a position
  // that a vector of 8 or 16 lanes meets in an earlier lane.
  nonnegative[12] = -0.0f, nonnegative[17] = 0.0f;
  nonpositive[12] = 0.0f, nonpositive[17] = -0.0f;
  for (const auto* x : {&w, &nonnegative, &nonpositive})
    for (const bool scaled : {false, true}) {
      const float* s = scaled ? scales.data() : nullptr;
      float want[2], got[2];
      normalized_range_cpu(x->data(), s, rows, cols, block, &want[0], &want[1]);
      normalized_range_fast(x->data(), s, rows, cols, block, &got[0], &got[1]);
      EXPECT_EQ(std::memcmp(want, got, sizeof want), 0)
          << "lo " << want[0] << " vs " << got[0] << ", hi " << want[1] << " vs " << got[1];
    }
  float lo, hi;
  normalized_range_fast(nonnegative.data(), nullptr, rows, cols, block, &lo, &hi);
  EXPECT_TRUE(lo == 0 && std::signbit(lo));  // the reference keeps the first zero it meets
}

TEST(KernelsFastCodebook, HistogramSumsEqualReferenceBitForBit) {
  const int64_t rows = 9, cols = 301, block = 64;
  const std::vector<float> w = weights(rows * cols, 47);
  std::vector<float> importance = weights(rows * cols, 48), scales(rows * blocks_per_row(cols, block));
  for (float& m : importance) m = std::abs(m);
  block_scales_cpu(w.data(), rows, cols, block, true, 1e-5f, true, scales.data());
  float lo, hi;
  normalized_range_cpu(w.data(), scales.data(), rows, cols, block, &lo, &hi);
  for (const int bins : {1, 7, 1000})
    for (const bool weighted : {false, true})
      for (const bool scaled : {false, true}) {
        const float* s = scaled ? scales.data() : nullptr;
        const float* m = weighted ? importance.data() : nullptr;
        const float top = scaled ? hi : 0.1f, bottom = scaled ? lo : -0.1f;  // unscaled: outliers clamp
        std::vector<double> want[3], got[3];
        for (int i = 0; i < 3; ++i) want[i].assign(size_t(bins), 0.0), got[i].assign(size_t(bins), 0.0);
        // Two calls accumulate: the second goes on from the first's sums in the reference's order.
        for (const int64_t begin : {int64_t{0}, int64_t{4}}) {
          const int64_t n = begin == 0 ? 4 : rows - 4, off = begin * cols, soff = begin * blocks_per_row(cols, block);
          codebook_histogram_cpu(w.data() + off, s ? s + soff : nullptr, m ? m + off : nullptr, n, cols, block, bottom,
                                 top, bins, want[0].data(), want[1].data(), want[2].data());
          codebook_histogram_fast(w.data() + off, s ? s + soff : nullptr, m ? m + off : nullptr, n, cols, block,
                                  bottom, top, bins, got[0].data(), got[1].data(), got[2].data());
        }
        const std::string what = std::to_string(bins) + " bins" + (weighted ? " weighted" : "") +
                                 (scaled ? " scaled" : "");
        for (int i = 0; i < 3; ++i) expect_bits_eq(got[i], want[i], what + ": sum " + std::to_string(i));
      }
  // lo = hi: every weight in bin 0.
  std::vector<double> a(4), b(4), c(4), d(4), e(4), f(4);
  codebook_histogram_cpu(w.data(), nullptr, nullptr, rows, cols, block, 0.5f, 0.5f, 4, a.data(), b.data(), c.data());
  codebook_histogram_fast(w.data(), nullptr, nullptr, rows, cols, block, 0.5f, 0.5f, 4, d.data(), e.data(), f.data());
  expect_bits_eq(d, a, "one point");
  expect_bits_eq(e, b, "one point");
  expect_bits_eq(f, c, "one point");
}

struct AssignRun {
  std::vector<uint8_t> codes;
  std::vector<float> values;
};

AssignRun assign_run(bool fast, const std::vector<float>& w, const float* scales, int64_t rows, int64_t cols,
                     int64_t block, const std::vector<float>& books, int k, int64_t codebook_group) {
  AssignRun a{std::vector<uint8_t>(w.size()), std::vector<float>(w.size())};
  (fast ? codebook_assign_fast : codebook_assign_cpu)(w.data(), scales, rows, cols, block, books.data(), k,
                                                      codebook_group, a.codes.data(), a.values.data());
  return a;
}

// Sorted codebooks of k centroids with a repeated pair, one per group (n of them); the last unsorted.
std::vector<float> codebooks(int64_t n, int k, uint64_t seed, bool last_unsorted) {
  std::vector<float> books = weights(n * k, seed);
  for (float& c : books) c *= 50.0f;
  for (int64_t b = 0; b < n; ++b) {
    std::sort(books.begin() + b * k, books.begin() + (b + 1) * k);
    if (k >= 4) books[size_t(b * k + 2)] = books[size_t(b * k + 1)];
  }
  if (last_unsorted && k >= 3) std::swap(books[size_t((n - 1) * k)], books[size_t(n * k - 1)]);
  return books;
}

TEST(KernelsFastCodebook, AssignmentEqualsReferenceBitForBit) {
  const int64_t rows = 7, cols = 301, block = 16;
  std::vector<float> scales(rows * blocks_per_row(cols, block));
  for (size_t i = 0; i < scales.size(); ++i) scales[i] = std::ldexp(1.0f, int(i % 5) - 6);  // powers of two
  for (const int k : {1, 2, 3, 4, 5, 8, 16, 17, 64, 256})
    for (const int64_t codebook_group : {int64_t{0}, int64_t{5}, cols}) {
      const int64_t n = codebook_group == 0 ? 1 : rows * blocks_per_row(cols, codebook_group);
      const std::vector<float> books = codebooks(n, k, 50 + uint64_t(k), codebook_group > 0);
      for (const bool scaled : {false, true}) {
        if (scaled && codebook_group > 0) continue;  // the formats scale only with a shared codebook
        std::vector<float> w = weights(rows * cols, 51);
        row_fill(w, cols, 1, 0.0f);
        // Row 2: every weight exactly on a midpoint of its codebook (u = w / s exactly: s is a power of two).
        for (int64_t c = 0; c < cols && k >= 2; ++c) {
          const float* cb = books.data() + (codebook_group > 0 ? (2 * (n / rows) + c / codebook_group) * k : 0);
          const int j = int(c % (k - 1));
          const float s = scaled ? scales[2 * blocks_per_row(cols, block) + c / block] : 1.0f;
          w[2 * cols + c] = 0.5f * (cb[j] + cb[j + 1]) * s;
        }
        const float* s = scaled ? scales.data() : nullptr;
        const AssignRun want = assign_run(false, w, s, rows, cols, block, books, k, codebook_group);
        const AssignRun got = assign_run(true, w, s, rows, cols, block, books, k, codebook_group);
        const std::string what = "k " + std::to_string(k) + " group " + std::to_string(codebook_group) +
                                 (scaled ? " scaled" : "");
        expect_bits_eq(got.codes, want.codes, what + ": codes");
        expect_bits_eq(got.values, want.values, what + ": values");
      }
    }
  std::vector<float> w(4), books(2);
  std::vector<uint8_t> codes(4);
  EXPECT_THROW(codebook_assign_fast(w.data(), nullptr, 1, 4, 0, books.data(), 0, 0, codes.data(), w.data()),
               std::invalid_argument);
}

}  // namespace
}  // namespace qs::kernels
