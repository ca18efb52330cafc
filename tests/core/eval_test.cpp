// Perplexity and KL evaluation on tiny random models with the stories260K tokenizer: a uniform model's
// perplexity is its vocabulary size, windows score every token exactly once whatever ctx, stride, budget
// and batch, results (the perplexity's standard error too) match a direct computation from one forward
// pass, KL of a model against itself is 0, and bad arguments and cancellation behave.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/tiny_model.hpp"
#include "eval/eval_windows.hpp"
#include "model/llama_forward.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

const std::string kText =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big red ball under a tree.";

class EvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path path = std::filesystem::path(QS_DATA_DIR) / "models/stories260K/tok512.model";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "test data absent: " << path << " (set QS_DATA_DIR)";
    tokenizer_ = Tokenizer::open(path);
    tokens_ = tokenizer_->encode(kText);
  }

  // A random model over the tokenizer's 512 ids; scale 0 makes every distribution uniform.
  std::shared_ptr<Model> model(uint64_t seed, double scale = 1.0, int64_t vocab = 512) const {
    ModelConfig config = test::tiny_config(seed % 2 == 0, seed % 3 == 0, vocab);
    config.max_position_embeddings = 128;
    auto state = test::tiny_state(config, seed, scale);
    state->tokenizer = tokenizer_;
    return std::make_shared<Model>(state);
  }

  // Log-probabilities of all text tokens from a single forward pass over BOS + text.
  torch::Tensor direct_log_probs(const Model& m) const {
    std::vector<int64_t> ids = {1};
    ids.insert(ids.end(), tokens_.begin(), tokens_.end() - 1);
    const torch::Tensor logits = llama_forward(m.state(), torch::tensor(ids, torch::kInt64).view({1, -1}));
    return torch::log_softmax(logits[0], -1).detach();
  }

  torch::Tensor targets() const {
    return torch::tensor(std::vector<int64_t>(tokens_.begin(), tokens_.end()), torch::kInt64);
  }

  std::shared_ptr<Tokenizer> tokenizer_;
  std::vector<int> tokens_;
};

TEST_F(EvalTest, UniformModelPerplexityIsVocabularySize) {
  const auto uniform = model(2, 0.0);
  const PerplexityResult r = perplexity_eval(*uniform, kText, {.ctx = 16, .batch = 3});
  EXPECT_EQ(r.tokens, static_cast<int64_t>(tokens_.size()));
  EXPECT_NEAR(r.perplexity, 512.0, 512.0 * 1e-5);
  EXPECT_NEAR(r.nll, std::log(512.0), 1e-5);
  EXPECT_EQ(r.bytes, static_cast<int64_t>(kText.size()));
  EXPECT_NEAR(r.bits_per_byte, r.tokens * 9.0 / r.bytes, 1e-4);  // log2(512) = 9 bits per token
  EXPECT_EQ(r.windows, (r.tokens + 14) / 15);
}

TEST_F(EvalTest, WindowsScoreEachTokenExactlyOnce) {
  const int64_t n = static_cast<int64_t>(tokens_.size());
  for (int64_t budget : {int64_t{0}, int64_t{2}, int64_t{11}}) {
    const int64_t scored_n = budget > 0 ? budget : n;
    for (int64_t ctx : {2, 3, 5, 16, 128}) {
      for (int64_t stride = 1; stride < ctx; stride += (ctx > 16 ? 17 : 1)) {
        const EvalWindows w = eval_windows_build(*tokenizer_, 1, kText, {ctx, stride, budget, 1}, 128);
        SCOPED_TRACE("budget " + std::to_string(budget) + " ctx " + std::to_string(ctx) + " stride " +
                     std::to_string(stride));
        ASSERT_EQ(static_cast<int64_t>(w.tokens.size()), scored_n);
        std::vector<int> times(scored_n, 0);
        for (size_t k = 0; k < w.windows.size(); ++k) {
          const EvalWindow& window = w.windows[k];
          EXPECT_EQ(window.begin, static_cast<int64_t>(k) * stride);
          EXPECT_LE(window.length, ctx - 1);
          EXPECT_GE(window.scored, 0);
          EXPECT_LT(window.scored, window.length);
          for (int64_t p = window.scored; p < window.length; ++p) ++times[window.begin + p];
        }
        EXPECT_EQ(times, std::vector<int>(scored_n, 1));
      }
    }
  }
}

