// The quantization kernels (block Hadamard, QuEST, integer, codebook pieces): the CPU references
// against hand-computed values and the properties the formats promise, and every CUDA path against
// its CPU reference (run on the GPU machine; skipped where this build or machine has no CUDA).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "bf16_round.hpp"
#include "codebook.hpp"
#include "hadamard.hpp"
#include "int_quantize.hpp"
#include "quest_quantize.hpp"

namespace qs::kernels {
namespace {

std::vector<float> values_of(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU).to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

std::vector<float> gaussian(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  return values_of(torch::randn({n}));
}

// Student-t with 3 degrees of freedom: heavy tails, as real weights have.
std::vector<float> student_t(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor z = torch::randn({n});
  const torch::Tensor chi2 =
      torch::randn({n}).square() + torch::randn({n}).square() + torch::randn({n}).square();
  return values_of(z / torch::sqrt(chi2 / 3.0));
}

// The QuEST clip α_b of methods.md §1.
float quest_alpha_of(int bits) {
  static const double alpha[] = {0,
                                 0.7978845587,
                                 1.4935346200,
                                 2.0510683541,
                                 2.5139305786,
                                 2.9160938835,
                                 3.2765972826,
                                 3.6010497188,
                                 3.8849386788};
  return float(alpha[bits]);
}

// ---- Hadamard ------------------------------------------------------------------------------------

// Sylvester's Hadamard matrix in natural order: H_1 = [1], H_2n = [[H, H], [H, −H]].
std::vector<std::vector<int>> sylvester(int64_t n) {
  std::vector<std::vector<int>> h{{1}};
  while (int64_t(h.size()) < n) {
    const size_t m = h.size();
    std::vector<std::vector<int>> next(2 * m, std::vector<int>(2 * m));
    for (size_t i = 0; i < m; ++i)
      for (size_t j = 0; j < m; ++j) {
        next[i][j] = next[i][j + m] = next[i + m][j] = h[i][j];
        next[i + m][j + m] = -h[i][j];
      }
    h = std::move(next);
  }
  return h;
}

TEST(KernelsHadamard, MatchesSylvesterMatrixAndIsOrthonormal) {
  for (int64_t block = 1; block <= 256; block *= 2) {
    std::vector<float> x(block * block, 0.0f);
    for (int64_t i = 0; i < block; ++i) x[i * block + i] = 1.0f;  // row i becomes H·e_i, column i of H
    hadamard_cpu(x.data(), block, block, block);
    const auto h = sylvester(block);
    const double norm = 1.0 / std::sqrt(double(block));
    double worst_entry = 0, worst_gram = 0;
    for (int64_t i = 0; i < block; ++i)
      for (int64_t j = 0; j < block; ++j) {
        worst_entry = std::max(worst_entry, std::abs(x[i * block + j] - h[j][i] * norm));
        double dot = 0;  // (H·Hᵀ)_ij from the transformed identity rows
        for (int64_t k = 0; k < block; ++k) dot += double(x[i * block + k]) * x[j * block + k];
        worst_gram = std::max(worst_gram, std::abs(dot - (i == j ? 1.0 : 0.0)));
      }
    EXPECT_LT(worst_entry, 1e-6) << "block " << block;
    EXPECT_LT(worst_gram, 1e-5) << "block " << block;
  }
}

TEST(KernelsHadamard, IsItsOwnInverseAndKeepsNorms) {
  const std::vector<float> x = gaussian(64 * 1024, 1);
  for (int64_t block : {2, 16, 128, 1024}) {
    std::vector<float> y = x;
    hadamard_cpu(y.data(), 64, 1024, block);
    double nx = 0, ny = 0, moved = 0;
    for (size_t i = 0; i < x.size(); ++i)
      nx += double(x[i]) * x[i], ny += double(y[i]) * y[i], moved += std::abs(y[i] - x[i]);
    EXPECT_NEAR(ny / nx, 1.0, 1e-5) << "block " << block;
    EXPECT_GT(moved, 0.1 * x.size()) << "block " << block;  // it did rotate
    hadamard_cpu(y.data(), 64, 1024, block);
    float worst = 0;
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(y[i] - x[i]));
    EXPECT_LT(worst, 1e-5f) << "block " << block;
  }
}

TEST(KernelsHadamard, TransformsEachBlockOfEveryRowSeparately) {
  const int64_t rows = 3, cols = 512, block = 64;
  const std::vector<float> x = gaussian(rows * cols, 2);
  std::vector<float> y = x;
  hadamard_cpu(y.data(), rows, cols, block);
  const auto h = sylvester(block);
  double worst = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / block; ++b)
      for (int64_t i = 0; i < block; ++i) {
        double want = 0;
        for (int64_t j = 0; j < block; ++j) want += h[i][j] * double(x[r * cols + b * block + j]);
        worst = std::max(worst, std::abs(want / 8.0 - y[r * cols + b * block + i]));
      }
  EXPECT_LT(worst, 1e-5);
}

