// CUDA version of fused_fake_quant.hpp: one CTA per row, the row held in shared memory, so a forward pass
// reads x once and writes y and the mask once, and a backward pass reads the gradient and the mask
// once. The butterflies, σ's double reduction and the float steps are spelled as the references do
// them (__f*_rn, nothing fused), so given the same σ and block scales the results equal
// fake_quant_forward_cpu's bit for bit; σ and absmean scales can differ only by the order of a
// double sum.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bf16_round.hpp"
#include "block_sum.cuh"
#include "cuda_host.cuh"
#include "fused_fake_quant.hpp"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxSharedBytes = 160 * 1024;

__device__ float value_load(const float* p) { return *p; }
__device__ float value_load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ void value_store(float* p, float v) { *p = v; }
__device__ void value_store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// The block Hadamard rotation of a row in shared memory, hadamard_cpu's butterflies and scaling.
// Rows are short enough (fake_quant_fits_cuda) for 32-bit indices; blocks are powers of two.
__device__ void row_rotate(float* v, int cols, int block, float scale) {
  if (block <= 1) return;
  const int half = block / 2, half_shift = __ffs(half) - 1;
  for (int h = 1, h_shift = 0; h < block; h *= 2, ++h_shift) {
    for (int p = threadIdx.x; p < cols / 2; p += blockDim.x) {
      const int j = p & (half - 1);
      const int i = (p >> half_shift) * block + ((j >> h_shift) << (h_shift + 1)) + (j & (h - 1));
      const float a = v[i], b = v[i + h];
      v[i] = __fadd_rn(a, b);
      v[i + h] = __fsub_rn(a, b);
    }
    __syncthreads();
  }
  for (int i = threadIdx.x; i < cols; i += blockDim.x) v[i] = __fmul_rn(v[i], scale);
  __syncthreads();
}

