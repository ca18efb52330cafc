// Sensitivity scans on the demo model: one layer's ΔKL equals the KL of the same single-layer plan
// measured through plan_evaluate, fewer bits hurt more, the proxies are consistent with their
// definitions, and Spearman's ρ matches hand-computed values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "eval/eval_windows.hpp"
#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan_evaluate.hpp"
#include "quantscope/sensitivity.hpp"

namespace qs {
namespace {

TEST(Spearman, HandComputedValues) {
  const std::vector<double> a = {1, 2, 3, 4, 5};
  EXPECT_DOUBLE_EQ(spearman_correlation(a, std::vector<double>{10, 20, 30, 40, 50}), 1.0);
  EXPECT_DOUBLE_EQ(spearman_correlation(a, std::vector<double>{5, 4, 3, 2, 1}), -1.0);
  // Ranks (1,2,3,4,5) against (2,1,4,3,5): 1 - 6·Σd²/(n(n²-1)) = 1 - 6·4/120 = 0.8.
  EXPECT_NEAR(spearman_correlation(a, std::vector<double>{0.2, 0.1, 0.4, 0.3, 0.5}), 0.8, 1e-12);
  // Ties share average ranks: (1, 2.5, 2.5, 4) against (1,2,3,4): ρ = Pearson of the ranks.
  EXPECT_NEAR(spearman_correlation(std::vector<double>{1, 2, 2, 3}, std::vector<double>{1, 2, 3, 4}),
              4.5 / std::sqrt(4.5 * 5.0), 1e-12);
  EXPECT_TRUE(std::isnan(spearman_correlation(std::vector<double>{1, 1, 1}, std::vector<double>{1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman_correlation(std::vector<double>{1, 2}, std::vector<double>{1, 2, 3})));
}

class DemoSensitivity : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = model_load(demo_model_dir());
    text_ = file_read(std::filesystem::path(QS_SOURCE_DIR) / "resources/models/demo/heldout-sample.txt");
    options_.ctx = 128;
    options_.max_tokens = 1024;
  }
  std::shared_ptr<Model> model_;
  std::string text_;
  EvalOptions options_;
};

TEST_F(DemoSensitivity, ScanAgreesWithSingleLayerPlansAndFewerBitsHurtMore) {
  const auto reference = kl_reference_prepare(*model_, text_, options_);
  const auto statistics = layer_statistics_collect(*model_, text_, options_);
  SensitivityOptions options;
  options.layers = {"model.layers.0.self_attn.v_proj", "model.layers.1.mlp.down_proj", "model.layers.2.self_attn.q_proj",
                    "model.layers.3.mlp.gate_proj"};
  options.statistics = statistics;
  const SensitivityScan two = sensitivity_scan(*model_, format_parse("int2:g64"), *reference, options);
  const SensitivityScan four = sensitivity_scan(*model_, format_parse("int4:g64"), *reference, options);
  ASSERT_EQ(two.layers.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const LayerSensitivity& l2 = two.layers[i];
    const LayerSensitivity& l4 = four.layers[i];
    EXPECT_EQ(l2.name, options.layers[i]);
    EXPECT_GT(l2.delta_kl, l4.delta_kl) << l2.name;
    EXPECT_GT(l4.delta_kl, 0.0) << l4.name;
    EXPECT_DOUBLE_EQ(l2.bits_per_weight, 2.25);
    EXPECT_EQ(l2.storage_bits, uint64_t(l2.parameters) * 9 / 4);  // 2 bits + a bf16 scale per 64
    EXPECT_LT(l2.proxies.weight_sqnr_db, l4.proxies.weight_sqnr_db);
    EXPECT_LT(l2.proxies.fisher_sqnr_db, l4.proxies.fisher_sqnr_db);
    EXPECT_GT(l2.proxies.fisher_loss, l4.proxies.fisher_loss);
    EXPECT_TRUE(std::isfinite(l2.proxies.input_sqnr_db));
  }
  EXPECT_GE(two.spearman_weight, -1.0);
  EXPECT_LE(two.spearman_weight, 1.0);

  // The scan's ΔKL is the KL of the plan that quantizes only that layer.
  QuantPlan plan;
  plan.rules.push_back({options.layers[1], format_parse("int2:g64"), std::nullopt, {}});
  PlanEvalSetup setup;
  setup.text = reference;
  const PlanMetrics m = plan_evaluate(*model_, plan, setup);
  EXPECT_NEAR(m.kl.mean, two.layers[1].delta_kl, 1e-9);
  EXPECT_DOUBLE_EQ(m.bits_per_weight, 2.25);
}

TEST_F(DemoSensitivity, ProxiesFollowTheirDefinitions) {
  const auto statistics = layer_statistics_collect(*model_, text_, options_);
  const std::string layer = "model.layers.1.self_attn.o_proj";
  const std::vector<float> w = model_->tensor_values(layer + ".weight");
  ASSERT_EQ(statistics->fisher.at(layer).size(), w.size());
  ASSERT_EQ(statistics->inputs->input_second_moment.at(layer).size(), 256u);
  // Scaling the error by k lowers every SQNR by 20·log10(k) and multiplies the Fisher loss by k².
  std::vector<float> q1(w), q2(w);
  for (size_t i = 0; i < w.size(); ++i) {
    const float d = (i % 7 == 0 ? 0.01f : -0.004f);
    q1[i] = w[i] + d;
    q2[i] = w[i] + 3 * d;
  }
  const LayerProxies p1 = layer_proxies(layer, w, q1, *statistics), p2 = layer_proxies(layer, w, q2, *statistics);
  EXPECT_NEAR(p1.weight_sqnr_db - p2.weight_sqnr_db, 20 * std::log10(3.0), 1e-6);
  EXPECT_NEAR(p1.input_sqnr_db - p2.input_sqnr_db, 20 * std::log10(3.0), 1e-6);
  EXPECT_NEAR(p1.fisher_sqnr_db - p2.fisher_sqnr_db, 20 * std::log10(3.0), 1e-6);
  EXPECT_NEAR(p2.fisher_loss / p1.fisher_loss, 9.0, 1e-5);  // 3·d rounds in float
  EXPECT_THROW(layer_proxies("model.layers.9.mlp.up_proj", w, q1, *statistics), Error);
}

// The statistics against a plain computation: for each window its own leaves, a backward pass, and
// scored · g² summed; the input moments are what importance_collect gives for the same text, up to
// the rounding that batching windows changes in the forward pass. (The statistics keep at most two
// gradients alive at once; the reference keeps them all.)
TEST_F(DemoSensitivity, StatisticsMatchAPlainComputation) {
  options_.max_tokens = 400;
  // One forward pass per window gathers both the gradients and the input moments.
  int passes = 0;
  const std::string first = model_->linear_layers().front().name;
  model_->state().linear_input = [&](const std::string& layer, const torch::Tensor& x) {
    passes += layer == first;
    return x;
  };
  const auto statistics = layer_statistics_collect(*model_, text_, options_);
  model_->state().linear_input = nullptr;
  const EvalWindows counted = eval_windows_build(*model_->state().tokenizer, int(model_->config().bos_token_id), text_,
                                                 options_, model_->config().max_position_embeddings);
  EXPECT_EQ(passes, int(counted.windows.size()));
  const auto importance = importance_collect(*model_, text_, options_);
  EXPECT_EQ(statistics->inputs->tokens, importance->tokens);
  for (const auto& [layer, moments] : importance->input_second_moment) {
    const std::vector<float>& got = statistics->inputs->input_second_moment.at(layer);
    ASSERT_EQ(got.size(), moments.size()) << layer;
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], moments[i], 2e-5 * std::abs(moments[i])) << layer;
  }