TEST(KernelsHadamard, RejectsBlocksThatAreNotPowersOfTwoDividingTheRow) {
  std::vector<float> x(24, 1.0f);
  EXPECT_THROW(hadamard_cpu(x.data(), 2, 12, 3), std::invalid_argument);
  EXPECT_THROW(hadamard_cpu(x.data(), 2, 12, 8), std::invalid_argument);
  EXPECT_THROW(hadamard_cpu(x.data(), 2, 12, 0), std::invalid_argument);
  EXPECT_EQ(x, std::vector<float>(24, 1.0f));  // untouched
}

// ---- QuEST ---------------------------------------------------------------------------------------

struct QuestResult {
  std::vector<float> sigma;
  std::vector<uint8_t> codes;
  std::vector<float> values;
};

QuestResult quest_cpu(const std::vector<float>& x, int64_t rows, int64_t cols, int bits, float alpha) {
  QuestResult q{std::vector<float>(rows), std::vector<uint8_t>(x.size()), std::vector<float>(x.size())};
  quest_quantize_cpu(x.data(), rows, cols, bits, alpha, q.sigma.data(), q.codes.data(), q.values.data());
  return q;
}

// Σx² = 16 over 16 values, so σ = 1 (+1e-8, below float resolution at 1); all values are dyadic.
const std::vector<float> kUnitRow = {2,      0.875f,  -0.25f, 0, 1, -1, -3, 0.375f,
                                     0.125f, -0.125f, 0,      0, 0, 0,  0,  0};

TEST(KernelsQuest, OneBitByHand) {
  const float alpha = quest_alpha_of(1);
  const QuestResult q = quest_cpu({1, -1, 1, -1}, 1, 4, 1, alpha);  // σ = 1, Δ = 2α, levels ±α
  EXPECT_EQ(q.sigma[0], 1.0f);
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{1, 0, 1, 0}));
  EXPECT_EQ(q.values, (std::vector<float>{alpha, -alpha, alpha, -alpha}));
}

