// Models of real sizes on a small machine: a synthetic checkpoint of about 1 GB (Llama-3.2-1B's
// vocabulary and widths, four blocks, bf16), opened without reading its tensors, evaluated streamed
// with the same logits as resident, and quantized streamed within a bound on anonymous memory.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <string>
#include <thread>

#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "base/process_memory.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "synthetic_checkpoint.hpp"
#include "temp_dir.hpp"

namespace qs {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

// A field of /proc/self/status in bytes ("VmRSS", "RssAnon").
int64_t status_bytes(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;  // kB
  return 0;
}

// The largest anonymous memory seen while `work` runs, sampled every 2 ms, minus that before.
template <class F>
int64_t anonymous_growth(F&& work) {
  const int64_t before = status_bytes("RssAnon");
  std::atomic<bool> done{false};
  std::atomic<int64_t> peak{before};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max<int64_t>(peak, status_bytes("RssAnon"));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  work();
  done = true;
  sampler.join();
  return std::max<int64_t>(peak, status_bytes("RssAnon")) - before;
}

class LargeModel : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = test::synthetic_config("llama-3.2-1b");
    config_.num_hidden_layers = 4;  // 506M parameters, 1.01 GB in bf16
    test::synthetic_checkpoint_write(dir_.path() / "model", config_, {});
  }
  std::shared_ptr<Model> open(std::optional<Residency> residency, uint64_t budget = 0) const {
    LoadOptions options;
    options.residency = residency;
    options.memory_budget = budget;
    return model_load(dir_.path() / "model", options);
  }
  test::TempDir dir_;
  ModelConfig config_;
};

// The pages of `file` this process has resident, from /proc/self/smaps.
int64_t mapped_resident_bytes(const std::filesystem::path& file) {
  std::ifstream smaps("/proc/self/smaps");
  int64_t total = 0;
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') != std::string::npos &&
        line.find(':') > line.find(' '))
      inside = line.size() >= file.string().size() && line.ends_with(file.string());
    else if (inside && line.rfind("Rss:", 0) == 0)
      total += std::stoll(line.substr(4)) * 1024;
  }
  return total;
}

TEST_F(LargeModel, OpeningReadsNoTensorData) {
  const auto model = open(std::nullopt);
  EXPECT_EQ(model->parameter_count(), 505'956'352);
  EXPECT_EQ(model->linear_layers().size(), 28u);  // tied: no lm_head of its own
  EXPECT_EQ(model->stored_dtypes(), std::vector<DType>{DType::BF16});
  EXPECT_FALSE(model->identity().empty());
  // Every page of the 1 GB file would be resident had it been read; the header and the identity's
  // samples (64 KiB at each end, 64 blocks of 4 KiB) are under a MiB.
  const int64_t touched = mapped_resident_bytes(dir_.path() / "model" / "model.safetensors");
  EXPECT_GT(touched, 0);  // the file was found among the mappings
  EXPECT_LT(touched, kMiB) << touched << " bytes of the checkpoint are resident after opening it";
}

TEST_F(LargeModel, BudgetDecidesResidencyAndStreamedLogitsEqualResident) {
  const auto resident = open(std::nullopt, uint64_t{64} << 30);
  const auto streamed = open(std::nullopt, 100 * kMiB);  // converted to f32 it needs 2 GB
  EXPECT_EQ(resident->residency(), Residency::Resident);
  EXPECT_EQ(streamed->residency(), Residency::Streamed);
  EXPECT_EQ(streamed->conversion_bytes(), uint64_t(505'956'352) * 4);  // bf16 to f32, norms included

  c10::InferenceMode inference;
  const torch::Tensor tokens = torch::randint(0, 32000, {1, 48}, torch::kInt64);
  const torch::Tensor a = llama_forward(streamed->state(), tokens);
  const torch::Tensor b = llama_forward(resident->state(), tokens);
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  EXPECT_TRUE(torch::equal(a, b));  // the same conversions and the same head blocks, to the bit
  EXPECT_TRUE(streamed->state().cache->converted.empty());
  EXPECT_FALSE(resident->state().cache->converted.empty());
}

