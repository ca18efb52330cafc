// The read ceiling of a GEMV for the decode benchmark: a kernel that only reads a buffer in 16-byte
// words (with the packed kernel's no-L1-allocate loads) and keeps a sum so the reads cannot be dropped.
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_host.cuh"
#include "read_stream.hpp"

namespace {

__global__ void read_stream_kernel(const uint4* words, int64_t count, uint32_t* sink) {
  uint32_t sum = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    uint4 v;
    asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(words + i));
    sum ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (sum == 0x9e3779b9u) *sink = sum;  // almost never true, but the compiler cannot know
}

}  // namespace

void read_stream(const void* data, uint64_t bytes, void* sink, void* stream) {
  int device = 0, sms = 0;
  QS_CUDA_CHECK(cudaGetDevice(&device));
  QS_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  read_stream_kernel<<<sms * 8, 256, 0, static_cast<cudaStream_t>(stream)>>>(static_cast<const uint4*>(data),
                                                                            int64_t(bytes / 16),
                                                                            static_cast<uint32_t*>(sink));
  QS_CUDA_CHECK_LAUNCH();
}
