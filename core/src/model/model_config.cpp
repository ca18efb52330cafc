// Reading, writing and checking Hugging Face config.json for the Llama family.
#include "quantscope/model_config.hpp"

#include <nlohmann/json.hpp>

#include "base/json_strict.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"

namespace qs {
namespace {

using json = nlohmann::ordered_json;

constexpr const char* kSupportedTypes = "llama, mistral";

[[noreturn]] void fail(ErrorKind kind, const std::string& source, const std::string& problem) {
  throw Error(kind, source + ": " + problem);
}

int64_t int_field(const json& j, const char* key, const std::string& source) {
  const json& v = j.at(key);
  if (!v.is_number_integer()) fail(ErrorKind::Format, source, std::string("\"") + key + "\" must be an integer");
  return v.get<int64_t>();
}

double real_field(const json& j, const char* key, const std::string& source) {
  const json& v = j.at(key);
  if (!v.is_number()) fail(ErrorKind::Format, source, std::string("\"") + key + "\" must be a number");
  return v.get<double>();
}

bool bool_field(const json& j, const char* key, const std::string& source) {
  const json& v = j.at(key);
  if (!v.is_boolean()) fail(ErrorKind::Format, source, std::string("\"") + key + "\" must be true or false");
  return v.get<bool>();
}

bool present(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

// bos/eos ids are an integer or, in newer configs, a list whose first entry is the main one.
int64_t token_id(const json& j, const char* key, const std::string& source, int64_t fallback) {
  if (!present(j, key)) return fallback;
  const json& v = j.at(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_array() && !v.empty() && v.front().is_number_integer()) return v.front().get<int64_t>();
  fail(ErrorKind::Format, source, std::string("\"") + key + "\" must be an integer or a list of integers");
}

}  // namespace

ModelConfig config_parse(const std::string& json_text, const std::string& source) {
  const json j = json_parse_strict(json_text, source);
  if (!j.is_object()) fail(ErrorKind::Format, source, "not a JSON object");

  ModelConfig c;
  if (!present(j, "model_type")) fail(ErrorKind::Format, source, "missing required field \"model_type\"");
  if (!j.at("model_type").is_string()) fail(ErrorKind::Format, source, "\"model_type\" must be a string");
  c.model_type = j.at("model_type").get<std::string>();
  if (c.model_type != "llama" && c.model_type != "mistral")
    fail(ErrorKind::Unsupported, source,
         "model_type \"" + c.model_type + "\" is not supported (supported: " + kSupportedTypes + ")");

  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"})
    if (!present(j, key)) fail(ErrorKind::Format, source, std::string("missing required field \"") + key + "\"");
  c.vocab_size = int_field(j, "vocab_size", source);
  c.hidden_size = int_field(j, "hidden_size", source);
  c.intermediate_size = int_field(j, "intermediate_size", source);
  c.num_hidden_layers = int_field(j, "num_hidden_layers", source);
  c.num_attention_heads = int_field(j, "num_attention_heads", source);
  c.num_key_value_heads =
      present(j, "num_key_value_heads") ? int_field(j, "num_key_value_heads", source) : c.num_attention_heads;
  if (present(j, "head_dim")) {
    c.head_dim = int_field(j, "head_dim", source);
  } else {
    if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
      fail(ErrorKind::Format, source, "no \"head_dim\" and hidden_size " + std::to_string(c.hidden_size) +
                                          " is not divisible by num_attention_heads " +
                                          std::to_string(c.num_attention_heads));
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (present(j, "max_position_embeddings")) c.max_position_embeddings = int_field(j, "max_position_embeddings", source);
  if (present(j, "rms_norm_eps")) c.rms_norm_eps = real_field(j, "rms_norm_eps", source);

  // Newer transformers files move rope_theta (and any scaling) into "rope_parameters".
  if (present(j, "rope_theta")) c.rope_theta = real_field(j, "rope_theta", source);
  if (present(j, "rope_parameters")) {
    const json& rp = j.at("rope_parameters");
    if (!rp.is_object()) fail(ErrorKind::Format, source, "\"rope_parameters\" must be an object");
    if (present(rp, "rope_theta")) c.rope_theta = real_field(rp, "rope_theta", source);
    if (present(rp, "rope_type") && rp.at("rope_type") != "default")
      fail(ErrorKind::Unsupported, source, "rope_type " + rp.at("rope_type").dump() + " is not supported (only default RoPE)");
  }
  // Scaled RoPE (linear, dynamic, yarn, llama3) changes the forward pass; refusing beats a silent
  // wrong answer.
  if (present(j, "rope_scaling")) {
    const json& rs = j.at("rope_scaling");
    const std::string type = rs.is_object() && rs.contains("rope_type") ? rs.at("rope_type").dump()
                             : rs.is_object() && rs.contains("type")    ? rs.at("type").dump()
                                                                        : rs.dump();
    if (type != "\"default\"") fail(ErrorKind::Unsupported, source, "rope_scaling " + type + " is not supported");
  }
  if (present(j, "hidden_act")) {
    const json& act = j.at("hidden_act");
    if (act != "silu") fail(ErrorKind::Unsupported, source, "hidden_act " + act.dump() + " is not supported (only silu)");
  }
  if (present(j, "tie_word_embeddings")) c.tie_word_embeddings = bool_field(j, "tie_word_embeddings", source);
  if (present(j, "attention_bias")) c.attention_bias = bool_field(j, "attention_bias", source);
  if (present(j, "mlp_bias")) c.mlp_bias = bool_field(j, "mlp_bias", source);
  c.bos_token_id = token_id(j, "bos_token_id", source, c.bos_token_id);
  c.eos_token_id = token_id(j, "eos_token_id", source, c.eos_token_id);
  const char* dtype_key = present(j, "torch_dtype") ? "torch_dtype" : present(j, "dtype") ? "dtype" : nullptr;
  if (dtype_key) {
    if (!j.at(dtype_key).is_string()) fail(ErrorKind::Format, source, std::string("\"") + dtype_key + "\" must be a string");
    c.torch_dtype = j.at(dtype_key).get<std::string>();
  }
  return c;
}

ModelConfig config_load(const std::filesystem::path& path) { return config_parse(file_read(path), path.string()); }

std::string config_to_json(const ModelConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  j["architectures"] = nlohmann::json::array({c.model_type == "mistral" ? "MistralForCausalLM" : "LlamaForCausalLM"});
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["attention_bias"] = c.attention_bias;
  j["mlp_bias"] = c.mlp_bias;
  j["bos_token_id"] = c.bos_token_id;
  j["eos_token_id"] = c.eos_token_id;
  j["torch_dtype"] = c.torch_dtype;
  return j.dump(2) + "\n";
}

void config_validate(const ModelConfig& c, const std::string& source) {
  // Every count is bounded before anything is sized by it: a corrupt or hostile config must fail here,
  // not in an allocation of gigabytes. The limits are far above any published model's.
  auto within = [&](int64_t value, const char* name, int64_t limit) {
    if (value <= 0) fail(ErrorKind::Invalid, source, std::string(name) + " must be positive, got " + std::to_string(value));
    if (value > limit)
      fail(ErrorKind::Invalid, source, std::string(name) + " " + std::to_string(value) + " exceeds the limit of " +
                                           std::to_string(limit));
  };
  within(c.vocab_size, "vocab_size", int64_t(1) << 24);
  within(c.hidden_size, "hidden_size", int64_t(1) << 20);
  within(c.intermediate_size, "intermediate_size", int64_t(1) << 22);
  within(c.num_hidden_layers, "num_hidden_layers", 4096);
  within(c.num_attention_heads, "num_attention_heads", int64_t(1) << 14);
  within(c.num_key_value_heads, "num_key_value_heads", int64_t(1) << 14);
  within(c.head_dim, "head_dim", int64_t(1) << 16);
  within(c.max_position_embeddings, "max_position_embeddings", int64_t(1) << 30);
  // The whole model must be plausible: 2^44 parameters (17 T) is far beyond any published one.
  const __int128 hidden = c.hidden_size;
  const __int128 per_layer = hidden * (2 * __int128(c.q_dim()) + 2 * __int128(c.kv_dim()) + 3 * __int128(c.intermediate_size));
  const __int128 total = __int128(c.num_hidden_layers) * per_layer + 2 * __int128(c.vocab_size) * hidden;
  if (total > (__int128(1) << 44))
    fail(ErrorKind::Invalid, source, "the dimensions imply more than 2^44 parameters; the file is not a real model");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    fail(ErrorKind::Invalid, source, "num_attention_heads " + std::to_string(c.num_attention_heads) +
                                         " is not a multiple of num_key_value_heads " +
                                         std::to_string(c.num_key_value_heads));
  if (c.head_dim % 2 != 0)
    fail(ErrorKind::Invalid, source, "head_dim " + std::to_string(c.head_dim) + " must be even for RoPE");
  if (!(c.rms_norm_eps > 0)) fail(ErrorKind::Invalid, source, "rms_norm_eps must be positive");
  if (!(c.rope_theta > 0)) fail(ErrorKind::Invalid, source, "rope_theta must be positive");
  for (auto [id, name] : {std::pair{c.bos_token_id, "bos_token_id"}, std::pair{c.eos_token_id, "eos_token_id"}})
    if (id < 0 || id >= c.vocab_size)
      fail(ErrorKind::Invalid, source, std::string(name) + " " + std::to_string(id) + " is outside the vocabulary of " +
                                           std::to_string(c.vocab_size));
  if (c.model_type != "llama" && c.model_type != "mistral")
    fail(ErrorKind::Unsupported, source,
         "model_type \"" + c.model_type + "\" is not supported (supported: " + kSupportedTypes + ")");
}

}  // namespace qs
