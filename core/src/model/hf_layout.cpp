// See hf_layout.hpp.
#include "model/hf_layout.hpp"

namespace qs {

std::vector<HfTensor> hf_layout(const ModelConfig& c) {
  std::vector<HfTensor> out;
  const int64_t d = c.hidden_size, q = c.q_dim(), kv = c.kv_dim(), ff = c.intermediate_size;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, d}, TensorKind::Embedding, -1, ""});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    auto linear = [&](const std::string& module, const char* role, int64_t rows, int64_t cols, bool bias) {
      out.push_back({p + module + "." + role + ".weight", {rows, cols}, TensorKind::LinearWeight, i, role});
      if (bias) out.push_back({p + module + "." + role + ".bias", {rows}, TensorKind::LinearBias, i, role});
    };
    out.push_back({p + "input_layernorm.weight", {d}, TensorKind::Norm, i, ""});
    linear("self_attn", "q_proj", q, d, c.attention_bias);
    linear("self_attn", "k_proj", kv, d, c.attention_bias);
    linear("self_attn", "v_proj", kv, d, c.attention_bias);
    linear("self_attn", "o_proj", d, q, c.attention_bias);
    out.push_back({p + "post_attention_layernorm.weight", {d}, TensorKind::Norm, i, ""});
    linear("mlp", "gate_proj", ff, d, c.mlp_bias);
    linear("mlp", "up_proj", ff, d, c.mlp_bias);
    linear("mlp", "down_proj", d, ff, c.mlp_bias);
  }
  out.push_back({"model.norm.weight", {d}, TensorKind::Norm, -1, ""});
  if (!c.tie_word_embeddings)
    out.push_back({"lm_head.weight", {c.vocab_size, d}, TensorKind::LinearWeight, -1, "lm_head"});
  return out;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace qs
