// Tiny random Llama-family models built directly as ModelStates, for forward and evaluation tests that
// must not depend on a checkpoint on disk. Tensor names and shapes come from hf_layout, as the loaders'.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "model/hf_layout.hpp"
#include "model/model_state.hpp"

namespace qs::test {

inline ModelConfig tiny_config(bool tied, bool biases, int64_t vocab = 61) {
  ModelConfig c;
  c.vocab_size = vocab;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;  // grouped-query: two query heads per key/value head
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500.0;  // small, so position differences show within a few tokens
  c.tie_word_embeddings = tied;
  c.attention_bias = biases;
  c.mlp_bias = biases;
  return c;
}

// scale 0 gives all-zero weights (and unit norms): every logit is 0, the distribution uniform.
inline std::shared_ptr<ModelState> tiny_state(const ModelConfig& config, uint64_t seed, double scale = 1.0,
                                              ComputeType compute = ComputeType::F32, Device device = Device::Cpu) {
  auto state = std::make_shared<ModelState>();
  state->config = config;
  state->source = "tiny-random-model";
  state->source_format = "hf";
  state->compute = compute;
  state->device = device;
  torch::manual_seed(seed);
  for (const HfTensor& spec : hf_layout(config)) {
    torch::Tensor t;
    switch (spec.kind) {
      case TensorKind::Embedding: t = torch::randn(spec.shape) * scale; break;
      case TensorKind::Norm: t = 1 + 0.2 * scale * torch::randn(spec.shape); break;
      case TensorKind::LinearWeight: t = torch::randn(spec.shape) * (scale / std::sqrt(spec.shape[1])); break;
      case TensorKind::LinearBias: t = torch::randn(spec.shape) * (0.3 * scale); break;
    }
    const bool keep_f32 = spec.kind == TensorKind::Norm;
    state->tensors[spec.name] = t.to(state->torch_device(), keep_f32 ? torch::kFloat32 : state->compute_dtype());
    state->stored_dtypes[spec.name] = keep_f32 || compute == ComputeType::F32 ? DType::F32 : DType::BF16;
  }
  return state;
}

// The same weights in another dtype or on another device.
inline std::shared_ptr<ModelState> tiny_state_convert(const ModelState& from, ComputeType compute, Device device) {
  auto state = std::make_shared<ModelState>(from);
  state->compute = compute;
  state->device = device;
  for (auto& [name, t] : state->tensors) {
    const bool norm = name.find("norm") != std::string::npos;
    t = t.to(state->torch_device(), norm ? torch::kFloat32 : state->compute_dtype());
  }
  return state;
}

}  // namespace qs::test
