// Quantization-aware training: each gradient estimator's mask against the formula on hand-made
// cases (also through a Hadamard rotation), the trust mask's masked fraction on N(0,1) against
// methods.md, k-means refits, QAT against post-training quantization, bit-identical resume, the run
// file and the exported plan reproducing the final evaluation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include "quant/fake_quant.hpp"
#include "qat/qat_layers.hpp"
#include "quest_quantize.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/run_file.hpp"
#include "quantscope/train.hpp"
#include "temp_dir.hpp"
#include "tiny_model.hpp"
#include "train_fixture.hpp"

namespace fs = std::filesystem;
using qs::EstimatorSettings;
using qs::GradientEstimator;

namespace {

// The gradient fake_quantize passes back for an upstream gradient g.
torch::Tensor grad_through(const torch::Tensor& x, const std::string& format, const EstimatorSettings& e,
                           const torch::Tensor& g) {
  const torch::Tensor leaf = x.clone().requires_grad_(true);
  const torch::Tensor q = qs::fake_quantize(leaf, qs::format_parse(format), e);
  (q * g).sum().backward();
  return leaf.grad();
}

torch::Tensor quest_reference(const torch::Tensor& x, int bits, torch::Tensor& sigma) {
  const torch::Tensor xc = x.contiguous();
  torch::Tensor q = torch::empty_like(xc);
  sigma = torch::empty({xc.size(0)});
  torch::Tensor codes = torch::empty(xc.sizes(), torch::kUInt8);
  qs::kernels::quest_quantize_cpu(xc.data_ptr<float>(), xc.size(0), xc.size(1), bits, float(qs::quest_alpha(bits)),
                                  sigma.data_ptr<float>(), codes.data_ptr<uint8_t>(), q.data_ptr<float>());
  return q;
}

}  // namespace

TEST(QatEstimator, QuestMasksAreWhereTheFormulasSay) {
  // One row; σ = RMS of the row. Values far outside the 2-bit grid (±α₂σ ≈ ±1.49σ) and some inside.
  const torch::Tensor x = torch::tensor({0.1f, -0.3f, 0.5f, 2.0f, -2.5f, 0.9f, 3.5f, -0.05f, 1.6f, -1.7f}).view({1, 10});
  const torch::Tensor g = torch::arange(1, 11, torch::kFloat32).view({1, 10});
  const double sigma = std::sqrt(x.pow(2).mean().item<double>()) + 1e-8;
  const double alpha = qs::quest_alpha(2), delta = 2 * alpha * sigma / 3;
  torch::Tensor s;
  const torch::Tensor q = quest_reference(x, 2, s);

  const torch::Tensor ste = grad_through(x, "quest2:h1", {.kind = GradientEstimator::Ste}, g);
  EXPECT_TRUE(torch::equal(ste, g));

  const torch::Tensor trust = grad_through(x, "quest2:h1", {.kind = GradientEstimator::Trust}, g);
  const torch::Tensor trust_wide = grad_through(x, "quest2:h1", {.kind = GradientEstimator::Trust, .trust_factor = 2.5}, g);
  const torch::Tensor clip = grad_through(x, "quest2:h1", {.kind = GradientEstimator::Clip, .clip_factor = 1.2}, g);
  int trusted = 0;
  for (int i = 0; i < 10; ++i) {
    const double xi = x[0][i].item<double>(), err = std::abs(q[0][i].item<double>() - xi);
    const double gi = g[0][i].item<double>();
    EXPECT_EQ(trust[0][i].item<double>(), err <= delta / 2 ? gi : 0.0) << "trust, element " << i;
    EXPECT_EQ(trust_wide[0][i].item<double>(), err <= 2.5 * delta / 2 ? gi : 0.0) << "trust T=2.5, element " << i;
    EXPECT_EQ(clip[0][i].item<double>(), std::abs(xi) <= 1.2 * alpha * sigma ? gi : 0.0) << "clip, element " << i;
    trusted += err <= delta / 2;
  }
  // The case is informative: each mask keeps some entries and drops others.
  EXPECT_GT(trusted, 2);
  EXPECT_LT(trusted, 10);
  EXPECT_GT((trust_wide != 0).sum().item<int>(), trusted);
}

