// GGUF export, checked by llama.cpp itself where it is installed (packaging/install-test-clients.sh):
// stories260K in F32 gives llama.cpp's logits within 1e-4 in log-probability of ours and its greedy
// story; the demo model in every llama.cpp type holds, tensor by tensor, exactly our dequantized weights
// as ggml's own to_float decodes them, and llama.cpp's next-token distributions stay within a mean KL
// of 1e-2 of ours (llama.cpp quantizes activations in its matmuls, export-clients.md). Without llama.cpp:
// the file's layout through Quantscope's reader (names, dims, types, the q/k row permutation), the
// refusal list and fallback, and the output rules.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/gguf_file.hpp"
#include "io/mapped_file.hpp"
#include "llama_client.hpp"
#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/export.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/plan.hpp"
#include "kill_midway.hpp"
#include "temp_dir.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;
const fs::path kStories = fs::path(QS_DATA_DIR) / "models" / "stories260K";

std::vector<LayerFormat> uniform(const Model& model, const std::string& spec) {
  return plan_resolve(plan_uniform(format_parse(spec)), model);
}

// The plan with every layer in `spec`, and the layers `spec` cannot hold in q8_0.
std::vector<LayerFormat> uniform_fitting(const Model& model, const std::string& spec) {
  std::vector<LayerFormat> plan;
  for (const LinearLayer& l : model.linear_layers()) {
    if (l.name.rfind("model.layers.", 0) != 0) continue;
    const FormatSpec f = format_parse(spec);
    plan.push_back({l.name, format_shape_problem(f, l.out_features, l.in_features).empty() ? f : format_parse("q8_0"),
                    std::nullopt, {}});
  }
  return plan;
}

