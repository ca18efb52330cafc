// config.json parsing: defaults, the Llama and Mistral types, newer field layouts, and the errors
// for unsupported architectures, missing or mistyped fields and inconsistent dimensions.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/temp_dir.hpp"
#include "quantscope/error.hpp"
#include "quantscope/model_config.hpp"

namespace qs {
namespace {

const char* kMinimal = R"({"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096,
  "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32})";

ErrorKind error_kind_of(const std::string& json, std::string* message = nullptr) {
  try {
    config_validate(config_parse(json, "dir/config.json"), "dir/config.json");
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  ADD_FAILURE() << "no error for " << json;
  return ErrorKind::Cancelled;
}

TEST(ModelConfig, MinimalLlamaGetsDefaults) {
  const ModelConfig c = config_parse(kMinimal, "config.json");
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_NO_THROW(config_validate(c, "config.json"));
}

TEST(ModelConfig, MistralWithGqaAndExplicitFields) {
  const ModelConfig c = config_parse(R"({"model_type": "mistral", "vocab_size": 32768, "hidden_size": 4096,
    "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "head_dim": 128, "max_position_embeddings": 32768, "rms_norm_eps": 1e-05, "rope_theta": 1000000.0,
    "tie_word_embeddings": false, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": [2, 7],
    "torch_dtype": "bfloat16", "sliding_window": null, "rope_scaling": null})", "config.json");
  EXPECT_EQ(c.model_type, "mistral");
  EXPECT_EQ(c.kv_dim(), 8 * 128);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.eos_token_id, 2);  // the first of a list
  EXPECT_EQ(c.torch_dtype, "bfloat16");
}

TEST(ModelConfig, RopeThetaFromRopeParameters) {
  std::string json = kMinimal;
  json.insert(json.size() - 1, R"(, "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0})");
  EXPECT_DOUBLE_EQ(config_parse(json, "config.json").rope_theta, 500000.0);
}

TEST(ModelConfig, OtherArchitecturesListWhatIsSupported) {
  std::string json = kMinimal;
  json.replace(json.find("llama"), 5, "qwen2");
  std::string message;
  EXPECT_EQ(error_kind_of(json, &message), ErrorKind::Unsupported);
  EXPECT_NE(message.find("dir/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("qwen2"), std::string::npos) << message;
  EXPECT_NE(message.find("llama, mistral"), std::string::npos) << message;
}

TEST(ModelConfig, MissingRequiredFieldIsNamed) {
  std::string json = kMinimal;
  json.replace(json.find("\"hidden_size\""), std::string("\"hidden_size\": 4096,").size(), "");
  std::string message;
  EXPECT_EQ(error_kind_of(json, &message), ErrorKind::Format);
  EXPECT_NE(message.find("\"hidden_size\""), std::string::npos) << message;
}

TEST(ModelConfig, WrongTypeIsAFormatError) {
  std::string json = kMinimal;
  json.replace(json.find("32000"), 5, "\"32000\"");
  std::string message;
  EXPECT_EQ(error_kind_of(json, &message), ErrorKind::Format);
  EXPECT_NE(message.find("vocab_size"), std::string::npos) << message;
}

TEST(ModelConfig, InvalidJsonNamesTheFile) {
  std::string message;
  EXPECT_EQ(error_kind_of("{\"model_type\": ", &message), ErrorKind::Format);
  EXPECT_NE(message.find("dir/config.json"), std::string::npos) << message;
}

TEST(ModelConfig, ScaledRopeAndOtherActivationsAreUnsupported) {
  std::string scaled = kMinimal;
  scaled.insert(scaled.size() - 1, R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0})");
  EXPECT_EQ(error_kind_of(scaled), ErrorKind::Unsupported);
  std::string gelu = kMinimal;
  gelu.insert(gelu.size() - 1, R"(, "hidden_act": "gelu")");
  EXPECT_EQ(error_kind_of(gelu), ErrorKind::Unsupported);
}

TEST(ModelConfig, InconsistentDimensionsAreInvalid) {
  std::string json = kMinimal;
  json.insert(json.size() - 1, R"(, "num_key_value_heads": 5)");
  std::string message;
  EXPECT_EQ(error_kind_of(json, &message), ErrorKind::Invalid);
  EXPECT_NE(message.find("num_key_value_heads"), std::string::npos) << message;
  std::string zero = kMinimal;
  zero.replace(zero.find("11008"), 5, "0");
  EXPECT_EQ(error_kind_of(zero), ErrorKind::Invalid);
  std::string odd = kMinimal;
  odd.insert(odd.size() - 1, R"(, "head_dim": 7)");
  EXPECT_EQ(error_kind_of(odd), ErrorKind::Invalid);
}

// Counts are bounded before anything is sized by them (the unfixed reader built the tensor list of
// 60 million layers and died in std::bad_alloc, naming no file).
TEST(ModelConfig, HugeCountsAreRefusedBeforeAnythingIsSized) {
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"num_hidden_layers", "60000000"}, {"vocab_size", "9000000000"}, {"hidden_size", "4000000"}}) {
    std::string json = kMinimal;
    const size_t at = json.find("\"" + field + "\": ") + field.size() + 4;
    json.replace(at, json.find_first_of(",}", at) - at, value);
    std::string message;
    EXPECT_EQ(error_kind_of(json, &message), ErrorKind::Invalid) << json;
    EXPECT_NE(message.find("dir/config.json: " + field + " " + value + " exceeds the limit"), std::string::npos)
        << message;
  }
  std::string wide = kMinimal;  // each count plausible, together beyond any real model
  wide.replace(wide.find("11008"), 5, "4000000");
  const std::string layers = "\"num_hidden_layers\": 32";
  wide.replace(wide.find(layers), layers.size(), "\"num_hidden_layers\": 4000");
  std::string message;
  EXPECT_EQ(error_kind_of(wide, &message), ErrorKind::Invalid);
  EXPECT_NE(message.find("2^44 parameters"), std::string::npos) << message;
}

TEST(ModelConfig, DuplicateKeysAreRefused) {
  std::string json = kMinimal;
  json.insert(json.size() - 1, R"(, "hidden_size": 2048)");
  std::string message;
  EXPECT_EQ(error_kind_of(json, &message), ErrorKind::Format);
  EXPECT_NE(message.find("duplicate key \"hidden_size\""), std::string::npos) << message;
}

TEST(ModelConfig, JsonRoundTrip) {
  ModelConfig c = config_parse(kMinimal, "config.json");
  c.num_key_value_heads = 8;
  c.tie_word_embeddings = true;
  c.attention_bias = true;
  c.rope_theta = 123456.0;
  c.rms_norm_eps = 1e-5;
  c.torch_dtype = "bfloat16";
  const ModelConfig back = config_parse(config_to_json(c), "round trip");
  EXPECT_EQ(back.model_type, c.model_type);
  EXPECT_EQ(back.vocab_size, c.vocab_size);
  EXPECT_EQ(back.num_key_value_heads, 8);
  EXPECT_EQ(back.head_dim, c.head_dim);
  EXPECT_DOUBLE_EQ(back.rope_theta, c.rope_theta);
  EXPECT_DOUBLE_EQ(back.rms_norm_eps, c.rms_norm_eps);
  EXPECT_TRUE(back.tie_word_embeddings);
  EXPECT_TRUE(back.attention_bias);
  EXPECT_FALSE(back.mlp_bias);
  EXPECT_EQ(back.torch_dtype, "bfloat16");
}

TEST(ModelConfig, LoadMissingFileIsAnIoError) {
  test::TempDir dir;
  try {
    config_load(dir / "config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace qs
