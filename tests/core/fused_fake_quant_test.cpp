// The fused fake quantization (kernels/fused_fake_quant.hpp): its CPU reference against the generic
// LibTorch path of fake_quantize (every estimator, QuEST and pinned k-means codebooks, with and
// without rotation), the CUDA kernels against the reference (float32 and bf16), and fake_quantize on
// CUDA, where it takes the kernels, against fake_quantize on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "fused_fake_quant.hpp"
#include "quant/code_levels.hpp"
#include "quant/fake_quant.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/format.hpp"
#include "quantscope/train.hpp"

namespace {

using qs::EstimatorSettings;
using qs::GradientEstimator;
using qs::kernels::FakeQuantSpec;

struct Case {
  std::string format;
  EstimatorSettings estimator;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"quest4", {.kind = GradientEstimator::Trust}},
      {"quest1", {.kind = GradientEstimator::Trust}},
      {"quest2:h1", {.kind = GradientEstimator::Clip, .clip_factor = 1.2}},
      {"quest3:h64", {.kind = GradientEstimator::Trust, .trust_factor = 2.5}},
      {"quest4", {.kind = GradientEstimator::Ste}},
      {"kmeans2", {.kind = GradientEstimator::Trust}},
      {"kmeans4:b32:absmean", {.kind = GradientEstimator::Clip, .clip_factor = 0.8}},
      {"kmeans1:h128", {.kind = GradientEstimator::Trust}},
      {"kmeans3:b256", {.kind = GradientEstimator::Trust, .trust_factor = 0.8}},
  };
  return all;
}

// Gaussian rows of different scales with a few outliers, so masks and clipping both bite.
torch::Tensor weights_make(int64_t rows, int64_t cols, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({rows, cols}) * torch::rand({rows, 1}).add(0.1);
  x.view(-1).index_put_({torch::randint(rows * cols, {rows * cols / 50})}, torch::randn({rows * cols / 50}) * 6);
  return x;
}

// The tensor-wide codebook QAT pins between refits, fitted on x.
torch::Tensor codebook_fit(const torch::Tensor& x, const qs::FormatSpec& spec) {
  qs::QuantizerInput input;
  input.weight = x.contiguous();
  input.name = "fit";
  return qs::quantizer_run(spec, input).codebooks.contiguous();
}

// The kernels' spec, written out from the format's definition (methods.md), not from core's code.
FakeQuantSpec spec_make(const qs::FormatSpec& f, const EstimatorSettings& e, int64_t rows, int64_t cols,
                        const torch::Tensor& levels) {
  FakeQuantSpec k;
  k.rows = rows, k.cols = cols, k.hadamard = f.hadamard, k.bits = f.bits;
  k.grid = f.family == qs::QuantFamily::Quest ? qs::kernels::FakeQuantGrid::Quest
                                              : qs::kernels::FakeQuantGrid::Codebook;
  k.alpha = float(qs::quest_alpha(f.bits));
  k.block = f.group;
  k.absmean = f.scale == qs::BlockScale::Absmean;
  k.eps = 1e-5f;
  k.levels = levels.data_ptr<float>();
  k.k = int(levels.numel());
  k.mask = e.kind == GradientEstimator::Trust  ? qs::kernels::FakeQuantMask::Trust
           : e.kind == GradientEstimator::Clip ? qs::kernels::FakeQuantMask::Clip
                                               : qs::kernels::FakeQuantMask::None;
  k.factor = float(e.kind == GradientEstimator::Trust ? e.trust_factor / 2 : e.clip_factor);
  return k;
}

torch::Tensor levels_for(const qs::FormatSpec& f, const torch::Tensor& x) {
  return (f.family == qs::QuantFamily::Quest ? torch::tensor(qs::quest_grid(f)) : codebook_fit(x, f)).reshape({-1}).contiguous();
}

struct Result {
  torch::Tensor y, grad, mask;
  double masked = 0, error = 0;
};

Result reference_run(const FakeQuantSpec& k, const torch::Tensor& x, const torch::Tensor& g) {
  Result r;
  r.y = torch::empty_like(x);
  r.mask = torch::ones(x.sizes(), torch::kUInt8);
  torch::Tensor stats = torch::empty({k.rows, qs::kernels::kFakeQuantRowStats}, torch::kFloat64);
  qs::kernels::fake_quant_forward_cpu(k, x.data_ptr<float>(), r.y.data_ptr<float>(), r.mask.data_ptr<uint8_t>(),
                                      stats.data_ptr<double>());
  r.grad = torch::empty_like(g);
  qs::kernels::fake_quant_backward_cpu(k, g.data_ptr<float>(), r.mask.data_ptr<uint8_t>(), r.grad.data_ptr<float>());
  const torch::Tensor sums = stats.sum(0);
  r.masked = sums[2].item<double>() / double(x.numel());
  r.error = sums[0].item<double>() / sums[1].item<double>();
  return r;
}

