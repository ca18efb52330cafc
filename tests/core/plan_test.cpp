// Plans: the JSON format's round trip, the matching rules (exact beats glob, more literal characters
// win, ties are errors, the default covers only the decoder) and every validation error, on tiny
// in-memory models (hidden 32, intermediate 48, two blocks).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "quantscope/error.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/plan.hpp"
#include "temp_dir.hpp"
#include "tiny_model.hpp"

namespace qs {
namespace {

std::shared_ptr<Model> tiny_model(bool tied) {
  return std::make_shared<Model>(test::tiny_state(test::tiny_config(tied, false), 5));
}

std::map<std::string, LayerFormat> by_name(const std::vector<LayerFormat>& formats) {
  std::map<std::string, LayerFormat> m;
  for (const LayerFormat& lf : formats) m[lf.name] = lf;
  return m;
}

bool rules_equal(const PlanRule& a, const PlanRule& b) {
  return a.match == b.match && a.weight == b.weight && a.activation == b.activation &&
         a.codebooks.size() == b.codebooks.size() &&
         std::memcmp(a.codebooks.data(), b.codebooks.data(), a.codebooks.size() * sizeof(float)) == 0;
}

bool plans_equal(const QuantPlan& a, const QuantPlan& b) {
  if (a.default_weight != b.default_weight || a.default_activation != b.default_activation) return false;
  if (a.rules.size() != b.rules.size()) return false;
  for (size_t i = 0; i < a.rules.size(); ++i)
    if (!rules_equal(a.rules[i], b.rules[i])) return false;
  return true;
}

// The message of the qs::Error `f` throws, failing the test when it throws none or another kind.
template <class F>
std::string error_of(F&& f, ErrorKind kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

std::string resolve_error(const std::string& text, const Model& model) {
  return error_of([&] { plan_resolve(plan_parse(text, "p.json"), model); }, ErrorKind::Invalid);
}

TEST(PlanParse, ReadsDefaultRulesShorthandAndCodebooks) {
  const QuantPlan p = plan_parse(R"({"version": 1, "comment": "mixed",
      "default": {"weight": "int4:g64", "act": "quest4"},
      "layers": {"model.layers.*.mlp.*": {"weight": "kmeans2"},
                 "model.layers.0.self_attn.q_proj": {"weight": "kmeans1", "codebooks": [[-1, 0.5], [0.25, 2]]},
                 "lm_head": "bf16"}})",
                                 "p.json");
  ASSERT_TRUE(p.default_weight && p.default_activation);
  EXPECT_EQ(format_print(*p.default_weight), "int4:g64");
  EXPECT_EQ(format_print(*p.default_activation), "quest4");
  ASSERT_EQ(p.rules.size(), 3u);
  EXPECT_EQ(p.rules[0].match, "model.layers.*.mlp.*");  // the file's order
  EXPECT_EQ(format_print(p.rules[0].weight), "kmeans2");
  EXPECT_FALSE(p.rules[0].activation);
  EXPECT_EQ(p.rules[1].codebooks, (std::vector<float>{-1, 0.5f, 0.25f, 2}));
  EXPECT_EQ(p.rules[2].match, "lm_head");
  EXPECT_FALSE(p.rules[2].weight.quantized());
}

TEST(PlanParse, JsonRoundTripsAndCodebooksAreBitExact) {
  QuantPlan p = plan_uniform(format_parse("quest3:h16"), format_parse("quest4:h16"));
  p.rules.push_back({"model.layers.1.*", format_parse("int4:g32:asym:mse"), std::nullopt, {}});
  PlanRule pinned{"model.layers.0.mlp.up_proj", format_parse("kmeans2:g16"), format_parse("quest8:h1"), {}};
  for (int i = 0; i < 4 * 48 * 2; ++i) pinned.codebooks.push_back(std::nextafter(0.1f * float(i - 200) / 3.0f, 1e9f));
  pinned.codebooks.push_back(1e-38f);  // subnormal neighbourhood and extremes survive the text too
  pinned.codebooks.push_back(-3.4028235e38f);
  pinned.codebooks.push_back(1.17549435e-38f);
  pinned.codebooks.push_back(0.333333343f);
  p.rules.push_back(pinned);
  p.rules.push_back({"model.embed_tokens", format_parse("nf4"), std::nullopt, {}});

  const std::string text = plan_json(p);
  const QuantPlan back = plan_parse(text, "round-trip.json");
  EXPECT_TRUE(plans_equal(p, back)) << text;
  EXPECT_EQ(plan_json(back), text);  // canonical: a second pass changes nothing
  EXPECT_NE(text.find("\n  \"default\": {"), std::string::npos) << text;  // pretty, two spaces

  test::TempDir dir;
  plan_save(p, dir / "plan.json");
  EXPECT_TRUE(plans_equal(p, plan_load(dir / "plan.json")));
  EXPECT_EQ(test::bytes_read(dir / "plan.json"), text);
}

TEST(PlanResolve, ExactBeatsGlobAndMoreLiteralCharactersWin) {
  const auto model = tiny_model(false);
  const auto m = by_name(plan_resolve(plan_parse(R"({"default": "int4",
      "layers": {"model.layers.*": "int3",
                 "model.layers.*.mlp.*": "int2",
                 "model.layers.1.mlp.up_proj": "kmeans1",
                 "model.layers.?.mlp.up_proj": "kmeans2"}})",
                                                 "p.json"),
                                      *model));
  EXPECT_EQ(format_print(m.at("model.layers.1.mlp.up_proj").format), "kmeans1");  // exact
  EXPECT_EQ(format_print(m.at("model.layers.0.mlp.up_proj").format), "kmeans2");  // 25 literals beat 18
  EXPECT_EQ(format_print(m.at("model.layers.0.mlp.down_proj").format), "int2");
  EXPECT_EQ(format_print(m.at("model.layers.1.self_attn.o_proj").format), "int3");  // the glob beats the default
  EXPECT_EQ(m.count("lm_head"), 0u);
  EXPECT_EQ(m.count("model.embed_tokens"), 0u);
  EXPECT_EQ(m.size(), 14u);
}