TEST(QatEstimator, IntTrustUsesHalfTheScaleStep) {
  // int3 symmetric per row: levels k·s for k = −3 … 3, s = absmax / 3; with T = 0.5 a value is
  // trusted when it lies within a quarter step of its level.
  const torch::Tensor x = torch::tensor({0.30f, -0.14f, 0.9f, 0.52f, -0.61f, 0.05f, 0.22f, -0.9f}).view({1, 8});
  const torch::Tensor g = torch::ones({1, 8});
  const torch::Tensor grad = grad_through(x, "int3", {.kind = GradientEstimator::Trust, .trust_factor = 0.5}, g);
  const qs::QuantizedTensor qt = qs::tensor_quantize(qs::format_parse("int3"), {x.data_ptr<float>(), 8}, 1, 8);
  const double scale = qt.scales.at(0);
  int kept = 0;
  for (int i = 0; i < 8; ++i) {
    const double err = std::abs(qt.dequantized[i] - x[0][i].item<double>());
    EXPECT_EQ(grad[0][i].item<double>(), err <= 0.25 * scale ? 1.0 : 0.0) << "element " << i;
    kept += err <= 0.25 * scale;
  }
  EXPECT_GT(kept, 1);
  EXPECT_LT(kept, 8);
}

TEST(QatEstimator, LlamaCppTypeTrustsWhatItsGridReaches) {
  // q4_0: d = max / −8 for the weight of largest magnitude (here +1, so d = −1/8) and levels d·k for
  // k = −8 … 7. −0.95 is u = 7.6 grid units from zero, beyond the last level 7 by more than half a step:
  // the only weight the trust estimator (T = 1) masks. The forward value is the exported one.
  std::vector<float> v = {1.0f, -0.95f};
  for (int i = 0; i < 30; ++i) v.push_back(-0.8f + 1.6f * float(i) / 29.0f);
  const torch::Tensor x = torch::tensor(v).view({1, 32});
  const torch::Tensor grad = grad_through(x, "q4_0", {.kind = GradientEstimator::Trust}, torch::ones({1, 32}));
  for (int i = 0; i < 32; ++i) EXPECT_EQ(grad[0][i].item<float>(), i == 1 ? 0.0f : 1.0f) << "element " << i;
  const torch::Tensor q = qs::fake_quantize(x, qs::format_parse("q4_0"), {.kind = GradientEstimator::Trust});
  const qs::QuantizedTensor qt = qs::tensor_quantize(qs::format_parse("q4_0"), {v.data(), 32}, 1, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(q[0][i].item<float>(), qt.dequantized[size_t(i)]) << "element " << i;
  EXPECT_EQ(qt.dequantized[1], -0.875f);
}

TEST(QatEstimator, HadamardMaskIsComputedInTheRotatedSpaceAndRotatedBack) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({3, 16}) * 2;
  const torch::Tensor g = torch::randn({3, 16});
  const torch::Tensor grad = grad_through(x, "quest2:h8", {.kind = GradientEstimator::Trust}, g);
  // Reference: rotate with the kernels' block Hadamard, mask with the kernels' trust mask, rotate back.
  const torch::Tensor xr = qs::hadamard_rotate(x, 8).contiguous();
  torch::Tensor sigma;
  const torch::Tensor q = quest_reference(xr, 2, sigma);
  torch::Tensor mask = torch::empty(xr.sizes(), torch::kUInt8);
  qs::kernels::quest_trust_mask_cpu(xr.data_ptr<float>(), q.data_ptr<float>(), sigma.data_ptr<float>(), 3, 16,
                                    float(qs::quest_alpha(2) / 3), mask.data_ptr<uint8_t>());
  const torch::Tensor expected = qs::hadamard_rotate(qs::hadamard_rotate(g, 8) * mask.to(torch::kFloat32), 8);
  EXPECT_TRUE(torch::allclose(grad, expected, 1e-5, 1e-6)) << (grad - expected).abs().max().item<double>();
  EXPECT_GT(int(mask.eq(0).sum().item<int64_t>()), 0);  // something was masked
}

TEST(QatEstimator, TrustMaskFractionOnGaussianMatchesMethods) {
  // methods.md §1: masked fraction under N(0,1) with the default T.
  const std::map<int, double> expected = {{1, 1.1e-1}, {2, 4.6e-2}, {3, 1.9e-2}, {4, 7.3e-3}, {8, 9.6e-5}};
  torch::manual_seed(11);
  const torch::Tensor x = torch::randn({512, 4096});
  for (const auto& [bits, fraction] : expected) {
    qs::FakeQuantStats stats{torch::zeros({2})};
    qs::fake_quantize(x, qs::format_parse("quest" + std::to_string(bits) + ":h1"), {.kind = GradientEstimator::Trust},
                      {}, &stats);
    const double measured = stats.sums[0].item<double>();
    // The table has two significant digits; 2M samples leave ~200 masked entries at 8 bits.
    const double tolerance = bits == 8 ? 0.2 : 0.05;
    EXPECT_NEAR(measured / fraction, 1.0, tolerance) << bits << " bits: " << measured;
    // The kernels' own trust mask (value space) agrees with the generic mask (normalised space).
    torch::Tensor sigma;
    const torch::Tensor q = quest_reference(x, bits, sigma);
    torch::Tensor mask = torch::empty(x.sizes(), torch::kUInt8);
    qs::kernels::quest_trust_mask_cpu(x.data_ptr<float>(), q.data_ptr<float>(), sigma.data_ptr<float>(), 512, 4096,
                                      float(qs::quest_alpha(bits) / ((1 << bits) - 1)), mask.data_ptr<uint8_t>());
    const double kernel = mask.eq(0).to(torch::kFloat64).mean().item<double>();
    EXPECT_NEAR(measured, kernel, 2e-6 + 1e-3 * kernel) << bits << " bits";
  }
}

