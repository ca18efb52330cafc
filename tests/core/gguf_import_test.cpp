// Opening GGUF files as models: an exported file reopens with each layer tagged with its llama.cpp type
// and decodes to exactly the quantized model's weights (q/k rows permuted back), evaluating to the same
// numbers; stories260K's F32 file round-trips exactly and its vocabulary tokenizes as tok512.model does;
// a file llama.cpp's own quantizer made (Q4_K_M) opens and shows, layer by layer, what its types did to
// the F32 source; and GGUF files that are well formed but not a model Quantscope reads are one clear
// error each.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "io/gguf_file.hpp"
#include "io/mapped_file.hpp"
#include "llama_client.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/export.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/tokenizer.hpp"
#include "temp_dir.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;
const fs::path kStories = fs::path(QS_DATA_DIR) / "models" / "stories260K";
const fs::path kTinyStories = fs::path(QS_DATA_DIR) / "text" / "tinystories-valid-subset" / "tinystories_valid_first.txt";
const char* const kText = "Once upon a time, there was a little dog named Max. He liked to run in the park.";

void expect_same_weights(const Model& a, const Model& b, const std::string& label) {
  ASSERT_EQ(a.tensor_names(), b.tensor_names()) << label;
  for (const std::string& name : a.tensor_names()) {
    const std::vector<float> x = a.tensor_values(name), y = b.tensor_values(name);
    ASSERT_EQ(x.size(), y.size()) << label << " " << name;
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0) << label << " " << name;
  }
}

// Decoder layers in a rotation of llama.cpp's types, each fitting its layer's width.
std::vector<LayerFormat> mixed_plan(const Model& model) {
  const char* const types[] = {"q4_k", "q8_0", "q6_k", "q4_0", "iq4_nl", "q2_k", "q5_1", "q3_k", "q5_k", "q4_1", "q5_0"};
  std::vector<LayerFormat> plan;
  size_t i = 0;
  for (const LinearLayer& l : model.linear_layers()) {
    if (l.layer < 0) continue;
    FormatSpec f = format_parse(types[i++ % std::size(types)]);
    if (!format_shape_problem(f, l.out_features, l.in_features).empty()) f = format_parse("q8_0");
    plan.push_back({l.name, f, std::nullopt, {}});
  }
  return plan;
}

TEST(GgufImport, AnExportedFileReopensWithItsTypesAndTheQuantizedWeights) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const std::vector<LayerFormat> plan = mixed_plan(*model);
  const fs::path out = dir.path() / "demo.gguf";
  model_export(*model, plan, out, {});
  const auto reopened = model_load(out);
  EXPECT_EQ(reopened->source_format(), "gguf");
  uint64_t tensor_bytes = 0;
  for (const GgufTensorInfo& t : GgufFile::open(out).tensors()) tensor_bytes += t.bytes;
  EXPECT_EQ(reopened->stored_bytes(), tensor_bytes);
  for (const LayerFormat& lf : plan) {
    EXPECT_EQ(reopened->tensor_stored_format(lf.name + ".weight"), format_print(lf.format)) << lf.name;
    EXPECT_EQ(reopened->tensor_stored_bytes(lf.name + ".weight"),
              format_storage_bits(lf.format, model->tensor_shape(lf.name + ".weight")[0],
                                  model->tensor_shape(lf.name + ".weight")[1]) / 8)
        << lf.name;
  }
  const auto quantized = model_quantize(*model, plan);
  expect_same_weights(*quantized, *reopened, "demo");
  const EvalOptions eval{.ctx = 32};
  EXPECT_EQ(perplexity_eval(*reopened, kText, eval).nll, perplexity_eval(*quantized, kText, eval).nll);
  // Streamed, rows of a block type decode alone and give the same numbers.
  LoadOptions streamed;
  streamed.residency = Residency::Streamed;
  EXPECT_EQ(perplexity_eval(*model_load(out, streamed), kText, eval).nll, perplexity_eval(*quantized, kText, eval).nll);
  // Exported again without a plan, each layer keeps its stored blocks, bit for bit: into a packed
  // folder (rows back in Hugging Face order) and into GGUF (rows in llama.cpp's order again).
  ExportOptions packed;
  packed.target = ExportTarget::Quantscope;
  model_export(*reopened, {}, dir.path() / "packed", packed);
  const auto repacked = model_load(dir.path() / "packed");
  expect_same_weights(*reopened, *repacked, "gguf to packed");
  for (const LayerFormat& lf : plan)
    EXPECT_EQ(repacked->tensor_stored_format(lf.name + ".weight"), format_print(lf.format)) << lf.name;
  model_export(*repacked, {}, dir.path() / "again.gguf", {});
  const GgufFile first = GgufFile::open(out), again = GgufFile::open(dir.path() / "again.gguf");
  ASSERT_EQ(first.tensors().size(), again.tensors().size());
  for (size_t i = 0; i < first.tensors().size(); ++i) {
    const GgufTensorInfo &a = first.tensors()[i], &b = again.tensors()[i];
    ASSERT_EQ(a.name, b.name);
    EXPECT_EQ(a.type, b.type) << a.name;
    ASSERT_EQ(a.bytes, b.bytes) << a.name;
    EXPECT_EQ(std::memcmp(first.file()->data() + first.data_offset() + a.offset,
                          again.file()->data() + again.data_offset() + b.offset, a.bytes),
              0)
        << a.name;
  }
}

