// See gguf_names.hpp.
#include "model/gguf_names.hpp"

#include <array>
#include <string_view>
#include <utility>

namespace qs {
namespace {

using Pair = std::pair<std::string_view, std::string_view>;  // HF, llama.cpp
constexpr std::array<Pair, 3> kTop = {{{"model.embed_tokens.weight", "token_embd.weight"},
                                       {"model.norm.weight", "output_norm.weight"},
                                       {"lm_head.weight", "output.weight"}}};
constexpr std::array<Pair, 9> kBlock = {{{"input_layernorm.weight", "attn_norm.weight"},
                                         {"self_attn.q_proj.weight", "attn_q.weight"},
                                         {"self_attn.k_proj.weight", "attn_k.weight"},
                                         {"self_attn.v_proj.weight", "attn_v.weight"},
                                         {"self_attn.o_proj.weight", "attn_output.weight"},
                                         {"post_attention_layernorm.weight", "ffn_norm.weight"},
                                         {"mlp.gate_proj.weight", "ffn_gate.weight"},
                                         {"mlp.up_proj.weight", "ffn_up.weight"},
                                         {"mlp.down_proj.weight", "ffn_down.weight"}}};

// `name` as block prefix, decimal index, '.', rest; the index and rest, or an empty rest.
std::pair<std::string, std::string> block_split(const std::string& name, std::string_view prefix) {
  if (name.rfind(prefix, 0) != 0) return {};
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size()) return {};
  const std::string index = name.substr(prefix.size(), dot - prefix.size());
  if (index.find_first_not_of("0123456789") != std::string::npos || (index.size() > 1 && index[0] == '0')) return {};
  return {index, name.substr(dot + 1)};
}

// Both directions: `from` picks the side names are looked up on.
std::string name_map(const std::string& name, bool from_hf) {
  for (const auto& [hf, gguf] : kTop)
    if (name == (from_hf ? hf : gguf)) return std::string(from_hf ? gguf : hf);
  const auto [index, rest] = block_split(name, from_hf ? "model.layers." : "blk.");
  if (rest.empty()) return {};
  for (const auto& [hf, gguf] : kBlock)
    if (rest == (from_hf ? hf : gguf))
      return (from_hf ? "blk." : "model.layers.") + index + "." + std::string(from_hf ? gguf : hf);
  return {};
}

}  // namespace

std::string gguf_name_from_hf(const std::string& hf) { return name_map(hf, true); }
std::string gguf_name_to_hf(const std::string& gguf) { return name_map(gguf, false); }

}  // namespace qs
