// Fake quantization for QAT and for activation-quantized models: the forward pass sees q(x) from the
// quantizer library (the same families and kernels as post-training quantization), the backward pass
// gets the gradient estimator's mask. Hadamard formats rotate with a differentiable block Hadamard
// and rotate the result back, which equals QuEST's half-Hadamard product exactly in exact arithmetic
// (H is orthonormal), so weights and activations can be rotated independently.
#pragma once
#include <torch/torch.h>

#include <string>

#include "quant/quantizer.hpp"
#include "quantscope/format.hpp"
#include "quantscope/train.hpp"

namespace qs {

// Per-call statistics added up where the input lives, without a host sync: sums[0] += the fraction
// of gradient entries the estimator zeroes, sums[1] += ‖q(x) − x‖² / ‖x‖² (in the rotated basis).
// float32 [2], made by the caller (zeros) on the input's device.
struct FakeQuantStats {
  torch::Tensor sums;
};

struct FakeQuantInput {
  torch::Tensor codebooks;   // KMeans: pinned codebooks (QAT between refits); undefined: fit
  torch::Tensor importance;  // KMeans :fisher fits, [rows, cols]
  std::string name;          // for error messages
};

// x: [rows, cols] in any float dtype, may require grad. Returns q(x) in x's dtype, whose gradient is
// the estimator's mask times the incoming gradient (rotated back for Hadamard formats). Fills
// `codebooks_out` with the codebooks used when given (KMeans). Computed in float32 (the fused
// kernels read and write bf16 directly).
torch::Tensor fake_quantize(const torch::Tensor& x, const FormatSpec& spec, const EstimatorSettings& estimator,
                            const FakeQuantInput& extra = {}, FakeQuantStats* stats = nullptr,
                            torch::Tensor* codebooks_out = nullptr);

// A linear layer's input [..., in] in any float dtype, quantized per token; same shape and dtype.
torch::Tensor activation_fake_quantize(const torch::Tensor& input, const FormatSpec& spec,
                                       const EstimatorSettings& estimator, const std::string& name,
                                       FakeQuantStats* stats = nullptr);

// 1 (true) where the estimator passes the gradient, from a quantizer output with `normalized`
// filled: the grid or codebook around each value decides the local half-step and the clip range.
torch::Tensor estimator_mask(const QuantizerOutput& q, const FormatSpec& spec, const EstimatorSettings& estimator);

// The differentiable block Hadamard rotation along the last dimension (its own inverse).
torch::Tensor hadamard_rotate(const torch::Tensor& x, int64_t block);

}  // namespace qs
