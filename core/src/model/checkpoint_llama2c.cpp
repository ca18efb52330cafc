// Reads Karpathy's llama2.c checkpoints (legacy version 0 .bin) into HF-named tensors. llama2.c
// rotates interleaved RoPE pairs while the forward pass follows HF's half rotation, so the q/k rows
// are permuted when a tensor is read (StoredTensor::rope_heads) and every later stage (forward, save,
// quantize) sees a plain HF model. Only the header is read here.
#include <cstdint>
#include <cstring>
#include <vector>

#include "model/checkpoint_read.hpp"
#include "io/mapped_file.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"

namespace qs {
namespace {

constexpr uint32_t kVersionedMagic = 0x616b3432;  // "ak42": llama2.c's versioned export formats
constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);

}  // namespace

std::shared_ptr<ModelState> checkpoint_llama2c_read(const std::filesystem::path& bin, const LoadOptions& options,
                                                    JobContext* job) {
  const std::string file = bin.string();
  auto map = MappedFile::open(bin);
  if (map->size() < kHeaderBytes)
    throw Error(ErrorKind::Format, file + ": truncated llama2.c header (" + std::to_string(map->size()) +
                                       " bytes, expected at least " + std::to_string(kHeaderBytes) + ")");
  int32_t h[7];
  std::memcpy(h, map->data(), kHeaderBytes);
  if (static_cast<uint32_t>(h[0]) == kVersionedMagic)
    throw Error(ErrorKind::Unsupported, file + ": llama2.c export version " + std::to_string(h[1]) +
                                            " is not supported (only the legacy version 0 .bin)");
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], seq_len = h[6];
  const bool shared = h[5] > 0;
  const int64_t vocab = h[5] < 0 ? -int64_t(h[5]) : h[5];
  const char* names[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i)
    if (h[i] == 0 || (i != 5 && h[i] < 0))
      throw Error(ErrorKind::Format, file + ": invalid llama2.c header, " + names[i] + " = " + std::to_string(h[i]));
  if (dim % heads != 0 || heads % kv_heads != 0 || (dim / heads) % 2 != 0)
    throw Error(ErrorKind::Format, file + ": inconsistent llama2.c header (dim " + std::to_string(dim) + ", n_heads " +
                                       std::to_string(heads) + ", n_kv_heads " + std::to_string(kv_heads) + ")");
  const int64_t head_dim = dim / heads, kv_dim = head_dim * kv_heads;

  // 128-bit arithmetic: a garbage header must produce a size mismatch, not an overflow.
  using u128 = unsigned __int128;
  const u128 D = dim, H = hidden, L = layers, V = vocab, KV = kv_dim;
  const u128 floats = V * D + L * D + L * D * D + 2 * L * KV * D + L * D * D + L * D + 3 * L * H * D + D +
                      u128(seq_len) * head_dim + (shared ? 0 : V * D);
  const u128 expected = kHeaderBytes + 4 * floats;
  if (expected != map->size()) {
    const bool fits = expected <= u128(UINT64_MAX);
    throw Error(ErrorKind::Format,
                file + ": " + (expected > map->size() ? "truncated" : "unexpected trailing data") +
                    ": the header describes " + (fits ? std::to_string(uint64_t(expected)) : std::string("> 2^64")) +
                    " bytes, the file has " + std::to_string(map->size()));
  }

  auto state = std::make_shared<ModelState>();
  ModelConfig& c = state->config;
  c.model_type = "llama";
  c.vocab_size = vocab;
  c.hidden_size = dim;
  c.intermediate_size = hidden;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = head_dim;
  c.max_position_embeddings = seq_len;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = shared;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.torch_dtype = "float32";
  config_validate(c, file);
  state->source = bin;
  state->source_format = "llama2c";
  state->source_identity.push_back(bin.filename().string() + " " + map->identity());
  state->device = options.device;
  state->compute = options.compute;

  // The file's blocks in order, each holding one tensor per layer or a single tensor.
  uint64_t cursor = kHeaderBytes;
  struct Block {
    uint64_t offset;
    std::vector<int64_t> shape;
    uint64_t bytes() const {
      uint64_t n = 4;
      for (const int64_t d : shape) n *= uint64_t(d);
      return n;
    }
  };
  auto block = [&](int64_t count, std::vector<int64_t> shape) {
    Block b{cursor, std::move(shape)};
    cursor += uint64_t(count) * b.bytes();
    return b;
  };
  auto put = [&](const std::string& name, const Block& b, int64_t index, int64_t rope_heads = 0) {
    StoredTensor& s = state->stored[name];
    s.file = map;
    s.offset = b.offset + uint64_t(index) * b.bytes();
    s.dtype = DType::F32;
    s.shape = b.shape;
    s.keep_f32 = s.shape.size() == 1;
    s.rope_heads = rope_heads;
    state->stored_dtypes[name] = DType::F32;
    state->stored_bytes += b.bytes();
  };
  auto layer_name = [](int64_t i, const char* rest) { return "model.layers." + std::to_string(i) + "." + rest; };

  put("model.embed_tokens.weight", block(1, {vocab, dim}), 0);
  const Block rms_att = block(layers, {dim});
  const Block wq = block(layers, {dim, dim});
  const Block wk = block(layers, {kv_dim, dim});
  const Block wv = block(layers, {kv_dim, dim});
  const Block wo = block(layers, {dim, dim});
  const Block rms_ffn = block(layers, {dim});
  const Block w1 = block(layers, {hidden, dim});
  const Block w2 = block(layers, {dim, hidden});
  const Block w3 = block(layers, {hidden, dim});
  for (int64_t i = 0; i < layers; ++i) {
    if (job) job->check_cancelled();
    put(layer_name(i, "input_layernorm.weight"), rms_att, i);
    put(layer_name(i, "self_attn.q_proj.weight"), wq, i, heads);
    put(layer_name(i, "self_attn.k_proj.weight"), wk, i, kv_heads);
    put(layer_name(i, "self_attn.v_proj.weight"), wv, i);
    put(layer_name(i, "self_attn.o_proj.weight"), wo, i);
    put(layer_name(i, "post_attention_layernorm.weight"), rms_ffn, i);
    put(layer_name(i, "mlp.gate_proj.weight"), w1, i);
    put(layer_name(i, "mlp.down_proj.weight"), w2, i);
    put(layer_name(i, "mlp.up_proj.weight"), w3, i);
  }
  put("model.norm.weight", block(1, {dim}), 0);
  block(2, {seq_len, head_dim / 2});  // the obsolete RoPE tables
  if (!shared) put("lm_head.weight", block(1, {vocab, dim}), 0);
  return state;
}

}  // namespace qs
