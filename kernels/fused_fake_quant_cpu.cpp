// Scalar CPU reference for fused_fake_quant.hpp, composed from the quantizers' own references row by row:
// what the CUDA kernels are tested against, and what tests compare with the generic LibTorch path.
#include <stdexcept>
#include <string>
#include <vector>

#include "codebook.hpp"
#include "fused_fake_quant.hpp"
#include "hadamard.hpp"
#include "quest_quantize.hpp"

namespace qs::kernels {
namespace {

void rotate(const FakeQuantSpec& spec, float* row) {
  if (spec.hadamard > 1) hadamard_cpu(row, 1, spec.cols, spec.hadamard);
}

}  // namespace

void fake_quant_spec_require(const FakeQuantSpec& spec) {
  if (spec.k < 1 || spec.k > 256 || !spec.levels)
    throw std::invalid_argument("fake_quant: " + std::to_string(spec.k) + " levels outside 1…256");
  if (spec.grid == FakeQuantGrid::Quest && (spec.bits < 1 || spec.bits > 8 || spec.k != (1 << spec.bits)))
    throw std::invalid_argument("fake_quant: a QuEST grid of " + std::to_string(spec.bits) +
                                " bits needs 2^bits levels");
  if (spec.grid == FakeQuantGrid::Codebook && spec.block < 1)
    throw std::invalid_argument("fake_quant: block " + std::to_string(spec.block) + " < 1");
  if (spec.hadamard > 1 && ((spec.hadamard & (spec.hadamard - 1)) != 0 || spec.cols % spec.hadamard != 0))
    throw std::invalid_argument("fake_quant: Hadamard block " + std::to_string(spec.hadamard) +
                                " must be a power of two dividing the row length " + std::to_string(spec.cols));
}


void fake_quant_forward_cpu(const FakeQuantSpec& spec, const float* x, float* y, uint8_t* mask, double* row_stats) {
  fake_quant_spec_require(spec);
  const int64_t cols = spec.cols, blocks = spec.grid == FakeQuantGrid::Codebook ? blocks_per_row(cols, spec.block) : 1;
  std::vector<float> v(static_cast<size_t>(cols)), q(static_cast<size_t>(cols)), scales(static_cast<size_t>(blocks));
  std::vector<uint8_t> codes(static_cast<size_t>(cols));
  for (int64_t r = 0; r < spec.rows; ++r) {
    std::copy(x + r * cols, x + (r + 1) * cols, v.begin());
    rotate(spec, v.data());
    if (spec.grid == FakeQuantGrid::Quest) {
      quest_quantize_cpu(v.data(), 1, cols, spec.bits, spec.alpha, scales.data(), codes.data(), q.data());
    } else {
      block_scales_cpu(v.data(), 1, cols, spec.block, spec.absmean, spec.eps, true, scales.data());
      codebook_assign_cpu(v.data(), scales.data(), 1, cols, spec.block, spec.levels, spec.k, 0, codes.data(), q.data());
    }
    double error = 0, norm = 0, zeroed = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double d = double(q[size_t(c)]) - double(v[size_t(c)]);
      error += d * d;
      norm += double(v[size_t(c)]) * double(v[size_t(c)]);
      if (spec.mask == FakeQuantMask::None) continue;
      const float s = spec.grid == FakeQuantGrid::Quest ? scales[0] : scales[size_t(c / spec.block)];
      const bool keep =
          fake_quant_keeps(v[size_t(c)] / s, codes[size_t(c)], spec.levels, spec.k, spec.mask, spec.factor);
      mask[r * cols + c] = keep ? 1 : 0;
      zeroed += keep ? 0 : 1;
    }
    row_stats[r * kFakeQuantRowStats + 0] = error;
    row_stats[r * kFakeQuantRowStats + 1] = norm;
    row_stats[r * kFakeQuantRowStats + 2] = zeroed;
    rotate(spec, q.data());
    std::copy(q.begin(), q.end(), y + r * cols);
  }
}

void fake_quant_backward_cpu(const FakeQuantSpec& spec, const float* grad, const uint8_t* mask, float* grad_in) {
  const int64_t cols = spec.cols;
  std::vector<float> g(static_cast<size_t>(cols));
  for (int64_t r = 0; r < spec.rows; ++r) {
    std::copy(grad + r * cols, grad + (r + 1) * cols, g.begin());
    if (spec.mask != FakeQuantMask::None) {
      rotate(spec, g.data());
      for (int64_t c = 0; c < cols; ++c)
        if (!mask[r * cols + c]) g[size_t(c)] = 0;
      rotate(spec, g.data());
    }
    std::copy(g.begin(), g.end(), grad_in + r * cols);
  }
}

}  // namespace qs::kernels
