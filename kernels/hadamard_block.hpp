// One block of the Hadamard rotation (hadamard.hpp) in the scalar reference's floats, in loops the
// compiler vectorises; inlined into the vectorised CPU paths (hadamard_fast, quest_rows_fast). Every
// output is the reference's: the stages run in its order (strides 1, 2, 4, …) and each butterfly is
// its a + b, a − b; only the order of independent butterflies within a stage differs.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace qs::kernels {

// The reference's precondition: a block that is a power of two dividing the row.
inline void hadamard_block_check(int64_t block, int64_t cols) {
  if (block < 1 || (block & (block - 1)) != 0 || cols % block != 0)
    throw std::invalid_argument("hadamard: block " + std::to_string(block) +
                                " must be a power of two dividing the row length " + std::to_string(cols));
}

// Strides 1, 2 and 4 on each run of 8 values, as one 8-point step whose runs the compiler interleaves.
inline void hadamard_runs8(float* v, int64_t block) {
  for (int64_t i = 0; i < block; i += 8) {
    float a[8], b[8];
    for (int k = 0; k < 8; ++k) a[k] = v[i + k];
    for (int k = 0; k < 8; k += 2) b[k] = a[k] + a[k + 1], b[k + 1] = a[k] - a[k + 1];
    for (int k = 0; k < 8; k += 4)
      for (int j = k; j < k + 2; ++j) a[j] = b[j] + b[j + 2], a[j + 2] = b[j] - b[j + 2];
    for (int k = 0; k < 4; ++k) v[i + k] = a[k] + a[k + 4], v[i + k + 4] = a[k] - a[k + 4];
  }
}

// v: `block` values (a power of two ≥ 2), rotated in place and multiplied by `scale`.
inline void hadamard_block(float* v, int64_t block, float scale) {
  int64_t h = 1;
  if (block >= 8) {
    hadamard_runs8(v, block);
    h = 8;
  }
  // Strides of 8 and more in runs of 8 copied out first, so that the compiler needs no overlap check.
  for (; h >= 8 && h < block; h *= 2)
    for (int64_t i = 0; i < block; i += 2 * h)
      for (int64_t j = i; j < i + h; j += 8) {
        float a[8], b[8];
        for (int k = 0; k < 8; ++k) a[k] = v[j + k], b[k] = v[j + h + k];
        for (int k = 0; k < 8; ++k) v[j + k] = a[k] + b[k], v[j + h + k] = a[k] - b[k];
      }
  for (; h < block; h *= 2)  // blocks of 2 and 4: the pairs (j, j + h) with bit h of j clear
    for (int64_t j = 0; j < block; ++j)
      if ((j & h) == 0) {
        const float a = v[j];
        v[j] = a + v[j + h];
        v[j + h] = a - v[j + h];
      }
  for (int64_t j = 0; j < block; ++j) v[j] *= scale;
}

}  // namespace qs::kernels
