// The Llama-family forward pass over a ModelState: RMSNorm, RoPE (half rotation, HF convention),
// grouped-query causal attention, SwiGLU MLP, tied or untied head, optional biases. It reads the
// weights from the state on every call, so replacing a weight tensor in the state (quantization)
// or marking it requires_grad (training) needs no other change.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "model/model_state.hpp"

namespace qs {

// Keys and values of past positions, one pair per decoder block, [B, kv_heads, T, head_dim].
struct KvCache {
  std::vector<torch::Tensor> k, v;
  int64_t length = 0;
};

// tokens: [B, T] int64 on the model's device. Returns logits [B, T, vocab] in float32. With a cache,
// the tokens continue at position cache->length and the cache is extended.
torch::Tensor llama_forward(const ModelState& state, const torch::Tensor& tokens, KvCache* cache = nullptr);

}  // namespace qs