TEST(PlanResolve, DefaultCoversOnlyTheDecoderAndOrderIsTheModels) {
  const auto model = tiny_model(false);
  const auto formats = plan_resolve(plan_uniform(format_parse("int4")), *model);
  std::vector<std::string> expected;
  for (const LinearLayer& l : model->linear_layers())
    if (l.name != "lm_head") expected.push_back(l.name);
  std::vector<std::string> names;
  for (const LayerFormat& lf : formats) names.push_back(lf.name);
  EXPECT_EQ(names, expected);

  // Head and embedding only when named, embedding first, head last.
  const auto named = plan_resolve(plan_parse(R"({"default": "int4", "layers": {"lm_head": "int8",
      "model.embed_tokens": "int6", "model.layers.1.*": "bf16"}})",
                                             "p.json"),
                                  *model);
  ASSERT_EQ(named.size(), 9u);  // 7 of block 0, the embedding and the head; block 1 stays as stored
  EXPECT_EQ(named.front().name, "model.embed_tokens");
  EXPECT_EQ(format_print(named.front().format), "int6");
  EXPECT_EQ(named.back().name, "lm_head");
  EXPECT_EQ(format_print(named.back().format), "int8");

  // A float weight with an activation format stays in the list: its input is still quantized.
  const auto act = by_name(plan_resolve(
      plan_parse(R"({"layers": {"model.layers.0.mlp.*": {"weight": "bf16", "act": "quest4:h16"}}})", "p.json"), *model));
  ASSERT_EQ(act.size(), 3u);
  EXPECT_FALSE(act.at("model.layers.0.mlp.gate_proj").format.quantized());
  EXPECT_EQ(format_print(*act.at("model.layers.0.mlp.gate_proj").activation), "quest4:h16");

  EXPECT_TRUE(plan_resolve(QuantPlan{}, *model).empty());
}

