// The architecture of a Llama-family model, as Hugging Face's config.json describes it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace qs {

struct ModelConfig {
  std::string model_type = "llama";  // "llama" or "mistral"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  std::string torch_dtype = "float32";

  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  int64_t q_dim() const { return num_attention_heads * head_dim; }
};

// Parses config.json text; `source` names the file in error messages. Unknown model types are
// rejected with a message listing the supported ones; missing required fields are named.
ModelConfig config_parse(const std::string& json_text, const std::string& source);
ModelConfig config_load(const std::filesystem::path& path);
std::string config_to_json(const ModelConfig& config);
// Throws Invalid when dimensions are inconsistent (heads not dividing, zero sizes, ...).
void config_validate(const ModelConfig& config, const std::string& source);

}  // namespace qs
