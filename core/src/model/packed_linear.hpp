// A linear layer held as packed codes rather than as a dequantized copy, so that a quantized model
// takes the memory its bits say: on CUDA the decode kernels (kernels/packed_gemv.hpp) multiply up to
// 16 activation rows by the codes directly, and larger inputs (an evaluation window) by a dense copy
// made for the one product and released after it; on the CPU every product takes that dense copy.
// Core-internal.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>

#include "packed_gemv.hpp"
#include "quantscope/format.hpp"

namespace qs {

struct QuantizerOutput;

class PackedLinear {
 public:
  // Whether a layer of `in` inputs in this format can be held packed: one level table per tensor
  // (k-means `:b<N>`, symmetric integer, QuEST) of 1, 2, 3, 4 or 8 bits with a scale block the kernels
  // take. Per-row or per-group codebooks, asymmetric integer, NF4 and llama.cpp's types cannot.
  static bool supports(const FormatSpec& spec, int64_t out, int64_t in);
  // From a quantizer's output for the whole layer, on the device of its codes.
  static std::shared_ptr<const PackedLinear> create(const FormatSpec& spec, const QuantizerOutput& q, int64_t out,
                                                    int64_t in);
  // x·Ŵᵀ for x [..., in] on the layer's device, in x's dtype.
  torch::Tensor forward(const torch::Tensor& x) const;
  // The dense weight Ŵ (float32, in the rotated basis for Hadamard formats).
  torch::Tensor dequantize() const;
  uint64_t bytes() const;  // held

 private:
  kernels::GemvShape shape_;
  int64_t hadamard_ = 0;  // x is rotated by this block first (the codes are in the rotated basis)
  torch::Tensor records_, scale_records_, levels_;
  // QuEST's σ is stored in f32, finer than the records' bf16 scales: the records then carry 1 and
  // the product's rows are multiplied by σ.
  torch::Tensor row_scales_;
};

}  // namespace qs
