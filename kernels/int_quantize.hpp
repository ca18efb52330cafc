// Round-to-nearest integer quantization over groups of `group` consecutive weights along a row (the
// last group of a row may be shorter; group == cols: one per row; a whole tensor is one row).
// Scales are rounded to bfloat16, the precision they are stored in, before use.
//   b ≥ 2 symmetric: qmax = 2^(b−1) − 1, s = bf16(r·absmax/qmax), q = clamp(round(w/s), ±qmax),
//                    code = q + qmax (2^b − 1 levels, zero included; 1-Bit Wonder's baseline).
//   b ≥ 2 asymmetric: lo = r·min(w, 0), hi = r·max(w, 0), s = bf16((hi − lo)/(2^b − 1)),
//                    z = clamp(round(−lo/s), 0, 2^b − 1), code = clamp(round(w/s) + z, 0, 2^b − 1),
//                    ŵ = (code − z)·s.
//   b = 1: sign × absmean: s = bf16(mean|w|), code = w ≥ 0, ŵ = ±s (the MSE-optimal scale for sign).
// r is the clip ratio: 1, or with clip search the r in {1, 0.99, …, 0.10} with the least group MSE
// (ties to the larger r). s = 0 (an all-zero group) encodes every weight as 0.
#pragma once
#include <cstdint>

namespace qs::kernels {

int64_t int_groups_per_row(int64_t cols, int64_t group);
// What a code means: ±s for b = 1, (code − qmax)·s symmetric, (code − z)·s asymmetric.
float int_dequantize(uint8_t code, float scale, uint8_t zero, int bits, bool asymmetric);

// scales, zeros: [rows · groups_per_row]; zeros only when asymmetric (else may be null).
void int_scales_cpu(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                    bool clip_search, float* scales, uint8_t* zeros);
void int_quantize_cpu(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                      const float* scales, const uint8_t* zeros, uint8_t* codes, float* dequant);
// The vectorised CPU path: int_scales_cpu then int_quantize_cpu in one sweep, equal to them bit for bit.
void int_quantize_fast(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                       bool clip_search, float* scales, uint8_t* zeros, uint8_t* codes, float* dequant);

#ifdef QS_WITH_CUDA
void int_scales_cuda(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                     bool clip_search, float* scales, uint8_t* zeros);
void int_quantize_cuda(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                       const float* scales, const uint8_t* zeros, uint8_t* codes, float* dequant);
#endif

}  // namespace qs::kernels