TEST(PlanResolve, PinnedCodebooksReachTheLayer) {
  const auto model = tiny_model(false);
  // kmeans1:channel on up_proj (48 x 32): 48 codebooks of 2.
  std::string rows;
  std::vector<float> expected;
  for (int r = 0; r < 48; ++r) {
    rows += std::string(r ? "," : "") + "[-" + std::to_string(r + 1) + ".5, " + std::to_string(r) + ".25]";
    expected.push_back(-(r + 1.5f));
    expected.push_back(r + 0.25f);
  }
  const auto formats = plan_resolve(
      plan_parse(R"({"layers": {"model.layers.0.mlp.up_proj": {"weight": "kmeans1:channel", "codebooks": [)" + rows +
                     "]}}}",
                 "p.json"),
      *model);
  ASSERT_EQ(formats.size(), 1u);
  EXPECT_EQ(formats[0].codebooks, expected);
}

TEST(PlanResolve, TiesAreErrorsNamingTheLayerAndBothGlobs) {
  const auto model = tiny_model(false);
  const std::string e = resolve_error(R"({"layers": {"model.layers.0.*": "int4", "*s.0.mlp.up_proj": "int2"}})", *model);
  EXPECT_NE(e.find("model.layers.0.mlp.up_proj"), std::string::npos) << e;
  EXPECT_NE(e.find("'model.layers.0.*'"), std::string::npos) << e;
  EXPECT_NE(e.find("'*s.0.mlp.up_proj'"), std::string::npos) << e;
  // A more specific rule settles the tie.
  EXPECT_NO_THROW(plan_resolve(plan_parse(R"({"layers": {"model.layers.0.*": "int4", "*s.0.mlp.up_proj": "int2",
      "model.layers.0.mlp.up_proj": "int3"}})",
                                          "p.json"),
                               *model));
}

TEST(PlanParse, ErrorsNameTheFileAndTheRule) {
  std::string e = error_of([] { plan_parse(R"({"layers": {}, "defaults": "int4"})", "dir/p.json"); }, ErrorKind::Format);
  EXPECT_EQ(e, "dir/p.json: unknown key \"defaults\" (allowed: version, comment, default, layers)");
  e = error_of([] { plan_parse(R"({"layers": {"lm_head": {"weight": "int4", "bits": 3}}})", "p.json"); },
               ErrorKind::Format);
  EXPECT_NE(e.find("p.json: layers['lm_head']: unknown key \"bits\""), std::string::npos) << e;
  e = error_of([] { plan_parse(R"({"layers": {"model.layers.*.mlp.*": {"weight": "int9"}}})", "p.json"); },
               ErrorKind::Invalid);
  EXPECT_EQ(e.rfind("p.json: layers['model.layers.*.mlp.*'].weight: format 'int9'", 0), 0u) << e;
  e = error_of([] { plan_parse(R"({"default": {"weight": "int4", "act": "int4"}})", "p.json"); }, ErrorKind::Invalid);
  EXPECT_NE(e.find("p.json: default.act: activation format int4 is not a QuEST format"), std::string::npos) << e;
  e = error_of([] { plan_parse(R"({"layers": {"model.layers.*.q_proj": {"weight": "kmeans1", "codebooks": [[0, 1]]}}})",
                               "p.json"); },
               ErrorKind::Invalid);
  EXPECT_NE(e.find("p.json: layers['model.layers.*.q_proj'].codebooks: pinned codebooks belong to one layer"),
            std::string::npos)
      << e;
  e = error_of([] { plan_parse(R"({"layers": {"lm_head": {"weight": "int4", "codebooks": [[0, 1]]}}})", "p.json"); },
               ErrorKind::Invalid);
  EXPECT_NE(e.find("codebooks are for kmeans formats"), std::string::npos) << e;
  e = error_of([] { plan_parse(R"({"layers": {"lm_head": {"weight": "kmeans2", "codebooks": [[0, 1]]}}})", "p.json"); },
               ErrorKind::Format);
  EXPECT_NE(e.find("must be an array of 4 numbers"), std::string::npos) << e;
  e = error_of([] { plan_parse(R"({"layers": {"a": "int4", "a": "int3"}})", "p.json"); }, ErrorKind::Format);
  EXPECT_EQ(e, "p.json: duplicate key \"a\"");
  e = error_of([] { plan_parse(R"({"layers": {"a": "int4"})", "p.json"); }, ErrorKind::Format);
  EXPECT_EQ(e.rfind("p.json: invalid JSON", 0), 0u) << e;
  e = error_of([] { plan_parse(R"({"version": 2})", "p.json"); }, ErrorKind::Format);
  EXPECT_NE(e.find("version"), std::string::npos) << e;
  e = error_of([] { plan_parse(R"({"layers": {"lm_head": {"act": "quest4"}}})", "p.json"); }, ErrorKind::Format);
  EXPECT_NE(e.find("\"weight\" is missing"), std::string::npos) << e;
  e = error_of([] { plan_load("/nonexistent/plan.json"); }, ErrorKind::Io);
  EXPECT_NE(e.find("/nonexistent/plan.json"), std::string::npos) << e;
}