TEST(KernelsQuest, TwoBitsByHand) {
  // α = 1.5, σ = 1: clip ±1.5, Δ = 1, levels ±0.5, ±1.5; round(x/Δ + ½) ties go to even.
  const QuestResult q = quest_cpu(kUnitRow, 1, 16, 2, 1.5f);
  EXPECT_EQ(q.sigma[0], 1.0f);
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{3, 2, 1, 1, 3, 1, 0, 2, 2, 1, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(q.values, (std::vector<float>{1.5f, 0.5f, -0.5f, -0.5f, 1.5f, -0.5f, -1.5f, 0.5f, 0.5f, -0.5f,
                                          -0.5f, -0.5f, -0.5f, -0.5f, -0.5f, -0.5f}));
}

TEST(KernelsQuest, FourBitsByHand) {
  // Row 0: α = 3.75, σ = 1: Δ = 0.5, code = round(2x + ½) + 7. Row 1: α = 1.875, σ = 2: the same grid,
  // clip ±3.75, so ±5 land on the extreme codes 15 and 0.
  std::vector<float> x = kUnitRow;
  const std::vector<float> row1 = {5, -5, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // Σx² = 64
  std::vector<float> sigma(2);
  std::vector<uint8_t> codes(32);
  std::vector<float> values(32);
  quest_quantize_cpu(x.data(), 1, 16, 4, 3.75f, &sigma[0], codes.data(), values.data());
  quest_quantize_cpu(row1.data(), 1, 16, 4, 1.875f, &sigma[1], codes.data() + 16, values.data() + 16);
  EXPECT_EQ(sigma, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(codes, (std::vector<uint8_t>{11, 9, 7,  7,  9, 5, 1, 8, 8, 7, 7, 7, 7, 7, 7, 7,  //
                                         15, 0, 13, 11, 9, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7}));
  EXPECT_EQ(std::vector<float>(values.begin(), values.begin() + 10),
            (std::vector<float>{1.75f, 0.75f, -0.25f, -0.25f, 0.75f, -1.25f, -3.25f, 0.25f, 0.25f, -0.25f}));
  EXPECT_EQ(std::vector<float>(values.begin() + 16, values.begin() + 22),
            (std::vector<float>{3.75f, -3.75f, 2.75f, 1.75f, 0.75f, -0.25f}));
  // In place (dequant aliasing x) gives the same values.
  quest_quantize_cpu(x.data(), 1, 16, 4, 3.75f, &sigma[0], codes.data(), x.data());
  EXPECT_EQ(x, std::vector<float>(values.begin(), values.begin() + 16));
}

TEST(KernelsQuest, EveryWidthStaysOnItsGrid) {
  const int64_t rows = 8, cols = 1000;
  const std::vector<float> x = student_t(rows * cols, 3);
  for (int bits = 1; bits <= 8; ++bits) {
    const float alpha = quest_alpha_of(bits);
    const QuestResult q = quest_cpu(x, rows, cols, bits, alpha);
    const int offset = (1 << (bits - 1)) - 1;
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0;
      for (int64_t c = 0; c < cols; ++c) ss += double(x[r * cols + c]) * x[r * cols + c];
      EXPECT_NEAR(q.sigma[r], std::sqrt(ss / cols), 1e-6 * q.sigma[r]);
      const float clip = alpha * q.sigma[r], delta = 2 * clip / float((1 << bits) - 1);
      for (int64_t c = 0; c < cols; ++c) {
        const int64_t i = r * cols + c;
        ASSERT_LT(q.codes[i], 1 << bits);
        ASSERT_EQ(q.values[i], delta * (float(int(q.codes[i]) - offset) - 0.5f));
        const float clamped = std::clamp(x[i], -clip, clip);
        ASSERT_LE(std::abs(q.values[i] - clamped), 0.5f * delta * (1 + 1e-5f))
            << "bits " << bits << " at " << i;
      }
    }
  }
}

TEST(KernelsQuest, TrustMaskFractionOnGaussianMatchesReference) {
  // Masked (gradient dropped) iff |q − x| > T·σ with T = α_b/(2^b − 1), half a step (methods.md §1).
  const int64_t cols = 4096, rows = 4096;  // 2^24 values: the 8-bit fraction (~1600 hits) within ±2.5 %
  const std::vector<float> x = gaussian(rows * cols, 4);
  const std::pair<int, double> reference[] = {
      {1, 1.1e-1}, {2, 4.6e-2}, {3, 1.9e-2}, {4, 7.3e-3}, {8, 9.6e-5}};
  std::vector<uint8_t> mask(x.size());
  for (const auto& [bits, want] : reference) {
    const float alpha = quest_alpha_of(bits);
    const QuestResult q = quest_cpu(x, rows, cols, bits, alpha);
    quest_trust_mask_cpu(x.data(), q.values.data(), q.sigma.data(), rows, cols,
                         alpha / float((1 << bits) - 1), mask.data());
    const int64_t kept = std::count(mask.begin(), mask.end(), uint8_t(1));
    const double masked = double(int64_t(x.size()) - kept) / double(x.size());
    EXPECT_NEAR(masked, want, 0.1 * want) << bits << " bits";
  }
}

// ---- integer -------------------------------------------------------------------------------------

struct IntResult {
  std::vector<float> scales;
  std::vector<uint8_t> zeros;
  std::vector<uint8_t> codes;
  std::vector<float> values;
};

IntResult int_cpu(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t group, int bits,
                  bool asymmetric, bool clip_search) {
  const int64_t groups = rows * int_groups_per_row(cols, group);
  IntResult q{std::vector<float>(groups), std::vector<uint8_t>(asymmetric ? groups : 0),
              std::vector<uint8_t>(w.size()), std::vector<float>(w.size())};
  uint8_t* zeros = asymmetric ? q.zeros.data() : nullptr;
  int_scales_cpu(w.data(), rows, cols, group, bits, asymmetric, clip_search, q.scales.data(), zeros);
  int_quantize_cpu(w.data(), rows, cols, group, bits, asymmetric, q.scales.data(), zeros, q.codes.data(),
                   q.values.data());
  return q;
}

TEST(KernelsInt, SymmetricByHand) {
  // absmax 7, qmax 7: s = 1; 3.5 rounds to the even 4, 0.5 to 0.
  IntResult q = int_cpu({-7, 3.5f, 0.5f, 1}, 1, 4, 4, 4, false, false);
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{0, 11, 7, 8}));
  EXPECT_EQ(q.values, (std::vector<float>{-7, 4, 0, 1}));
  // The scale is stored in bf16: 1.01 becomes 1.0078125 (2 bits: qmax 1), and the values use it.
  q = int_cpu({1.01f, -0.2f, -0.9f}, 1, 3, 3, 2, false, false);
  EXPECT_EQ(q.scales, std::vector<float>{1.0078125f});
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{2, 1, 0}));
  EXPECT_EQ(q.values, (std::vector<float>{1.0078125f, 0, -1.0078125f}));
}

TEST(KernelsInt, AsymmetricByHand) {
  // lo −1, hi 2: s = 3/3 = 1, zero point 1.
  IntResult q = int_cpu({-1, 0, 2, 0.4f}, 1, 4, 4, 2, true, false);
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_EQ(q.zeros, std::vector<uint8_t>{1});
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{0, 1, 3, 1}));
  EXPECT_EQ(q.values, (std::vector<float>{-1, 0, 2, 0}));
  // All positive: the range still includes 0 (lo = min(w, 0)), zero point 0.
  q = int_cpu({1, 2, 3}, 1, 3, 3, 2, true, false);
  EXPECT_EQ(q.scales, std::vector<float>{1.0f});
  EXPECT_EQ(q.zeros, std::vector<uint8_t>{0});
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(q.values, (std::vector<float>{1, 2, 3}));
}

TEST(KernelsInt, OneBitIsSignTimesAbsmean) {
  const IntResult q = int_cpu({-1, 2, -3, 0}, 1, 4, 4, 1, false, false);
  EXPECT_EQ(q.scales, std::vector<float>{1.5f});
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{0, 1, 0, 1}));
  EXPECT_EQ(q.values, (std::vector<float>{-1.5f, 1.5f, -1.5f, 1.5f}));
}

