// CUDA version of codebook.hpp. Block scales: one warp per block of weights. Range: per-CTA
// reduction, then integer atomics on an order-preserving mapping of the floats. Histogram: global
// double atomicAdd straight into the bins ([bin][4] interleaved, so the three sums of a bin share a
// 32-byte sector): 2^16 bins × 3 doubles do not fit one CTA's shared memory, and the bins in use are
// spread widely enough that contention stays low (sm_90 has native double atomics in L2).
// Assignment: the tensor's one codebook and its midpoints in shared memory; per-row or per-group
// codebooks are read through the cache with the midpoints formed on the fly, the same float steps.
// Codes, values, bins and the range are bit-identical to the CPU reference; the histogram sums and
// absmean scales differ only by summation order.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bf16_round.hpp"
#include "codebook.hpp"
#include "cuda_host.cuh"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxCodebook = 256;  // codes are bytes

struct Layout {
  int64_t rows, cols, block, blocks;  // blocks: scales per row (0 without scales)
};

__device__ __forceinline__ float normalized(const float* w, const float* scales, const Layout& l, int64_t r,
                                            int64_t c) {
  const float v = w[r * l.cols + c];
  return scales ? __fdiv_rn(v, scales[r * l.blocks + c / l.block]) : v;
}

__global__ void __launch_bounds__(kThreads)
    block_scales_kernel(const float* w, Layout l, bool absmean, float eps, bool round_bf16, float* scales) {
  const int lane = threadIdx.x & 31;
  const int64_t tasks = l.rows * l.blocks;
  for (int64_t t = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; t < tasks;
       t += (int64_t(gridDim.x) * blockDim.x) >> 5) {
    const int64_t r = t / l.blocks, b = t - r * l.blocks;
    const float* wb = w + r * l.cols + b * l.block;
    const int64_t n = min(l.block, l.cols - b * l.block);
    double sum = 0;
    float amax = 0;
    for (int64_t i = lane; i < n; i += 32) {
      sum += fabs(double(wb[i]));
      amax = fmaxf(amax, fabsf(wb[i]));
    }
    for (int offset = 16; offset > 0; offset /= 2) {
      sum += __shfl_xor_sync(0xffffffffu, sum, offset);
      amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, offset));
    }
    if (lane == 0) {
      float s = absmean ? __double2float_rn(__ddiv_rn(sum, double(n))) : amax;
      s = fmaxf(s, eps);
      scales[t] = round_bf16 ? bf16_round(s) : s;
    }
  }
}

// Signed-integer keys that order like the floats they encode (an involution).
__device__ __forceinline__ int float_key(float f) {
  const int i = __float_as_int(f);
  return i >= 0 ? i : i ^ INT_MAX;
}

__global__ void __launch_bounds__(kThreads)
    normalized_range_kernel(const float* w, const float* scales, Layout l, int* keys) {
  float mn = INFINITY, mx = -INFINITY;
  for (int64_t r = blockIdx.y; r < l.rows; r += gridDim.y)
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < l.cols;
         c += int64_t(gridDim.x) * blockDim.x) {
      const float u = normalized(w, scales, l, r, c);
      mn = fminf(mn, u);
      mx = fmaxf(mx, u);
    }
  for (int offset = 16; offset > 0; offset /= 2) {
    mn = fminf(mn, __shfl_xor_sync(0xffffffffu, mn, offset));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, offset));
  }
  __shared__ float shared_min[kWarps], shared_max[kWarps];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) shared_min[warp] = mn, shared_max[warp] = mx;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < kWarps; ++k) mn = fminf(mn, shared_min[k]), mx = fmaxf(mx, shared_max[k]);
    atomicMin(&keys[0], float_key(mn));
    atomicMax(&keys[1], float_key(mx));
  }
}

__global__ void codebook_histogram_kernel(const float* w, const float* scales, const float* importance,
                                          Layout l, float lo, double bin_scale, int bins, double* sums) {
  for (int64_t r = blockIdx.y; r < l.rows; r += gridDim.y)
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < l.cols;
         c += int64_t(gridDim.x) * blockDim.x) {
      const double u = normalized(w, scales, l, r, c);
      const double f = floor(__dmul_rn(__dsub_rn(u, double(lo)), bin_scale));
      const int bin = f < 0 ? 0 : (f > bins - 1 ? bins - 1 : static_cast<int>(f));
      const double m = importance ? double(importance[r * l.cols + c]) : 1.0;
      const double mu = __dmul_rn(m, u);
      double* s = sums + 4 * int64_t(bin);
      atomicAdd(s, m);
      atomicAdd(s + 1, mu);
      atomicAdd(s + 2, __dmul_rn(mu, u));
    }
}

__device__ __forceinline__ float midpoint(const float* c, int j) {
  return __fmul_rn(0.5f, __fadd_rn(c[j], c[j + 1]));
}