TEST(GgufImport, Stories260KRoundTripsExactlyAndItsVocabularyTokenizesAsTok512) {
  if (!fs::exists(kStories / "stories260K.bin")) GTEST_SKIP() << "stories260K not found in " << kStories;
  test::TempDir dir;
  LoadOptions load;
  load.tokenizer = kStories / "tok512.model";
  const auto model = model_load(kStories / "stories260K.bin", load);
  const fs::path out = dir.path() / "stories.gguf";
  model_export(*model, {}, out, {});
  const auto reopened = model_load(out);
  expect_same_weights(*model, *reopened, "stories260K");
  ASSERT_NE(reopened->tokenizer(), nullptr);
  EXPECT_EQ(reopened->tokenizer()->path(), out);
  EXPECT_EQ(reopened->tokenizer()->vocab_size(), 512);
  const auto tok512 = model->tokenizer();
  std::ifstream lines(kTinyStories);
  std::string line;
  int compared = 0;
  // tok512.model's normalizer squeezes runs of spaces, which llama.cpp's tokenizer (and so a GGUF's
  // vocabulary) does not: the lines compared have none.
  while (std::getline(lines, line) && compared < 200) {
    if (line.empty() || line.find("  ") != std::string::npos || line.front() == ' ' || line.back() == ' ') continue;
    EXPECT_EQ(reopened->tokenizer()->encode(line), tok512->encode(line)) << line;
    ++compared;
  }
  EXPECT_EQ(compared, 200);
  EXPECT_EQ(reopened->tokenizer()->decode(tok512->encode(kText)), kText);
  const EvalOptions eval{.ctx = 64};
  EXPECT_EQ(perplexity_eval(*reopened, kText, eval).nll, perplexity_eval(*model, kText, eval).nll);
  // The hf export of a GGUF model carries the vocabulary as a tokenizer.model.
  ExportOptions hf;
  hf.target = ExportTarget::Hf;
  model_export(*reopened, {}, dir.path() / "hf", hf);
  EXPECT_EQ(Tokenizer::open(dir.path() / "hf" / "tokenizer.model")->encode(kText), tok512->encode(kText));
}

// A copy of `from` with metadata and tensors changed: `edit` may rewrite the metadata and tensor list.
struct GgufEdit {
  std::function<void(std::map<std::string, GgufValue>&)> metadata;
  std::function<bool(GgufTensorInfo&)> tensor;  // false drops it
};

fs::path gguf_rewrite(const fs::path& from, const fs::path& to, const GgufEdit& edit) {
  const GgufFile in = GgufFile::open(from);
  std::map<std::string, GgufValue> metadata = in.metadata();
  if (edit.metadata) edit.metadata(metadata);
  GgufWriter writer;
  for (const auto& [key, value] : metadata)
    if (key != "general.alignment") writer.metadata_set(key, value);
  std::vector<const GgufTensorInfo*> sources;
  for (const GgufTensorInfo& info : in.tensors()) {
    GgufTensorInfo t = info;
    if (edit.tensor && !edit.tensor(t)) continue;
    writer.tensor_add(t.name, t.dims, t.type);
    sources.push_back(&info);
  }
  writer.write(to, [&](size_t i, const ByteSink& sink) {
    const GgufTensorInfo& s = *sources[i];
    const uint64_t bytes = writer.tensors()[i].bytes;
    std::vector<uint8_t> data(bytes, 0);
    std::memcpy(data.data(), in.file()->data() + in.data_offset() + s.offset, std::min(bytes, s.bytes));
    sink(data.data(), data.size());
  });
  return to;
}