std::string export_error(const Model& model, const std::vector<LayerFormat>& plan, const fs::path& out,
                         const ExportOptions& options = {}) {
  try {
    model_export(model, plan, out, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "exported";
}

torch::Tensor interleave(const torch::Tensor& w, int64_t heads) {
  const int64_t d = w.size(0) / heads;
  return w.reshape({heads, 2, d / 2, w.size(1)}).transpose(1, 2).reshape(w.sizes());
}

TEST(GgufExport, FileHoldsLlamaCppsNamesTypesAndInterleavedRopeRows) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const fs::path out = dir.path() / "demo.gguf";
  const ExportReport report = model_export(*model, uniform(*model, "q8_0"), out, {});
  EXPECT_EQ(report.bytes, fs::file_size(out));
  EXPECT_LT(report.bytes, report.bf16_bytes);
  const GgufFile f = GgufFile::open(out);
  const ModelConfig& c = model->config();
  EXPECT_EQ(f.string_get("general.architecture"), "llama");
  EXPECT_EQ(f.uint_get("llama.block_count"), uint64_t(c.num_hidden_layers));
  EXPECT_EQ(f.uint_get("llama.attention.head_count_kv"), uint64_t(c.num_key_value_heads));
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->strings.size(), size_t(c.vocab_size));
  EXPECT_EQ(f.find("tokenizer.ggml.tokens")->strings.at(1), "<s>");
  const GgufTensorInfo* q = f.tensor_find("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, 8u);  // q8_0
  EXPECT_EQ(q->dims, (std::vector<int64_t>{c.hidden_size, c.q_dim()}));
  EXPECT_EQ(f.tensor_find("blk.0.attn_norm.weight")->type, 0u);  // norms in F32
  const GgufTensorInfo* embd = f.tensor_find("token_embd.weight");
  EXPECT_EQ(embd->type, 30u);  // the demo model's bf16, as stored
  // Row r of the GGUF's attn_q is row (h, t, j) ↦ (h, 2j + t) of the HF weight: compare the q8_0 scale
  // of each row's first block with the HF row it came from, quantized alone.
  const std::vector<float> hf = model->tensor_values("model.layers.0.self_attn.q_proj.weight");
  const torch::Tensor expected =
      interleave(torch::from_blob(const_cast<float*>(hf.data()), {c.q_dim(), c.hidden_size}), c.num_attention_heads);
  const auto* blocks = reinterpret_cast<const uint8_t*>(f.file()->data()) + f.data_offset() + q->offset;
  const int64_t row_bytes = c.hidden_size / 32 * 34;
  for (int64_t r = 0; r < c.q_dim(); ++r) {
    float amax = 0;
    for (int64_t k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(expected[r][k].item<float>()));
    uint16_t d16;
    std::memcpy(&d16, blocks + r * row_bytes, 2);
    const torch::Tensor d = torch::tensor({amax / 127.0f}).to(torch::kHalf).view(torch::kInt16);
    ASSERT_EQ(int16_t(d16), d.item<int16_t>()) << "row " << r;
  }
}

TEST(GgufExport, RefusesLayersGgufCannotHoldListingEachOrStoresThemAsTheFallback) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const std::string message = export_error(*model, uniform(*model, "kmeans2"), dir.path() / "k.gguf");
  EXPECT_NE(message.find("gguf cannot hold 28 layers of the plan: kmeans2: k-means codebooks have no GGUF type (iq4_nl's "
                         "16 levels are fixed) (model.layers.0.self_attn.q_proj, model.layers.0.self_attn.k_proj,"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("--fallback"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir.path() / "k.gguf"));
  // q4_k takes the 256-wide layers but not down_proj's 640 inputs (a plan file would not resolve; a
  // plan made in code may still ask).
  std::vector<LayerFormat> k4;
  for (const LinearLayer& l : model->linear_layers()) k4.push_back({l.name, format_parse("q4_k"), std::nullopt, {}});
  const std::string k = export_error(*model, k4, dir.path() / "k.gguf");
  EXPECT_NE(k.find("q4_k: in_features 640 is not a multiple of q4_k's block of 256 (model.layers.0.mlp.down_proj, "
                   "model.layers.1.mlp.down_proj, model.layers.2.mlp.down_proj, model.layers.3.mlp.down_proj)"),
            std::string::npos)
      << k;
  ExportOptions options;
  options.fallback = format_parse("q8_0");
  const ExportReport r = model_export(*model, uniform(*model, "int4:g32"), dir.path() / "f.gguf", options);
  EXPECT_EQ(r.fallback_layers.size(), 28u);
  EXPECT_EQ(GgufFile::open(dir.path() / "f.gguf").tensor_find("blk.3.ffn_up.weight")->type, 8u);
  options.fallback = format_parse("q4_k");
  EXPECT_NE(export_error(*model, uniform(*model, "int4"), dir.path() / "g.gguf", options).find("the fallback q4_k"),
            std::string::npos);
}

TEST(GgufExport, NeverOverwritesTheInputAndReplacesAnOutputOnlyWithForce) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const fs::path out = dir.path() / "m.gguf";
  std::ofstream(out) << "an earlier file";
  EXPECT_NE(export_error(*model, uniform(*model, "q8_0"), out).find("exists; --force replaces it"), std::string::npos);
  EXPECT_EQ(fs::file_size(out), 15u);
  ExportOptions force;
  force.force = true;
  model_export(*model, uniform(*model, "q8_0"), out, force);
  EXPECT_NO_THROW(GgufFile::open(out));
  // A failed export (cancelled midway here) leaves the earlier file as it was and nothing beside it.
  const auto before = fs::file_size(out);
  Job job("", "export", [&](JobContext& context) {
    ExportOptions cancelled = force;
    cancelled.job = &context;
    job.cancel();
    model_export(*model, uniform(*model, "q4_0"), out, cancelled);
  }, {});
  job.execute();
  EXPECT_EQ(job.state(), JobState::Cancelled);
  EXPECT_EQ(fs::file_size(out), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
  ExportOptions forced;
  forced.force = true;
  const std::string own = export_error(*model, uniform(*model, "q8_0"), demo_model_dir() / "model.safetensors", forced);
  EXPECT_NE(own.find("refusing to write over a file of the model being exported"), std::string::npos) << own;
  const std::string folder = export_error(*model, uniform(*model, "q8_0"), dir.path());
  EXPECT_NE(folder.find("is a folder"), std::string::npos) << folder;
}

TEST(GgufExport, AKilledExportLeavesTheEarlierFileUnderItsName) {
  // A synthetic model large enough (85M parameters) that its q4_k export takes a while, with the demo
  // model's 4096-piece tokenizer; an earlier export under the same name; a child process exporting
  // over it with --force is killed with SIGKILL as soon as its temporary file appears.
  test::TempDir dir;
  const auto model = test::slow_export_model(dir.path() / "model");
  const fs::path out = dir.path() / "out" / "m.gguf";
  model_export(*model, {}, out, {});
  const std::string before = test::bytes_read(out);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ExportOptions force;
    force.force = true;
    model_export(*model, uniform(*model, "q4_k"), out, force);
    _exit(0);
  }
  bool signalled = false;
  ASSERT_TRUE(test::kill_when(child, [&] { return test::temporary_file_in(out.parent_path()); }, &signalled))
      << "the export finished before its temporary file was seen";
  EXPECT_TRUE(signalled);
  EXPECT_EQ(test::bytes_read(out), before);  // the earlier export, whole
  EXPECT_NO_THROW(GgufFile::open(out));
}

#ifdef QS_HAVE_LLAMA_CLIENT
#define QS_REQUIRE_LLAMA()                                            \
  if (!test::LlamaClient::get().error().empty()) GTEST_SKIP() << test::LlamaClient::get().error()

