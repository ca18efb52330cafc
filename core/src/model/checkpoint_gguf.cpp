// Reads llama.cpp's GGUF files of the llama architecture into HF-named tensors: the hyperparameters
// from llama.* keys, the tensors by llama.cpp's names (model/gguf_names.hpp), F32/F16/BF16 viewed as
// stored and the quantized types kept as their blocks (StoredTensor::format) and decoded when used, so
// that every layer shows the type it ships in. llama.cpp's q/k rows rotate interleaved RoPE pairs
// (convert_hf_to_gguf.py permutes HF's halves into them), so they are permuted back when read, as for
// llama2.c. The vocabulary becomes a sentencepiece model in memory.
#include "model/checkpoint_read.hpp"

#include <algorithm>
#include <cmath>

#include "io/gguf_file.hpp"
#include "io/mapped_file.hpp"
#include "io/sentencepiece_model.hpp"
#include "model/gguf_names.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"

namespace qs {
namespace {

ModelConfig config_read(const GgufFile& g) {
  const std::string file = g.path().string();
  const std::string arch = g.string_get("general.architecture");
  if (arch != "llama")
    throw Error(ErrorKind::Unsupported, file + ": GGUF architecture '" + arch +
                                            "' is not supported (Quantscope reads the llama architecture)");
  const auto count = [&](const std::string& key) { return int64_t(std::min<uint64_t>(g.uint_get(key), INT32_MAX)); };
  ModelConfig c;
  c.model_type = "llama";
  c.hidden_size = count("llama.embedding_length");
  c.intermediate_size = count("llama.feed_forward_length");
  c.num_hidden_layers = count("llama.block_count");
  c.num_attention_heads = count("llama.attention.head_count");
  c.num_key_value_heads = g.find("llama.attention.head_count_kv") ? count("llama.attention.head_count_kv")
                                                                   : c.num_attention_heads;
  c.head_dim = g.find("llama.attention.key_length") ? count("llama.attention.key_length")
               : c.num_attention_heads > 0         ? c.hidden_size / c.num_attention_heads
                                                   : 0;
  if (g.find("llama.attention.value_length") && count("llama.attention.value_length") != c.head_dim)
    throw Error(ErrorKind::Unsupported, file + ": GGUF: value_length differs from key_length, which Llama does not do");
  if (g.find("llama.rope.dimension_count") && count("llama.rope.dimension_count") != c.head_dim)
    throw Error(ErrorKind::Unsupported, file + ": GGUF: llama.rope.dimension_count " +
                                            std::to_string(g.uint_get("llama.rope.dimension_count")) +
                                            " rotates part of a head, which Quantscope's Llama does not do");
  if (g.find("llama.rope.scaling.type") && g.string_get("llama.rope.scaling.type") != "none")
    throw Error(ErrorKind::Unsupported, file + ": GGUF: RoPE scaling '" + g.string_get("llama.rope.scaling.type") +
                                            "' is not supported");
  c.max_position_embeddings = g.find("llama.context_length") ? count("llama.context_length") : 2048;
  c.rms_norm_eps = g.float_get("llama.attention.layer_norm_rms_epsilon");
  c.rope_theta = g.find("llama.rope.freq_base") ? g.float_get("llama.rope.freq_base") : 10000.0;
  if (!(std::isfinite(c.rms_norm_eps) && c.rms_norm_eps > 0 && std::isfinite(c.rope_theta) && c.rope_theta > 0))
    throw Error(ErrorKind::Format, file + ": GGUF: layer_norm_rms_epsilon and rope.freq_base must be positive");
  const GgufValue* tokens = g.find("tokenizer.ggml.tokens");
  c.vocab_size = g.find("llama.vocab_size") ? count("llama.vocab_size")
                 : tokens                    ? int64_t(tokens->strings.size())
                                             : 0;
  if (g.find("tokenizer.ggml.bos_token_id")) c.bos_token_id = count("tokenizer.ggml.bos_token_id");
  if (g.find("tokenizer.ggml.eos_token_id")) c.eos_token_id = count("tokenizer.ggml.eos_token_id");
  c.tie_word_embeddings = g.tensor_find("output.weight") == nullptr;
  c.torch_dtype = "float32";
  config_validate(c, file);
  return c;
}

// The vocabulary of a "llama" (sentencepiece) tokenizer; null for others (GPT-2 style BPE), which the
// commands that need text then name.
std::shared_ptr<const Tokenizer> tokenizer_read(const GgufFile& g) {
  const std::string file = g.path().string();
  if (!g.find("tokenizer.ggml.model") || g.string_get("tokenizer.ggml.model") != "llama") return nullptr;
  const auto array = [&](const char* key, GgufValueType element) -> const GgufValue& {
    const GgufValue* v = g.find(key);
    if (!v || v->type != GgufValueType::Array || v->element != element)
      throw Error(ErrorKind::Format, file + ": GGUF: key '" + std::string(key) + "' is missing or not an array of " +
                                         (element == GgufValueType::String ? "strings" : "numbers"));
    return *v;
  };
  SentencePieceVocab vocab;
  vocab.pieces = array("tokenizer.ggml.tokens", GgufValueType::String).strings;
  const GgufValue& scores = array("tokenizer.ggml.scores", GgufValueType::F32);
  const GgufValue& types = array("tokenizer.ggml.token_type", GgufValueType::I32);
  const size_t n = vocab.pieces.size();
  if (scores.floats.size() != n || types.ints.size() != n)
    throw Error(ErrorKind::Format, file + ": GGUF: tokenizer.ggml.tokens has " + std::to_string(n) +
                                       " entries but scores has " + std::to_string(scores.floats.size()) +
                                       " and token_type " + std::to_string(types.ints.size()));
  for (size_t i = 0; i < n; ++i) {
    if (types.ints[i] < 1 || types.ints[i] > 6)
      throw Error(ErrorKind::Format, file + ": GGUF: token " + std::to_string(i) + " has type " +
                                         std::to_string(types.ints[i]) + " (1 to 6)");
    vocab.scores.push_back(float(scores.floats[i]));
    vocab.types.push_back(int32_t(types.ints[i]));
  }
  const auto id = [&](const char* key, int32_t fallback) {
    if (!g.find(key)) return fallback;
    const uint64_t v = g.uint_get(key);
    if (v >= n) throw Error(ErrorKind::Format, file + ": GGUF: " + key + " " + std::to_string(v) + " is outside the vocabulary");
    return int32_t(v);
  };
  vocab.unk_id = id("tokenizer.ggml.unknown_token_id", 0);
  vocab.bos_id = id("tokenizer.ggml.bos_token_id", 1);
  vocab.eos_id = id("tokenizer.ggml.eos_token_id", 2);
  vocab.pad_id = id("tokenizer.ggml.padding_token_id", -1);
  if (const GgufValue* prefix = g.find("tokenizer.ggml.add_space_prefix"); prefix && prefix->type == GgufValueType::Bool)
    vocab.add_dummy_prefix = prefix->ints.at(0) != 0;
  return Tokenizer::from_proto(sentencepiece_model_write(vocab), g.path());
}

}  // namespace

std::shared_ptr<ModelState> checkpoint_gguf_read(const std::filesystem::path& path, const LoadOptions& options,
                                                 JobContext* job) {
  const GgufFile g = GgufFile::open(path);
  const std::string file = path.string();
  auto state = std::make_shared<ModelState>();
  state->config = config_read(g);
  state->source = path;
  state->source_format = "gguf";
  state->source_identity.push_back(path.filename().string() + " " + g.file()->identity());
  state->device = options.device;
  state->compute = options.compute;

  const std::vector<HfTensor> layout = hf_layout(state->config);
  std::map<std::string, const HfTensor*> wanted;
  for (const HfTensor& spec : layout) wanted[spec.name] = &spec;
  for (const GgufTensorInfo& info : g.tensors()) {
    if (job) job->check_cancelled();
    const std::string hf = gguf_name_to_hf(info.name);
    const auto it = wanted.find(hf);
    if (hf.empty() || it == wanted.end())
      throw Error(ErrorKind::Unsupported, file + ": GGUF tensor '" + info.name +
                                              "' is not part of the llama model its metadata describes");
    const HfTensor& spec = *it->second;
    const std::vector<int64_t> shape(info.dims.rbegin(), info.dims.rend());  // ggml lists the row length first
    if (shape != spec.shape)
      throw Error(ErrorKind::Format, file + ": GGUF tensor '" + info.name + "' has shape " + shape_text(shape) +
                                         ", expected " + shape_text(spec.shape) + " from its llama.* metadata");
    StoredTensor& s = state->stored[hf];
    s.file = g.file();
    s.offset = g.data_offset() + info.offset;
    s.shape = shape;
    s.keep_f32 = spec.kind == TensorKind::Norm;
    if (spec.role == "q_proj") s.rope_heads = state->config.num_attention_heads;
    if (spec.role == "k_proj") s.rope_heads = state->config.num_key_value_heads;
    if (info.type == kGgmlF32 || info.type == kGgmlF16 || info.type == kGgmlBF16) {
      s.dtype = info.type == kGgmlF32 ? DType::F32 : info.type == kGgmlF16 ? DType::F16 : DType::BF16;
    } else {
      if (shape.size() != 2)
        throw Error(ErrorKind::Unsupported, file + ": GGUF tensor '" + info.name + "' is a vector in " +
                                                ggml_type_name(info.type) + "; Quantscope reads quantized matrices only");
      s.dtype = DType::F32;
      s.format = format_parse(ggml_type_name(info.type));
      s.sections = {{s.offset, info.bytes}};
    }
    state->stored_dtypes[hf] = s.dtype;
    state->stored_bytes += info.bytes;
    wanted.erase(it);
  }
  if (!wanted.empty())
    throw Error(ErrorKind::Format, file + ": GGUF has no tensor '" + gguf_name_from_hf(wanted.begin()->first) +
                                       "', which its llama.* metadata implies");
  state->tokenizer = tokenizer_read(g);
  return state;
}

}  // namespace qs