TEST(QatLayers, KMeansRefitChangesTheCodebookAndKeepsItSorted) {
  auto state = qs::test::tiny_state(qs::test::tiny_config(true, false), 5);
  const qs::Model model(state);
  qs::QatConfig config;
  config.plan = qs::plan_uniform(qs::format_parse("kmeans2:g16"));
  config.kmeans_refit_every = 3;
  qs::QatLayers layers(config, model, /*fp_warmup_steps=*/2);
  std::map<std::string, torch::Tensor> masters;
  for (const auto& [name, t] : state->tensors) masters[name] = t.clone();
  const auto master = [&](const std::string& n) { return masters.at(n); };
  const auto none = [](const std::string&) { return torch::Tensor(); };
  const std::string w = "model.layers.0.mlp.up_proj.weight";

  // Warm-up: the forward pass reads the full-precision weight.
  layers.prepare(2, master, none);
  EXPECT_TRUE(torch::equal(layers.weight(w, masters[w], true), masters[w]));
  layers.prepare(3, master, none);
  const qs::QuantPlan first = layers.plan_export();
  masters[w] = masters[w] * 1.7 + 0.05 * torch::randn(masters[w].sizes());
  layers.prepare(5, master, none);  // not due yet: the codebook stays
  const auto codebooks_of = [&](const qs::QuantPlan& plan) {
    for (const qs::PlanRule& r : plan.rules)
      if (r.match == "model.layers.0.mlp.up_proj") return r.codebooks;
    return std::vector<float>();
  };
  EXPECT_EQ(codebooks_of(layers.plan_export()), codebooks_of(first));
  layers.prepare(6, master, none);
  const std::vector<float> before = codebooks_of(first), after = codebooks_of(layers.plan_export());
  ASSERT_EQ(before.size(), after.size());
  ASSERT_EQ(before.size() % 4, 0u);
  EXPECT_NE(before, after);
  for (size_t b = 0; b < after.size(); b += 4)
    for (size_t i = 1; i < 4; ++i) EXPECT_LE(after[b + i - 1], after[b + i]) << "codebook " << b / 4;
  // The drift telemetry sees the change; the fake-quantized weight uses the new codebook.
  const torch::Tensor q = layers.weight(w, masters[w], true);
  const qs::RunLayerSample sample = layers.sample_take(6);
  size_t index = 0;
  while (layers.names()[index] != "model.layers.0.mlp.up_proj") ++index;
  EXPECT_GT(sample.codebook_drift[index], 0.0);
  EXPECT_GT(sample.weight_error[index], 0.0);
  EXPECT_FALSE(torch::equal(q, masters[w]));
}