// log-softmax of a row of logits, in double.
std::vector<double> log_softmax(const float* l, int64_t n) {
  double top = -INFINITY;
  for (int64_t i = 0; i < n; ++i) top = std::max(top, double(l[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(l[i]) - top);
  std::vector<double> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = double(l[i]) - top - std::log(sum);
  return out;
}

struct Agreement {
  double max_logp = 0, mean_kl = 0;
};

// Our logits for `tokens` on `model` against llama.cpp's on `gguf`.
Agreement agreement(const Model& model, const fs::path& gguf, const std::vector<int>& tokens) {
  const std::vector<std::vector<float>> theirs = test::LlamaClient::get().logits(gguf, tokens);
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  const torch::Tensor ours = llama_forward(model.state(), torch::tensor(ids, torch::kInt64).view({1, -1}))[0].contiguous();
  Agreement a;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const int64_t v = ours.size(1);
    EXPECT_EQ(int64_t(theirs[t].size()), v);
    const std::vector<double> p = log_softmax(ours[int64_t(t)].data_ptr<float>(), v);
    const std::vector<double> q = log_softmax(theirs[t].data(), v);
    double kl = 0;
    for (int64_t i = 0; i < v; ++i) {
      a.max_logp = std::max(a.max_logp, std::fabs(p[size_t(i)] - q[size_t(i)]));
      kl += std::exp(p[size_t(i)]) * (p[size_t(i)] - q[size_t(i)]);
    }
    a.mean_kl += kl / double(tokens.size());
  }
  return a;
}

std::vector<int> text_tokens(const Model& model, const std::string& text) {
  std::vector<int> ids = {int(model.config().bos_token_id)};
  for (int id : model.tokenizer()->encode(text)) ids.push_back(id);
  return ids;
}

TEST(GgufExport, Stories260KInF32GivesOurLogitsAndTheReferenceStoryInLlamaCpp) {
  QS_REQUIRE_LLAMA();
  if (!fs::exists(kStories / "stories260K.bin")) GTEST_SKIP() << "stories260K not found in " << kStories;
  test::TempDir dir;
  LoadOptions load;
  load.tokenizer = kStories / "tok512.model";
  const auto model = model_load(kStories / "stories260K.bin", load);
  const fs::path out = dir.path() / "stories.gguf";
  model_export(*model, {}, out, {});
  const Agreement a = agreement(*model, out, text_tokens(*model, "Once upon a time, there was a little dog. He liked"));
  EXPECT_LT(a.max_logp, 1e-4);
  const std::string story = test::LlamaClient::get().greedy(out, {1}, 60);
  EXPECT_EQ(story.rfind(" Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", 0),
            0u)
      << story;
}

TEST(GgufExport, EveryLlamaCppTypeHoldsOurWeightsExactlyAndLlamaCppAgrees) {
  QS_REQUIRE_LLAMA();
  void* base = dlopen((std::string(QS_LLAMA_LIB_DIR) + "/libggml-base.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(base, nullptr);
  const auto traits = reinterpret_cast<decltype(&ggml_get_type_traits)>(dlsym(base, "ggml_get_type_traits"));
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const std::vector<int> tokens =
      text_tokens(*model, "The little robot looked at the stars and wondered where they came from.");
  const int64_t heads = model->config().num_attention_heads, kv_heads = model->config().num_key_value_heads;
  for (const char* type : {"q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"}) {
    SCOPED_TRACE(type);
    const std::vector<LayerFormat> plan = uniform_fitting(*model, type);
    const fs::path out = dir.path() / (std::string(type) + ".gguf");
    model_export(*model, plan, out, {});
    const auto quantized = model_quantize(*model, plan);
    const GgufFile f = GgufFile::open(out);
    for (const LayerFormat& lf : plan) {
      const std::string layer = lf.name.substr(lf.name.find('.', 13) + 1);  // after "model.layers.N."
      const std::string block = lf.name.substr(13, lf.name.find('.', 13) - 13);
      const std::string name = "blk." + block + "." +
                               (layer == "self_attn.q_proj"   ? "attn_q"
                                : layer == "self_attn.k_proj" ? "attn_k"
                                : layer == "self_attn.v_proj" ? "attn_v"
                                : layer == "self_attn.o_proj" ? "attn_output"
                                : layer == "mlp.gate_proj"    ? "ffn_gate"
                                : layer == "mlp.up_proj"      ? "ffn_up"
                                                              : "ffn_down") +
                               ".weight";
      const GgufTensorInfo* t = f.tensor_find(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->type, uint32_t(lf.format.gguf)) << name;
      std::vector<float> theirs(static_cast<size_t>(t->numel()));
      traits(ggml_type(t->type))->to_float(f.file()->data() + f.data_offset() + t->offset, theirs.data(), t->numel());
      const std::vector<float> values = quantized->tensor_values(lf.name + ".weight");
      torch::Tensor ours = torch::from_blob(const_cast<float*>(values.data()), {t->dims[1], t->dims[0]});
      if (layer == "self_attn.q_proj") ours = interleave(ours, heads);
      if (layer == "self_attn.k_proj") ours = interleave(ours, kv_heads);
      ours = ours.contiguous();
      ASSERT_EQ(0, std::memcmp(ours.data_ptr<float>(), theirs.data(), theirs.size() * sizeof(float))) << name;
    }
    const Agreement a = agreement(*quantized, out, tokens);
    EXPECT_LT(a.mean_kl, 1e-2) << "max |Δ log p| " << a.max_logp;
    RecordProperty(std::string("mean_kl_") + type, std::to_string(a.mean_kl));
  }
}
#endif

}  // namespace
}  // namespace qs