// A bf16 model computed in bf16 converts nothing, so it is resident on any budget; its quantized copy is
// new memory, held when the budget has room for it and written to the scratch file when not, or when the
// copy is only to be written out (Keep::Write, quantize --save).
TEST_F(LargeModel, QuantizedWeightsBeyondTheBudgetGoToTheScratchFile) {
  struct Case {
    uint64_t budget;
    ModelQuantizeOptions::Keep keep;
    bool in_memory;
  };
  const uint64_t room = uint64_t{64} << 30, tight = uint64_t{300} * kMiB;
  std::vector<LayerFormat> formats;  // the 243M parameters of the decoder: 486 MB in bf16
  LoadOptions options;
  options.compute = ComputeType::BF16;
  for (const Case c : {Case{room, ModelQuantizeOptions::Keep::Use, true}, Case{tight, ModelQuantizeOptions::Keep::Use, false},
                       Case{room, ModelQuantizeOptions::Keep::Write, false}}) {
    options.memory_budget = c.budget;
    const auto model = model_load(dir_.path() / "model", options);
    EXPECT_EQ(model->residency(), Residency::Resident);
    if (formats.empty())
      for (const LinearLayer& layer : model->linear_layers()) formats.push_back({layer.name, format_parse("int4:g128")});
    heap_release();  // freed blocks of earlier tests would otherwise take the weights unseen
    const int64_t before = status_bytes("RssAnon");
    const auto quantized = model_quantize(*model, formats, {.keep = c.keep});
    const int64_t held = status_bytes("RssAnon") - before;
    if (c.in_memory)
      EXPECT_GT(held, 400 * kMiB) << "the quantized weights should be in memory";
    else
      EXPECT_LT(held, 100 * kMiB) << "the quantized weights should be in the scratch file (budget " << c.budget << ")";
  }
}

// On a GPU a streamed model's weights go from the mapped file to the device a tensor at a time.
TEST_F(LargeModel, StreamedOnCudaEqualsResidentOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  LoadOptions options;
  options.device = Device::Cuda;
  options.compute = ComputeType::BF16;
  options.memory_budget = 100 * kMiB;
  const auto streamed = model_load(dir_.path() / "model", options);
  options.memory_budget = uint64_t{64} << 30;
  const auto resident = model_load(dir_.path() / "model", options);
  EXPECT_EQ(streamed->residency(), Residency::Streamed);
  EXPECT_EQ(resident->residency(), Residency::Resident);

  c10::InferenceMode inference;
  const torch::Tensor tokens = torch::randint(0, 32000, {1, 48}, torch::kInt64).to(torch::kCUDA);
  const torch::Tensor a = llama_forward(streamed->state(), tokens).cpu();
  const torch::Tensor b = llama_forward(resident->state(), tokens).cpu();
  EXPECT_TRUE(torch::isfinite(a).all().item<bool>());
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_TRUE(streamed->state().cache->converted.empty());
}

TEST_F(LargeModel, StreamedQuantizeHoldsOneLayerAtATime) {
  const auto streamed = open(Residency::Streamed);
  std::vector<LayerFormat> formats;
  for (const LinearLayer& layer : streamed->linear_layers()) formats.push_back({layer.name, format_parse("int4:g128")});
  std::shared_ptr<Model> quantized;
  ModelQuantizeReport report;
  const int64_t growth = anonymous_growth([&] { quantized = model_quantize(*streamed, formats, {}, &report); });
  // 972 MB of float32 weights would be held in memory; the largest layer (8192 x 2048) is 64 MiB in
  // float32, and quantizing it takes a few copies of that.
  EXPECT_LT(growth, 400 * kMiB) << "quantizing 243M parameters grew anonymous memory by " << growth / kMiB << " MiB";
  EXPECT_EQ(report.layers.size(), formats.size());

  // A report alone keeps nothing.
  ModelQuantizeReport alone;
  EXPECT_EQ(model_quantize(*streamed, {formats.front()}, {.keep = ModelQuantizeOptions::Keep::None}, &alone), nullptr);
  EXPECT_EQ(alone.layers.at(0).metrics.mse, report.layers.at(0).metrics.mse);

  // The scratch file gives back exactly what was quantized.
  const auto resident = open(Residency::Resident);
  const std::vector<LayerFormat> first(formats.begin(), formats.begin() + 7);  // block 0
  const auto expected = model_quantize(*resident, first);
  for (const LayerFormat& f : first)
    EXPECT_TRUE(torch::equal(quantized->state().tensor(f.name + ".weight"), expected->state().tensor(f.name + ".weight")))
        << f.name;
}

}  // namespace
}  // namespace qs