namespace {

// A small full-precision model of the synthetic language, trained once for the QAT tests.
const fs::path& pretrained_tiny() {
  static qs::test::TempDir dir;
  static const fs::path path = [] {
    qs::TrainConfig c = qs::test::train_config_tiny(dir);
    c.steps = 60;
    c.eval_every = 0;
    return qs::train_run(c).final_checkpoint;
  }();
  return path;
}

qs::TrainConfig qat_config(const qs::test::TempDir& dir, const std::string& weight) {
  qs::TrainConfig c = qs::test::train_config_tiny(dir);
  c.shape.reset();
  c.init_model = pretrained_tiny();
  c.steps = 30;
  c.lr = 3e-3;
  c.warmup_steps = 3;
  c.eval_every = 0;
  c.log_every = 5;
  qs::QatConfig q;
  q.plan = qs::plan_uniform(qs::format_parse(weight));
  q.final_eval_tokens = 4000;
  c.qat = q;
  return c;
}

std::string text_of(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST(Qat, BeatsPostTrainingQuantizationAndTheExportedPlanReproducesIt) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = qat_config(dir, "int2:g16");
  const qs::TrainResult r = qs::train_run(c);
  const qs::RunFinal& f = r.quantized;
  ASSERT_TRUE(f.done);
  EXPECT_LT(f.perplexity, 0.8 * f.ptq_perplexity) << "QAT " << f.perplexity << " vs PTQ " << f.ptq_perplexity;
  EXPECT_LT(f.kl_mean, f.ptq_kl_mean);

  // `eval --plan` does exactly this: the numbers are the same, not close.
  const auto latent = qs::model_load(r.final_checkpoint);
  const auto reference = qs::model_load(c.init_model);
  const auto quantized = qs::model_quantize(*latent, qs::plan_resolve(qs::plan_load(r.final_checkpoint / "plan.json"), *latent));
  qs::EvalOptions options;
  options.ctx = c.ctx;
  options.max_tokens = 4000;
  const qs::KlResult kl = qs::kl_eval(*quantized, *reference, text_of(c.heldout_file), options);
  EXPECT_EQ(kl.model.perplexity, f.perplexity);
  EXPECT_EQ(kl.mean, f.kl_mean);

  // The run file holds every logged step and a per-layer sample per logging interval.
  const qs::RunTelemetry run = qs::run_file_read(r.run_file);
  EXPECT_EQ(run.status, "finished");
  EXPECT_EQ(run.steps.size(), 7u);  // step 0 and every 5 steps
  ASSERT_EQ(run.samples.size(), 6u);
  EXPECT_EQ(run.layers.size(), 14u);  // 2 blocks × 7 linear layers (the head is tied)
  for (const double m : run.samples.back().weight_masked) EXPECT_TRUE(m >= 0 && m < 0.5) << m;
  for (const double e : run.samples.back().weight_error) EXPECT_TRUE(e > 0 && e < 1) << e;
  EXPECT_TRUE(run.final.done);
  EXPECT_EQ(run.final.perplexity, f.perplexity);
}

TEST(Qat, ResumeContinuesBitIdenticallyWithCodebookRefitsAndActivationQuantization) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = qat_config(dir, "kmeans2:fisher");
  qs::QuantPlan plan = qs::plan_uniform(qs::format_parse("kmeans2:fisher"), qs::format_parse("quest4:h16"));
  c.qat->plan = plan;
  c.qat->fp_warmup_steps = 4;
  c.qat->kmeans_refit_every = 3;
  c.steps = 14;
  c.log_every = 1;
  c.checkpoint_every = 0;

  std::map<int64_t, double> straight, resumed;
  c.out_dir = dir.path() / "straight";
  const qs::TrainResult full = qs::train_run(c, nullptr, [&](const qs::TrainLog& l) { straight[l.step] = l.loss; });

  c.out_dir = dir.path() / "interrupted";
  std::shared_ptr<qs::Job> job = std::make_shared<qs::Job>("qat", "qat", [&](qs::JobContext& ctx) {
    qs::train_run(c, &ctx, [&](const qs::TrainLog& l) {
      resumed[l.step] = l.loss;
      if (l.step == 8) job->cancel();
    });
  }, nullptr);
  job->execute();
  ASSERT_EQ(job->state(), qs::JobState::Cancelled) << job->error();
  EXPECT_EQ(qs::run_file_read(c.out_dir / "run.h5").status, "cancelled");
  c.resume = true;
  const qs::TrainResult rest = qs::train_run(c, nullptr, [&](const qs::TrainLog& l) { resumed[l.step] = l.loss; });
  ASSERT_EQ(resumed.size(), straight.size());
  for (const auto& [step, loss] : straight) EXPECT_EQ(resumed.at(step), loss) << "step " << step;
  EXPECT_EQ(rest.quantized.perplexity, full.quantized.perplexity);
  const qs::RunTelemetry run = qs::run_file_read(rest.run_file);
  EXPECT_EQ(run.steps.size(), 15u);
  // Drift is 0 until the first refit (step 8 = 5 + 3), then positive.
  size_t i = 0;
  while (i < run.samples.size() && run.samples[i].step < 10) ++i;
  ASSERT_LT(i, run.samples.size());
  EXPECT_GT(run.samples[i].codebook_drift[0], 0.0);
  EXPECT_FALSE(std::isnan(run.samples.back().act_masked[0]));
}

TEST(Qat, ConfigErrorsNameTheSetting) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = qat_config(dir, "kmeans2");
  c.qat->fp_warmup_steps = 30;
  try {
    qs::train_run(c);
    FAIL() << "a warm-up as long as the run was accepted";
  } catch (const qs::Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp_warmup_steps"), std::string::npos) << e.what();
  }
  c.qat->fp_warmup_steps = 0;
  c.qat->plan = qs::plan_uniform(qs::format_parse("int4"), qs::format_parse("int4"));
  EXPECT_THROW(qs::train_run(c), qs::Error);  // activations take QuEST formats only
}
