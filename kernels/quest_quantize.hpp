// QuEST's quantizer on already-rotated rows (methods.md §1): σ = sqrt(mean(x²)) + 1e-8 over the whole
// row, clip at α·σ, step Δ = 2ασ/(2^b − 1), mid-rise grid q = Δ·(round(clamp(x)/Δ + ½) − ½) with
// round half to even. code = round(clamp(x)/Δ + ½) + 2^(b−1) − 1, in 0 … 2^b − 1.
#pragma once
#include <cstdint>

namespace qs::kernels {

// x, dequant: [rows, cols]; sigma: [rows]; codes: [rows, cols]. dequant may alias x.
void quest_quantize_cpu(const float* x, int64_t rows, int64_t cols, int bits, float alpha, float* sigma,
                        uint8_t* codes, float* dequant);
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
