// Moments and fixed-range histograms of float arrays: the statistics behind every weight table and
// histogram plot, and (later) the fine histograms that exact k-means runs on. CPU references and CUDA
// versions share these raw-pointer interfaces; the CUDA ones take device pointers.
#pragma once
#include <cstdint>

namespace qs::kernels {

// Sums of x, x², x³, x⁴ (in double), the absolute maximum, and the count of non-finite values.
struct Moments {
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  double absmax = 0;
  int64_t non_finite = 0;
};

Moments moments_cpu(const float* x, int64_t n);
// counts[bins] += number of x in each of `bins` equal bins over [lo, hi]; outside values clamp to
// the edge bins; non-finite values are skipped.
void histogram_cpu(const float* x, int64_t n, float lo, float hi, int bins, double* counts);

#ifdef QS_WITH_CUDA
Moments moments_cuda(const float* x_device, int64_t n);
void histogram_cuda(const float* x_device, int64_t n, float lo, float hi, int bins, double* counts_host);
#endif

}  // namespace qs::kernels
