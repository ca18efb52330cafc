// A linear layer held as packed codes rather than as a dequantized copy, so that a quantized model
// takes the memory its bits say: on CUDA the decode kernels (kernels/packed_gemv.hpp) multiply up to
// 16 activation rows by the codes directly, and larger inputs (an evaluation window) by a dense copy
// made for the one product and released after it; on the CPU every product takes that dense copy.
// Formats with a per-group offset, ŵ = s·level[code] + o (asymmetric integer, llama.cpp's types with a
// minimum), add Σ_g o[n, g]·Σ_{k∈g} x_k to the table product in float32 with LibTorch ops, the same on
// both paths; the kernels' bound then holds with Σ_k (|s·level·x| + |o·x|) for Σ_k |ŵ·x|. Offsets are
// held in float32, exact (−s·z of a bf16 scale and a b-bit zero point; ggml's dmin·m), at 32 bits a
// group. Core-internal.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "packed_gemv.hpp"
#include "quantscope/format.hpp"

namespace qs {

struct QuantizerOutput;

class PackedLinear {
 public:
  // Whether a layer of `in` inputs in this format can be held packed: one level table per tensor with
  // a scale block the kernels take, and at most a per-group offset: k-means `:b<N>`, integer (also
  // `:asym`) and QuEST of 1, 2, 3, 4 or 8 bits, and llama.cpp's types (q4_0, q8_0, q4_k, q6_k and the
  // others: sub-blocks of 16 or 32 weights; codes of 5 or 6 bits are held as 8-bit codes, since a
  // table of 6-bit pairs would not fit the kernels' shared memory). Per-row or per-group codebooks and
  // NF4 cannot.
  static bool supports(const FormatSpec& spec, int64_t out, int64_t in);
  // From a quantizer's output for the whole layer, on the device of its codes.
  static std::shared_ptr<const PackedLinear> create(const FormatSpec& spec, const QuantizerOutput& q, int64_t out,
                                                    int64_t in);
  // From the layer's packed sections as a checkpoint stores them (stored_packed: a GGUF's blocks, a
  // packed checkpoint's codes and scales), read as codes without a dequantized copy, on `device`.
  static std::shared_ptr<const PackedLinear> stored_create(const FormatSpec& spec, const std::vector<uint8_t>& bytes,
                                                           int64_t out, int64_t in, torch::Device device);
  // x·Ŵᵀ for x [..., in] on the layer's device, in x's dtype.
  torch::Tensor forward(const torch::Tensor& x) const;
  uint64_t bytes() const;  // held

 private:
  static std::shared_ptr<const PackedLinear> create_on(const FormatSpec& spec, const QuantizerOutput& q, int64_t out,
                                                       int64_t in, torch::Device device);
  // The dense s·level[code] (float32, in the rotated basis for Hadamard formats), without the offsets.
  torch::Tensor table_dequantize() const;

  kernels::GemvShape shape_;
  int64_t hadamard_ = 0;  // x is rotated by this block first (the codes are in the rotated basis)
  torch::Tensor records_, scale_records_, levels_;
  // QuEST's σ is stored in f32, finer than the records' bf16 scales: the records then carry 1 and
  // the product's rows are multiplied by σ.
  torch::Tensor row_scales_;
  // float32 [rows, scale groups]: ŵ = s·level[code] + offset; undefined when the format has none.
  torch::Tensor offsets_;
};

}  // namespace qs
