// Quantizing whole models: which tensors a --layers glob selects, that exactly those are replaced and
// every other tensor is shared, the byte accounting, the errors that name a layer, calibration
// importance, and on the real models (stories260K, the demo model) that perplexity rises as bits
// fall within each family and that k-means beats integer at 2 bits and equal bits per weight.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "model/model_state.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "tiny_model.hpp"

namespace qs {
namespace {

std::vector<LayerFormat> all(const Model& model, const std::string& spec, const std::string& glob = "") {
  std::vector<LayerFormat> formats;
  for (const std::string& name : layers_select(model, glob)) formats.push_back({name, format_parse(spec)});
  return formats;
}

std::shared_ptr<Model> tiny_model(bool tied) {
  return std::make_shared<Model>(test::tiny_state(test::tiny_config(tied, false), 3));
}

TEST(LayersSelect, DefaultIsTheDecoderLinearsAndGlobsReachHeadAndEmbedding) {
  const auto model = tiny_model(false);
  const std::vector<std::string> decoder = layers_select(*model, "");
  EXPECT_EQ(decoder.size(), 14u);  // 2 blocks × 7 linears
  for (const std::string& name : decoder) EXPECT_EQ(name.rfind("model.layers.", 0), 0u) << name;
  EXPECT_EQ(layers_select(*model, "*mlp*").size(), 6u);
  EXPECT_EQ(layers_select(*model, "model.layers.1.self_attn.?_proj").size(), 4u);
  EXPECT_EQ(layers_select(*model, "lm_head"), std::vector<std::string>{"lm_head"});
  EXPECT_EQ(layers_select(*model, "*").size(), 16u);  // with lm_head and the embedding
  EXPECT_THROW(layers_select(*model, "model.layers.9.*"), Error);
}

TEST(ModelQuantize, ReplacesExactlyTheSelectedTensorsAndCountsBytes) {
  const auto model = tiny_model(false);
  ModelQuantizeReport report;
  const auto q = model_quantize(*model, all(*model, "int4:g16", "*mlp*"), {}, &report);
  ASSERT_EQ(report.layers.size(), 6u);
  for (const auto& [name, tensor] : model->state().tensors) {
    const torch::Tensor& after = q->state().tensor(name);
    const bool quantized = name.find("mlp") != std::string::npos;
    EXPECT_EQ(after.is_same(tensor), !quantized) << name;
    if (quantized) {
      EXPECT_FALSE(torch::equal(after, tensor)) << name;
      EXPECT_LT((after - tensor).abs().max().item<double>(), 0.2 * tensor.abs().max().item<double>()) << name;
    }
  }
  int64_t params = 0, bytes = 0;
  for (const LayerReport& l : report.layers) {
    params += l.out * l.in;
    bytes += int64_t(l.metrics.bytes);
    EXPECT_GT(l.metrics.sqnr_db, 15.0) << l.name;
    EXPECT_DOUBLE_EQ(l.metrics.bits_per_weight, format_bits_per_weight(l.format, l.out, l.in));
  }
  EXPECT_EQ(report.quantized_parameters, uint64_t(params));
  EXPECT_EQ(int64_t(report.bytes_before) - int64_t(report.bytes_after), params * 4 - bytes);  // f32 source
  // The original model is untouched and still evaluates as before.
  EXPECT_EQ(model->state().tensors.size(), q->state().tensors.size());
}

// A large weight in a format that quantizes rows on their own goes a block of rows at a time (here 7
// rows of 32, so blocks end inside the head's 61 rows): the same weights and metrics as all at once.
TEST(ModelQuantize, RowBlocksGiveTheSameWeightsAsTheWholeLayer) {
  const auto model = tiny_model(false);
  for (const std::string spec : {"int4:g16", "int3", "quest2:h16", "nf4", "bf16"}) {
    ModelQuantizeReport whole, blocked;
    const auto a = model_quantize(*model, all(*model, spec, "*"), {}, &whole);
    const auto b = model_quantize(*model, all(*model, spec, "*"), {.block_weights = 7 * 32}, &blocked);
    for (size_t i = 0; i < whole.layers.size(); ++i) {
      const std::string tensor = whole.layers[i].name + ".weight";
      EXPECT_TRUE(torch::equal(a->state().tensor(tensor), b->state().tensor(tensor))) << spec << " " << tensor;
      EXPECT_NEAR(blocked.layers[i].metrics.mse, whole.layers[i].metrics.mse, 1e-12 * whole.layers[i].metrics.mse + 1e-300)
          << spec << " " << tensor;
      EXPECT_EQ(blocked.layers[i].metrics.max_abs_error, whole.layers[i].metrics.max_abs_error) << spec << " " << tensor;
      EXPECT_EQ(blocked.layers[i].metrics.bytes, whole.layers[i].metrics.bytes) << spec << " " << tensor;
    }
  }
  // K-means codebooks are fitted over the whole weight, so it is never split.
  ModelQuantizeReport whole, blocked;
  model_quantize(*model, all(*model, "kmeans2", "lm_head"), {.keep = ModelQuantizeOptions::Keep::None}, &whole);
  model_quantize(*model, all(*model, "kmeans2", "lm_head"), {.keep = ModelQuantizeOptions::Keep::None, .block_weights = 7 * 32}, &blocked);
  EXPECT_EQ(blocked.layers.at(0).metrics.mse, whole.layers.at(0).metrics.mse);
  EXPECT_EQ(blocked.layers.at(0).inertia, whole.layers.at(0).inertia);
}

TEST(ModelQuantize, ErrorsNameTheLayer) {
  const auto model = tiny_model(true);
  try {
    model_quantize(*model, all(*model, "quest4:h64"));  // hidden 32: a 64-block cannot fit
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.0.self_attn.q_proj"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model_quantize(*model, {{"lm_head", format_parse("int4")}}), Error);  // tied
  EXPECT_THROW(model_quantize(*model, {{"model.layers.0.mlp.nope", format_parse("int4")}}), Error);
  EXPECT_THROW(model_quantize(*model, all(*model, "kmeans2:fisher")), Error);  // no importance
  auto state = std::make_shared<ModelState>(model->state());
  state->tensors["model.layers.1.mlp.up_proj.weight"][0][0] = NAN;
  try {
    model_quantize(Model(state), all(Model(state), "int4"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Numeric);
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj"), std::string::npos) << e.what();
  }
}

std::string text_read(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Calibration importance: per input channel E[x²] of every linear layer; with it :fisher runs.
TEST(ModelQuantize, CalibrationImportanceFeedsFisherFormats) {
  const std::filesystem::path dir = demo_model_dir();
  const auto model = model_load(dir);
  EvalOptions calib;
  calib.max_tokens = 600;
  calib.ctx = 128;
  const auto importance = importance_collect(*model, text_read(dir / "heldout-sample.txt"), calib);
  EXPECT_GE(importance->tokens, 600);
  // The demo model is tied, so its head (reading the embedding) is one more linear input.
  ASSERT_EQ(importance->input_second_moment.size(), model->linear_layers().size() + 1);
  EXPECT_EQ(importance->input_second_moment.count("lm_head"), 1u);
  for (const auto& [name, m] : importance->input_second_moment)
    for (float v : m) ASSERT_TRUE(std::isfinite(v) && v >= 0) << name;
  // down_proj sees the SwiGLU product, whose channels differ by orders of magnitude.
  const auto& down = importance->input_second_moment.at("model.layers.0.mlp.down_proj");
  EXPECT_EQ(down.size(), 640u);
  EXPECT_GT(*std::max_element(down.begin(), down.end()), 10 * *std::min_element(down.begin(), down.end()));
  ModelQuantizeOptions options;
  options.importance = importance;
  ModelQuantizeReport fisher, plain;
  model_quantize(*model, all(*model, "kmeans2:fisher"), options, &fisher);
  model_quantize(*model, all(*model, "kmeans2"), {}, &plain);
  ASSERT_EQ(fisher.layers.size(), plain.layers.size());
  for (size_t i = 0; i < fisher.layers.size(); ++i) EXPECT_NE(fisher.layers[i].metrics.mse, plain.layers[i].metrics.mse);
}

struct Ladder {
  std::vector<std::string> specs;  // from most to fewest bits
};

// Perplexity of each format on `text`, checking that it never falls as bits fall within a family.
void perplexity_ladders(const Model& model, const std::string& text, const std::vector<Ladder>& ladders,
                        std::map<std::string, double>& ppl) {
  EvalOptions options;
  options.max_tokens = 2048;
  options.ctx = 256;
  const double base = perplexity_eval(model, text, options).perplexity;
  for (const Ladder& ladder : ladders) {
    double previous = 0;
    for (const std::string& spec : ladder.specs) {
      const auto q = model_quantize(model, all(model, spec));
      ppl[spec] = perplexity_eval(*q, text, options).perplexity;
      std::cout << "  " << spec << ": perplexity " << ppl[spec] << " (unquantized " << base << ")\n";
      // 8 bits are within noise of the unquantized model (and may land a hair below it).
      if (format_parse(spec).bits == 8) EXPECT_NEAR(ppl[spec], base, 0.03 * base) << spec;
      else EXPECT_GT(ppl[spec], previous == 0 ? base : previous) << spec;
      previous = ppl[spec];
    }
  }
}

TEST(ModelQuantizePerplexity, DemoModelRisesAsBitsFallAndKMeansBeatsIntegerAt2Bits) {
  const std::filesystem::path dir = demo_model_dir();
  const auto model = model_load(dir);
  std::map<std::string, double> ppl;
  perplexity_ladders(*model, text_read(dir / "heldout-sample.txt"),
                     {{{"int8:g64", "int4:g64", "int3:g64", "int2:g64"}},
                      {{"quest8", "quest4", "quest3", "quest2"}},
                      {{"kmeans4", "kmeans3", "kmeans2", "kmeans1"}}},
                     ppl);
  EXPECT_LT(ppl["kmeans2"], ppl["int2:g64"]);  // both 2.25 bits per weight (+64 codebook bits per tensor)
}

TEST(ModelQuantizePerplexity, Stories260KRisesAsBitsFallAndKMeansBeatsIntegerAt2Bits) {
  const std::filesystem::path dir = std::filesystem::path(QS_DATA_DIR) / "models/stories260K";
  const std::filesystem::path text = std::filesystem::path(QS_DATA_DIR) / "text/tinystories-valid-subset/tinystories_valid_first.txt";
  if (!std::filesystem::exists(dir / "stories260K.bin") || !std::filesystem::exists(text))
    GTEST_SKIP() << "test data absent: " << dir << " (set QS_DATA_DIR)";
  const auto model = model_load(dir / "stories260K.bin", {.tokenizer = dir / "tok512.model"});
  std::map<std::string, double> ppl;
  // dim 64 and hidden 172 = 4·43: a Hadamard block of 4 is the largest that divides every row.
  perplexity_ladders(*model, text_read(text),
                     {{{"int8:g64", "int4:g64", "int3:g64", "int2:g64"}},
                      {{"quest8:h4", "quest4:h4", "quest3:h4", "quest2:h4"}},
                      {{"kmeans4", "kmeans3", "kmeans2", "kmeans1"}}},
                     ppl);
  EXPECT_LT(ppl["kmeans2"], ppl["int2:g64"]);
}

}  // namespace
}  // namespace qs
