// model_save: save -> load is bit-exact (F32) for tiny models and for stories260K converted from
// llama2.c; BF16 saving rounds as BF16; the source directory is never written; sharded checkpoints
// built from a saved model load to the same tensors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>

#include "core/hf_fixture.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;

void expect_same_tensors(const Model& a, const Model& b) {
  ASSERT_EQ(a.tensor_names(), b.tensor_names());
  for (const auto& name : a.tensor_names()) {
    const torch::Tensor ta = a.state().tensor(name), tb = b.state().tensor(name);
    EXPECT_EQ(ta.scalar_type(), tb.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(ta, tb)) << name;
  }
}

TEST(ModelSave, SaveThenLoadIsBitExact) {
  test::TempDir dir;
  for (bool tied : {false, true}) {
    const fs::path out = dir / (tied ? "tied" : "untied");
    const auto original = test::tiny_hf_write(out, tied, /*biases=*/!tied);
    const auto loaded = model_load(out);
    expect_same_tensors(*original, *loaded);
    EXPECT_EQ(loaded->source_format(), "hf");
    EXPECT_EQ(loaded->stored_dtypes(), std::vector<DType>{DType::F32});
    EXPECT_EQ(loaded->config().tie_word_embeddings, tied);
    EXPECT_EQ(loaded->config().attention_bias, !tied);
    EXPECT_EQ(loaded->config().num_key_value_heads, original->config().num_key_value_heads);
    EXPECT_DOUBLE_EQ(loaded->config().rope_theta, original->config().rope_theta);
    EXPECT_EQ(loaded->linear_layers().size(), original->linear_layers().size());
    EXPECT_EQ(loaded->linear_layers().back().role, tied ? "down_proj" : "lm_head");
    // Exactly the model's files and the mark of a folder Quantscope wrote, no temporaries left behind.
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(out)) files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<std::string>{".quantscope", "config.json", "model.safetensors"}));
  }
}

