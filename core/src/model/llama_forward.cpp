// The Llama-family forward pass in plain LibTorch ops (matmul + masked softmax rather than
// scaled_dot_product_attention) so that it builds on LibTorch 1.13 and 2.x alike. Every linear layer
// goes through linear(), keyed by its Hugging Face name, which is where later issues swap weights and
// insert activation quantizers.
#include "model/llama_forward.hpp"
#include "model/packed_linear.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "quantscope/error.hpp"

namespace qs {
namespace {

// The tied head has no weight of its own: it reads the token embedding.
std::string linear_weight_name(const ModelState& state, const std::string& name) {
  if (name == "lm_head" && state.config.tie_word_embeddings) return "model.embed_tokens.weight";
  return name + ".weight";
}

// A layer has a bias exactly when the loader put its ".bias" tensor in the state (attention_bias,
// mlp_bias). The weight is read when the layer runs and, for a streamed model, released after it.
torch::Tensor linear(const ModelState& state, const std::string& name, const torch::Tensor& input) {
  const torch::Tensor x = state.linear_input ? state.linear_input(name, input) : input;
  const auto packed = state.packed.find(name);
  if (packed != state.packed.end()) {
    const torch::Tensor y = packed->second->forward(x);
    return state.has(name + ".bias") ? y + state.tensor(name + ".bias").to(y.scalar_type()) : y;
  }
  const torch::Tensor weight = state.tensor(linear_weight_name(state, name));
  if (!state.has(name + ".bias")) return torch::linear(x, weight);
  return torch::linear(x, weight, state.tensor(name + ".bias").to(x.scalar_type()));
}

// Rows of the head's weight converted at a time: the head of a large vocabulary (128256 × 4096) would
// otherwise be one conversion of 2 GiB in float32 in a streamed model.
constexpr int64_t kHeadRowsPerBlock = 8192;

// The head a block of vocabulary rows at a time, resident or streamed alike so that both give the same
// logits to the bit. Whole where the weight is held in memory (quantized, trained, traced).
torch::Tensor head(const ModelState& state, const torch::Tensor& input) {
  const std::string weight = linear_weight_name(state, "lm_head");
  const int64_t vocab = state.shape(weight).at(0);
  if (state.has("lm_head.bias") || state.tensors.count(weight) || state.packed.count("lm_head") ||
      vocab <= kHeadRowsPerBlock)
    return linear(state, "lm_head", input).to(torch::kFloat32);
  const torch::Tensor x = state.linear_input ? state.linear_input("lm_head", input) : input;
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < vocab; begin += kHeadRowsPerBlock)
    parts.push_back(torch::linear(x, state.rows(weight, begin, std::min(kHeadRowsPerBlock, vocab - begin)))
                        .to(torch::kFloat32));
  return torch::cat(parts, -1);
}

// Normalised in float32 whatever the compute dtype: bf16 sums of squares lose too much.
torch::Tensor rms_norm(const ModelState& state, const std::string& name, const torch::Tensor& x) {
  const torch::Tensor x32 = x.to(torch::kFloat32);
  const torch::Tensor normed = x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + state.config.rms_norm_eps);
  return (normed * state.tensor(name + ".weight").to(torch::kFloat32)).to(x.scalar_type());
}

// HF half rotation: dimension i pairs with i + d/2. x: [B, heads, T, d]; cos, sin: [T, d] float32.
torch::Tensor rope_apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  const torch::Tensor x32 = x.to(torch::kFloat32);
  const torch::Tensor rotated = torch::cat({-x32.narrow(-1, half, half), x32.narrow(-1, 0, half)}, -1);
  return (x32 * cos + rotated * sin).to(x.scalar_type());
}

struct RopeTables {
  torch::Tensor cos, sin;  // [T, head_dim] float32
};

RopeTables rope_tables(const ModelConfig& config, int64_t offset, int64_t length, torch::Device device) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const int64_t d = config.head_dim;
  const torch::Tensor exponents = torch::arange(0, d, 2, f32.dtype(torch::kFloat64)) / static_cast<double>(d);
  const torch::Tensor inv_freq = torch::pow(config.rope_theta, -exponents).to(torch::kFloat32);
  const torch::Tensor positions = torch::arange(offset, offset + length, f32);
  const torch::Tensor freqs = torch::outer(positions, inv_freq);
  const torch::Tensor angles = torch::cat({freqs, freqs}, -1);
  return {angles.cos(), angles.sin()};
}

// Scores per attention block on the CPU. The scores tensor (B·H·T·S) is by far the largest in the pass;
// whole, it is allocated and page-faulted in afresh in every layer and swept three times from main
// memory, which made a ctx-512 eval of stories260K ten times slower than in 4 MiB blocks that stay in
// cache. On CUDA one block is fastest.
constexpr int64_t kCpuScoresPerBlock = int64_t{1} << 20;

