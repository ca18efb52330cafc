// The Llama forward on tiny random models (grouped-query attention, biases on and off, tied and untied
// head): against a naive per-head reference, KV-cache decoding against the full pass, causality, bf16
// against f32, per-layer addressing, gradients, bad input, and CUDA against CPU where there is a GPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "core/tiny_model.hpp"
#include "model/llama_forward.hpp"
#include "quantscope/device.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

// An independent, slow reading of the HF Llama definition: one head at a time, the RoPE pairs
// (x[i], x[i + d/2]) rotated element by element, key/value head h / (H / KV) for query head h.
torch::Tensor naive_forward(const ModelState& s, const std::vector<int64_t>& ids) {
  const ModelConfig& c = s.config;
  const int64_t T = static_cast<int64_t>(ids.size()), H = c.num_attention_heads, d = c.head_dim;
  const int64_t group = H / c.num_key_value_heads;
  auto W = [&](const std::string& name) { return s.tensor(name).to(torch::kCPU, torch::kFloat32); };
  auto lin = [&](const std::string& name, const torch::Tensor& x) {
    torch::Tensor y = x.matmul(W(name + ".weight").t());
    if (s.tensors.count(name + ".bias")) y = y + W(name + ".bias");
    return y;
  };
  auto norm = [&](const std::string& name, const torch::Tensor& x) {
    return x / torch::sqrt((x * x).mean(-1, true) + c.rms_norm_eps) * W(name + ".weight");
  };
  auto rope = [&](torch::Tensor x) {  // [T, d]
    x = x.clone();
    auto a = x.accessor<float, 2>();
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < d / 2; ++i) {
        const double angle = t * std::pow(c.rope_theta, -2.0 * i / d);
        const double x0 = a[t][i], x1 = a[t][i + d / 2];
        a[t][i] = static_cast<float>(x0 * std::cos(angle) - x1 * std::sin(angle));
        a[t][i + d / 2] = static_cast<float>(x1 * std::cos(angle) + x0 * std::sin(angle));
      }
    return x;
  };
  const torch::Tensor embed = W("model.embed_tokens.weight");
  torch::Tensor x = embed.index_select(0, torch::tensor(ids, torch::kInt64));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const torch::Tensor h = norm(p + "input_layernorm", x);
    const torch::Tensor q = lin(p + "self_attn.q_proj", h), k = lin(p + "self_attn.k_proj", h);
    const torch::Tensor v = lin(p + "self_attn.v_proj", h);
    torch::Tensor out = torch::zeros({T, H * d});
    for (int64_t head = 0; head < H; ++head) {
      const int64_t kv = head / group;
      const torch::Tensor qh = rope(q.slice(1, head * d, (head + 1) * d));
      const torch::Tensor kh = rope(k.slice(1, kv * d, (kv + 1) * d));
      torch::Tensor scores = qh.matmul(kh.t()) / std::sqrt(static_cast<double>(d));
      scores = scores.masked_fill(torch::ones({T, T}, torch::kBool).triu(1), -INFINITY);
      out.slice(1, head * d, (head + 1) * d).copy_(torch::softmax(scores, -1).matmul(v.slice(1, kv * d, (kv + 1) * d)));
    }
    x = x + lin(p + "self_attn.o_proj", out);
    const torch::Tensor m = norm(p + "post_attention_layernorm", x);
    x = x + lin(p + "mlp.down_proj", torch::silu(lin(p + "mlp.gate_proj", m)) * lin(p + "mlp.up_proj", m));
  }
  x = norm("model.norm", x);
  return x.matmul((c.tie_word_embeddings ? embed : W("lm_head.weight")).t());
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) { return torch::tensor(ids, torch::kInt64).view({1, -1}); }

const std::vector<int64_t> kIds = {1, 17, 5, 40, 33, 2, 9, 60, 12, 12, 7, 28};

class ForwardTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {
 protected:
  bool tied() const { return std::get<0>(GetParam()); }
  bool biases() const { return std::get<1>(GetParam()); }
  std::shared_ptr<ModelState> state() const { return test::tiny_state(test::tiny_config(tied(), biases()), 7); }
};

