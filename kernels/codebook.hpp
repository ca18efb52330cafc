// The pieces of codebook formats (k-means, NF4): block scales, the range and the fine weighted
// histogram of normalised values that exact k-means fits on, and nearest-centroid code assignment.
// Blocks and codebook groups run along a row; the last one of a row may be shorter. The CUDA
// versions take device pointers except for arguments named _host.
//   u = w / s for the block's scale s (or u = w when scales is null).
#pragma once
#include <cstdint>

namespace qs::kernels {

int64_t blocks_per_row(int64_t cols, int64_t block);

// scales: [rows · blocks_per_row]. absmean: mean |w|; absmax: max |w|; then max(·, eps), then rounded
// to bfloat16 when round_bf16 (the stored precision).
void block_scales_cpu(const float* w, int64_t rows, int64_t cols, int64_t block, bool absmean, float eps,
                      bool round_bf16, float* scales);
// min and max of u over the tensor.
void normalized_range_cpu(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                          float* lo, float* hi);
// For every weight, bin = clamp(floor((u − lo)·bins/(hi − lo)), 0, bins − 1), and with m the weight's
// importance (1 when importance is null): sum_m[bin] += m, sum_mu[bin] += m·u, sum_muu[bin] += m·u².
// Accumulates into the arrays (double; host arrays for the CUDA version too).
void codebook_histogram_cpu(const float* w, const float* scales, const float* importance, int64_t rows,
                            int64_t cols, int64_t block, float lo, float hi, int bins, double* sum_m,
                            double* sum_mu, double* sum_muu);
// Nearest centroid: code = number of midpoints (c[j] + c[j+1])/2 strictly below u (ties go to the
// lower centroid), ŵ = s·c[code]. codebooks: [n, k] sorted; codebook_group = 0: one codebook for
// the tensor, else codebook (row · groups + col / codebook_group), groups = blocks_per_row(cols,
// codebook_group).
void codebook_assign_cpu(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                         const float* codebooks, int k, int64_t codebook_group, uint8_t* codes, float* dequant);

// The vectorised CPU paths of the four above, equal to them bit for bit on the same rows.
void block_scales_fast(const float* w, int64_t rows, int64_t cols, int64_t block, bool absmean, float eps,
                       bool round_bf16, float* scales);
void normalized_range_fast(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                           float* lo, float* hi);
void codebook_histogram_fast(const float* w, const float* scales, const float* importance, int64_t rows,
                             int64_t cols, int64_t block, float lo, float hi, int bins, double* sum_m,
                             double* sum_mu, double* sum_muu);
void codebook_assign_fast(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                          const float* codebooks, int k, int64_t codebook_group, uint8_t* codes, float* dequant);

#ifdef QS_WITH_CUDA
void block_scales_cuda(const float* w, int64_t rows, int64_t cols, int64_t block, bool absmean, float eps,
                       bool round_bf16, float* scales);
void normalized_range_cuda(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                           float* lo_host, float* hi_host);
// Into device memory: sums [bins][4] (Σm, Σm·u, Σm·u², unused, so that a bin's sums share a sector),
// accumulated into.
void codebook_histogram_cuda(const float* w, const float* scales, const float* importance, int64_t rows,
                             int64_t cols, int64_t block, float lo, float hi, int bins, double* sums);
void codebook_assign_cuda(const float* w, const float* scales, int64_t rows, int64_t cols, int64_t block,
                          const float* codebooks, int k, int64_t codebook_group, uint8_t* codes, float* dequant);
#endif

}  // namespace qs::kernels
