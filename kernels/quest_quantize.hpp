// QuEST's quantizer on already-rotated rows (methods.md §1): σ = sqrt(mean(x²)) + 1e-8 over the whole
// row, clip at α·σ, step Δ = 2ασ/(2^b − 1), mid-rise grid q = Δ·(round(clamp(x)/Δ + ½) − ½) with
// round half to even. code = round(clamp(x)/Δ + ½) + 2^(b−1) − 1, in 0 … 2^b − 1.
#pragma once
#include <cstdint>

namespace qs::kernels {

// x, dequant: [rows, cols]; sigma: [rows]; codes: [rows, cols]. dequant may alias x.
void quest_quantize_cpu(const float* x, int64_t rows, int64_t cols, int bits, float alpha, float* sigma,
                        uint8_t* codes, float* dequant);
// The vectorised CPU path of a whole QuEST format on unrotated rows w: equal bit for bit to
// hadamard_cpu(block) on a copy, quest_quantize_cpu, then hadamard_cpu(block) on the dequantized
// values (block ≤ 1: no rotation). rotated: [rows, cols] for the rotated weight, or null.
void quest_rows_fast(const float* w, int64_t rows, int64_t cols, int64_t block, int bits, float alpha,
                     float* sigma, uint8_t* codes, float* dequant, float* rotated);
// The trust estimator's mask: mask = |q − x| ≤ threshold·σ_row (1 = gradient kept).
void quest_trust_mask_cpu(const float* x, const float* q, const float* sigma, int64_t rows, int64_t cols,
                          float threshold, uint8_t* mask);

#ifdef QS_WITH_CUDA
void quest_quantize_cuda(const float* x, int64_t rows, int64_t cols, int bits, float alpha, float* sigma,
                         uint8_t* codes, float* dequant);
void quest_trust_mask_cuda(const float* x, const float* q, const float* sigma, int64_t rows, int64_t cols,
                           float threshold, uint8_t* mask);
#endif

}  // namespace qs::kernels