TEST_P(ForwardTest, MatchesNaiveReference) {
  const auto s = state();
  const torch::Tensor logits = llama_forward(*s, ids_tensor(kIds));
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{1, static_cast<int64_t>(kIds.size()), s->config.vocab_size}));
  EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
  const torch::Tensor expected = naive_forward(*s, kIds);
  EXPECT_TRUE(torch::allclose(logits[0], expected, 1e-4, 1e-4))
      << "max difference " << (logits[0] - expected).abs().max().item<double>();
}

TEST_P(ForwardTest, KvCacheDecodingMatchesFullPass) {
  const auto s = state();
  torch::NoGradGuard no_grad;
  const torch::Tensor full = llama_forward(*s, ids_tensor(kIds));
  KvCache cache;
  std::vector<torch::Tensor> parts;
  // A prompt of 5, then single tokens, then a chunk of 3: every way generation and eval feed tokens.
  const std::vector<std::pair<int64_t, int64_t>> chunks = {{0, 5}, {5, 1}, {6, 1}, {7, 1}, {8, 1}, {9, 3}};
  for (const auto& [begin, length] : chunks) {
    const std::vector<int64_t> chunk(kIds.begin() + begin, kIds.begin() + begin + length);
    parts.push_back(llama_forward(*s, ids_tensor(chunk), &cache));
    EXPECT_EQ(cache.length, begin + length);
  }
  const torch::Tensor incremental = torch::cat(parts, 1);
  EXPECT_TRUE(torch::allclose(incremental, full, 1e-5, 1e-5))
      << "max difference " << (incremental - full).abs().max().item<double>();
}

TEST_P(ForwardTest, LaterTokensDoNotChangeEarlierLogits) {
  const auto s = state();
  std::vector<int64_t> changed = kIds;
  changed[7] = 3;
  const torch::Tensor a = llama_forward(*s, ids_tensor(kIds))[0], b = llama_forward(*s, ids_tensor(changed))[0];
  EXPECT_TRUE(torch::equal(a.slice(0, 0, 7), b.slice(0, 0, 7)));
  EXPECT_GT((a.slice(0, 7) - b.slice(0, 7)).abs().max().item<double>(), 1e-3);
}

TEST_P(ForwardTest, Bf16CloseToF32) {
  const auto s = state();
  const auto s16 = test::tiny_state_convert(*s, ComputeType::BF16, Device::Cpu);
  torch::NoGradGuard no_grad;
  const torch::Tensor ref = llama_forward(*s, ids_tensor(kIds));
  const torch::Tensor low = llama_forward(*s16, ids_tensor(kIds));
  EXPECT_EQ(low.scalar_type(), torch::kFloat32);
  const double error = ((low - ref).norm() / ref.norm()).item<double>();
  EXPECT_LT(error, 0.03) << "relative error of bf16 logits";
  EXPECT_GT(error, 0.0) << "bf16 state computed in float32";
  const double agree = low.argmax(-1).eq(ref.argmax(-1)).to(torch::kFloat32).mean().item<double>();
  EXPECT_GE(agree, 0.9);
}

