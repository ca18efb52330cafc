// llama2.c .bin loading: stories260K's configuration, tensors and tokenizer; the interleaved-to-half
// RoPE permutation of q/k rows checked against the raw file; a synthetic untied checkpoint; and the
// errors for truncated files and versioned exports.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <vector>

#include "core/temp_dir.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

const std::filesystem::path kStories = std::filesystem::path(QS_DATA_DIR) / "models" / "stories260K";

#define REQUIRE_STORIES()                                                                          \
  if (!std::filesystem::exists(kStories / "stories260K.bin"))                                     \
  GTEST_SKIP() << "stories260K not found in " << kStories << " (set QS_DATA_DIR to ../shared/data)"

struct Dims {
  int32_t dim = 8, hidden = 12, layers = 2, heads = 2, kv_heads = 1, vocab = 11, seq_len = 5;
};

int64_t float_count(const Dims& d, bool shared) {
  const int64_t D = d.dim, H = d.hidden, L = d.layers, V = d.vocab, KV = int64_t(d.dim) * d.kv_heads / d.heads;
  return V * D + L * D + 2 * L * D * D + 2 * L * KV * D + L * D + 3 * L * H * D + D + int64_t(d.seq_len) * (D / d.heads) +
         (shared ? 0 : V * D);
}

// Writes a .bin whose floats are 0, 1, 2, ... so every tensor's position in the file is visible.
std::vector<float> llama2c_write(const std::filesystem::path& path, const Dims& d, bool shared) {
  std::vector<float> floats(size_t(float_count(d, shared)));
  for (size_t i = 0; i < floats.size(); ++i) floats[i] = float(i) * 1e-3f;
  const int32_t header[7] = {d.dim, d.hidden, d.layers, d.heads, d.kv_heads, shared ? d.vocab : -d.vocab, d.seq_len};
  std::string bytes(reinterpret_cast<const char*>(header), sizeof header);
  bytes.append(reinterpret_cast<const char*>(floats.data()), floats.size() * 4);
  test::bytes_write(path, bytes);
  return floats;
}

TEST(Llama2c, Stories260KConfigTensorsAndTokenizer) {
  REQUIRE_STORIES();
  const auto model = model_load(kStories / "stories260K.bin");
  const ModelConfig& c = model->config();
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_hidden_layers, 5);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(model->source_format(), "llama2c");
  EXPECT_EQ(model->stored_dtypes(), std::vector<DType>{DType::F32});
  ASSERT_NE(model->tokenizer(), nullptr);  // the one tok*.model beside the .bin
  EXPECT_EQ(model->tokenizer()->path().filename(), "tok512.model");

  const auto layers = model->linear_layers();
  ASSERT_EQ(layers.size(), 5u * 7u);  // tied: no lm_head
  EXPECT_EQ(layers.front().name, "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(layers[6].name, "model.layers.0.mlp.down_proj");
  EXPECT_EQ(layers[6].out_features, 64);
  EXPECT_EQ(layers[6].in_features, 172);
  EXPECT_EQ(layers[1].out_features, 32);  // k_proj: 4 kv heads x 8
  EXPECT_EQ(model->tensor_shape("model.embed_tokens.weight"), (std::vector<int64_t>{512, 64}));
  // Every float in the file except the two RoPE tables is a parameter.
  const int64_t file_floats = (int64_t(std::filesystem::file_size(kStories / "stories260K.bin")) - 28) / 4;
  EXPECT_EQ(model->parameter_count(), file_floats - 512 * 4 * 2);
  EXPECT_EQ(model->stored_bytes(), uint64_t(model->parameter_count()) * 4);
}

