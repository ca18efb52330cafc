// The `quantscope` packed checkpoint: every family and bit width written by export and read back by
// model_load decodes, tensor for tensor, to exactly the weights model_quantize computes under the same
// plan, and evaluates to the same numbers; each family's section table matches what its packer writes;
// pinned codebooks are stored as given; a mixed plan keeps each layer's format; an export killed midway
// leaves the earlier folder whole; and each kind of broken checkpoint is one clear error naming the
// file and what is wrong.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model_state.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/export.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/safetensors.hpp"
#include "kill_midway.hpp"
#include "temp_dir.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;

const char* const kText =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her "
    "friends. One day, she saw a big red ball under a tree.";

// Every decoder layer in `spec`, the layers a K-quant cannot hold in q8_0.
std::vector<LayerFormat> uniform(const Model& model, const std::string& spec) {
  std::vector<LayerFormat> plan;
  for (const LinearLayer& l : model.linear_layers()) {
    if (l.layer < 0) continue;
    const FormatSpec f = format_parse(spec);
    plan.push_back({l.name, format_shape_problem(f, l.out_features, l.in_features).empty() ? f : format_parse("q8_0"),
                    std::nullopt, {}});
  }
  return plan;
}

void expect_same_weights(const Model& a, const Model& b, const std::string& label) {
  for (const std::string& name : a.tensor_names()) {
    const std::vector<float> x = a.tensor_values(name), y = b.tensor_values(name);
    ASSERT_EQ(x.size(), y.size()) << label << " " << name;
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(float)), 0) << label << " " << name;
  }
}

std::string load_error(const fs::path& path) {
  try {
    model_load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "loaded";
}

TEST(PackedCheckpoint, EachFamilysSectionsAreWhatItsPackerWrites) {
  torch::manual_seed(3);
  const int64_t out = 12, in = 256;
  const torch::Tensor w = torch::randn({out, in});
  const std::span<const float> weight(w.data_ptr<float>(), size_t(w.numel()));
  for (const char* spec : {"bf16", "f16", "f32", "int8", "int4:g32", "int3:g100", "int2:g32:asym", "int5:tensor",
                           "int1", "int4:channel:asym", "quest4", "quest3:h64", "quest1", "kmeans1", "kmeans2:b32",
                           "kmeans3:channel", "kmeans4:g100", "kmeans2:h64", "nf4", "q4_0", "q8_0", "q4_k", "q6_k",
                           "iq4_nl", "q2_k", "q5_1"}) {
    const FormatSpec f = format_parse(spec);
    const QuantizedTensor q = tensor_quantize(f, weight, out, in);
    uint64_t bytes = 0;
    for (const PackedSection& s : packed_sections(f, out, in)) {
      EXPECT_EQ(s.bytes % (dtype_bits(s.dtype) / 8), 0u) << spec << " " << s.name;
      bytes += s.bytes;
    }
    EXPECT_EQ(bytes, q.packed.size()) << spec;
  }
}

TEST(PackedCheckpoint, EveryFamilyAndWidthReopensAsTheQuantizedModelBitForBit) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  int index = 0;
  for (const char* spec : {"int8", "int4:g32", "int3:g100", "int2:g32:asym", "int1", "int5:tensor", "quest4", "quest2",
                           "quest1:h64", "kmeans1", "kmeans2", "kmeans3:channel", "kmeans4:g64", "kmeans2:h128", "nf4",
                           "q4_0", "q5_1", "q4_k", "q6_k", "q2_k", "iq4_nl", "bf16"}) {
    const std::vector<LayerFormat> plan = uniform(*model, spec);
    const fs::path out = dir.path() / ("packed" + std::to_string(index++));
    ExportOptions options;
    options.target = ExportTarget::Quantscope;
    const ExportReport report = model_export(*model, plan, out, options);
    const auto reopened = model_load(out);
    EXPECT_EQ(reopened->source_format(), "quantscope");
    const auto quantized = model_quantize(*model, plan);
    expect_same_weights(*quantized, *reopened, spec);
    const FormatSpec f = format_parse(spec);
    for (const LayerFormat& lf : plan)
      EXPECT_EQ(reopened->tensor_stored_format(lf.name + ".weight"), f.quantized() ? format_print(lf.format) : "")
          << spec << " " << lf.name;
    if (f.family == QuantFamily::KMeans || f.family == QuantFamily::Int) {
      const EvalOptions eval{.ctx = 32};
      EXPECT_EQ(perplexity_eval(*reopened, kText, eval).nll, perplexity_eval(*quantized, kText, eval).nll) << spec;
    }
    if (f.quantized()) EXPECT_LT(report.bytes, report.bf16_bytes) << spec;
  }
}