TEST(KernelsInt, ShortLastGroupAndZeroGroup) {
  // 2 rows of 5 in groups of 2: groups {0,1} {2,3} {4} per row; row 1 is all zero.
  const std::vector<float> w = {1, -2, 4, 0.5f, -8, 0, 0, 0, 0, 0};
  EXPECT_EQ(int_groups_per_row(5, 2), 3);
  const IntResult q = int_cpu(w, 2, 5, 2, 4, false, false);
  const std::vector<float> want_scales = {
      bf16_round(2.0f / 7), bf16_round(4.0f / 7), bf16_round(8.0f / 7), 0, 0, 0};
  EXPECT_EQ(q.scales, want_scales);
  for (int64_t c = 0; c < 5; ++c) {
    const float s = want_scales[c / 2];
    const float level = std::clamp(std::nearbyint(w[c] / s), -7.0f, 7.0f);
    EXPECT_EQ(q.codes[c], uint8_t(level + 7)) << c;
    EXPECT_EQ(q.values[c], level * s) << c;
  }
  EXPECT_EQ(q.codes[4], 0);  // −8 is the group's absmax: the lowest level
  for (int64_t c = 5; c < 10; ++c) {
    EXPECT_EQ(q.codes[c], 7);  // zero
    EXPECT_EQ(q.values[c], 0.0f);
  }
  EXPECT_THROW(int_groups_per_row(5, 0), std::invalid_argument);
}

TEST(KernelsInt, ClipSearchCutsHeavyTailsAndNeverRaisesTheError) {
  const int64_t rows = 32, cols = 256;
  const std::vector<float> w = student_t(rows * cols, 5);
  for (const bool asymmetric : {false, true})
    for (int bits : {2, 3, 4}) {
      const IntResult plain = int_cpu(w, rows, cols, 128, bits, asymmetric, false);
      const IntResult searched = int_cpu(w, rows, cols, 128, bits, asymmetric, true);
      int64_t clipped = 0;
      for (size_t g = 0; g < plain.scales.size(); ++g) {
        double e_plain = 0, e_searched = 0;
        for (int64_t i = g * 128; i < int64_t(g + 1) * 128; ++i) {
          e_plain += std::pow(double(plain.values[i]) - w[i], 2);
          e_searched += std::pow(double(searched.values[i]) - w[i], 2);
        }
        EXPECT_LE(e_searched, e_plain) << "group " << g;
        if (searched.scales[g] < plain.scales[g]) ++clipped;
      }
      // With 3 degrees of freedom the absmax of 128 draws is far out: nearly every group clips.
      EXPECT_GT(clipped, int64_t(plain.scales.size() * 3 / 4)) << bits << " bits asym " << asymmetric;
      const int top = asymmetric ? (1 << bits) - 1 : (1 << bits) - 2;
      EXPECT_LE(*std::max_element(searched.codes.begin(), searched.codes.end()), top);
      EXPECT_EQ(*std::min_element(searched.codes.begin(), searched.codes.end()), 0);
    }
}

// ---- codebook ------------------------------------------------------------------------------------

TEST(KernelsCodebook, BlockScalesByHand) {
  // 2 rows of 5 in blocks of 2; row 1 is zero, so its scales are eps.
  const std::vector<float> w = {1, -3, 0.5f, 0.25f, -2, 0, 0, 0, 0, 0};
  EXPECT_EQ(blocks_per_row(5, 2), 3);
  std::vector<float> s(6);
  block_scales_cpu(w.data(), 2, 5, 2, false, 1e-5f, false, s.data());
  EXPECT_EQ(s, (std::vector<float>{3, 0.5f, 2, 1e-5f, 1e-5f, 1e-5f}));
  block_scales_cpu(w.data(), 2, 5, 2, true, 1e-5f, false, s.data());
  EXPECT_EQ(s, (std::vector<float>{2, 0.375f, 2, 1e-5f, 1e-5f, 1e-5f}));
  block_scales_cpu(w.data(), 2, 5, 2, true, 1e-5f, true, s.data());
  EXPECT_EQ(s[5], bf16_round(1e-5f));
  const std::vector<float> v = {1, 1.02f};  // absmean 1.01 is stored as the bf16 1.0078125
  block_scales_cpu(v.data(), 1, 2, 2, true, 1e-5f, true, s.data());
  EXPECT_EQ(s[0], 1.0078125f);
}

TEST(KernelsCodebook, NormalizedRangeByHand) {
  const std::vector<float> w = {1, -3, 0.5f, 0.25f, -2};
  const std::vector<float> s = {4, 0.5f, 1};
  float lo = 0, hi = 0;
  normalized_range_cpu(w.data(), s.data(), 1, 5, 2, &lo, &hi);  // u = 0.25 −0.75 1 0.5 −2
  EXPECT_EQ(lo, -2.0f);
  EXPECT_EQ(hi, 1.0f);
  normalized_range_cpu(w.data(), nullptr, 1, 5, 0, &lo, &hi);  // no scales: u = w
  EXPECT_EQ(lo, -3.0f);
  EXPECT_EQ(hi, 1.0f);
}