TEST_P(ForwardTest, BatchRowsMatchSingleSequences) {
  const auto s = state();
  std::vector<int64_t> other = kIds;
  std::reverse(other.begin(), other.end());
  const torch::Tensor both = llama_forward(*s, torch::cat({ids_tensor(kIds), ids_tensor(other)}, 0));
  EXPECT_TRUE(torch::allclose(both[0], llama_forward(*s, ids_tensor(kIds))[0], 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(both[1], llama_forward(*s, ids_tensor(other))[0], 1e-5, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(TiedAndBiases, ForwardTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Tied" : "Untied") +
                                  (std::get<1>(info.param) ? "Biases" : "NoBiases");
                         });

TEST(Forward, LongSequenceMatchesNaiveReference) {
  // Long enough that the CPU attention splits its scores into blocks.
  ModelConfig config = test::tiny_config(false, true);
  config.max_position_embeddings = 1024;
  const auto s = test::tiny_state(config, 13);
  torch::manual_seed(1);
  const torch::Tensor ids = torch::randint(0, config.vocab_size, {700}, torch::kInt64);
  const std::vector<int64_t> id_list(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  torch::NoGradGuard no_grad;
  const torch::Tensor logits = llama_forward(*s, ids.view({1, -1}))[0];
  const torch::Tensor expected = naive_forward(*s, id_list);
  EXPECT_TRUE(torch::allclose(logits, expected, 1e-4, 1e-4))
      << "max difference " << (logits - expected).abs().max().item<double>();
}

TEST(Forward, LinearsAreReadByHfName) {
  auto s = test::tiny_state(test::tiny_config(false, true), 3);
  const torch::Tensor before = llama_forward(*s, ids_tensor(kIds));
  s->tensors["model.layers.1.mlp.down_proj.weight"] = torch::zeros_like(s->tensor("model.layers.1.mlp.down_proj.weight"));
  s->tensors["model.layers.1.mlp.down_proj.bias"].zero_();
  const torch::Tensor after = llama_forward(*s, ids_tensor(kIds));
  EXPECT_GT((after - before).abs().max().item<double>(), 1e-3);
  s->tensors.erase("model.layers.0.self_attn.k_proj.weight");
  try {
    llama_forward(*s, ids_tensor(kIds));
    FAIL() << "a missing weight was not reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    EXPECT_NE(std::string(e.what()).find("model.layers.0.self_attn.k_proj.weight"), std::string::npos) << e.what();
  }
}

TEST(Forward, GradientsReachTheWeights) {
  auto s = test::tiny_state(test::tiny_config(true, false), 5);
  for (auto& [name, t] : s->tensors) t.requires_grad_(true);
  const torch::Tensor logits = llama_forward(*s, ids_tensor(kIds));
  torch::nll_loss(torch::log_softmax(logits[0], -1), torch::tensor(kIds, torch::kInt64)).backward();
  for (const auto& [name, t] : s->tensors) {
    ASSERT_TRUE(t.grad().defined()) << name;
    EXPECT_GT(t.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

TEST(Forward, RejectsBadTokens) {
  const auto s = test::tiny_state(test::tiny_config(true, false), 5);
  auto expect_invalid = [&](const torch::Tensor& tokens, KvCache* cache = nullptr) {
    try {
      llama_forward(*s, tokens, cache);
      ADD_FAILURE() << "accepted bad tokens";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Invalid) << e.what();
    }
  };
  expect_invalid(ids_tensor({1, 2, s->config.vocab_size}));
  expect_invalid(ids_tensor({1, -1}));
  expect_invalid(torch::tensor({1, 2}, torch::kInt64));           // not [batch, length]
  expect_invalid(torch::tensor({1, 2}, torch::kInt32).view({1, 2}));  // not int64
  expect_invalid(torch::ones({1, s->config.max_position_embeddings + 1}, torch::kInt64));
  KvCache cache;
  llama_forward(*s, torch::ones({1, s->config.max_position_embeddings - 1}, torch::kInt64), &cache);
  expect_invalid(torch::ones({1, 2}, torch::kInt64), &cache);
}

TEST(Forward, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or on this machine";
  const auto s = test::tiny_state(test::tiny_config(false, true), 11);
  torch::NoGradGuard no_grad;
  const torch::Tensor cpu = llama_forward(*s, ids_tensor(kIds));
  for (ComputeType compute : {ComputeType::F32, ComputeType::BF16}) {
    const auto gpu_state = test::tiny_state_convert(*s, compute, Device::Cuda);
    const torch::Tensor full = llama_forward(*gpu_state, ids_tensor(kIds).to(torch::kCUDA));
    ASSERT_TRUE(full.is_cuda());
    const double tolerance = compute == ComputeType::F32 ? 1e-3 : 0.03;
    EXPECT_LT(((full.cpu() - cpu).norm() / cpu.norm()).item<double>(), tolerance) << compute_type_name(compute);
    KvCache cache;
    const torch::Tensor a = llama_forward(*gpu_state, ids_tensor({1, 17, 5}).to(torch::kCUDA), &cache);
    const torch::Tensor b = llama_forward(*gpu_state, ids_tensor({40}).to(torch::kCUDA), &cache);
    const torch::Tensor incremental = torch::cat({a, b}, 1);
    EXPECT_LT((incremental[0] - full[0].slice(0, 0, 4)).abs().max().item<double>(),
              compute == ComputeType::F32 ? 1e-4 : 0.1);
  }
}

}  // namespace
}  // namespace qs
