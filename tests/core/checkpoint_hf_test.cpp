// Loading Hugging Face checkpoints: the accepted path forms, the compute dtype, and the errors for
// missing tensors, wrong shapes, non-computable dtypes, NaN weights and unsupported architectures.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>

#include "core/hf_fixture.hpp"
#include "model_state.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;

// Loads `path`, expecting an error of `kind` whose message contains every one of `parts`.
void expect_load_error(const fs::path& path, ErrorKind kind, const std::vector<std::string>& parts) {
  try {
    model_load(path);
    FAIL() << "no error loading " << path;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.kind(), kind) << m;
    for (const auto& part : parts) EXPECT_NE(m.find(part), std::string::npos) << "'" << part << "' not in: " << m;
  }
}

const char* kQ = "model.layers.1.self_attn.q_proj.weight";

TEST(CheckpointHf, DirectoryAndSafetensorsFileBothLoad) {
  test::TempDir dir;
  const auto original = test::tiny_hf_write(dir.path());
  const auto from_file = model_load(dir / "model.safetensors");
  EXPECT_TRUE(torch::equal(from_file->state().tensor(kQ), original->state().tensor(kQ)));
  EXPECT_EQ(from_file->source(), dir / "model.safetensors");
  EXPECT_EQ(from_file->tokenizer(), nullptr);
}

TEST(CheckpointHf, Bf16ComputeKeepsNormsInF32) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  LoadOptions options;
  options.compute = ComputeType::BF16;
  const auto model = model_load(dir.path(), options);
  EXPECT_EQ(model->state().tensor(kQ).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(model->state().tensor("model.embed_tokens.weight").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(model->state().tensor("model.norm.weight").scalar_type(), torch::kFloat32);
  EXPECT_EQ(model->compute(), ComputeType::BF16);
  EXPECT_EQ(model->stored_dtype(), DType::F32);
}

TEST(CheckpointHf, UnusedTensorsAreIgnored) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  test::tensors_rewrite(dir.path(), [](auto& tensors) {
    tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", DType::F32, {4}, std::string(16, '\0')});
  });
  EXPECT_EQ(model_load(dir.path())->tensor_names().size(), model_load(dir / "model.safetensors")->tensor_names().size());
  EXPECT_THROW(model_load(dir.path())->tensor_shape("model.layers.0.self_attn.rotary_emb.inv_freq"), Error);
}

TEST(CheckpointHf, MissingTensorIsNamed) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  test::tensors_rewrite(dir.path(), [](auto& tensors) {
    std::erase_if(tensors, [](const test::OwnedTensor& t) { return t.name == kQ; });
  });
  expect_load_error(dir.path(), ErrorKind::Format, {"model.safetensors", kQ, "missing"});
}

TEST(CheckpointHf, ShapeMismatchNamesExpectedAndActual) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  test::tensors_rewrite(dir.path(), [](auto& tensors) {
    for (auto& t : tensors)
      if (t.name == kQ) t.shape = {16, 64};  // same bytes, wrong shape (config says [32, 32])
  });
  expect_load_error(dir.path(), ErrorKind::Format, {"model.safetensors", kQ, "[16, 64]", "[32, 32]"});
}

TEST(CheckpointHf, NonComputableDtypeIsUnsupported) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  test::tensors_rewrite(dir.path(), [](auto& tensors) {
    for (auto& t : tensors)
      if (t.name == kQ) t.dtype = DType::F8_E4M3, t.bytes.resize(t.bytes.size() / 4);
  });
  expect_load_error(dir.path(), ErrorKind::Unsupported, {"model.safetensors", kQ, "F8_E4M3"});
}

TEST(CheckpointHf, NanWeightIsNumeric) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  test::tensors_rewrite(dir.path(), [](auto& tensors) {
    for (auto& t : tensors)
      if (t.name == kQ) {
        const float nan = std::nanf("");
        std::memcpy(t.bytes.data() + 40, &nan, 4);
      }
  });
  expect_load_error(dir.path(), ErrorKind::Numeric, {"model.safetensors", kQ, "NaN"});
}

TEST(CheckpointHf, UnsupportedArchitectureListsSupportedOnes) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  std::string config = test::bytes_read(dir / "config.json");
  config.replace(config.find("\"llama\""), 7, "\"gpt2\"");
  test::bytes_write(dir / "config.json", config);
  expect_load_error(dir.path(), ErrorKind::Unsupported, {"config.json", "gpt2", "llama, mistral"});
}

TEST(CheckpointHf, IncompleteDirectoriesAndUnknownPaths) {
  test::TempDir dir;
  expect_load_error(dir.path(), ErrorKind::Format, {"config.json"});
  test::tiny_hf_write(dir / "m");
  fs::remove(dir / "m" / "model.safetensors");
  expect_load_error(dir / "m", ErrorKind::Format, {"model.safetensors"});
  expect_load_error(dir / "absent", ErrorKind::Io, {"absent"});
  test::bytes_write(dir / "weights.gguf", "GGUF");
  expect_load_error(dir / "weights.gguf", ErrorKind::Unsupported, {"weights.gguf"});
}

}  // namespace
}  // namespace qs