TEST_F(EvalTest, BatchedWindowsMatchOneForwardPass) {
  const auto m = model(5);
  const torch::Tensor lp = direct_log_probs(*m);
  const double direct_nll = -lp.gather(1, targets().unsqueeze(1)).mean().item<double>();
  // One window holding the whole text reproduces the direct pass.
  const PerplexityResult whole = perplexity_eval(*m, kText, {.ctx = 128});
  EXPECT_EQ(whole.windows, 1);
  EXPECT_NEAR(whole.nll, direct_nll, 1e-5);
  // Short windows see less context, so the value changes, but never with the batch size (padding of
  // the last, shorter window must not leak into its scores).
  const PerplexityResult one = perplexity_eval(*m, kText, {.ctx = 7, .batch = 1});
  const PerplexityResult four = perplexity_eval(*m, kText, {.ctx = 7, .batch = 4});
  EXPECT_EQ(one.tokens, static_cast<int64_t>(tokens_.size()));
  EXPECT_NEAR(one.nll, four.nll, 1e-6);
  EXPECT_GT(std::abs(one.nll - direct_nll), 1e-4);
  // With stride 1 each window after the first scores one new token.
  const PerplexityResult sliding = perplexity_eval(*m, kText, {.ctx = 7, .stride = 1, .batch = 5});
  EXPECT_EQ(sliding.tokens, static_cast<int64_t>(tokens_.size()));
  EXPECT_EQ(sliding.windows, static_cast<int64_t>(tokens_.size()) - 5);
  const PerplexityResult budget = perplexity_eval(*m, kText, {.ctx = 128, .max_tokens = 9});
  EXPECT_EQ(budget.tokens, 9);
  EXPECT_NEAR(budget.nll, -lp.slice(0, 0, 9).gather(1, targets().slice(0, 0, 9).unsqueeze(1)).mean().item<double>(),
              1e-5);
}

// SE(nll) = sample std of the per-token nll / sqrt(n), SE(perplexity) = perplexity * SE(nll), from each
// place a PerplexityResult is filled: perplexity_eval, kl_eval's two sides, and a prepared reference.
TEST_F(EvalTest, StandardErrorMatchesPerTokenNll) {
  const auto m = model(5), reference = model(9);
  auto expected = [&](const Model& of) {
    const torch::Tensor nll = -direct_log_probs(of).gather(1, targets().unsqueeze(1)).squeeze(1).to(torch::kFloat64);
    return nll.std(/*unbiased=*/true).item<double>() / std::sqrt(static_cast<double>(nll.numel()));
  };
  auto expect_standard_error = [](const PerplexityResult& r, double nll_se, const char* what) {
    EXPECT_GT(nll_se, 0.05) << what;  // a random model's nll varies from token to token
    EXPECT_NEAR(r.nll_standard_error, nll_se, 1e-6) << what;
    EXPECT_NEAR(r.perplexity_standard_error, r.perplexity * nll_se, r.perplexity * 1e-6) << what;
  };
  const double se_m = expected(*m), se_r = expected(*reference);
  EXPECT_GT(std::abs(se_m - se_r), 1e-4);  // far above the 1e-6 tolerance: swapping the sides would fail
  expect_standard_error(perplexity_eval(*m, kText, {.ctx = 128}), se_m, "perplexity_eval");
  const KlResult kl = kl_eval(*m, *reference, kText, {.ctx = 128});
  expect_standard_error(kl.model, se_m, "kl_eval model");
  expect_standard_error(kl.reference, se_r, "kl_eval reference");
  const KlResult prepared = kl_eval(*m, *kl_reference_prepare(*reference, kText, {.ctx = 128}));
  expect_standard_error(prepared.model, se_m, "prepared model");
  expect_standard_error(prepared.reference, se_r, "prepared reference");
  // A uniform model's nll is the same for every token.
  EXPECT_NEAR(perplexity_eval(*model(2, 0.0), kText, {.ctx = 16}).perplexity_standard_error, 0.0, 1e-3);
}

TEST_F(EvalTest, BudgetTokenizesAPrefixLikeTheWholeText) {
  const auto path = std::filesystem::path(QS_DATA_DIR) / "text/tinystories-valid-subset/tinystories_valid_first.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "test data absent: " << path;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const std::string head = text.str().substr(0, 200000);  // enough for every budget below, quick to encode
  const std::vector<int> all = tokenizer_->encode(head);
  for (int64_t budget : {2, 97, 1000, 6000}) {
    const EvalWindows w = eval_windows_build(*tokenizer_, 1, head, {.max_tokens = budget}, 512);
    ASSERT_EQ(static_cast<int64_t>(w.tokens.size()), budget);
    EXPECT_TRUE(std::equal(w.tokens.begin(), w.tokens.end(), all.begin())) << "budget " << budget;
    EXPECT_EQ(w.bytes, static_cast<int64_t>(tokenizer_->decode(w.tokens).size()));
  }
}