TEST(PlanResolve, ImpossibleFormatsAreErrorsNamingTheLayer) {
  const auto untied = tiny_model(false);
  // quest4 rotates blocks of 128 but the tiny model's rows are 32 and 48 long.
  EXPECT_EQ(resolve_error(R"({"default": "quest4"})", *untied),
            "model.layers.0.self_attn.q_proj: quest4 needs `in` (32) to be a multiple of its Hadamard block 128");
  // h32 divides the attention inputs (32) but not down_proj's (48).
  EXPECT_EQ(resolve_error(R"({"default": "kmeans2:h32"})", *untied),
            "model.layers.0.mlp.down_proj: kmeans2:h32 needs `in` (48) to be a multiple of its Hadamard block 32");
  EXPECT_EQ(resolve_error(R"({"default": {"weight": "int4", "act": "quest4:h32"}})", *untied),
            "model.layers.0.mlp.down_proj: quest4:h32 needs `in` (48) to be a multiple of its Hadamard block 32");
  EXPECT_NO_THROW(plan_resolve(plan_parse(R"({"default": {"weight": "quest2:h16", "act": "quest4:h1"}})", "p.json"),
                               *untied));

  // Codebooks of the wrong count: kmeans1 (block format) needs exactly one.
  std::string e = resolve_error(
      R"({"layers": {"model.layers.0.mlp.up_proj": {"weight": "kmeans1", "codebooks": [[0, 1], [1, 2]]}}})", *untied);
  EXPECT_EQ(e.rfind("model.layers.0.mlp.up_proj: kmeans1 on 48 x 32 needs 1 codebooks of 2", 0), 0u) << e;
  // kmeans1:g20 over rows of 32: two groups per row, 48 rows.
  e = resolve_error(R"({"layers": {"model.layers.0.mlp.up_proj": {"weight": "kmeans1:g20", "codebooks": [[0, 1]]}}})",
                    *untied);
  EXPECT_NE(e.find("needs 96 codebooks"), std::string::npos) << e;

  // An activation format that is not QuEST, in a plan built in code.
  QuantPlan p;
  p.rules.push_back({"lm_head", format_parse("int4"), format_parse("int8"), {}});
  e = error_of([&] { plan_resolve(p, *untied); }, ErrorKind::Invalid);
  EXPECT_EQ(e.rfind("lm_head: activation format int8 is not a QuEST format", 0), 0u) << e;

  e = resolve_error(R"({"layers": {"model.embed_tokens": {"weight": "int4", "act": "quest4:h16"}}})", *untied);
  EXPECT_EQ(e.rfind("model.embed_tokens: an embedding has no input to quantize", 0), 0u) << e;

  e = resolve_error(R"({"default": "int4", "layers": {"model.layers.7.*": "int2"}})", *untied);
  EXPECT_EQ(e.rfind("plan rule 'model.layers.7.*' matches no layer of ", 0), 0u) << e;
  EXPECT_NE(e.find("names look like model.layers.0.mlp.up_proj"), std::string::npos) << e;

  const auto tied = tiny_model(true);
  e = resolve_error(R"({"layers": {"lm_head": "int4"}})", *tied);
  EXPECT_EQ(e.rfind("lm_head is tied to model.embed_tokens in this model; name model.embed_tokens instead", 0), 0u) << e;
  EXPECT_EQ(plan_resolve(plan_parse(R"({"layers": {"model.embed_tokens": "int4"}})", "p.json"), *tied).size(), 1u);
}

