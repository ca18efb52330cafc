// Fused fake quantization for QAT: the forward pass (block Hadamard rotation, the row's or block's
// scale, the grid or codebook, the gradient estimator's mask, the rotation back) and the backward
// pass (rotation, mask, rotation back) each in one pass over a row, where the generic path in
// core/src/quant/fake_quant.cpp runs some forty LibTorch operations with int64 index tensors the
// size of the weight. That difference is most of what QAT costs over training (issue 16, item 4).
//
// Covered: QuEST (σ per row, its mid-rise grid) and k-means with one pinned codebook and bf16 block
// scales (the paper's format between refits), every estimator. The arithmetic is that of the
// quantizers' references: hadamard_cpu's butterflies, quest_quantize_cpu's grid, block_scales_cpu
// and codebook_assign_cpu's scales and midpoints, the mask of fake_quant.cpp's estimator_mask.
#pragma once
#include <math.h>

#include <cstdint>

#include "host_device.hpp"

namespace qs::kernels {

enum class FakeQuantGrid : int { Quest, Codebook };
enum class FakeQuantMask : int { None, Trust, Clip };

struct FakeQuantSpec {
  int64_t rows = 0, cols = 0;
  int64_t hadamard = 0;  // rotation block; ≤ 1: none, else a power of two dividing cols
  FakeQuantGrid grid = FakeQuantGrid::Quest;
  int bits = 0;          // Quest: the grid's bits, clipped at alpha·σ
  float alpha = 0;
  int64_t block = 0;     // Codebook: columns per bf16 scale (absmean or absmax, at least eps)
  bool absmean = false;
  float eps = 0;
  // The 2^bits sorted levels in normalised units (Quest: its grid in units of σ; Codebook: the
  // codebook). Host memory for the CPU functions, device memory for the CUDA ones.
  const float* levels = nullptr;
  int k = 0;
  FakeQuantMask mask = FakeQuantMask::None;
  // Trust: the tolerated distance in local steps (the estimator's T / 2); Clip: the clip factor.
  float factor = 1;
};

// Per row, in the rotated basis: Σ(q − x)², Σx² and the count of gradient entries the mask zeroes.
constexpr int kFakeQuantRowStats = 3;

// Whether the estimator passes the gradient of a value u assigned to `code`: the local half-step is
// the gap to the neighbouring level on u's side (the outermost levels use their inner gap); the clip
// range runs from the lowest level to the highest, scaled about its centre.
QS_HOST_DEVICE inline bool fake_quant_keeps(float u, int code, const float* levels, int k, FakeQuantMask mask,
                                            float factor) {
  if (mask == FakeQuantMask::Clip) {
    const float low = levels[0], high = levels[k - 1];
    return fabsf(u - (low + high) / 2.0f) <= (high - low) / 2.0f * factor;
  }
  const float level = levels[code];
  float up = levels[code + 1 < k ? code + 1 : k - 1] - level;
  float down = level - levels[code > 0 ? code - 1 : 0];
  if (code == k - 1) up = down;
  if (code == 0) down = up;
  return fabsf(u - level) <= (u >= level ? up : down) * factor;
}

// Throws std::invalid_argument naming what the functions below cannot take (levels, bits, block,
// rotation block).
void fake_quant_spec_require(const FakeQuantSpec& spec);

// x, y: [rows, cols] (y may alias x); mask: [rows, cols], 1 where the gradient passes (unused when
// spec.mask is None); row_stats: [rows, kFakeQuantRowStats].
void fake_quant_forward_cpu(const FakeQuantSpec& spec, const float* x, float* y, uint8_t* mask, double* row_stats);
// grad_in = R(mask ⊙ R(grad)), R the rotation (grad_in may alias grad).
void fake_quant_backward_cpu(const FakeQuantSpec& spec, const float* grad, const uint8_t* mask, float* grad_in);

#ifdef QS_WITH_CUDA
// Whether the CUDA kernels take rows this long (a row is held in shared memory).
bool fake_quant_fits_cuda(const FakeQuantSpec& spec);
// Device pointers; x, y, grad and grad_in are bf16 when bf16 is set, else float. row_stats: float.
// stream: a cudaStream_t (null: the legacy default stream).
void fake_quant_forward_cuda(const FakeQuantSpec& spec, const void* x, void* y, bool bf16, uint8_t* mask,
                             float* row_stats, void* stream);
void fake_quant_backward_cuda(const FakeQuantSpec& spec, const void* grad, const uint8_t* mask, void* grad_in,
                              bool bf16, void* stream);
// One call's statistics from its row_stats, in one launch: sums[0] += zeroed / count, sums[1] +=
// Σ(q − x)² / max(Σx², 1e-30). QAT adds these up every step for its telemetry.
void fake_quant_stats_add_cuda(const float* row_stats, int64_t rows, int64_t count, float* sums, void* stream);
#endif

}  // namespace qs::kernels
