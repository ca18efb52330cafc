// CUDA version of quest_quantize.hpp: one CTA per row, two passes over the row (the second read
// mostly hits L2): σ from a double block reduction, then clamp, round and dequantize. Every float step
// is spelled with an __f*_rn intrinsic in the CPU reference's order, so given the same σ the codes and
// values are bit-identical to quest_quantize_cpu; σ itself can differ only by the double reduction
// order (a last-bit difference of Σx² that almost never survives the rounding to float).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "block_sum.cuh"
#include "cuda_host.cuh"
#include "quest_quantize.hpp"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    quest_quantize_kernel(const float* x, int64_t rows, int64_t cols, int bits, float alpha, float* sigma,
                          uint8_t* codes, float* dequant) {
  __shared__ double partial[kThreads / 32];
  const int top = (1 << bits) - 1;
  const int offset = (1 << (bits - 1)) - 1;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    double sum_squares = 0;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      const double v = xr[i];
      sum_squares = __dadd_rn(sum_squares, __dmul_rn(v, v));
    }
    sum_squares = block_sum(sum_squares, partial);
    const double mean_square = cols > 0 ? __ddiv_rn(sum_squares, double(cols)) : 0.0;
    const float s = __double2float_rn(__dadd_rn(__dsqrt_rn(mean_square), 1e-8));
    if (threadIdx.x == 0) sigma[r] = s;
    const float clip = __fmul_rn(alpha, s);
    const float delta = __fdiv_rn(__fmul_rn(2.0f, clip), float(top));
    uint8_t* cr = codes + r * cols;
    float* dr = dequant + r * cols;  // may alias xr: each thread reads its value before writing it
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) {
      const float v = fminf(fmaxf(xr[i], -clip), clip);
      const float n = rintf(__fadd_rn(__fdiv_rn(v, delta), 0.5f));
      const int code = min(max(static_cast<int>(n) + offset, 0), top);
      cr[i] = static_cast<uint8_t>(code);
      dr[i] = __fmul_rn(delta, __fsub_rn(float(code - offset), 0.5f));
    }
  }
}

__global__ void quest_trust_mask_kernel(const float* x, const float* q, const float* sigma, int64_t rows,
                                        int64_t cols, float threshold, uint8_t* mask) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const float limit = __fmul_rn(threshold, sigma[r]);
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols;
         c += int64_t(gridDim.x) * blockDim.x) {
      const int64_t i = r * cols + c;
      mask[i] = fabsf(__fsub_rn(q[i], x[i])) <= limit ? 1 : 0;
    }
  }
}

}  // namespace

void quest_quantize_cuda(const float* x, int64_t rows, int64_t cols, int bits, float alpha, float* sigma,
                         uint8_t* codes, float* dequant) {
  if (rows <= 0) return;
  const int64_t grid = std::min<int64_t>(rows, int64_t(1) << 20);
  quest_quantize_kernel<<<static_cast<unsigned>(grid), kThreads>>>(x, rows, cols, bits, alpha, sigma, codes,
                                                                   dequant);
  QS_CUDA_CHECK_LAUNCH();
}

void quest_trust_mask_cuda(const float* x, const float* q, const float* sigma, int64_t rows, int64_t cols,
                           float threshold, uint8_t* mask) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((cols + kThreads - 1) / kThreads, 1024)),
                  static_cast<unsigned>(std::min<int64_t>(rows, 65535)));
  quest_trust_mask_kernel<<<grid, kThreads>>>(x, q, sigma, rows, cols, threshold, mask);
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace qs::kernels