__global__ void __launch_bounds__(kThreads)
    codebook_assign_kernel(const float* w, const float* scales, Layout l, const float* codebooks, int k,
                           int64_t codebook_group, int64_t groups, uint8_t* codes, float* dequant) {
  __shared__ float shared_codebook[kMaxCodebook], shared_mid[kMaxCodebook];
  const bool single = codebook_group == 0;
  if (single)
    for (int j = threadIdx.x; j < k; j += blockDim.x) {
      shared_codebook[j] = codebooks[j];
      if (j + 1 < k) shared_mid[j] = midpoint(codebooks, j);
    }
  __syncthreads();
  int top_step = 1;
  while (top_step * 2 <= k - 1) top_step *= 2;
  for (int64_t r = blockIdx.y; r < l.rows; r += gridDim.y)
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < l.cols;
         c += int64_t(gridDim.x) * blockDim.x) {
      const float u = normalized(w, scales, l, r, c);
      const float* cb = single ? shared_codebook : codebooks + (r * groups + c / codebook_group) * k;
      // code = the number of midpoints strictly below u; midpoints are sorted, so binary lifting.
      int code = 0;
      for (int step = k > 1 ? top_step : 0; step > 0; step >>= 1) {
        const int j = code + step - 1;
        if (code + step <= k - 1 && (single ? shared_mid[j] : midpoint(cb, j)) < u) code += step;
      }
      const int64_t i = r * l.cols + c;
      codes[i] = static_cast<uint8_t>(code);
      dequant[i] = scales ? __fmul_rn(scales[r * l.blocks + c / l.block], cb[code]) : cb[code];
    }
}

Layout layout_of(int64_t rows, int64_t cols, int64_t block, const float* scales) {
  return {rows, cols, scales ? block : 1, scales ? blocks_per_row(cols, block) : 0};
}

dim3 grid_2d(int64_t rows, int64_t cols, int64_t max_x, int64_t max_y) {
  return dim3(static_cast<unsigned>(std::clamp<int64_t>((cols + kThreads - 1) / kThreads, 1, max_x)),
              static_cast<unsigned>(std::clamp<int64_t>(rows, 1, max_y)));
}

}  // namespace

void block_scales_cuda(const float* w, int64_t rows, int64_t cols, int64_t block, bool absmean, float eps,
                       bool round_bf16, float* scales) {
  const Layout l{rows, cols, block, blocks_per_row(cols, block)};
  const int64_t tasks = rows * l.blocks;
  if (tasks == 0) return;
  const int64_t grid = std::min<int64_t>((tasks + kWarps - 1) / kWarps, int64_t(1) << 20);
  block_scales_kernel<<<static_cast<unsigned>(grid), kThreads>>>(w, l, absmean, eps, round_bf16, scales);
  QS_CUDA_CHECK_LAUNCH();
}

void normalized_range_cuda(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                           float* lo_host, float* hi_host) {
  if (rows <= 0 || cols <= 0) {
    *lo_host = *hi_host = 0;
    return;
  }
  const Layout l = layout_of(rows, cols, block, scales);
  DeviceBuffer<int> keys(2);
  const int init[2] = {INT_MAX, INT_MIN};
  QS_CUDA_CHECK(cudaMemcpyAsync(keys.get(), init, sizeof init, cudaMemcpyHostToDevice, 0));
  // Enough CTAs to fill the device; each reduces many weights before its two atomics.
  normalized_range_kernel<<<grid_2d(rows, cols, 16, 1024), kThreads>>>(w, scales, l, keys.get());
  QS_CUDA_CHECK_LAUNCH();
  int result[2];
  QS_CUDA_CHECK(cudaMemcpyAsync(result, keys.get(), sizeof result, cudaMemcpyDeviceToHost, 0));
  QS_CUDA_CHECK(cudaStreamSynchronize(0));
  for (int& key : result)
    if (key < 0) key ^= INT_MAX;
  std::memcpy(lo_host, &result[0], sizeof(float));
  std::memcpy(hi_host, &result[1], sizeof(float));
}

void codebook_histogram_cuda(const float* w, const float* scales, const float* importance, int64_t rows,
                             int64_t cols, int64_t block, float lo, float hi, int bins, double* sums) {
  if (bins <= 0 || rows <= 0 || cols <= 0) return;
  const Layout l = layout_of(rows, cols, block, scales);
  const double bin_scale = hi > lo ? bins / (double(hi) - double(lo)) : 0.0;
  codebook_histogram_kernel<<<grid_2d(rows, cols, 4096, 65535), kThreads>>>(w, scales, importance, l, lo,
                                                                            bin_scale, bins, sums);
  QS_CUDA_CHECK_LAUNCH();
}

void codebook_assign_cuda(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                          const float* codebooks, int k, int64_t codebook_group, uint8_t* codes,
                          float* dequant) {
  if (k < 1 || k > kMaxCodebook)
    throw std::invalid_argument("codebook_assign: codebook size " + std::to_string(k) + " outside 1…256");
  if (rows <= 0 || cols <= 0) return;
  const Layout l = layout_of(rows, cols, block, scales);
  const int64_t groups = codebook_group > 0 ? blocks_per_row(cols, codebook_group) : 0;
  codebook_assign_kernel<<<grid_2d(rows, cols, 4096, 65535), kThreads>>>(
      w, scales, l, codebooks, k, codebook_group, groups, codes, dequant);
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace qs::kernels