TEST(PlanAssign, EveryLayerAndRuleWithItsSourceAndError) {
  const auto model = tiny_model(false);
  const QuantPlan plan = plan_parse(R"({"default": "int4",
      "layers": {"model.layers.*.mlp.*": "kmeans2:h32", "lm_head": "int8", "model.layers.9.*": "int2"}})",
                                    "p.json");
  const PlanAssignment a = plan_assign(plan, *model);
  // The embedding, the decoder's linear layers, the head.
  ASSERT_EQ(a.layers.size(), model->linear_layers().size() + 1);
  EXPECT_EQ(a.layers.front().name, "model.embed_tokens");
  EXPECT_EQ(a.layers.front().rule, PlanLayer::kNone);
  EXPECT_FALSE(a.layers.front().changed);
  std::map<std::string, PlanLayer> by;
  for (const PlanLayer& l : a.layers) by[l.name] = l;
  EXPECT_EQ(by.at("model.layers.0.self_attn.q_proj").rule, PlanLayer::kDefault);
  EXPECT_EQ(by.at("lm_head").rule, 1);
  EXPECT_EQ(format_print(by.at("lm_head").format.format), "int8");
  // down_proj's 48 inputs do not divide by 32: an error on that layer alone, the one plan_resolve throws.
  EXPECT_EQ(by.at("model.layers.0.mlp.up_proj").error, "");
  EXPECT_EQ(by.at("model.layers.0.mlp.down_proj").error,
            "model.layers.0.mlp.down_proj: kmeans2:h32 needs `in` (48) to be a multiple of its Hadamard block 32");
  EXPECT_EQ(a.rule_matches, (std::vector<int64_t>{6, 1, 0}));
  EXPECT_EQ(a.rule_errors[0], "");
  EXPECT_EQ(a.rule_errors[2].rfind("plan rule 'model.layers.9.*' matches no layer of ", 0), 0u) << a.rule_errors[2];
  EXPECT_EQ(resolve_error(plan_json(plan), *model), by.at("model.layers.0.mlp.down_proj").error);
}

TEST(PlanTotals, EqualWhatQuantizingTheModelReports) {
  const auto model = tiny_model(false);
  const QuantPlan plan = plan_parse(
      R"({"default": "int4:g16", "layers": {"model.layers.1.*": "kmeans2", "lm_head": "nf4",
          "model.layers.0.self_attn.q_proj": "bf16"}})",
      "p.json");
  const PlanTotals totals = plan_totals(plan_assign(plan, *model), *model);
  ModelQuantizeReport report;
  ModelQuantizeOptions options;
  options.keep = ModelQuantizeOptions::Keep::None;
  model_quantize(*model, plan_resolve(plan, *model), options, &report);
  EXPECT_EQ(totals.model_bytes, report.bytes_after);
  EXPECT_EQ(totals.quantized_parameters, report.quantized_parameters);
  EXPECT_EQ(totals.quantized_layers, int64_t(report.layers.size()));
  uint64_t bits = 0;
  for (const LayerReport& l : report.layers) bits += format_storage_bits(l.format, l.out, l.in);
  EXPECT_DOUBLE_EQ(totals.bits_per_weight, double(bits) / double(report.quantized_parameters));
  EXPECT_EQ(totals.bf16_bytes, uint64_t(model->parameter_count()) * 2);

  const PlanTotals none = plan_totals(plan_assign(QuantPlan{}, *model), *model);
  EXPECT_EQ(none.model_bytes, model->stored_bytes());
  EXPECT_TRUE(std::isnan(none.bits_per_weight));
}

}  // namespace
}  // namespace qs
