// Models whose layers are held as packed codes (model_quantize with Keep::Packed, eval/generate
// --packed): on the CPU every product multiplies by the dense weight read back from the codes, which is
// the dequantized weight bit for bit, so perplexity and greedy text equal the dequantized model's; on
// CUDA the decode kernels take batches of up to 16 rows, within their stated bound. llama.cpp's types
// and asymmetric integer formats are held too (within the bf16 rounding of llama.cpp's scales), and so
// are the layers a GGUF or packed checkpoint stores, from their codes. Memory falls with the bits,
// unsupported formats stay dequantized, and such a model refuses to be saved.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/export.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/generate.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "temp_dir.hpp"

namespace qs {
namespace {

std::vector<LayerFormat> every_linear(const Model& model, const std::string& spec) {
  std::vector<LayerFormat> formats;
  for (const std::string& name : layers_select(model, "")) formats.push_back({name, format_parse(spec)});
  return formats;
}

std::shared_ptr<Model> quantized(const Model& base, const std::string& spec, ModelQuantizeOptions::Keep keep) {
  ModelQuantizeOptions options;
  options.keep = keep;
  return model_quantize(base, every_linear(base, spec), options);
}

std::string heldout() { return file_read(demo_model_dir() / "heldout-sample.txt").substr(0, 6000); }

EvalOptions short_eval() {
  EvalOptions options;
  options.ctx = 128;
  options.max_tokens = 1024;
  return options;
}

TEST(PackedModel, CpuPerplexityEqualsTheDequantizedModel) {
  const auto base = model_load(demo_model_dir());
  const std::string text = heldout();
  for (const std::string spec : {"kmeans1", "kmeans2", "kmeans3", "kmeans4", "int4:g128", "int2:g64", "int8:g32",
                                 "int4:tensor", "quest4", "kmeans2:h64"}) {
    const auto dense = quantized(*base, spec, ModelQuantizeOptions::Keep::Use);
    const auto packed = quantized(*base, spec, ModelQuantizeOptions::Keep::Packed);
    EXPECT_EQ(packed->packed_layers(), 28) << spec;  // 4 blocks × 7 linears
    // Hadamard formats rotate the input instead of the weight back: equal up to float rounding, so
    // their logits are compared; the others compute the same floats.
    if (format_parse(spec).hadamard > 1) {
      torch::NoGradGuard no_grad;
      const torch::Tensor tokens = torch::randint(3, 4096, {2, 64}, torch::TensorOptions().dtype(torch::kInt64));
      const torch::Tensor want = llama_forward(dense->state(), tokens), got = llama_forward(packed->state(), tokens);
      EXPECT_LT((got - want).abs().max().item<double>(), 1e-4 * want.abs().max().item<double>()) << spec;
      continue;
    }
    EXPECT_EQ(perplexity_eval(*packed, text, short_eval()).perplexity,
              perplexity_eval(*dense, text, short_eval()).perplexity)
        << spec;
  }
}

TEST(PackedModel, HoldsTheBitsNotAFloatCopy) {
  const auto base = model_load(demo_model_dir());
  const auto packed = quantized(*base, "kmeans2", ModelQuantizeOptions::Keep::Packed);
  uint64_t weights = 0;
  for (const LayerFormat& f : every_linear(*base, "kmeans2")) {
    const std::vector<int64_t> shape = base->tensor_shape(f.name + ".weight");
    weights += uint64_t(shape[0] * shape[1]);
    EXPECT_FALSE(packed->state().tensors.count(f.name + ".weight")) << f.name;
  }
  // 2 bits of codes and a bf16 scale per 64 weights, rows padded to 64: 2.25 bits per weight and a little.
  EXPECT_LT(double(packed->packed_bytes()) * 8 / double(weights), 2.5);
  EXPECT_GT(double(packed->packed_bytes()) * 8 / double(weights), 2.2);
}

TEST(PackedModel, FormatsWithoutOneTableStayDequantized) {
  const auto base = model_load(demo_model_dir());
  for (const std::string spec : {"kmeans2:channel", "kmeans2:g64", "nf4", "bf16"}) {
    const auto packed = quantized(*base, spec, ModelQuantizeOptions::Keep::Packed);
    EXPECT_EQ(packed->packed_layers(), 0) << spec;
    const auto dense = quantized(*base, spec, ModelQuantizeOptions::Keep::Use);
    EXPECT_EQ(perplexity_eval(*packed, heldout(), short_eval()).perplexity,
              perplexity_eval(*dense, heldout(), short_eval()).perplexity)
        << spec;
  }
}

// Per layer type: q4_k on attention, q6_k on gate and up (their 256 inputs), q8_0 on down (640 inputs,
// not a k-quant super-block).
std::vector<LayerFormat> llama_cpp_plan(const Model& model) {
  std::vector<LayerFormat> plan;
  for (const std::string& name : layers_select(model, "")) {
    const bool attention = name.find("self_attn") != std::string::npos, down = name.find("down_proj") != std::string::npos;
    plan.push_back({name, format_parse(attention ? "q4_k" : down ? "q8_0" : "q6_k")});
  }
  return plan;
}

// llama.cpp's fp16 scales are rounded to bf16 in the records (2⁻⁸ relative at most; q8_0 layers move
// the demo's perplexity by about 5e-4, hence 3e-3); the asymmetric integer formats' offsets are added
// exactly, up to float32 sums.
TEST(PackedModel, CpuLlamaCppAndAsymmetricFormatsWithinTheirScaleRounding) {
  const auto base = model_load(demo_model_dir());
  struct Plan {
    std::string name;
    std::vector<LayerFormat> formats;
    double tolerance;
  };
  const std::vector<Plan> plans = {{"q4_0", every_linear(*base, "q4_0"), 3e-3},
                                   {"q8_0", every_linear(*base, "q8_0"), 3e-3},
                                   {"q4_k/q6_k/q8_0", llama_cpp_plan(*base), 3e-3},
                                   {"int4:g64:asym", every_linear(*base, "int4:g64:asym"), 1e-5},
                                   {"int3:g128:asym", every_linear(*base, "int3:g128:asym"), 1e-5}};
  for (const Plan& plan : plans) {
    ModelQuantizeOptions options;
    options.keep = ModelQuantizeOptions::Keep::Packed;
    const auto packed = model_quantize(*base, plan.formats, options);
    EXPECT_EQ(packed->packed_layers(), 28) << plan.name;
    const double want = perplexity_eval(*model_quantize(*base, plan.formats), heldout(), short_eval()).perplexity;
    const double got = perplexity_eval(*packed, heldout(), short_eval()).perplexity;
    EXPECT_NEAR(got, want, plan.tolerance * want) << plan.name;
  }
}

// A packed checkpoint of every family PackedLinear holds (and one nf4 layer, which stays decoded) and a
// GGUF of llama_cpp_plan, with how many layers each holds packed and the perplexity tolerance of its
// packed model against the model read the usual way.
struct StoredModel {
  std::filesystem::path path;
  int64_t packed_layers;
  double tolerance;
};

std::vector<StoredModel> stored_models_write(const Model& base, const std::filesystem::path& dir) {
  std::vector<LayerFormat> mixed = every_linear(base, "int4:g64");
  mixed[0].format = format_parse("kmeans2");
  mixed[1].format = format_parse("quest3");
  mixed[2].format = format_parse("int3:g128:asym");
  mixed[3].format = format_parse("q4_0");
  mixed[4].format = format_parse("nf4");
  mixed[5].format = format_parse("kmeans2:h64");
  ExportOptions to_packed;
  to_packed.target = ExportTarget::Quantscope;
  model_export(base, mixed, dir / "packed", to_packed);
  model_export(base, llama_cpp_plan(base), dir / "demo.gguf", {});
  return {{dir / "packed", 27, 1e-5}, {dir / "demo.gguf", 28, 3e-3}};
}

std::shared_ptr<Model> stored_model_pack(const std::filesystem::path& path, const LoadOptions& load = {}) {
  ModelQuantizeOptions options;
  options.keep = ModelQuantizeOptions::Keep::Packed;
  return model_quantize(*model_load(path, load), {}, options);
}

// A GGUF and a packed checkpoint opened with nothing to quantize: model_quantize of no layers with
// Keep::Packed holds the layers they store in a packed format as codes read from the file, never as a
// float copy (nothing converted, nothing cached), and evaluates as the model read the usual way.
TEST(PackedModel, StoredLayersArePackedFromTheirCodes) {
  test::TempDir dir;
  for (const StoredModel& stored : stored_models_write(*model_load(demo_model_dir()), dir.path())) {
    const auto packed = stored_model_pack(stored.path);
    EXPECT_EQ(packed->packed_layers(), stored.packed_layers) << stored.path;
    const double got = perplexity_eval(*packed, heldout(), short_eval()).perplexity;
    const ModelState& state = packed->state();
    for (const auto& [name, layer] : state.packed) {
      EXPECT_FALSE(state.tensors.count(name + ".weight")) << name;
      EXPECT_FALSE(state.cache->converted.count(name + ".weight")) << name;
    }
    const double want = perplexity_eval(*model_load(stored.path), heldout(), short_eval()).perplexity;
    EXPECT_NEAR(got, want, stored.tolerance * want) << stored.path;
  }
}

TEST(PackedModel, GreedyTextEqualsTheDequantizedModel) {
  const auto base = model_load(demo_model_dir());
  GenerateOptions options;
  options.prompt = "The whale";
  options.max_new = 40;
  options.temperature = 0;
  const auto dense = quantized(*base, "kmeans2", ModelQuantizeOptions::Keep::Use);
  const auto packed = quantized(*base, "kmeans2", ModelQuantizeOptions::Keep::Packed);
  EXPECT_EQ(text_generate(*packed, options).tokens, text_generate(*dense, options).tokens);
}

TEST(PackedModel, RefusesToBeSavedOrExported) {
  const auto base = model_load(demo_model_dir());
  const auto packed = quantized(*base, "kmeans2", ModelQuantizeOptions::Keep::Packed);
  test::TempDir dir;
  try {
    model_save(*packed, dir.path() / "out");
    FAIL() << "saved a packed model";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    EXPECT_NE(std::string(e.what()).find("packed layers"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out"));
}

#ifdef QS_WITH_CUDA
// On the GPU a decode step (one row) goes through the kernel: its logits stay within the kernel's bf16
// bound of the dequantized model's, and a whole window (512 rows) takes the dense path exactly.
TEST(PackedModel, CudaDecodeStepsUseTheKernelsWithinTheirBound) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  LoadOptions load;
  load.device = Device::Cuda;
  const auto base = model_load(demo_model_dir(), load);
  for (const std::string spec : {"kmeans1", "kmeans2", "kmeans4", "int4:g128", "quest4", "q4_0", "int4:g64:asym"}) {
    const auto dense = quantized(*base, spec, ModelQuantizeOptions::Keep::Use);
    const auto packed = quantized(*base, spec, ModelQuantizeOptions::Keep::Packed);
    ASSERT_EQ(packed->packed_layers(), 28) << spec;
    torch::NoGradGuard no_grad;
    const torch::Tensor tokens = torch::randint(3, 4096, {1, 12}, torch::TensorOptions().dtype(torch::kInt64))
                                     .to(torch::kCUDA);
    for (int64_t t = 1; t <= 12; t += 11) {
      const torch::Tensor want = llama_forward(dense->state(), tokens.narrow(1, 0, t)).to(torch::kFloat32);
      const torch::Tensor got = llama_forward(packed->state(), tokens.narrow(1, 0, t)).to(torch::kFloat32);
      const double scale = want.abs().max().item<double>();
      // (No argmax comparison: the demo model's near-tied logits flip within any rounding.)
      EXPECT_LT((got - want).abs().max().item<double>(), 0.05 * scale) << spec << " rows " << t;
    }
    const double want = perplexity_eval(*dense, heldout(), short_eval()).perplexity;
    const double got = perplexity_eval(*packed, heldout(), short_eval()).perplexity;
    EXPECT_NEAR(got, want, 1e-3 * want) << spec;
  }
}

// The stored models packed on the GPU: decode steps through the kernels with the offsets added on the
// device, a window through the dense path, against the same files read the usual way on the GPU.
TEST(PackedModel, CudaStoredLayersArePackedFromTheirCodes) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  test::TempDir dir;
  LoadOptions load;
  load.device = Device::Cuda;
  for (const StoredModel& stored : stored_models_write(*model_load(demo_model_dir()), dir.path())) {
    const auto packed = stored_model_pack(stored.path, load);
    const auto plain = model_load(stored.path, load);
    ASSERT_EQ(packed->packed_layers(), stored.packed_layers) << stored.path;
    torch::NoGradGuard no_grad;
    const torch::Tensor tokens = torch::randint(3, 4096, {1, 12}, torch::TensorOptions().dtype(torch::kInt64))
                                     .to(torch::kCUDA);
    const torch::Tensor want = llama_forward(plain->state(), tokens).to(torch::kFloat32);
    const torch::Tensor got = llama_forward(packed->state(), tokens).to(torch::kFloat32);
    EXPECT_LT((got - want).abs().max().item<double>(), 0.05 * want.abs().max().item<double>()) << stored.path;
    const double want_ppl = perplexity_eval(*plain, heldout(), short_eval()).perplexity;
    EXPECT_NEAR(perplexity_eval(*packed, heldout(), short_eval()).perplexity, want_ppl, stored.tolerance * want_ppl)
        << stored.path;
  }
}
#endif

}  // namespace
}  // namespace qs
