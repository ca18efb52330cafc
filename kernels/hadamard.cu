// CUDA version of hadamard.hpp. Every block up to 4096 is transformed in registers, each value read
// and written once with fully coalesced accesses:
//   block ≤ 256: a thread holds V ≤ 8 consecutive values (vector loads), does the log2(V) stages of
//     strides < V inside its registers and the rest by __shfl_xor between lanes (block 128: V = 4,
//     2 register stages + 5 shuffle stages, one warp per 128 values);
//   512 … 4096: lane l holds the values l + 32·j of a block, the stages of strides 1…16 go between
//     lanes and the larger ones inside registers (up to 128 registers of values at 4096).
// Larger blocks go through shared memory, up to what one CTA's shared memory holds (32768 floats on
// sm_90); beyond that std::invalid_argument. The butterfly stages run in the CPU reference's order
// (stride 1, 2, 4, …) on the same operands, with no fused operations, so the results are
// bit-identical to hadamard_cpu.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda_host.cuh"
#include "hadamard.hpp"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;

template <int V>
__device__ __forceinline__ void values_load(const float* p, float (&v)[V], bool vector) {
  if constexpr (V % 4 == 0) {
    if (vector) {
#pragma unroll
      for (int j = 0; j < V; j += 4) {
        const float4 t = *reinterpret_cast<const float4*>(p + j);
        v[j] = t.x, v[j + 1] = t.y, v[j + 2] = t.z, v[j + 3] = t.w;
      }
      return;
    }
  } else if constexpr (V == 2) {
    if (vector) {
      const float2 t = *reinterpret_cast<const float2*>(p);
      v[0] = t.x, v[1] = t.y;
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < V; ++j) v[j] = p[j];
}

template <int V>
__device__ __forceinline__ void values_store(float* p, const float (&v)[V], bool vector) {
  if constexpr (V % 4 == 0) {
    if (vector) {
#pragma unroll
      for (int j = 0; j < V; j += 4)
        *reinterpret_cast<float4*>(p + j) = make_float4(v[j], v[j + 1], v[j + 2], v[j + 3]);
      return;
    }
  } else if constexpr (V == 2) {
    if (vector) {
      *reinterpret_cast<float2*>(p) = make_float2(v[0], v[1]);
      return;
    }
  }
#pragma unroll
  for (int j = 0; j < V; ++j) p[j] = v[j];
}

// The butterfly stages of strides 1 … V/2 over a thread's V registers, in the CPU's order; every
// index is a compile-time constant once unrolled, so v stays in registers.
template <int V>
__device__ __forceinline__ void butterfly_registers(float (&v)[V]) {
#pragma unroll
  for (int lh = 0; (1 << lh) < V; ++lh)
#pragma unroll
    for (int q = 0; q < V / 2; ++q) {
      const int h = 1 << lh, j = ((q >> lh) << (lh + 1)) | (q & (h - 1));
      const float a = v[j], b = v[j + h];
      v[j] = a + b;
      v[j + h] = a - b;
    }
}

// A Hadamard block is V·2^lane_bits values over 2^lane_bits lanes. A warp covers 32·V consecutive
// values per unit and U units per step (loads first, for more bytes in flight). n is a multiple of the
// block, so a lane's V values are either all inside the array or all past its end.
template <int V, int U>
__global__ void __launch_bounds__(kThreads)
    hadamard_warp_kernel(float* x, int64_t n, int lane_bits, float scale, bool vector) {
  const int lane = threadIdx.x & 31;
  const int64_t unit = 32 * V;
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t first = warp * U; first * unit < n; first += warps * U) {
    float v[U][V];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int64_t base = (first + u) * unit + int64_t(lane) * V;
      if (base < n) {
        values_load<V>(x + base, v[u], vector);
      } else {
#pragma unroll
        for (int j = 0; j < V; ++j) v[u][j] = 0.0f;
      }
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      butterfly_registers<V>(v[u]);
#pragma unroll
      for (int s = 0; s < 5; ++s) {
        if (s >= lane_bits) break;
        const int mask = 1 << s;
        const bool upper = lane & mask;  // holds the second operand of the pair: gets a − b
#pragma unroll
        for (int j = 0; j < V; ++j) {
          const float other = __shfl_xor_sync(0xffffffffu, v[u][j], mask);
          v[u][j] = upper ? other - v[u][j] : v[u][j] + other;
        }
      }
#pragma unroll
      for (int j = 0; j < V; ++j) v[u][j] *= scale;
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int64_t base = (first + u) * unit + int64_t(lane) * V;
      if (base < n) values_store<V>(x + base, v[u], vector);
    }
  }
}