TEST(PackedCheckpoint, AMixedPlanKeepsEachLayersFormatAndPinnedCodebooksAsGiven) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  std::vector<LayerFormat> plan = uniform(*model, "int4:g64");
  plan[1].format = format_parse("kmeans2:channel");
  plan[2].format = format_parse("q8_0");
  plan[3].format = format_parse("quest3");
  plan[4].format = format_parse("f16");
  // Pinned codebooks: one per row of a kmeans2:channel layer, as QAT leaves them.
  const int64_t rows = model->tensor_shape(plan[1].name + ".weight").at(0);
  for (int64_t r = 0; r < rows; ++r)
    for (const float c : {-0.03f, -0.01f, 0.01f, 0.03f}) plan[1].codebooks.push_back(c * float(1 + r % 3));
  plan.push_back({"model.embed_tokens", format_parse("int8"), std::nullopt, {}});
  ExportOptions options;
  options.target = ExportTarget::Quantscope;
  model_export(*model, plan, dir.path() / "mixed", options);
  const auto reopened = model_load(dir.path() / "mixed");
  expect_same_weights(*model_quantize(*model, plan), *reopened, "mixed");
  EXPECT_EQ(reopened->tensor_stored_format(plan[1].name + ".weight"), "kmeans2:channel");
  EXPECT_EQ(reopened->tensor_stored_format(plan[2].name + ".weight"), "q8_0");
  EXPECT_EQ(reopened->tensor_stored_format(plan[4].name + ".weight"), "");  // a float format is a plain tensor
  EXPECT_EQ(reopened->tensor_stored_dtype(plan[4].name + ".weight"), DType::F16);
  EXPECT_EQ(reopened->tensor_stored_format("model.embed_tokens.weight"), "int8");
  const SafetensorsFile file = SafetensorsFile::open(dir.path() / "mixed" / "model.safetensors");
  const TensorInfo& books = file.at(plan[1].name + ".weight.codebooks");
  ASSERT_EQ(books.numel(), int64_t(plan[1].codebooks.size()));
  EXPECT_EQ(std::memcmp(file.bytes(books).data(), plan[1].codebooks.data(), plan[1].codebooks.size() * 4), 0);
  EXPECT_EQ(reopened->tensor_stored_bytes(plan[0].name + ".weight"),
            (format_storage_bits(plan[0].format, 256, 256) + 7) / 8);
  const nlohmann::json config = nlohmann::json::parse(test::bytes_read(dir.path() / "mixed" / "config.json"));
  EXPECT_EQ(config["quantization_config"]["layers"][plan[0].name]["group"], 64);
  EXPECT_EQ(config["quantization_config"]["layers"][plan[2].name]["ggml_type"], 8);
  // An activation format is a forward-pass setting the checkpoint does not hold.
  plan[0].activation = format_parse("quest4");
  try {
    model_export(*model, plan, dir.path() / "act", options);
    FAIL() << "exported a quantized input";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("its input is quantized too"), std::string::npos) << e.what();
  }
}

TEST(PackedCheckpoint, RefusesAFolderItDidNotWriteAndTheModelsOwn) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  ExportOptions options;
  options.target = ExportTarget::Quantscope;
  fs::create_directories(dir.path() / "notes");
  std::ofstream(dir.path() / "notes" / "todo.txt") << "mine";
  EXPECT_THROW(model_export(*model, uniform(*model, "int4"), dir.path() / "notes", options), Error);
  EXPECT_EQ(test::bytes_read(dir.path() / "notes" / "todo.txt"), "mine");
  options.force = true;
  EXPECT_THROW(model_export(*model, uniform(*model, "int4"), dir.path() / "notes", options), Error);
  EXPECT_EQ(test::bytes_read(dir.path() / "notes" / "todo.txt"), "mine");
  model_export(*model, uniform(*model, "int4"), dir.path() / "p", options);
  const auto packed = model_load(dir.path() / "p");
  EXPECT_THROW(model_export(*packed, uniform(*packed, "int8"), dir.path() / "p", options), Error);
  options.force = false;
  EXPECT_THROW(model_export(*model, uniform(*model, "int8"), dir.path() / "p", options), Error);
  EXPECT_EQ(model_load(dir.path() / "p")->tensor_stored_format("model.layers.0.mlp.up_proj.weight"), "int4");
}

