// ggml's block formats (the GGUF tensor types), quantized and dequantized on the CPU.
//
// Quantscope quantizes to llama.cpp's own types bit for bit, so that a GGUF it writes holds
// exactly what ggml would write for the same floats: same scales, same rounding, same
// packing.  The code follows ggml's reference ("_ref") quantizers operation for operation,
// because a different evaluation order or a fused multiply-add changes the low bits of a
// scale and from there whole blocks.  Compile ggml_quants_cpu.cpp with -ffp-contract=off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace qs::kernels {

// Values are ggml's enum ggml_type (ggml.h), which is also what GGUF stores on disk.
enum class GgmlType : int {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  IQ4_NL = 20,
  BF16 = 30,
};

// Weights per block and bytes per block, as ggml stores them (ggml_blck_size / ggml_type_size).
struct GgmlBlock {
  int64_t weights;
  int64_t bytes;
};

// F32/F16/BF16 are "blocks" of one weight: {1, 4}, {1, 2}, {1, 2}.
GgmlBlock ggml_block(GgmlType type);

// Quantizes n weights of one row (n a multiple of ggml_block(type).weights) into
// n / weights blocks at out.  Bit-identical to
// ggml_quantize_chunk(type, x, out, 0, 1, n, /*imatrix*/ nullptr).
void ggml_quantize_row_cpu(GgmlType type, const float* x, int64_t n, uint8_t* out);

// Expands the n / weights blocks at in back to n floats, bit-identical to ggml's
// type_traits to_float (for F32, a copy).
void ggml_dequantize_row_cpu(GgmlType type, const uint8_t* in, int64_t n, float* y);

// How the blocks of a quantized type read back, for plots and training: each weight is a level of
// its sub-block, ŵ = scales[s]·grid[code] + offsets[s] (offsets 0 for the types without a minimum),
// exactly what ggml_dequantize_row_cpu computes. Sub-blocks of 32 weights, of 16 for q2_K, q3_K and
// q6_K; the grid in units of the scale: −8…7 (q4_0), 0…15 (q4_1, q4_K), −16…15 (q5_0), 0…31 (q5_1,
// q5_K), −128…127 (q8_0), 0…3 (q2_K), −4…3 (q3_K), −32…31 (q6_K), ggml's table (iq4_nl).
int64_t ggml_sub_block(GgmlType type);
std::vector<float> ggml_grid(GgmlType type);
// codes[n], scales and offsets [n / ggml_sub_block(type)].
void ggml_levels_row_cpu(GgmlType type, const uint8_t* in, int64_t n, uint8_t* codes, float* scales, float* offsets);

}  // namespace qs::kernels
