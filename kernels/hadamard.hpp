// The block Hadamard rotation of QuEST: every run of `block` consecutive values along a row is
// replaced by H·v / sqrt(block), H the Sylvester Hadamard matrix in natural order. Orthonormal and
// symmetric, so the same call is its own inverse. CUDA versions take device pointers.
#pragma once
#include <cstdint>

namespace qs::kernels {

// x: [rows, cols] row-major, transformed in place; block a power of two dividing cols.
void hadamard_cpu(float* x, int64_t rows, int64_t cols, int64_t block);
// The vectorised CPU path, equal to hadamard_cpu bit for bit.
void hadamard_fast(float* x, int64_t rows, int64_t cols, int64_t block);

#ifdef QS_WITH_CUDA
void hadamard_cuda(float* x_device, int64_t rows, int64_t cols, int64_t block);
#endif

}  // namespace qs::kernels
