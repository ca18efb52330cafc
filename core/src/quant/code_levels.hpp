// What a code means before its scale multiplies it, for the formats that store no table of their own
// (integer and QuEST grids, llama.cpp's blocks): their quantizers report it as codebooks, and a layer
// held packed from a checkpoint's stored codes (PackedLinear) reads it here, since nothing stores it.
#pragma once
#include <cstdint>
#include <vector>

#include "quantscope/format.hpp"

namespace qs {
namespace kernels {
enum class GgmlType : int;
}

// The levels of int<b> in units of the scale: code − qmax (symmetric), code (asymmetric), ±1 (int1).
std::vector<float> int_grid(const FormatSpec& spec);
// QuEST's mid-rise grid in units of σ.
std::vector<float> quest_grid(const FormatSpec& spec);

// Rows of ggml blocks read as codes [rows, cols], scales and offsets [rows · cols / sub-block] with
// ŵ = scale · ggml_grid(type)[code] + offset, row-parallel: ggml_levels_row_cpu over a tensor.
void ggml_levels_read(kernels::GgmlType type, const uint8_t* blocks, int64_t rows, int64_t cols, uint8_t* codes,
                      float* scales, float* offsets, bool reference = false);

}  // namespace qs
