// A double sum over a thread block in one fixed order (lanes by xor shuffle, then warps in order), so
// kernels that must agree on a sum (QuEST's σ in the quantizer and in fused fake quantization) do.
#pragma once
#include <cuda_runtime.h>

namespace qs::kernels {

// shared: one double per warp. Every thread gets the total; shared may be reused after the call.
__device__ inline double block_sum(double v, double* shared) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double total = 0;
  for (int w = 0; w < blockDim.x / 32; ++w) total += shared[w];
  __syncthreads();
  return total;
}

}  // namespace qs::kernels
