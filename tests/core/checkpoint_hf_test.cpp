// Loading Hugging Face checkpoints: the accepted path forms, the compute dtype, and the errors for
// missing tensors, wrong shapes, non-computable dtypes, NaN weights and unsupported architectures.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/hf_fixture.hpp"
#include "model/model_state.hpp"
#include "quantscope/allocate.hpp"
#include "quantscope/error.hpp"
#include "quantscope/model_quantize.hpp"

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
  EXPECT_EQ(model->stored_dtypes(), std::vector<DType>{DType::F32});
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

// Opening reads headers only, so a NaN weight is found when the tensor is first read, named with its
// file, and every later read of it fails the same way.
TEST(CheckpointHf, NanWeightIsNumericWhenRead) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  test::tensors_rewrite(dir.path(), [](auto& tensors) {
    for (auto& t : tensors)
      if (t.name == kQ) {
        const float nan = std::nanf("");
        std::memcpy(t.bytes.data() + 40, &nan, 4);
      }
  });
  const auto model = model_load(dir.path());
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      model->state().tensor(kQ);
      FAIL() << "no error reading " << kQ;
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_EQ(e.kind(), ErrorKind::Numeric) << m;
      for (const std::string part : {"model.safetensors", kQ, "NaN"})
        EXPECT_NE(m.find(part), std::string::npos) << "'" << part << "' not in: " << m;
    }
  }
  EXPECT_NO_THROW(model->state().tensor("model.layers.0.self_attn.k_proj.weight"));
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
  test::bytes_write(dir / "weights.onnx", "ONNX");
  expect_load_error(dir / "weights.onnx", ErrorKind::Unsupported, {"weights.onnx", ".gguf"});
  test::bytes_write(dir / "weights.gguf", "GGUF");  // a GGUF cut off after its magic
  expect_load_error(dir / "weights.gguf", ErrorKind::Format, {"weights.gguf"});
}

void bf16_convert(test::OwnedTensor& t) {
  const torch::Tensor f = torch::from_blob(t.bytes.data(), {int64_t(t.bytes.size() / 4)}, torch::kFloat32);
  const torch::Tensor b = f.to(torch::kBFloat16).contiguous();
  t.bytes.assign(static_cast<const char*>(b.data_ptr()), size_t(b.nbytes()));
  t.dtype = DType::BF16;
}

// A BF16 checkpoint with one F32 tensor: every size is counted with each tensor's own dtype (the
// unfixed loader took layer 0's q_proj dtype for the whole model).
TEST(CheckpointHf, MixedDtypesAreKeptPerTensor) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  const std::string up = "model.layers.1.mlp.up_proj";
  test::tensors_rewrite(dir.path(), [&](auto& tensors) {
    for (auto& t : tensors)
      if (t.name != up + ".weight") bf16_convert(t);
  });
  uint64_t file_bytes = 0;
  for (const auto& t : test::tensors_read(dir / "model.safetensors")) file_bytes += t.bytes.size();
  const auto model = model_load(dir.path());
  EXPECT_EQ(model->stored_bytes(), file_bytes);
  EXPECT_EQ((model->stored_dtypes()), (std::vector<DType>{DType::BF16, DType::F32}));
  const int64_t up_weights = model->config().intermediate_size * model->config().hidden_size;
  EXPECT_EQ(model->tensor_stored_bytes(up + ".weight"), uint64_t(up_weights) * 4);
  for (const LinearLayer& layer : model->linear_layers())
    EXPECT_EQ(layer.stored_dtype, layer.name == up ? DType::F32 : DType::BF16) << layer.name;

  ModelQuantizeReport report;
  model_quantize(*model, {LayerFormat{up, format_parse("int4"), std::nullopt, {}}}, {}, &report);
  EXPECT_EQ(report.bytes_after, file_bytes - uint64_t(up_weights) * 4 + report.layers.at(0).metrics.bytes);

  // An allocation leaves everything but the allocated layers as stored, each in its own dtype.
  SensitivityScan scan;
  scan.format = format_parse("int4");
  uint64_t allocated = 0;
  for (const std::string& name : layers_select(*model, "")) {
    scan.layers.push_back({.name = name, .parameters = 1, .storage_bits = 8});
    allocated += model->tensor_stored_bytes(name + ".weight");
  }
  EXPECT_EQ(allocation_problem(*model, {scan}).fixed_bytes, file_bytes - allocated);
}

// Cached measurements are keyed by the model's identity: it must change whenever a file does, also
// when the size stays and the modification time is put back.
TEST(CheckpointHf, IdentityChangesWhenAFileIsRewritten) {
  test::TempDir dir;
  test::tiny_hf_write(dir.path());
  const std::string first = model_load(dir.path())->identity();
  EXPECT_EQ(model_load(dir.path())->identity(), first);
  EXPECT_NE(first.find("model.safetensors"), std::string::npos) << first;
  EXPECT_NE(first.find("config.json"), std::string::npos) << first;

  // Rewritten with one weight changed: same size, another inode.
  test::tensors_rewrite(dir.path(), [](auto& tensors) { tensors.back().bytes[0] ^= 1; });
  const std::string second = model_load(dir.path())->identity();
  EXPECT_NE(second, first);

  // Changed in place, in the middle of the data, with the modification time restored.
  const fs::path file = dir / "model.safetensors";
  struct stat before {};
  ASSERT_EQ(::stat(file.c_str(), &before), 0);
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(std::streamoff(fs::file_size(file) / 2 + 3));
    f.put('\x55');
  }
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
  EXPECT_NE(model_load(dir.path())->identity(), second);

  // A quantized model is no file's content.
  const auto model = model_load(dir.path());
  EXPECT_THROW(model_quantize(*model, {LayerFormat{"model.layers.0.mlp.up_proj", format_parse("int4"), std::nullopt, {}}})
                   ->identity(),
               Error);
}

}  // namespace
}  // namespace qs
