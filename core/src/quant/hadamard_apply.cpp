// The block Hadamard rotation on a tensor's own device: the kernels' vectorised CPU path (or, when
// asked, the scalar reference) chunked over rows, or the CUDA kernel. Shared by the QuEST and rotated k-means formats.
#include <torch/torch.h>

#include "hadamard.hpp"
#include "quant/quantizer.hpp"
#include "base/rows_parallel.hpp"

namespace qs {

void hadamard_apply(torch::Tensor& x, int64_t block, bool reference) {
  if (block <= 1) return;
  const int64_t rows = x.size(0), cols = x.size(1);
  float* p = x.data_ptr<float>();
#ifdef QS_WITH_CUDA
  if (x.is_cuda()) return kernels::hadamard_cuda(p, rows, cols, block);
#endif
  rows_parallel(rows, cols, reference, [&](int64_t b, int64_t e) {
    (reference ? kernels::hadamard_cpu : kernels::hadamard_fast)(p + b * cols, e - b, cols, block);
  });
}

}  // namespace qs