TEST(KernelsCodebook, HistogramByHand) {
  // u = 0, 0.25, 0.5, 1 on [0, 1] in 4 bins: one per bin (1 is the top edge, in the last bin).
  const std::vector<float> w = {0, 0.5f, 1, 2}, s = {2}, m = {1, 2, 3, 4};
  std::vector<double> sm(4, 0.0), smu(4, 0.0), smuu(4, 0.0);
  codebook_histogram_cpu(w.data(), s.data(), m.data(), 1, 4, 4, 0.0f, 1.0f, 4, sm.data(), smu.data(),
                         smuu.data());
  EXPECT_EQ(sm, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(smu, (std::vector<double>{0, 0.5, 1.5, 4}));
  EXPECT_EQ(smuu, (std::vector<double>{0, 0.125, 0.75, 4}));
  // Accumulates; and an empty range (hi <= lo) puts everything in bin 0.
  codebook_histogram_cpu(w.data(), nullptr, nullptr, 1, 4, 0, 1.0f, 1.0f, 4, sm.data(), smu.data(),
                         smuu.data());
  EXPECT_EQ(sm, (std::vector<double>{5, 2, 3, 4}));
  EXPECT_EQ(smu, (std::vector<double>{3.5, 0.5, 1.5, 4}));
}

TEST(KernelsCodebook, HistogramSumsEqualDirectSums) {
  const int64_t rows = 16, cols = 100, block = 32;  // the last block of each row holds 4
  const std::vector<float> w = student_t(rows * cols, 6);
  const std::vector<float> m = values_of(torch::rand({rows * cols}) + 0.1);
  std::vector<float> s(rows * blocks_per_row(cols, block));
  block_scales_cpu(w.data(), rows, cols, block, false, 1e-5f, true, s.data());
  float lo, hi;
  normalized_range_cpu(w.data(), s.data(), rows, cols, block, &lo, &hi);
  EXPECT_GE(lo, -1.01f);  // |u| ≤ 1 up to the bf16 rounding of the absmax scale
  EXPECT_LE(hi, 1.01f);
  const int bins = 64;
  std::vector<double> sm(bins, 0.0), smu(bins, 0.0), smuu(bins, 0.0);
  codebook_histogram_cpu(w.data(), s.data(), m.data(), rows, cols, block, lo, hi, bins, sm.data(), smu.data(),
                         smuu.data());
  double want_m = 0, want_mu = 0, want_muu = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const double u = w[r * cols + c] / s[r * 4 + c / block], mi = m[r * cols + c];
      want_m += mi, want_mu += mi * u, want_muu += mi * u * u;
    }
  double got_m = 0, got_mu = 0, got_muu = 0;
  const double width = (double(hi) - lo) / bins;
  for (int b = 0; b < bins; ++b) {
    got_m += sm[b], got_mu += smu[b], got_muu += smuu[b];
    if (sm[b] > 0) {  // the bin's weighted mean lies inside the bin
      EXPECT_GE(smu[b] / sm[b], lo + b * width - 1e-9) << b;
      EXPECT_LE(smu[b] / sm[b], lo + (b + 1) * width + 1e-9) << b;
    }
  }
  EXPECT_NEAR(got_m, want_m, 1e-9 * want_m);
  EXPECT_NEAR(got_mu, want_mu, 1e-9 * want_m);
  EXPECT_NEAR(got_muu, want_muu, 1e-9 * want_muu);
}

