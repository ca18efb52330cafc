// CUDA versions of histogram.hpp: moments by a grid-stride reduction, histograms with per-block
// shared-memory bins (global atomics when the bins do not fit in shared memory).
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "histogram.hpp"

namespace qs::kernels {
namespace {

void cuda_check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
}

constexpr int kThreads = 256;

// Five running sums per block: s1..s4 and absmax (as a double), plus the non-finite count.
__global__ void moments_kernel(const float* x, int64_t n, double* sums, unsigned long long* non_finite) {
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0, amax = 0;
  unsigned long long bad = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const double v = x[i];
    if (!isfinite(v)) {
      ++bad;
      continue;
    }
    const double v2 = v * v;
    s1 += v;
    s2 += v2;
    s3 += v2 * v;
    s4 += v2 * v2;
    amax = fmax(amax, fabs(v));
  }
  __shared__ double shared[5][kThreads];
  __shared__ unsigned long long shared_bad[kThreads];
  shared[0][threadIdx.x] = s1;
  shared[1][threadIdx.x] = s2;
  shared[2][threadIdx.x] = s3;
  shared[3][threadIdx.x] = s4;
  shared[4][threadIdx.x] = amax;
  shared_bad[threadIdx.x] = bad;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) {
      for (int k = 0; k < 4; ++k) shared[k][threadIdx.x] += shared[k][threadIdx.x + stride];
      shared[4][threadIdx.x] = fmax(shared[4][threadIdx.x], shared[4][threadIdx.x + stride]);
      shared_bad[threadIdx.x] += shared_bad[threadIdx.x + stride];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    for (int k = 0; k < 4; ++k) atomicAdd(&sums[k], shared[k][0]);
    // absmax >= 0, so the bit pattern of a non-negative double orders like an unsigned integer.
    atomicMax(reinterpret_cast<unsigned long long*>(&sums[4]), __double_as_longlong(shared[4][0]));
    atomicAdd(non_finite, shared_bad[0]);
  }
}

__device__ int bin_of(float v, float lo, double scale, int bins) {
  long long b = static_cast<long long>(floor((double(v) - lo) * scale));
  return static_cast<int>(b < 0 ? 0 : (b >= bins ? bins - 1 : b));
}

__global__ void histogram_shared_kernel(const float* x, int64_t n, float lo, double scale, int bins,
                                        unsigned long long* counts) {
  extern __shared__ unsigned int local[];
  for (int b = threadIdx.x; b < bins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = x[i];
    if (isfinite(v)) atomicAdd(&local[bin_of(v, lo, scale, bins)], 1u);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < bins; b += blockDim.x)
    if (local[b]) atomicAdd(&counts[b], static_cast<unsigned long long>(local[b]));
}

__global__ void histogram_global_kernel(const float* x, int64_t n, float lo, double scale, int bins,
                                        unsigned long long* counts) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const float v = x[i];
    if (isfinite(v)) atomicAdd(&counts[bin_of(v, lo, scale, bins)], 1ull);
  }
}

int grid_for(int64_t n) {
  int device = 0, sms = 0;
  cuda_check(cudaGetDevice(&device), "get device");
  cuda_check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "device attribute");
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  return static_cast<int>(wanted < int64_t(sms) * 8 ? (wanted > 0 ? wanted : 1) : int64_t(sms) * 8);
}

}  // namespace

Moments moments_cuda(const float* x_device, int64_t n) {
  double* sums = nullptr;
  unsigned long long* bad = nullptr;
  cuda_check(cudaMalloc(&sums, 5 * sizeof(double)), "malloc");
  cuda_check(cudaMalloc(&bad, sizeof(unsigned long long)), "malloc");
  cuda_check(cudaMemset(sums, 0, 5 * sizeof(double)), "memset");
  cuda_check(cudaMemset(bad, 0, sizeof(unsigned long long)), "memset");
  if (n > 0) moments_kernel<<<grid_for(n), kThreads>>>(x_device, n, sums, bad);
  double host[5];
  unsigned long long host_bad = 0;
  cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess) status = cudaMemcpy(host, sums, sizeof host, cudaMemcpyDeviceToHost);
  if (status == cudaSuccess) status = cudaMemcpy(&host_bad, bad, sizeof host_bad, cudaMemcpyDeviceToHost);
  cudaFree(sums);
  cudaFree(bad);
  cuda_check(status, "moments");
  return Moments{host[0], host[1], host[2], host[3], host[4], static_cast<int64_t>(host_bad)};
}

void histogram_cuda(const float* x_device, int64_t n, float lo, float hi, int bins, double* counts_host) {
  if (bins <= 0) return;
  unsigned long long* counts = nullptr;
  cuda_check(cudaMalloc(&counts, bins * sizeof(unsigned long long)), "malloc");
  cuda_check(cudaMemset(counts, 0, bins * sizeof(unsigned long long)), "memset");
  const double scale = hi > lo ? bins / (double(hi) - lo) : 0.0;
  const size_t shared_bytes = bins * sizeof(unsigned int);
  if (n > 0) {
    if (shared_bytes <= 48 * 1024) {
      histogram_shared_kernel<<<grid_for(n), kThreads, shared_bytes>>>(x_device, n, lo, scale, bins, counts);
    } else {
      histogram_global_kernel<<<grid_for(n), kThreads>>>(x_device, n, lo, scale, bins, counts);
    }
  }
  std::vector<unsigned long long> host(bins);
  cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess)
    status = cudaMemcpy(host.data(), counts, bins * sizeof(unsigned long long), cudaMemcpyDeviceToHost);
  cudaFree(counts);
  cuda_check(status, "histogram");
  for (int b = 0; b < bins; ++b) counts_host[b] += static_cast<double>(host[b]);
}

}  // namespace qs::kernels
