// Scalar CPU reference for hadamard.hpp: the fast Walsh–Hadamard butterfly, strides 1, 2, 4, … in
// that order (the CUDA kernels keep the same order, so both give the same floats), then the
// 1/sqrt(block) normalisation.
#include <cmath>
#include <stdexcept>
#include <string>

#include "hadamard.hpp"

namespace qs::kernels {

void hadamard_cpu(float* x, int64_t rows, int64_t cols, int64_t block) {
  if (block < 1 || (block & (block - 1)) != 0 || cols % block != 0)
    throw std::invalid_argument("hadamard: block " + std::to_string(block) +
                                " must be a power of two dividing the row length " + std::to_string(cols));
  if (block == 1) return;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(block)));
  const int64_t n = rows * cols;
  for (int64_t start = 0; start < n; start += block) {
    float* v = x + start;
    for (int64_t h = 1; h < block; h *= 2)
      for (int64_t i = 0; i < block; i += 2 * h)
        for (int64_t j = i; j < i + h; ++j) {
          const float a = v[j], b = v[j + h];
          v[j] = a + b;
          v[j + h] = a - b;
        }
    for (int64_t j = 0; j < block; ++j) v[j] *= scale;
  }
}

}  // namespace qs::kernels