TEST_F(EvalTest, KlOfModelAgainstItselfIsZero) {
  const auto m = model(5);
  const KlResult r = kl_eval(*m, *m, kText, {.ctx = 9, .batch = 2});
  EXPECT_EQ(r.tokens, static_cast<int64_t>(tokens_.size()));
  EXPECT_NEAR(r.mean, 0.0, 1e-7);
  EXPECT_NEAR(r.max, 0.0, 1e-6);
  EXPECT_DOUBLE_EQ(r.top1_agreement, 1.0);
  EXPECT_DOUBLE_EQ(r.model.perplexity, r.reference.perplexity);
  EXPECT_NEAR(r.model.nll, perplexity_eval(*m, kText, {.ctx = 9}).nll, 1e-6);  // other batch, same windows
}

TEST_F(EvalTest, KlAgainstAnotherModelMatchesDirectComputation) {
  const auto m = model(5), reference = model(9);
  const KlResult r = kl_eval(*m, *reference, kText, {.ctx = 128});
  const torch::Tensor lp_m = direct_log_probs(*m), lp_r = direct_log_probs(*reference);
  const torch::Tensor kl = (lp_r.exp() * (lp_r - lp_m)).sum(-1).to(torch::kFloat64);
  EXPECT_GT(r.mean, 0.01);
  EXPECT_NEAR(r.mean, kl.mean().item<double>(), 1e-5);
  EXPECT_NEAR(r.max, kl.max().item<double>(), 1e-5);
  EXPECT_NEAR(r.median, torch::quantile(kl, 0.5).item<double>(), 1e-5);
  EXPECT_NEAR(r.p99, torch::quantile(kl, 0.99).item<double>(), 1e-5);
  const double agree = lp_m.argmax(-1).eq(lp_r.argmax(-1)).to(torch::kFloat64).mean().item<double>();
  EXPECT_DOUBLE_EQ(r.top1_agreement, agree);
  EXPECT_NEAR(r.reference.nll, -lp_r.gather(1, targets().unsqueeze(1)).mean().item<double>(), 1e-5);
  EXPECT_NEAR(r.model.nll, -lp_m.gather(1, targets().unsqueeze(1)).mean().item<double>(), 1e-5);
}

TEST_F(EvalTest, BadArgumentsAreInvalid) {
  const auto m = model(5);
  auto expect_invalid = [&](auto&& call, const char* what) {
    try {
      call();
      ADD_FAILURE() << what << ": accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Invalid) << what;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << what << ": " << e.what();
    }
  };
  expect_invalid([&] { perplexity_eval(*m, "", {}); }, "empty text");
  ASSERT_LT(tokenizer_->encode("a").size(), 2u);
  expect_invalid([&] { perplexity_eval(*m, "a", {}); }, "one token");
  expect_invalid([&] { perplexity_eval(*m, kText, {.ctx = 129}); }, "ctx beyond max positions");
  expect_invalid([&] { perplexity_eval(*m, kText, {.ctx = 1}); }, "ctx 1");
  expect_invalid([&] { perplexity_eval(*m, kText, {.ctx = 8, .stride = 8}); }, "stride > ctx - 1");
  expect_invalid([&] { perplexity_eval(*m, kText, {.batch = 0}); }, "batch 0");
  expect_invalid([&] { kl_eval(*m, *model(8, 1.0, 600), kText, {}); }, "different vocabularies");
}

TEST_F(EvalTest, CancellationStopsBetweenBatches) {
  const auto m = model(5);
  int reports = 0;
  std::shared_ptr<Job> job;
  job = std::make_shared<Job>("", "eval", [&](JobContext& context) {
    perplexity_eval(*m, kText, {.ctx = 4, .batch = 2}, &context);
  }, [&](const Job& j) {
    if (j.state() == JobState::Running && j.progress() > 0) {
      ++reports;
      job->cancel();
    }
  });
  job->execute();
  EXPECT_EQ(job->state(), JobState::Cancelled);
  EXPECT_EQ(reports, 1);
}

}  // namespace
}  // namespace qs
