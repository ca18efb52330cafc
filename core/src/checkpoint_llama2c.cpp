// Reads Karpathy's llama2.c checkpoints (legacy version 0 .bin) into HF-named tensors. llama2.c
// rotates interleaved RoPE pairs while the forward pass follows HF's half rotation, so the q/k rows
// are permuted here once and every later stage (forward, save, quantize) sees a plain HF model.
#include <cstdint>
#include <cstring>
#include <map>

#include "checkpoint_read.hpp"
#include "mapped_file.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"

namespace qs {
namespace {

constexpr uint32_t kVersionedMagic = 0x616b3432;  // "ak42": llama2.c's versioned export formats
constexpr size_t kHeaderBytes = 7 * sizeof(int32_t);

// Interleaved pairs (2i, 2i+1) of each head become halves (i, i + hd/2): new row t*(hd/2)+i is old
// row 2i+t.
torch::Tensor rope_rows_permute(const torch::Tensor& w, int64_t heads, int64_t head_dim) {
  const int64_t cols = w.size(1);
  return w.reshape({heads, head_dim / 2, 2, cols}).transpose(1, 2).reshape({heads * head_dim, cols});
}

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

  std::map<std::string, HfTensor> specs;
  for (auto& spec : hf_layout(c)) specs.emplace(spec.name, spec);

  // The file's blocks in order; each holds one tensor per layer (or one tensor when per_layer is false).
  float* cursor = reinterpret_cast<float*>(const_cast<std::byte*>(map->data() + kHeaderBytes));
  auto block = [&](int64_t count, std::vector<int64_t> shape) {
    std::vector<int64_t> full = {count};
    full.insert(full.end(), shape.begin(), shape.end());
    torch::Tensor t = torch::from_blob(cursor, full, torch::kFloat32);
    cursor += t.numel();
    return t;
  };
  const int64_t total = int64_t(hf_layout(c).size());
  int64_t done = 0;
  auto put = [&](const std::string& name, torch::Tensor t) {
    if (job) job->check_cancelled();
    const HfTensor& spec = specs.at(name);
    state->tensors[name] = tensor_place(t, spec, options, file);
    state->stored_dtypes[name] = DType::F32;
    state->stored_bytes += uint64_t(t.numel()) * 4;
    if (job) job->progress(double(++done) / total, "reading " + name);
  };
  auto layer_name = [](int64_t i, const char* rest) { return "model.layers." + std::to_string(i) + "." + rest; };

  put("model.embed_tokens.weight", block(1, {vocab, dim})[0]);
  const auto rms_att = block(layers, {dim});
  const auto wq = block(layers, {dim, dim});
  const auto wk = block(layers, {kv_dim, dim});
  const auto wv = block(layers, {kv_dim, dim});
  const auto wo = block(layers, {dim, dim});
  const auto rms_ffn = block(layers, {dim});
  const auto w1 = block(layers, {hidden, dim});
  const auto w2 = block(layers, {dim, hidden});
  const auto w3 = block(layers, {hidden, dim});
  for (int64_t i = 0; i < layers; ++i) {
    put(layer_name(i, "input_layernorm.weight"), rms_att[i]);
    put(layer_name(i, "self_attn.q_proj.weight"), rope_rows_permute(wq[i], heads, head_dim));
    put(layer_name(i, "self_attn.k_proj.weight"), rope_rows_permute(wk[i], kv_heads, head_dim));
    put(layer_name(i, "self_attn.v_proj.weight"), wv[i]);
    put(layer_name(i, "self_attn.o_proj.weight"), wo[i]);
    put(layer_name(i, "post_attention_layernorm.weight"), rms_ffn[i]);
    put(layer_name(i, "mlp.gate_proj.weight"), w1[i]);
    put(layer_name(i, "mlp.down_proj.weight"), w2[i]);
    put(layer_name(i, "mlp.up_proj.weight"), w3[i]);
  }
  put("model.norm.weight", block(1, {dim})[0]);
  block(2, {seq_len, head_dim / 2});  // the obsolete RoPE tables
  if (!shared) put("lm_head.weight", block(1, {vocab, dim})[0]);
  return state;
}

}  // namespace qs
