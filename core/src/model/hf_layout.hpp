// The tensors of a Llama-family Hugging Face checkpoint, derived from its config, in forward order.
// Loading checks files against it, saving writes in its order, and Model lists linear layers from it,
// so the naming scheme lives in one place.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "quantscope/model_config.hpp"

namespace qs {

enum class TensorKind { Embedding, Norm, LinearWeight, LinearBias };

struct HfTensor {
  std::string name;            // full HF name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;
  TensorKind kind;
  int64_t layer = -1;          // decoder block; -1 outside the blocks
  std::string role;            // q_proj ... down_proj, lm_head for linears; empty otherwise
};

// lm_head.weight is listed only for untied models.
std::vector<HfTensor> hf_layout(const ModelConfig& config);

// "[4096, 11008]": a shape as the readers' messages give it.
std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace qs