TEST(KernelsCodebook, AssignmentTiesGoLowAndDequantizesWithTheScale) {
  const std::vector<float> codebook = {-1, 0, 1};  // midpoints −0.5, 0.5
  const std::vector<float> w = {-0.5f, 0.5f, 0.6f, -2, 5, -0.49f};
  std::vector<uint8_t> codes(6);
  std::vector<float> values(6);
  codebook_assign_cpu(w.data(), nullptr, 1, 6, 0, codebook.data(), 3, 0, codes.data(), values.data());
  EXPECT_EQ(codes, (std::vector<uint8_t>{0, 1, 2, 0, 2, 1}));
  EXPECT_EQ(values, (std::vector<float>{-1, 0, 1, -1, 1, 0}));
  // With block scales (blocks of 4: scales 2 and 0.5): u = w / s, ŵ = s·c[code].
  const std::vector<float> s = {2, 0.5f};
  codebook_assign_cpu(w.data(), s.data(), 1, 6, 4, codebook.data(), 3, 0, codes.data(), values.data());
  EXPECT_EQ(codes, (std::vector<uint8_t>{1, 1, 1, 0, 2, 0}));  // u = −0.25 0.25 0.3 −1 10 −0.98
  EXPECT_EQ(values, (std::vector<float>{0, 0, 0, -2, 0.5f, -0.5f}));
  // One codebook per group of 4 along the row (2 rows of 6: 2 groups each, the second of 2).
  const std::vector<float> w2 = {0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
  const std::vector<float> books = {0, 1, -1, 0, 0.2f, 0.3f, -5, 5};  // [4 groups, k = 2]
  std::vector<uint8_t> codes2(12);
  std::vector<float> values2(12);
  codebook_assign_cpu(w2.data(), nullptr, 2, 6, 0, books.data(), 2, 4, codes2.data(), values2.data());
  EXPECT_EQ(codes2, (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(values2, (std::vector<float>{0, 0, 0, 0, 0, 0, 0.2f, 0.2f, 0.2f, 0.2f, 5, 5}));
  EXPECT_THROW(
      codebook_assign_cpu(w.data(), nullptr, 1, 6, 0, codebook.data(), 0, 0, codes.data(), values.data()),
      std::invalid_argument);
}

// ---- CUDA against the CPU references -------------------------------------------------------------

#ifdef QS_WITH_CUDA
torch::Tensor device_floats(const std::vector<float>& v) {
  return torch::from_blob(const_cast<float*>(v.data()), {int64_t(v.size())}, torch::kFloat32)
      .to(torch::kCUDA);
}

std::vector<uint8_t> bytes_of(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU).contiguous();
  return {c.data_ptr<uint8_t>(), c.data_ptr<uint8_t>() + c.numel()};
}

torch::Tensor device_empty(int64_t n, torch::ScalarType type) {
  return torch::empty({n}, torch::TensorOptions().dtype(type).device(torch::kCUDA));
}

// Codes may differ only for values within float rounding of a decision boundary (σ or a sum in
// another order): at most max_fraction of them, and values agree within 1e-5 relative where codes do.
void expect_close(const std::vector<uint8_t>& want_codes, const std::vector<uint8_t>& got_codes,
                  const std::vector<float>& want_values, const std::vector<float>& got_values,
                  double max_fraction, const std::string& what) {
  ASSERT_EQ(want_codes.size(), got_codes.size()) << what;
  int64_t differ = 0, far = 0;
  for (size_t i = 0; i < want_codes.size(); ++i) {
    if (want_codes[i] != got_codes[i]) {
      ++differ;
      continue;
    }
    if (std::abs(want_values[i] - got_values[i]) > 1e-5f * std::abs(want_values[i]) + 1e-30f) ++far;
  }
  EXPECT_LE(double(differ), max_fraction * double(want_codes.size()))
      << what << ": " << differ << " codes differ";
  EXPECT_EQ(far, 0) << what << ": values differ";
}

#define QS_REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine"

TEST(KernelsHadamard, CudaMatchesCpuReference) {
  QS_REQUIRE_CUDA();
  struct Case {
    int64_t rows, cols, block;
  };
  std::vector<Case> cases = {{4096, 4096, 128}, {7, 172, 4},     {3, 1000, 8},      {2, 8192, 2048},
                             {2, 8192, 4096},   {2, 8192, 8192}, {1, 32768, 32768}, {3, 14336, 2048}};
  for (int64_t block = 1; block <= 1024; block *= 2) cases.push_back({5, 2048, block});
  for (const Case& k : cases) {
    std::vector<float> x = gaussian(k.rows * k.cols, 7);
    // Offset by one float: the kernels must also take pointers that are not 16-byte aligned.
    for (const int64_t offset : {0, 1}) {
      torch::Tensor device =
          torch::zeros({k.rows * k.cols + offset}, torch::TensorOptions().device(torch::kCUDA));
      device.narrow(0, offset, k.rows * k.cols).copy_(device_floats(x));
      hadamard_cuda(device.data_ptr<float>() + offset, k.rows, k.cols, k.block);
      const std::vector<float> got = values_of(device.narrow(0, offset, k.rows * k.cols));
      std::vector<float> want = x;
      hadamard_cpu(want.data(), k.rows, k.cols, k.block);
      // Same butterfly order, no fused operations: bit-identical.
      EXPECT_EQ(got, want) << k.rows << "x" << k.cols << " block " << k.block << " offset " << offset;
    }
  }
  torch::Tensor big = torch::zeros({1 << 17}, torch::TensorOptions().device(torch::kCUDA));
  EXPECT_THROW(hadamard_cuda(big.data_ptr<float>(), 1, 1 << 17, 1 << 17), std::invalid_argument);
  EXPECT_THROW(hadamard_cuda(big.data_ptr<float>(), 1, 12, 8), std::invalid_argument);
}

TEST(KernelsQuest, CudaMatchesCpuReference) {
  QS_REQUIRE_CUDA();
  const std::pair<int64_t, int64_t> shapes[] = {{4096, 4096}, {37, 172}, {3, 1000}, {2, 14336}};
  for (const auto& [rows, cols] : shapes) {
    const std::vector<float> x = student_t(rows * cols, 8);
    const torch::Tensor dx = device_floats(x);
    for (int bits = 1; bits <= 8; ++bits) {
      const float alpha = quest_alpha_of(bits);
      const QuestResult want = quest_cpu(x, rows, cols, bits, alpha);
      torch::Tensor sigma = device_empty(rows, torch::kFloat32),
                    codes = device_empty(rows * cols, torch::kUInt8),
                    values = device_empty(rows * cols, torch::kFloat32);
      quest_quantize_cuda(dx.data_ptr<float>(), rows, cols, bits, alpha, sigma.data_ptr<float>(),
                          codes.data_ptr<uint8_t>(), values.data_ptr<float>());
      const std::string what =
          std::to_string(rows) + "x" + std::to_string(cols) + " " + std::to_string(bits) + " bits";
      const std::vector<float> got_sigma = values_of(sigma);
      for (int64_t r = 0; r < rows; ++r)
        ASSERT_NEAR(got_sigma[r], want.sigma[r], 1e-6f * want.sigma[r]) << what;
      const std::vector<uint8_t> got_codes = bytes_of(codes);
      const std::vector<float> got_values = values_of(values);
      expect_close(want.codes, got_codes, want.values, got_values, 1e-5, what);
      // The trust mask, each on its own side's outputs.
      const float threshold = alpha / float((1 << bits) - 1);
      std::vector<uint8_t> want_mask(x.size());
      quest_trust_mask_cpu(x.data(), want.values.data(), want.sigma.data(), rows, cols, threshold,
                           want_mask.data());
      torch::Tensor mask = device_empty(rows * cols, torch::kUInt8);
      quest_trust_mask_cuda(dx.data_ptr<float>(), values.data_ptr<float>(), sigma.data_ptr<float>(), rows,
                            cols, threshold, mask.data_ptr<uint8_t>());
      const std::vector<uint8_t> got_mask = bytes_of(mask);
      int64_t differ = 0;
      for (size_t i = 0; i < x.size(); ++i) differ += want_mask[i] != got_mask[i];
      EXPECT_LE(double(differ), 1e-5 * double(x.size())) << what << ": trust masks differ";
    }
    // In place: dequant aliasing x.
    torch::Tensor inplace = dx.clone(), sigma = device_empty(rows, torch::kFloat32),
                  codes = device_empty(rows * cols, torch::kUInt8);
    quest_quantize_cuda(inplace.data_ptr<float>(), rows, cols, 4, quest_alpha_of(4), sigma.data_ptr<float>(),
                        codes.data_ptr<uint8_t>(), inplace.data_ptr<float>());
    const QuestResult want = quest_cpu(x, rows, cols, 4, quest_alpha_of(4));
    expect_close(want.codes, bytes_of(codes), want.values, values_of(inplace), 1e-5, "in place");
  }
}

TEST(KernelsInt, CudaMatchesCpuReference) {
  QS_REQUIRE_CUDA();
  struct Case {
    int64_t rows, cols, group;
  };
  const int64_t whole = -1;  // one group over the whole tensor: a single row
  const Case cases[] = {{32, 4096, 64}, {32, 4096, 128}, {32, 4096, 4096}, {32, 4096, whole},
                        {37, 172, 64},  {37, 172, 172},  {5, 1000, 128},   {5, 1000, whole}};
  for (const Case& k : cases) {
    const std::vector<float> w = student_t(k.rows * k.cols, 9);
    const int64_t rows = k.group == whole ? 1 : k.rows, cols = k.group == whole ? k.rows * k.cols : k.cols;
    const int64_t group = k.group == whole ? cols : k.group;
    const int64_t groups = rows * int_groups_per_row(cols, group);
    const torch::Tensor dw = device_floats(w);
    for (int bits : {1, 2, 3, 4, 5, 8})
      for (const bool asymmetric : {false, true})
        for (const bool clip_search : {false, true}) {
          if (bits == 1 && asymmetric) continue;  // the format grammar has no asymmetric 1 bit
          const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + " g" +
                                   std::to_string(group) + " " + std::to_string(bits) + " bits" +
                                   (asymmetric ? " asym" : "") + (clip_search ? " mse" : "");
          const IntResult want = int_cpu(w, rows, cols, group, bits, asymmetric, clip_search);
          torch::Tensor scales = device_empty(groups, torch::kFloat32),
                        zeros = device_empty(groups, torch::kUInt8),
                        codes = device_empty(rows * cols, torch::kUInt8),
                        values = device_empty(rows * cols, torch::kFloat32);
          uint8_t* zp = asymmetric ? zeros.data_ptr<uint8_t>() : nullptr;
          int_scales_cuda(dw.data_ptr<float>(), rows, cols, group, bits, asymmetric, clip_search,
                          scales.data_ptr<float>(), zp);
          int_quantize_cuda(dw.data_ptr<float>(), rows, cols, group, bits, asymmetric,
                            scales.data_ptr<float>(), zp, codes.data_ptr<uint8_t>(),
                            values.data_ptr<float>());
          EXPECT_EQ(values_of(scales), want.scales) << what;
          if (asymmetric) {
            EXPECT_EQ(bytes_of(zeros), want.zeros) << what;
          }
          expect_close(want.codes, bytes_of(codes), want.values, values_of(values), 1e-5, what);
        }
  }
}

TEST(KernelsCodebook, CudaMatchesCpuReference) {
  QS_REQUIRE_CUDA();
  const std::pair<int64_t, int64_t> shapes[] = {{512, 4096}, {37, 172}, {5, 1000}};
  for (const auto& [rows, cols] : shapes) {
    const std::vector<float> w = student_t(rows * cols, 10);
    const std::vector<float> m = values_of(torch::rand({rows * cols}) + 0.01);
    const torch::Tensor dw = device_floats(w), dm = device_floats(m);
    for (const int64_t block : {int64_t(64), int64_t(100)})
      for (const bool absmean : {false, true}) {
        const std::string what = std::to_string(rows) + "x" + std::to_string(cols) + " b" +
                                 std::to_string(block) + (absmean ? " absmean" : " absmax");
        const int64_t n_scales = rows * blocks_per_row(cols, block);
        std::vector<float> s(n_scales);
        block_scales_cpu(w.data(), rows, cols, block, absmean, 1e-5f, true, s.data());
        torch::Tensor ds = device_empty(n_scales, torch::kFloat32);
        block_scales_cuda(dw.data_ptr<float>(), rows, cols, block, absmean, 1e-5f, true,
                          ds.data_ptr<float>());
        // absmax is exact; absmean differs at most by the last bit of a double sum, which the bf16
        // rounding absorbs.
        EXPECT_EQ(values_of(ds), s) << what;
        ds = device_floats(s);  // from here on both sides use the same scales

        float lo, hi, dlo, dhi;
        normalized_range_cpu(w.data(), s.data(), rows, cols, block, &lo, &hi);
        normalized_range_cuda(dw.data_ptr<float>(), ds.data_ptr<float>(), rows, cols, block, &dlo, &dhi);
        EXPECT_EQ(dlo, lo) << what;
        EXPECT_EQ(dhi, hi) << what;

        const int bins = 1 << 16;
        for (const bool weighted : {false, true}) {
          std::vector<double> sm(bins, 0.0), smu(bins, 0.0), smuu(bins, 0.0);
          codebook_histogram_cpu(w.data(), s.data(), weighted ? m.data() : nullptr, rows, cols, block, lo, hi,
                                 bins, sm.data(), smu.data(), smuu.data());
          torch::Tensor dsums = torch::zeros({bins, 4}, torch::dtype(torch::kFloat64).device(torch::kCUDA));
          codebook_histogram_cuda(dw.data_ptr<float>(), ds.data_ptr<float>(),
                                  weighted ? dm.data_ptr<float>() : nullptr, rows, cols, block, lo, hi, bins,
                                  dsums.data_ptr<double>());
          const torch::Tensor sums = dsums.cpu();
          const auto h = sums.accessor<double, 2>();
          int64_t bad = 0;
          for (int b = 0; b < bins; ++b) {
            const double dsm = h[b][0], dsmu = h[b][1], dsmuu = h[b][2];
            // Same bins, sums in another order; |Σm·u| ≤ sqrt(Σm·Σm·u²) bounds the cancellation.
            const double scale_mu = std::sqrt(sm[b] * smuu[b]);
            bad += std::abs(dsm - sm[b]) > (weighted ? 1e-12 * sm[b] : 0.0);
            bad += std::abs(dsmu - smu[b]) > 1e-12 * scale_mu + 1e-300;
            bad += std::abs(dsmuu - smuu[b]) > 1e-12 * smuu[b] + 1e-300;
          }
          EXPECT_EQ(bad, 0) << what << (weighted ? " weighted" : "") << ": histogram sums differ";
        }

        // Assignment with absmean blocks of 100 and absmax blocks of 64 (the CPU side is slow at k = 256).
        for (int bits : {1, 2, 4, 8}) {
          if (absmean != (block == 100)) break;
          const int k = 1 << bits;
          const int64_t groups_per_row = blocks_per_row(cols, 128);
          // A codebook for the tensor, one per row, one per group of 128: sorted quantiles plus noise.
          for (const int64_t codebook_group : {int64_t(0), cols, int64_t(128)}) {
            const int64_t books =
                codebook_group == 0 ? 1 : (codebook_group == cols ? rows : rows * groups_per_row);
            torch::manual_seed(bits);
            const std::vector<float> cb =
                values_of(std::get<0>(torch::sort(torch::rand({books, k}) * 2 - 1, /*dim=*/1)));
            const torch::Tensor dcb = device_floats(cb);
            std::vector<uint8_t> codes(w.size());
            std::vector<float> values(w.size());
            codebook_assign_cpu(w.data(), s.data(), rows, cols, block, cb.data(), k, codebook_group,
                                codes.data(), values.data());
            torch::Tensor dcodes = device_empty(rows * cols, torch::kUInt8),
                          dvalues = device_empty(rows * cols, torch::kFloat32);
            codebook_assign_cuda(dw.data_ptr<float>(), ds.data_ptr<float>(), rows, cols, block,
                                 dcb.data_ptr<float>(), k, codebook_group, dcodes.data_ptr<uint8_t>(),
                                 dvalues.data_ptr<float>());
            const std::string where =
                what + " k" + std::to_string(k) + " group " + std::to_string(codebook_group);
            EXPECT_EQ(bytes_of(dcodes), codes) << where;
            EXPECT_EQ(values_of(dvalues), values) << where;
          }
        }
        // Without scales, u = w.
        std::vector<uint8_t> codes(w.size());
        std::vector<float> values(w.size());
        const std::vector<float> cb = {-2, -0.5f, 0.1f, 3};
        codebook_assign_cpu(w.data(), nullptr, rows, cols, 0, cb.data(), 4, 0, codes.data(), values.data());
        torch::Tensor dcodes = device_empty(rows * cols, torch::kUInt8),
                      dvalues = device_empty(rows * cols, torch::kFloat32);
        codebook_assign_cuda(dw.data_ptr<float>(), nullptr, rows, cols, 0,
                             device_floats(cb).data_ptr<float>(), 4, 0, dcodes.data_ptr<uint8_t>(),
                             dvalues.data_ptr<float>());
        EXPECT_EQ(bytes_of(dcodes), codes) << what << " no scales";
        EXPECT_EQ(values_of(dvalues), values) << what << " no scales";
      }
  }
}
#endif

}  // namespace
}  // namespace qs::kernels