// Shared memory: the row (cols floats), then the block scales (Codebook), then the levels.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    fake_quant_forward_kernel(FakeQuantSpec spec, float rotate_scale, const T* x, T* y, uint8_t* mask,
                              float* row_stats) {
  extern __shared__ float shared[];
  __shared__ double partial[kWarps];
  const int cols = int(spec.cols), hadamard = int(spec.hadamard);
  const int block = int(spec.block < spec.cols ? spec.block : spec.cols);
  const bool codebook = spec.grid == FakeQuantGrid::Codebook;
  const int blocks = codebook ? (cols + block - 1) / block : 0;
  float* v = shared;
  float* scales = v + cols;
  float* levels = scales + blocks;
  for (int i = threadIdx.x; i < spec.k; i += blockDim.x) levels[i] = spec.levels[i];
  const int top = (1 << spec.bits) - 1, offset = (1 << (spec.bits - 1)) - 1;
  for (int64_t r = blockIdx.x; r < spec.rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) v[i] = value_load(xr + i);
    __syncthreads();
    row_rotate(v, cols, hadamard, rotate_scale);
    double norm = 0;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
      const double d = v[i];
      norm = __dadd_rn(norm, __dmul_rn(d, d));
    }
    norm = block_sum(norm, partial);
    float sigma = 0, clip = 0, delta = 0;
    if (!codebook) {
      sigma = __double2float_rn(__dadd_rn(__dsqrt_rn(cols > 0 ? __ddiv_rn(norm, double(cols)) : 0.0), 1e-8));
      clip = __fmul_rn(spec.alpha, sigma);
      delta = __fdiv_rn(__fmul_rn(2.0f, clip), float(top));
    } else {
      const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
      for (int b = warp; b < blocks; b += kWarps) {
        const int begin = b * block, n = min(block, cols - begin);
        double sum = 0;
        float most = 0;
        for (int i = lane; i < n; i += 32) {
          const float a = fabsf(v[begin + i]);
          sum += double(a);
          most = fmaxf(most, a);
        }
        for (int o = 16; o > 0; o /= 2) {
          sum += __shfl_xor_sync(0xffffffffu, sum, o);
          most = fmaxf(most, __shfl_xor_sync(0xffffffffu, most, o));
        }
        const float s = spec.absmean ? __double2float_rn(__ddiv_rn(sum, double(n))) : most;
        if (lane == 0) scales[b] = bf16_round(fmaxf(s, spec.eps));
      }
      __syncthreads();
    }
    double error = 0, zeroed = 0;
    uint8_t* mr = mask + r * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) {
      const float w = v[i];
      int code;
      float q, s;
      if (!codebook) {
        const float n = rintf(__fadd_rn(__fdiv_rn(fminf(fmaxf(w, -clip), clip), delta), 0.5f));
        code = min(max(static_cast<int>(n) + offset, 0), top);
        q = __fmul_rn(delta, __fsub_rn(float(code - offset), 0.5f));
        s = sigma;
      } else {
        s = scales[i / block];
        const float u = __fdiv_rn(w, s);
        code = 0;
        while (code + 1 < spec.k && __fmul_rn(0.5f, __fadd_rn(levels[code], levels[code + 1])) < u) ++code;
        q = __fmul_rn(s, levels[code]);
      }
      const double d = __dsub_rn(double(q), double(w));
      error = __dadd_rn(error, __dmul_rn(d, d));
      if (spec.mask != FakeQuantMask::None) {
        const bool keep = fake_quant_keeps(__fdiv_rn(w, s), code, levels, spec.k, spec.mask, spec.factor);
        mr[i] = keep ? 1 : 0;
        zeroed += keep ? 0.0 : 1.0;
      }
      v[i] = q;
    }
    error = block_sum(error, partial);
    zeroed = block_sum(zeroed, partial);
    if (threadIdx.x == 0) {
      row_stats[r * kFakeQuantRowStats + 0] = float(error);
      row_stats[r * kFakeQuantRowStats + 1] = float(norm);
      row_stats[r * kFakeQuantRowStats + 2] = float(zeroed);
    }
    row_rotate(v, cols, hadamard, rotate_scale);
    T* yr = y + r * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) value_store(yr + i, v[i]);
    __syncthreads();  // v is the next row's
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    fake_quant_backward_kernel(FakeQuantSpec spec, float rotate_scale, const T* grad, const uint8_t* mask,
                               T* grad_in) {
  extern __shared__ float shared[];
  const int cols = int(spec.cols), hadamard = int(spec.hadamard);
  float* g = shared;
  for (int64_t r = blockIdx.x; r < spec.rows; r += gridDim.x) {
    const T* gr = grad + r * cols;
    const uint8_t* mr = mask + r * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) g[i] = value_load(gr + i);
    __syncthreads();
    row_rotate(g, cols, hadamard, rotate_scale);
    for (int i = threadIdx.x; i < cols; i += blockDim.x)
      if (!mr[i]) g[i] = 0;
    __syncthreads();
    row_rotate(g, cols, hadamard, rotate_scale);
    T* out = grad_in + r * cols;
    for (int i = threadIdx.x; i < cols; i += blockDim.x) value_store(out + i, g[i]);
    __syncthreads();
  }
}

// Without rotation the backward pass is an elementwise product: no shared memory, any row length.
template <typename T>
__global__ void fake_quant_mask_kernel(int64_t count, const T* grad, const uint8_t* mask, T* grad_in) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    value_store(grad_in + i, mask[i] ? value_load(grad + i) : 0.0f);
}

__global__ void __launch_bounds__(kThreads)
    fake_quant_stats_kernel(const float* row_stats, int64_t rows, int64_t count, float* sums) {
  __shared__ double partial[kWarps];
  double error = 0, norm = 0, zeroed = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) {
    error += row_stats[r * kFakeQuantRowStats + 0];
    norm += row_stats[r * kFakeQuantRowStats + 1];
    zeroed += row_stats[r * kFakeQuantRowStats + 2];
  }
  error = block_sum(error, partial);
  norm = block_sum(norm, partial);
  zeroed = block_sum(zeroed, partial);
  if (threadIdx.x == 0) {
    sums[0] += float(zeroed / double(count));
    sums[1] += float(error / fmax(norm, 1e-30));
  }
}

uint64_t forward_shared_bytes(const FakeQuantSpec& spec) {
  const int64_t blocks = spec.grid == FakeQuantGrid::Codebook ? (spec.cols + spec.block - 1) / spec.block : 0;
  return uint64_t(spec.cols + blocks + spec.k) * sizeof(float);
}