// q: [B, H, T, d]; k, v: [B, KV, S, d] with S = offset + T. The H / KV query heads that share a
// key/value head (HF's repeat_kv order) are stacked along the rows of one batched matmul, so k and v are
// never copied H / KV times; the scale and the causal mask ride in the baddbmm.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t offset) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), d = q.size(3);
  const int64_t KV = k.size(1), S = k.size(2), G = H / KV;
  const auto index_options = torch::TensorOptions().dtype(torch::kInt64).device(q.device());
  const torch::Tensor query_pos = torch::arange(offset, offset + T, index_options).unsqueeze(1);
  const torch::Tensor key_pos = torch::arange(0, S, index_options).unsqueeze(0);
  const torch::Tensor mask = torch::zeros({T, S}, q.options())
                                 .masked_fill(key_pos > query_pos, -std::numeric_limits<float>::infinity())
                                 .repeat({G, 1});  // rows (g, t) of the stacked query heads
  const torch::Tensor qs = q.reshape({B * KV, G * T, d});
  const torch::Tensor kt = k.reshape({B * KV, S, d}).transpose(1, 2);
  const torch::Tensor vs = v.reshape({B * KV, S, d});
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  auto block = [&](int64_t begin, int64_t count) {
    const torch::Tensor scores = torch::baddbmm(mask, qs.narrow(0, begin, count), kt.narrow(0, begin, count), 1.0, scale);
    const torch::Tensor probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
    return torch::bmm(probs, vs.narrow(0, begin, count));
  };
  const int64_t rows = B * KV;
  const int64_t step = q.is_cuda() ? rows : std::max<int64_t>(1, kCpuScoresPerBlock / (G * T * S));
  if (step >= rows) return block(0, rows).view({B, H, T, d});
  std::vector<torch::Tensor> parts;
  for (int64_t begin = 0; begin < rows; begin += step) parts.push_back(block(begin, std::min(step, rows - begin)));
  return torch::cat(parts, 0).view({B, H, T, d});
}

void tokens_check(const ModelState& state, const torch::Tensor& tokens, int64_t offset) {
  const ModelConfig& c = state.config;
  if (tokens.dim() != 2 || tokens.scalar_type() != torch::kInt64)
    throw Error(ErrorKind::Invalid, "llama_forward: tokens must be a [batch, length] int64 tensor");
  if (tokens.size(1) == 0) throw Error(ErrorKind::Invalid, "llama_forward: no tokens");
  if (offset + tokens.size(1) > c.max_position_embeddings)
    throw Error(ErrorKind::Invalid, "llama_forward: " + std::to_string(offset + tokens.size(1)) +
                                        " positions exceed max_position_embeddings " +
                                        std::to_string(c.max_position_embeddings));
  // An out-of-range id would be a device-side assert on CUDA, which kills the process.
  if ((tokens.lt(0) | tokens.ge(c.vocab_size)).any().item<bool>())
    throw Error(ErrorKind::Invalid, "llama_forward: token id outside the vocabulary of " +
                                        std::to_string(c.vocab_size));
}

}  // namespace

torch::Tensor llama_forward(const ModelState& state, const torch::Tensor& tokens, KvCache* cache) {
  const ModelConfig& c = state.config;
  const int64_t offset = cache ? cache->length : 0;
  tokens_check(state, tokens, offset);
  const int64_t B = tokens.size(0), T = tokens.size(1);
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, d = c.head_dim;
  if (cache && cache->k.empty()) {
    cache->k.resize(c.num_hidden_layers);
    cache->v.resize(c.num_hidden_layers);
  }

  const RopeTables rope = rope_tables(c, offset, T, tokens.device());
  torch::Tensor x = state.rows_select("model.embed_tokens.weight", tokens).to(state.compute_dtype());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const torch::Tensor h = rms_norm(state, p + "input_layernorm", x);
    torch::Tensor q = linear(state, p + "self_attn.q_proj", h).view({B, T, H, d}).transpose(1, 2);
    torch::Tensor k = linear(state, p + "self_attn.k_proj", h).view({B, T, KV, d}).transpose(1, 2);
    torch::Tensor v = linear(state, p + "self_attn.v_proj", h).view({B, T, KV, d}).transpose(1, 2);
    q = rope_apply(q, rope.cos, rope.sin);
    k = rope_apply(k, rope.cos, rope.sin);
    if (cache) {
      if (offset > 0) {
        k = torch::cat({cache->k[i], k}, 2);
        v = torch::cat({cache->v[i], v}, 2);
      }
      cache->k[i] = k;
      cache->v[i] = v;
    }
    const torch::Tensor attended = attention(q, k, v, offset).transpose(1, 2).reshape({B, T, H * d});
    x = x + linear(state, p + "self_attn.o_proj", attended);

    const torch::Tensor m = rms_norm(state, p + "post_attention_layernorm", x);
    const torch::Tensor gate = linear(state, p + "mlp.gate_proj", m);
    const torch::Tensor up = linear(state, p + "mlp.up_proj", m);
    x = x + linear(state, p + "mlp.down_proj", torch::silu(gate) * up);
  }
  if (cache) cache->length = offset + T;
  x = rms_norm(state, "model.norm", x);
  return head(state, x);
}

}  // namespace qs
