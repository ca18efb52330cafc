// See synthetic_checkpoint.hpp.
#include "synthetic_checkpoint.hpp"

#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstring>
#include <system_error>

#include "io/atomic_file.hpp"
#include "base/fingerprint.hpp"
#include "model/hf_layout.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/safetensors.hpp"

namespace qs::test {
namespace fs = std::filesystem;
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Round to nearest even, as every bf16 conversion does.
uint16_t bf16_of(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  return uint16_t((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

uint16_t f16_of(float f) {
  return std::bit_cast<uint16_t>(static_cast<_Float16>(f));
}

// The elements of one tensor, a block at a time, in the requested dtype.
void tensor_produce(const HfTensor& spec, DType dtype, uint64_t seed,
                    const std::function<void(std::span<const std::byte>)>& put) {
  int64_t numel = 1;
  for (const int64_t d : spec.shape) numel *= d;
  uint64_t state = seed ^ std::stoull(text_fingerprint(spec.name), nullptr, 16);
  const bool ones = spec.kind == TensorKind::Norm;
  const float scale = spec.kind == TensorKind::LinearBias ? 0.0f : 0.02f * std::sqrt(3.0f);
  constexpr int64_t kBlock = 1 << 20;
  std::vector<std::byte> buffer(size_t(kBlock) * 4);
  for (int64_t begin = 0; begin < numel; begin += kBlock) {
    const int64_t n = std::min(kBlock, numel - begin);
    size_t bytes = 0;
    for (int64_t i = 0; i < n; ++i) {
      float v = 1.0f;
      if (!ones) {
        // Four 16-bit uniforms: their sum has mean 2 and variance 1/3.
        const uint64_t r = splitmix64(state);
        float sum = 0;
        for (int k = 0; k < 4; ++k) sum += float((r >> (16 * k)) & 0xffff) / 65535.0f;
        v = (sum - 2.0f) * scale;
      }
      if (dtype == DType::F32) {
        std::memcpy(buffer.data() + bytes, &v, 4);
        bytes += 4;
      } else {
        const uint16_t h = dtype == DType::BF16 ? bf16_of(v) : f16_of(v);
        std::memcpy(buffer.data() + bytes, &h, 2);
        bytes += 2;
      }
    }
    put({buffer.data(), bytes});
  }
}

std::string shard_name(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

}  // namespace

std::vector<std::string> synthetic_presets() {
  return {"llama-3.2-1b", "llama-3-8b", "llama-2-7b", "llama-2-70b-8layers"};
}

ModelConfig synthetic_config(const std::string& preset) {
  ModelConfig c;
  c.model_type = "llama";
  c.rms_norm_eps = 1e-5;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.torch_dtype = "bfloat16";
  if (preset == "llama-3.2-1b") {
    c.vocab_size = 128256, c.hidden_size = 2048, c.intermediate_size = 8192, c.num_hidden_layers = 16;
    c.num_attention_heads = 32, c.num_key_value_heads = 8, c.head_dim = 64, c.max_position_embeddings = 131072;
    c.rope_theta = 500000.0, c.tie_word_embeddings = true;
  } else if (preset == "llama-3-8b") {
    c.vocab_size = 128256, c.hidden_size = 4096, c.intermediate_size = 14336, c.num_hidden_layers = 32;
    c.num_attention_heads = 32, c.num_key_value_heads = 8, c.head_dim = 128, c.max_position_embeddings = 8192;
    c.rope_theta = 500000.0, c.tie_word_embeddings = false;
  } else if (preset == "llama-2-7b") {  // a sentencepiece vocabulary of 32000, so that GGUF can carry it
    c.vocab_size = 32000, c.hidden_size = 4096, c.intermediate_size = 11008, c.num_hidden_layers = 32;
    c.num_attention_heads = 32, c.num_key_value_heads = 32, c.head_dim = 128, c.max_position_embeddings = 4096;
    c.rope_theta = 10000.0, c.tie_word_embeddings = false;
  } else if (preset == "llama-2-70b-8layers") {
    c.vocab_size = 32000, c.hidden_size = 8192, c.intermediate_size = 28672, c.num_hidden_layers = 8;
    c.num_attention_heads = 64, c.num_key_value_heads = 8, c.head_dim = 128, c.max_position_embeddings = 4096;
    c.rope_theta = 10000.0, c.tie_word_embeddings = false;
  } else {
    std::string known;
    for (const std::string& name : synthetic_presets()) known += (known.empty() ? "" : ", ") + name;
    throw Error(ErrorKind::Invalid, "unknown synthetic model '" + preset + "' (known: " + known + ")");
  }
  return c;
}

void synthetic_checkpoint_write(const fs::path& dir, const ModelConfig& config, const SyntheticOptions& options) {
  if (options.dtype != DType::BF16 && options.dtype != DType::F16 && options.dtype != DType::F32)
    throw Error(ErrorKind::Invalid, dir.string() + ": synthetic weights are BF16, F16 or F32");
  config_validate(config, dir.string());
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    throw Error(ErrorKind::Invalid, dir.string() + ": exists and is not empty");
  fs::create_directories(dir);

  const std::vector<HfTensor> layout = hf_layout(config);
  const uint64_t element = uint64_t(dtype_bits(options.dtype) / 8);
  std::vector<std::vector<const HfTensor*>> shards(1);
  uint64_t shard_bytes = 0, total = 0;
  for (const HfTensor& t : layout) {
    uint64_t bytes = element;
    for (const int64_t d : t.shape) bytes *= uint64_t(d);
    if (shard_bytes > 0 && shard_bytes + bytes > options.shard_bytes) shards.emplace_back(), shard_bytes = 0;
    shards.back().push_back(&t);
    shard_bytes += bytes;
    total += bytes;
  }
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::string file = shards.size() == 1 ? "model.safetensors" : shard_name(s, shards.size());
    std::vector<TensorWrite> writes;
    for (const HfTensor* t : shards[s]) {
      TensorWrite w{t->name, options.dtype, t->shape, {}, {}};
      w.produce = [t, &options](const auto& put) { tensor_produce(*t, options.dtype, options.seed, put); };
      writes.push_back(std::move(w));
      weight_map[t->name] = file;
    }
    safetensors_write(dir / file, writes, {{"format", "pt"}});
  }
  if (shards.size() > 1)
    file_write_atomic(dir / "model.safetensors.index.json",
                      nlohmann::ordered_json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2) +
                          "\n");
  if (!options.tokenizer.empty()) file_write_atomic(dir / "tokenizer.model", file_read(options.tokenizer));
  ModelConfig written = config;
  written.torch_dtype = options.dtype == DType::BF16 ? "bfloat16" : options.dtype == DType::F16 ? "float16" : "float32";
  file_write_atomic(dir / "config.json", config_to_json(written));
}

}  // namespace qs::test