float rotate_scale(const FakeQuantSpec& spec) {
  return spec.hadamard > 1 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(spec.hadamard))) : 1.0f;
}

void spec_require(const FakeQuantSpec& spec) {
  fake_quant_spec_require(spec);
  if (!fake_quant_fits_cuda(spec))
    throw std::invalid_argument("fake_quant: rows of " + std::to_string(spec.cols) +
                                " values exceed the kernels' shared memory");
}

unsigned grid_for(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(rows, int64_t(1) << 20)); }

template <typename T>
void forward_launch(const FakeQuantSpec& spec, const void* x, void* y, uint8_t* mask, float* row_stats,
                    cudaStream_t stream) {
  const uint64_t bytes = forward_shared_bytes(spec);
  if (bytes > 48 * 1024)
    QS_CUDA_CHECK(cudaFuncSetAttribute(fake_quant_forward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       kMaxSharedBytes));
  fake_quant_forward_kernel<T><<<grid_for(spec.rows), kThreads, bytes, stream>>>(
      spec, rotate_scale(spec), static_cast<const T*>(x), static_cast<T*>(y), mask, row_stats);
  QS_CUDA_CHECK_LAUNCH();
}

template <typename T>
void backward_launch(const FakeQuantSpec& spec, const void* grad, const uint8_t* mask, void* grad_in,
                     cudaStream_t stream) {
  if (spec.hadamard <= 1) {
    const int64_t count = spec.rows * spec.cols;
    const auto grid = static_cast<unsigned>(std::min<int64_t>((count + kThreads - 1) / kThreads, 4096));
    fake_quant_mask_kernel<T><<<grid, kThreads, 0, stream>>>(count, static_cast<const T*>(grad), mask,
                                                              static_cast<T*>(grad_in));
    QS_CUDA_CHECK_LAUNCH();
    return;
  }
  const uint64_t bytes = uint64_t(spec.cols) * sizeof(float);
  if (bytes > 48 * 1024)
    QS_CUDA_CHECK(cudaFuncSetAttribute(fake_quant_backward_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       kMaxSharedBytes));
  fake_quant_backward_kernel<T><<<grid_for(spec.rows), kThreads, bytes, stream>>>(
      spec, rotate_scale(spec), static_cast<const T*>(grad), mask, static_cast<T*>(grad_in));
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool fake_quant_fits_cuda(const FakeQuantSpec& spec) { return forward_shared_bytes(spec) <= uint64_t(kMaxSharedBytes); }

void fake_quant_forward_cuda(const FakeQuantSpec& spec, const void* x, void* y, bool bf16, uint8_t* mask,
                             float* row_stats, void* stream) {
  spec_require(spec);
  if (spec.rows <= 0 || spec.cols <= 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  if (bf16)
    forward_launch<__nv_bfloat16>(spec, x, y, mask, row_stats, s);
  else
    forward_launch<float>(spec, x, y, mask, row_stats, s);
}

void fake_quant_stats_add_cuda(const float* row_stats, int64_t rows, int64_t count, float* sums, void* stream) {
  if (rows <= 0 || count <= 0) return;
  fake_quant_stats_kernel<<<1, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(row_stats, rows, count, sums);
  QS_CUDA_CHECK_LAUNCH();
}

void fake_quant_backward_cuda(const FakeQuantSpec& spec, const void* grad, const uint8_t* mask, void* grad_in,
                              bool bf16, void* stream) {
  spec_require(spec);
  if (spec.rows <= 0 || spec.cols <= 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  if (spec.mask == FakeQuantMask::None) {  // the rotation is its own inverse: the gradient passes as is
    QS_CUDA_CHECK(cudaMemcpyAsync(grad_in, grad, uint64_t(spec.rows * spec.cols) * (bf16 ? 2 : 4),
                                  cudaMemcpyDeviceToDevice, s));
    return;
  }
  if (bf16)
    backward_launch<__nv_bfloat16>(spec, grad, mask, grad_in, s);
  else
    backward_launch<float>(spec, grad, mask, grad_in, s);
}

}  // namespace qs::kernels