TEST(PackedCheckpoint, AKilledExportLeavesTheEarlierFolderWhole) {
  // A synthetic model large enough (85M parameters) that its export takes a while; an earlier export
  // under the same name; a child exporting over it with --force is killed with SIGKILL while it writes.
  test::TempDir dir;
  const auto model = test::slow_export_model(dir.path() / "model");
  const fs::path out = dir.path() / "out" / "packed";
  ExportOptions options;
  options.target = ExportTarget::Quantscope;
  model_export(*model, uniform(*model, "int8"), out, options);
  const std::string weights = test::bytes_read(out / "model.safetensors"), config = test::bytes_read(out / "config.json");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    options.force = true;
    model_export(*model, uniform(*model, "kmeans2"), out, options);
    _exit(0);
  }
  const fs::path staging = out.parent_path() / (".packed.partial-" + std::to_string(child));
  bool signalled = false;
  ASSERT_TRUE(test::kill_when(child, [&] { return test::temporary_file_in(staging); }, &signalled))
      << "the export finished before its weights were seen being written";
  EXPECT_TRUE(signalled);
  EXPECT_EQ(test::bytes_read(out / "model.safetensors"), weights);  // the earlier export, whole
  EXPECT_EQ(test::bytes_read(out / "config.json"), config);
  EXPECT_EQ(model_load(out)->tensor_stored_format("model.layers.0.mlp.up_proj.weight"), "int8");
  // The next export replaces it whole.
  options.force = true;
  model_export(*model, uniform(*model, "int4:g64"), out, options);
  EXPECT_EQ(model_load(out)->tensor_stored_format("model.layers.0.mlp.up_proj.weight"), "int4:g64");
  EXPECT_FALSE(fs::exists(out.parent_path() / (".packed.partial-" + std::to_string(getpid()))));
}

// A copy of `from` with config.json edited and tensors renamed, retyped or dropped.
struct Broken {
  std::function<void(nlohmann::ordered_json&)> config;
  std::function<bool(TensorWrite&)> tensor;  // false drops it
};

fs::path broken_write(const fs::path& from, const fs::path& to, const Broken& b) {
  fs::create_directories(to);
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(test::bytes_read(from / "config.json"));
  if (b.config) b.config(config);
  std::ofstream(to / "config.json") << config.dump(2);
  const SafetensorsFile file = SafetensorsFile::open(from / "model.safetensors");
  std::vector<TensorWrite> writes;
  for (const TensorInfo& info : file.tensors()) {
    TensorWrite w{info.name, info.dtype, info.shape, file.bytes(info), {}};
    if (!b.tensor || b.tensor(w)) writes.push_back(w);
  }
  safetensors_write(to / "model.safetensors", writes);
  return to;
}

TEST(PackedCheckpoint, BrokenCheckpointsAreOneLineErrorsNamingFileAndField) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  ExportOptions options;
  options.target = ExportTarget::Quantscope;
  const fs::path good = dir.path() / "good";
  model_export(*model, uniform(*model, "int4:g64"), good, options);
  const std::string layer = "model.layers.1.mlp.up_proj";
  struct Case {
    const char* name;
    Broken broken;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"method", {[](auto& c) { c["quantization_config"]["quant_method"] = "gptq"; }, {}},
       "quant_method 'gptq' is not supported"},
      {"version", {[](auto& c) { c["quantization_config"]["format_version"] = 2; }, {}}, "format_version must be 1"},
      {"layers", {[](auto& c) { c["quantization_config"]["layers"] = 3; }, {}}, "has no \"layers\" object"},
      {"format", {[&](auto& c) { c["quantization_config"]["layers"][layer]["format"] = "int9"; }, {}}, layer.c_str()},
      {"no format", {[&](auto& c) { c["quantization_config"]["layers"][layer] = "int4"; }, {}}, "has no \"format\" string"},
      {"unknown layer",
       {[](auto& c) { c["quantization_config"]["layers"]["model.layers.9.mlp.up_proj"] = {{"format", "int4"}}; }, {}},
       "names model.layers.9.mlp.up_proj, which the model does not have"},
      {"other format", {[&](auto& c) { c["quantization_config"]["layers"][layer]["format"] = "int4:g32"; }, {}},
       "expected BF16 [5120] for int4:g32 of shape [640, 256]"},
      {"missing section", {{}, [&](TensorWrite& w) { return w.name != layer + ".weight.scales"; }},
       "missing tensor \"model.layers.1.mlp.up_proj.weight.scales\" (int4:g64 stores scales)"},
      {"wrong dtype",
       {{}, [&](TensorWrite& w) {
          if (w.name == layer + ".weight.scales") w.dtype = DType::F16;
          return true;
        }},
       "is F16 [2560], expected BF16 [2560]"},
      {"short codes",
       {{}, [&](TensorWrite& w) {
          if (w.name == layer + ".weight.codes") w.shape[0] -= 1, w.data = w.data.first(w.data.size() - 1);
          return true;
        }},
       "weight.codes\" is U8"},
  };
  for (const Case& c : cases) {
    const fs::path path = broken_write(good, dir.path() / c.name, c.broken);
    const std::string message = load_error(path);
    EXPECT_NE(message.find(c.expected), std::string::npos) << c.name << ": " << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << c.name << ": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << c.name << ": " << message;
  }
}

}  // namespace
}  // namespace qs