Result generic_run(const torch::Tensor& x, const qs::FormatSpec& f, const EstimatorSettings& e,
                   const torch::Tensor& levels, const torch::Tensor& g) {
  const torch::Tensor leaf = x.clone().requires_grad_(true);
  qs::FakeQuantStats stats{torch::zeros({2}, x.options())};
  qs::FakeQuantInput extra;
  if (f.family == qs::QuantFamily::KMeans) extra.codebooks = levels.view({1, -1}).to(x.device());
  extra.name = "test";
  Result r;
  r.y = qs::fake_quantize(leaf, f, e, extra, &stats);
  (r.y * g).sum().backward();
  r.grad = leaf.grad();
  r.y = r.y.detach();
  r.masked = stats.sums[0].item<double>();
  r.error = stats.sums[1].item<double>();
  return r;
}

// The fraction of rows on which a and b agree within `tolerance` of the row's largest |a|. A value on
// a rounding boundary of the grid can land on either side when two paths round the rotation
// differently, and with a rotation such a flip moves its whole block; so rows, not elements, count.
double rows_agreeing(const torch::Tensor& a, const torch::Tensor& b, double tolerance) {
  const torch::Tensor af = a.to(torch::kFloat64).cpu(), bf = b.to(torch::kFloat64).cpu();
  const torch::Tensor limit = af.abs().amax(1).mul(tolerance).add(1e-30);
  return ((af - bf).abs().amax(1) <= limit).to(torch::kFloat64).mean().item<double>();
}

}  // namespace

TEST(FusedFakeQuant, ReferenceEqualsTheGenericPath) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.format + " estimator " + std::to_string(int(c.estimator.kind)));
    const qs::FormatSpec f = qs::format_parse(c.format);
    const torch::Tensor x = weights_make(96, 384, 7), g = torch::randn({96, 384});
    const torch::Tensor levels = levels_for(f, x);
    const Result ref = reference_run(spec_make(f, c.estimator, 96, 384, levels), x, g);
    const Result gen = generic_run(x, f, c.estimator, levels, g);
    EXPECT_GE(rows_agreeing(gen.y, ref.y, 1e-5), 0.97);
    EXPECT_GE(rows_agreeing(gen.grad, ref.grad, 1e-5), 0.97);
    EXPECT_NEAR(ref.masked, gen.masked, 2e-3);
    EXPECT_NEAR(ref.error, gen.error, 1e-4 * gen.error + 1e-9);
    // Informative: the estimator drops some gradient entries, but not most.
    if (c.estimator.kind != GradientEstimator::Ste) {
      EXPECT_GT(ref.masked, 0.001);
      EXPECT_LT(ref.masked, 0.5);
    }
  }
}

TEST(FusedFakeQuant, ReferenceRefusesWhatItCannotRun) {
  const torch::Tensor levels = torch::tensor(qs::quest_grid(qs::format_parse("quest2")));
  FakeQuantSpec k = spec_make(qs::format_parse("quest2"), {}, 2, 96, levels);
  std::vector<float> x(2 * 96), y(2 * 96);
  std::vector<uint8_t> mask(2 * 96);
  std::vector<double> stats(2 * 3);
  EXPECT_THROW(qs::kernels::fake_quant_forward_cpu(k, x.data(), y.data(), mask.data(), stats.data()),
               std::invalid_argument);  // 128 does not divide 96
  k.hadamard = 32;
  k.k = 3;
  EXPECT_THROW(qs::kernels::fake_quant_forward_cpu(k, x.data(), y.data(), mask.data(), stats.data()),
               std::invalid_argument);  // a 2-bit grid has 4 levels
}

