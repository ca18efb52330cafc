// Vectorised CPU path of hadamard.hpp: the reference's butterflies block by block (hadamard_block.hpp),
// equal to hadamard_cpu bit for bit.
#include <cmath>

#include "hadamard.hpp"
#include "hadamard_block.hpp"
#include "vector_clones.hpp"

namespace qs::kernels {
namespace {

QS_VECTOR_CLONES
void hadamard_blocks(float* x, int64_t n, int64_t block, float scale) {
  for (int64_t start = 0; start < n; start += block) hadamard_block(x + start, block, scale);
}

}  // namespace

void hadamard_fast(float* x, int64_t rows, int64_t cols, int64_t block) {
  hadamard_block_check(block, cols);
  if (block == 1) return;
  hadamard_blocks(x, rows * cols, block, static_cast<float>(1.0 / std::sqrt(static_cast<double>(block))));
}

}  // namespace qs::kernels