TEST(Llama2c, QueryAndKeyRowsArePermutedToHalfRotation) {
  REQUIRE_STORIES();
  const auto model = model_load(kStories / "stories260K.bin");
  const std::string raw = test::bytes_read(kStories / "stories260K.bin");
  const int64_t D = 64, V = 512, L = 5, hd = 8;
  // wq of layer 0 starts after the header, the embedding and rms_att.
  const float* wq0 = reinterpret_cast<const float*>(raw.data() + 28) + V * D + L * D;
  const std::vector<float> q = model->tensor_values("model.layers.0.self_attn.q_proj.weight");
  for (int64_t head = 0; head < 8; ++head)
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t i = 0; i < hd / 2; ++i)
        for (int64_t col = 0; col < D; ++col) {
          const int64_t new_row = head * hd + t * (hd / 2) + i, old_row = head * hd + 2 * i + t;
          ASSERT_EQ(q[new_row * D + col], wq0[old_row * D + col]) << "head " << head << " t " << t << " i " << i;
        }
  // v_proj is not rotated and stays as stored.
  const float* wv0 = wq0 + L * D * D + L * 32 * D;
  const std::vector<float> v = model->tensor_values("model.layers.0.self_attn.v_proj.weight");
  EXPECT_EQ(std::memcmp(v.data(), wv0, v.size() * 4), 0);
}

TEST(Llama2c, UntiedClassifierFollowsTheRopeTables) {
  test::TempDir dir;
  const Dims d;
  const auto path = dir / "untied.bin";
  const std::vector<float> floats = llama2c_write(path, d, /*shared=*/false);
  const auto model = model_load(path);
  EXPECT_FALSE(model->config().tie_word_embeddings);
  EXPECT_EQ(model->tokenizer(), nullptr);
  const auto layers = model->linear_layers();
  ASSERT_EQ(layers.size(), 2u * 7u + 1u);
  EXPECT_EQ(layers.back().name, "lm_head");
  EXPECT_EQ(layers.back().layer, -1);
  const std::vector<float> head = model->tensor_values("lm_head.weight");
  ASSERT_EQ(head.size(), size_t(d.vocab * d.dim));
  // wcls is the last vocab x dim floats of the file.
  const size_t start = floats.size() - head.size();
  for (size_t i = 0; i < head.size(); ++i) ASSERT_EQ(head[i], floats[start + i]);
  // The embedding is the first block, unrelated to the classifier.
  EXPECT_EQ(model->tensor_values("model.embed_tokens.weight")[0], 0.f);
}

TEST(Llama2c, TruncatedFileReportsExpectedAndActualBytes) {
  test::TempDir dir;
  const Dims d;
  const auto path = dir / "short.bin";
  llama2c_write(path, d, /*shared=*/true);
  const auto full = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, full - 4);
  try {
    model_load(path);
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Format) << m;
    EXPECT_NE(m.find(path.string()), std::string::npos) << m;
    EXPECT_NE(m.find("truncated"), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(full)), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(full - 4)), std::string::npos) << m;
  }
}

TEST(Llama2c, VersionedExportIsUnsupported) {
  test::TempDir dir;
  const auto path = dir / "v1.bin";
  const uint32_t header[8] = {0x616b3432, 1, 8, 12, 2, 2, 1, 11};
  test::bytes_write(path, std::string(reinterpret_cast<const char*>(header), sizeof header));
  try {
    model_load(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported) << e.what();
  }
}

TEST(Llama2c, InconsistentHeaderIsAFormatError) {
  test::TempDir dir;
  Dims d;
  d.kv_heads = 3;  // does not divide n_heads
  const auto path = dir / "bad.bin";
  const int32_t header[7] = {d.dim, d.hidden, d.layers, d.heads, d.kv_heads, d.vocab, d.seq_len};
  test::bytes_write(path, std::string(reinterpret_cast<const char*>(header), sizeof header) + std::string(4096, '\0'));
  try {
    model_load(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
    EXPECT_NE(std::string(e.what()).find("n_kv_heads"), std::string::npos) << e.what();
  }
}

TEST(Llama2c, ExplicitTokenizerOptionWins) {
  REQUIRE_STORIES();
  test::TempDir dir;
  const Dims d;
  const auto path = dir / "tiny.bin";
  llama2c_write(path, d, /*shared=*/true);
  LoadOptions options;
  options.tokenizer = kStories / "tok512.model";
  // tok512 has 512 pieces, more than this model's 11-token vocabulary.
  EXPECT_THROW(model_load(path, options), Error);
  const auto model = model_load(kStories / "stories260K.bin", options);
  EXPECT_EQ(model->tokenizer()->vocab_size(), 512);
}

}  // namespace
}  // namespace qs