  const ModelState& base = model_->state();
  const EvalWindows windows = eval_windows_build(*base.tokenizer, int(base.config.bos_token_id), text_, options_,
                                                 base.config.max_position_embeddings);
  std::map<std::string, torch::Tensor> sums;
  for (size_t w = 0; w < windows.windows.size(); ++w) {
    ModelState traced = base;
    std::map<std::string, torch::Tensor> leaves;
    for (const LinearLayer& layer : model_->linear_layers()) {
      torch::Tensor leaf = base.tensor(layer.name + ".weight").detach().clone().requires_grad_(true);
      traced.tensors[layer.name + ".weight"] = leaf;
      leaves[layer.name] = leaf;
    }
    const EvalWindow& window = windows.windows[w];
    const int64_t scored = window.length - window.scored;
    const torch::Tensor logits = llama_forward(traced, eval_windows_batch(windows, w, 1, torch::kCPU))[0];
    torch::nn::functional::cross_entropy(logits.narrow(0, window.scored, scored),
                                         eval_window_targets(windows, window, torch::kCPU))
        .backward();
    for (auto& [name, leaf] : leaves) {
      const torch::Tensor g2 = leaf.grad().pow(2) * double(scored);
      sums[name] = sums.count(name) ? sums[name] + g2 : g2;
    }
  }
  ASSERT_EQ(statistics->fisher.size(), sums.size());
  for (const auto& [name, sum] : sums) {
    const torch::Tensor expected = sum / double(windows.windows.size());
    const std::vector<float>& got = statistics->fisher.at(name);
    const torch::Tensor actual = torch::from_blob(const_cast<float*>(got.data()), expected.sizes(), torch::kFloat32);
    EXPECT_TRUE(torch::allclose(actual, expected, 1e-4, 1e-12)) << name;
  }
}

}  // namespace
}  // namespace qs