#ifdef QS_WITH_CUDA
TEST(FusedFakeQuant, CudaEqualsTheReference) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  struct Shape {
    int64_t rows, cols;
  };
  for (const Shape shape : {Shape{96, 384}, Shape{5, 5632}, Shape{1031, 2048}}) {
    for (const Case& c : cases()) {
      const qs::FormatSpec f = qs::format_parse(c.format);
      if (f.hadamard > 1 && shape.cols % f.hadamard != 0) continue;
      for (const bool bf16 : {false, true}) {
        SCOPED_TRACE(c.format + " " + std::to_string(shape.rows) + "x" + std::to_string(shape.cols) +
                     (bf16 ? " bf16" : " f32"));
        torch::Tensor x = weights_make(shape.rows, shape.cols, 11), g = torch::randn({shape.rows, shape.cols});
        if (bf16) x = x.to(torch::kBFloat16).to(torch::kFloat32), g = g.to(torch::kBFloat16).to(torch::kFloat32);
        const torch::Tensor levels = levels_for(f, x);
        const FakeQuantSpec k = spec_make(f, c.estimator, shape.rows, shape.cols, levels);
        const Result ref = reference_run(k, x, g);

        const auto type = bf16 ? torch::kBFloat16 : torch::kFloat32;
        const torch::Tensor xd = x.to(torch::kCUDA, type), gd = g.to(torch::kCUDA, type);
        const torch::Tensor levels_d = levels.to(torch::kCUDA);
        FakeQuantSpec kd = k;
        kd.levels = levels_d.data_ptr<float>();
        torch::Tensor y = torch::empty_like(xd), grad = torch::empty_like(gd);
        torch::Tensor mask = torch::ones(xd.sizes(), xd.options().dtype(torch::kUInt8));
        torch::Tensor stats = torch::empty({shape.rows, 3}, xd.options().dtype(torch::kFloat32));
        qs::kernels::fake_quant_forward_cuda(kd, xd.data_ptr(), y.data_ptr(), bf16, mask.data_ptr<uint8_t>(),
                                             stats.data_ptr<float>(), nullptr);
        qs::kernels::fake_quant_backward_cuda(kd, gd.data_ptr(), mask.data_ptr<uint8_t>(), grad.data_ptr(), bf16,
                                              nullptr);
        const torch::Tensor y_ref = ref.y.to(type), grad_ref = ref.grad.to(type);
        // Equal but for σ's and absmean's double sums, summed in another order.
        EXPECT_GE(rows_agreeing(y_ref, y, 1e-6), 0.99);
        EXPECT_GE(rows_agreeing(grad_ref, grad, 1e-6), 0.99);
        if (c.estimator.kind != GradientEstimator::Ste)
          EXPECT_GE(mask.cpu().eq(ref.mask).to(torch::kFloat64).mean().item<double>(), 0.999);
        const torch::Tensor sums = stats.cpu().to(torch::kFloat64).sum(0);
        EXPECT_NEAR(sums[2].item<double>() / double(x.numel()), ref.masked, 1e-3);
        EXPECT_NEAR(sums[0].item<double>() / sums[1].item<double>(), ref.error, 1e-5 * ref.error + 1e-9);
      }
    }
  }
}

TEST(FusedFakeQuant, FakeQuantizeOnCudaEqualsTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.format);
    const qs::FormatSpec f = qs::format_parse(c.format);
    const torch::Tensor x = weights_make(200, 1024, 5), g = torch::randn({200, 1024});
    const torch::Tensor levels = levels_for(f, x);
    const Result cpu = generic_run(x, f, c.estimator, levels, g);
    const Result gpu = generic_run(x.cuda(), f, c.estimator, levels.cuda(), g.cuda());
    EXPECT_GE(rows_agreeing(cpu.y, gpu.y, 1e-5), 0.97);
    EXPECT_GE(rows_agreeing(cpu.grad, gpu.grad, 1e-5), 0.97);
    EXPECT_NEAR(cpu.masked, gpu.masked, 2e-3);
    EXPECT_NEAR(cpu.error, gpu.error, 1e-4 * cpu.error + 1e-9);
  }
  // Activations: bf16 in, bf16 out, per token.
  const qs::FormatSpec quest4 = qs::format_parse("quest4");
  const torch::Tensor a = weights_make(64, 512, 3).view({4, 16, 512});
  const torch::Tensor q_gpu = qs::activation_fake_quantize(a.to(torch::kCUDA, torch::kBFloat16), quest4,
                                                           {.kind = GradientEstimator::Trust}, "act");
  EXPECT_EQ(q_gpu.scalar_type(), torch::kBFloat16);
  const torch::Tensor q_cpu = qs::activation_fake_quantize(a.to(torch::kBFloat16), quest4,
                                                           {.kind = GradientEstimator::Trust}, "act");
  EXPECT_GE(rows_agreeing(q_cpu.view({64, 512}), q_gpu.view({64, 512}), 1e-2), 0.97);
}
#endif