// Tensors are written a block of 16M values at a time: a 600,000-entry vocabulary of width 32 (19.2M
// values) takes a full block and a part of one, for the embedding and the head, saved and read again
// as they were, through a resident and a streamed model alike.
TEST(ModelSave, TensorsLargerThanABlockAreWrittenWhole) {
  test::TempDir dir;
  const auto original = std::make_shared<Model>(test::tiny_state(test::tiny_config(false, false, 600'000), 5));
  model_save(*original, dir / "once", DType::F32);
  expect_same_tensors(*original, *model_load(dir / "once"));
  LoadOptions streamed;
  streamed.residency = Residency::Streamed;
  model_save(*model_load(dir / "once", streamed), dir / "twice", DType::F32);
  expect_same_tensors(*original, *model_load(dir / "twice"));
}

TEST(ModelSave, Stories260KAsHfDirectoryKeepsWeightsAndTokenizer) {
  const fs::path bin = fs::path(QS_DATA_DIR) / "models" / "stories260K" / "stories260K.bin";
  if (!fs::exists(bin)) GTEST_SKIP() << "stories260K not found at " << bin;
  test::TempDir dir;
  const auto original = model_load(bin);
  model_save(*original, dir / "hf");
  const auto loaded = model_load(dir / "hf");
  expect_same_tensors(*original, *loaded);
  ASSERT_NE(loaded->tokenizer(), nullptr);
  EXPECT_EQ(test::bytes_read(dir / "hf" / "tokenizer.model"), test::bytes_read(original->tokenizer()->path()));
  EXPECT_EQ(loaded->config().max_position_embeddings, 512);
  EXPECT_DOUBLE_EQ(loaded->config().rms_norm_eps, 1e-5);
  EXPECT_TRUE(loaded->config().tie_word_embeddings);
}

TEST(ModelSave, RefusesToWriteIntoTheSourceDirectory) {
  test::TempDir dir;
  test::tiny_hf_write(dir / "m");
  const std::string before = test::bytes_read(dir / "m" / "model.safetensors");
  const auto loaded = model_load(dir / "m");
  try {
    model_save(*loaded, dir / "m");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    EXPECT_NE(std::string(e.what()).find("loaded from"), std::string::npos) << e.what();
  }
  // Also through another spelling of the same folder.
  EXPECT_THROW(model_save(*loaded, dir / "m" / ".." / "m"), Error);
  EXPECT_EQ(test::bytes_read(dir / "m" / "model.safetensors"), before);
}

// A folder that holds anything Quantscope did not write is never written into; one it wrote is.
TEST(ModelSave, WritesOnlyIntoNewEmptyOrItsOwnFolders) {
  test::TempDir dir;
  const auto model = test::tiny_hf_write(dir / "saved");
  model_save(*model, dir / "saved", DType::BF16);  // its own earlier save
  fs::create_directories(dir / "empty");
  model_save(*model, dir / "empty");
  fs::create_directories(dir / "mine");
  test::bytes_write(dir / "mine" / "config.json", "{\"mine\": true}");
  try {
    model_save(*model, dir / "mine");
    FAIL() << "wrote into a user's folder";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    EXPECT_NE(std::string(e.what()).find("not made by Quantscope"), std::string::npos) << e.what();
  }
  EXPECT_EQ(test::bytes_read(dir / "mine" / "config.json"), "{\"mine\": true}");
  EXPECT_FALSE(fs::exists(dir / "mine" / "model.safetensors"));
  test::bytes_write(dir / "file", "x");
  EXPECT_THROW(model_save(*model, dir / "file"), Error);
}

TEST(ModelSave, Bf16WeightsAreRoundedOnce) {
  test::TempDir dir;
  const auto original = test::tiny_hf_write(dir / "f32");
  model_save(*original, dir / "bf16", DType::BF16);
  const auto loaded = model_load(dir / "bf16");
  EXPECT_EQ(loaded->stored_dtypes(), std::vector<DType>{DType::BF16});
  EXPECT_EQ(loaded->config().torch_dtype, "bfloat16");
  for (const auto& name : original->tensor_names()) {
    const torch::Tensor expected = original->state().tensor(name).to(torch::kBFloat16).to(torch::kFloat32);
    EXPECT_TRUE(torch::equal(loaded->state().tensor(name), expected)) << name;
  }
  EXPECT_THROW(model_save(*original, dir / "i8", DType::I8), Error);
}

TEST(ModelSave, ShardedIndexLoadsTheSameTensors) {
  test::TempDir dir;
  const auto original = test::tiny_hf_write(dir / "single");
  const auto tensors = test::tensors_read(dir / "single" / "model.safetensors");
  fs::create_directories(dir / "sharded");
  fs::copy_file(dir / "single" / "config.json", dir / "sharded" / "config.json");
  std::vector<test::OwnedTensor> shards[2];
  std::string weight_map;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int shard = i < tensors.size() / 2 ? 0 : 1;
    shards[shard].push_back(tensors[i]);
    weight_map += (i ? ",\n" : "") + std::string("\"") + tensors[i].name + "\": \"model-0000" + std::to_string(shard + 1) +
                  "-of-00002.safetensors\"";
  }
  test::tensors_write(dir / "sharded" / "model-00001-of-00002.safetensors", shards[0]);
  test::tensors_write(dir / "sharded" / "model-00002-of-00002.safetensors", shards[1]);
  test::bytes_write(dir / "sharded" / "model.safetensors.index.json",
                    "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {" + weight_map + "}}");
  const auto loaded = model_load(dir / "sharded");
  expect_same_tensors(*original, *loaded);
  EXPECT_EQ(loaded->stored_bytes(), model_load(dir / "single")->stored_bytes());

  // A shard the index names but the folder lacks is an Io error naming it.
  fs::remove(dir / "sharded" / "model-00002-of-00002.safetensors");
  try {
    model_load(dir / "sharded");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qs