TEST(GgufImport, GgufFilesThatAreNotALlamaModelQuantscopeReadsAreOneLineErrors) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const fs::path good = dir.path() / "good.gguf";
  model_export(*model, mixed_plan(*model), good, {});
  struct Case {
    const char* name;
    GgufEdit edit;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"arch", {[](auto& m) { m["general.architecture"] = GgufValue::string("gpt2"); }, {}},
       "GGUF architecture 'gpt2' is not supported"},
      {"no width", {[](auto& m) { m.erase("llama.embedding_length"); }, {}}, "key 'llama.embedding_length' is missing"},
      {"missing tensor", {{}, [](GgufTensorInfo& t) { return t.name != "blk.1.ffn_up.weight"; }},
       "GGUF has no tensor 'blk.1.ffn_up.weight'"},
      {"extra tensor",
       {{}, [](GgufTensorInfo& t) {
          if (t.name == "blk.1.ffn_up.weight") t.name = "blk.1.ffn_up_exps.weight";
          return true;
        }},
       "GGUF tensor 'blk.1.ffn_up_exps.weight' is not part of the llama model"},
      {"shape", {[](auto& m) { m["llama.feed_forward_length"] = GgufValue::u32(512); }, {}},
       "has shape [640, 256], expected [512, 256]"},
      {"scores",
       {[](auto& m) { m["tokenizer.ggml.scores"] = GgufValue::f32_array({0.0f, 1.0f}); }, {}},
       "scores has 2"},
      {"partial rope", {[](auto& m) { m["llama.rope.dimension_count"] = GgufValue::u32(16); }, {}},
       "rotates part of a head"},
  };
  for (const Case& c : cases) {
    const fs::path path = gguf_rewrite(good, dir.path() / (std::string(c.name) + ".gguf"), c.edit);
    std::string message = "loaded";
    try {
      model_load(path);
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.name << ": " << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name << ": " << message;
  }
}

#ifdef QS_HAVE_LLAMA_CLIENT
TEST(GgufImport, LlamaCppsQ4KMFileOpensAndShowsWhatItsTypesDidToTheSource) {
  if (!test::LlamaClient::get().error().empty()) GTEST_SKIP() << test::LlamaClient::get().error();
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const fs::path f32 = dir.path() / "demo-f32.gguf", q4km = dir.path() / "demo-q4_k_m.gguf";
  ExportOptions options;
  options.float_dtype = DType::F32;
  model_export(*model, {}, f32, options);
  test::LlamaClient::get().quantize(f32, q4km, LLAMA_FTYPE_MOSTLY_Q4_K_M);
  const auto source = model_load(f32), shipped = model_load(q4km);
  std::set<std::string> types;
  for (const LinearLayer& l : shipped->linear_layers()) {
    types.insert(l.stored_format);
    if (l.layer < 0) continue;
    ASSERT_FALSE(l.stored_format.empty()) << l.name;
    // The error the shipped file carries, against the F32 weights it was made from.
    const std::vector<float> w = source->tensor_values(l.name + ".weight"), q = shipped->tensor_values(l.name + ".weight");
    double err = 0, norm = 0;
    for (size_t i = 0; i < w.size(); ++i) err += (q[i] - w[i]) * double(q[i] - w[i]), norm += w[i] * double(w[i]);
    EXPECT_LT(err / norm, 0.02) << l.name << " in " << l.stored_format;
    EXPECT_GT(err, 0.0) << l.name;
  }
  EXPECT_TRUE(types.count("q4_k")) << "Q4_K_M holds q4_k layers";
  EXPECT_TRUE(types.count("q6_k")) << "Q4_K_M keeps some layers in q6_k";
  const EvalOptions eval{.ctx = 32};
  const double base = perplexity_eval(*source, kText, eval).nll, q = perplexity_eval(*shipped, kText, eval).nll;
  EXPECT_GT(q, base - 0.05);
  EXPECT_LT(q, base + 0.5);
}
#endif

}  // namespace
}  // namespace qs