// Blocks of 32·V values for large V: lane l holds the values l + 32·j, so every load and store of the
// warp is one contiguous 128-byte line. The first five stages (strides 1…16) go between lanes, the rest
// (strides 32, 64, …) inside registers: the CPU reference's order again.
template <int V>
__global__ void __launch_bounds__(kThreads) hadamard_strided_kernel(float* x, int64_t n, float scale) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t k = warp; k * 32 * V < n; k += warps) {
    float* p = x + k * 32 * V + lane;
    float v[V];
#pragma unroll
    for (int j = 0; j < V; ++j) v[j] = p[32 * j];
#pragma unroll
    for (int s = 0; s < 5; ++s) {
      const int mask = 1 << s;
      const bool upper = lane & mask;
#pragma unroll
      for (int j = 0; j < V; ++j) {
        const float other = __shfl_xor_sync(0xffffffffu, v[j], mask);
        v[j] = upper ? other - v[j] : v[j] + other;
      }
    }
    butterfly_registers<V>(v);
#pragma unroll
    for (int j = 0; j < V; ++j) p[32 * j] = v[j] * scale;
  }
}

__global__ void hadamard_shared_kernel(float* x, int64_t blocks, int log_block, float scale) {
  extern __shared__ float s[];
  const int block = 1 << log_block;
  for (int64_t k = blockIdx.x; k < blocks; k += gridDim.x) {
    float* p = x + k * block;
    for (int i = threadIdx.x; i < block; i += blockDim.x) s[i] = p[i];
    __syncthreads();
    for (int lh = 0; lh < log_block; ++lh) {
      const int h = 1 << lh;
      for (int q = threadIdx.x; q < block / 2; q += blockDim.x) {
        const int i = ((q >> lh) << (lh + 1)) | (q & (h - 1));
        const float a = s[i], b = s[i + h];
        s[i] = a + b;
        s[i + h] = a - b;
      }
      __syncthreads();
    }
    for (int i = threadIdx.x; i < block; i += blockDim.x) p[i] = s[i] * scale;
    __syncthreads();
  }
}

template <int V>
void hadamard_strided_launch(float* x, int64_t n, float scale) {
  const int64_t warps = n / (32 * V);
  const int64_t grid = std::min<int64_t>((warps + kThreads / 32 - 1) / (kThreads / 32), int64_t(1) << 20);
  hadamard_strided_kernel<V><<<static_cast<unsigned>(grid), kThreads>>>(x, n, scale);
  QS_CUDA_CHECK_LAUNCH();
}

template <int V, int U>
void hadamard_warp_launch(float* x, int64_t n, int lane_bits, float scale) {
  const bool vector = (V == 2 || V % 4 == 0) && reinterpret_cast<uintptr_t>(x) % (V == 2 ? 8 : 16) == 0;
  const int64_t units = (n + 32 * V - 1) / (32 * V);
  const int64_t warps = (units + U - 1) / U;
  const int64_t grid = std::min<int64_t>((warps + kThreads / 32 - 1) / (kThreads / 32), int64_t(1) << 20);
  hadamard_warp_kernel<V, U><<<static_cast<unsigned>(grid), kThreads>>>(x, n, lane_bits, scale, vector);
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace

void hadamard_cuda(float* x_device, int64_t rows, int64_t cols, int64_t block) {
  if (block < 1 || (block & (block - 1)) != 0 || cols % block != 0)
    throw std::invalid_argument("hadamard: block " + std::to_string(block) +
                                " must be a power of two dividing the row length " + std::to_string(cols));
  const int64_t n = rows * cols;
  if (block == 1 || n == 0) return;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(block)));
  int log_block = 0;
  while ((int64_t(1) << log_block) < block) ++log_block;
  switch (block) {
    case 2:
      return hadamard_warp_launch<2, 8>(x_device, n, 0, scale);
    case 4:
    case 8:
    case 16:
    case 32:
    case 64:
    case 128:
      return hadamard_warp_launch<4, 4>(x_device, n, log_block - 2, scale);
    case 256:
      return hadamard_warp_launch<8, 2>(x_device, n, 5, scale);
    case 512:
      return hadamard_strided_launch<16>(x_device, n, scale);
    case 1024:
      return hadamard_strided_launch<32>(x_device, n, scale);
    case 2048:
      return hadamard_strided_launch<64>(x_device, n, scale);
    case 4096:
      return hadamard_strided_launch<128>(x_device, n, scale);
    default:
      break;
  }
  int device = 0, shared_max = 0;
  QS_CUDA_CHECK(cudaGetDevice(&device));
  QS_CUDA_CHECK(cudaDeviceGetAttribute(&shared_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  const int64_t bytes = block * int64_t(sizeof(float));
  if (bytes > shared_max)
    throw std::invalid_argument("hadamard_cuda: block " + std::to_string(block) + " exceeds the " +
                                std::to_string(shared_max / sizeof(float)) +
                                " floats one CUDA block's shared memory holds");
  QS_CUDA_CHECK(cudaFuncSetAttribute(hadamard_shared_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(bytes)));
  const int64_t blocks = n / block;
  const int threads = static_cast<int>(std::min<int64_t>(1024, block / 2));
  const int64_t grid = std::min<int64_t>(blocks, int64_t(1) << 20);
  hadamard_shared_kernel<<<static_cast<unsigned>(grid), threads, bytes>>>(x_device, blocks, log_block, scale);
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace qs::kernels
