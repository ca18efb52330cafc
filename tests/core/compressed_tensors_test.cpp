// The `compressed-tensors` target, checked without vLLM (which these machines cannot run, export-
// clients.md): an independent decoder written from compressed-tensors' published pack_quantized layout
// (int32 words of 32/b codes, the first in the lowest bits, offset by 2^(b−1); zero points packed down
// the columns) reads the files back to exactly the weights model_quantize computes, for 4 and 8 bits,
// symmetric and asymmetric, per channel and per group, in one mixed plan; the config describes each
// group and ignores the rest; formats it cannot hold are refused with the list, or take the fallback.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/export.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/safetensors.hpp"
#include "temp_dir.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;

template <class T>
std::vector<T> values_of(const SafetensorsFile& f, const std::string& name, DType dtype) {
  const TensorInfo& info = f.at(name);
  EXPECT_EQ(info.dtype, dtype) << name;
  std::vector<T> out(size_t(info.numel()));
  std::memcpy(out.data(), f.bytes(info).data(), out.size() * sizeof(T));
  return out;
}

// unpack_from_int32 of the spec: `words` [rows, cols] of int32 into codes along dim 1 (or down dim 0),
// each minus 2^(b-1), cut to `n` along the packed dimension.
std::vector<int> unpack(const std::vector<int32_t>& words, int64_t rows, int64_t cols, int bits, int dim, int64_t n) {
  const int per_word = 32 / bits, mask = (1 << bits) - 1, offset = 1 << (bits - 1);
  const int64_t out_rows = dim == 1 ? rows : n, out_cols = dim == 1 ? n : cols;
  std::vector<int> v(size_t(out_rows * out_cols));
  for (int64_t r = 0; r < out_rows; ++r)
    for (int64_t c = 0; c < out_cols; ++c) {
      const int64_t wr = dim == 1 ? r : r / per_word, wc = dim == 1 ? c / per_word : c;
      const int shift = bits * int(dim == 1 ? c % per_word : r % per_word);
      v[size_t(r * out_cols + c)] = int((uint32_t(words[size_t(wr * cols + wc)]) >> shift) & uint32_t(mask)) - offset;
    }
  return v;
}

// A linear layer's weight as compressed-tensors dequantizes it: (q − zero)·scale of its group.
std::vector<float> decode(const SafetensorsFile& f, const std::string& layer, const nlohmann::json& args) {
  const std::vector<int64_t> shape = values_of<int64_t>(f, layer + ".weight_shape", DType::I64);
  const int64_t out = shape.at(0), in = shape.at(1);
  const int bits = args["num_bits"];
  const int64_t group = args["strategy"] == "group" ? args["group_size"].get<int64_t>() : in;
  const int64_t groups = in / group;
  const TensorInfo& packed = f.at(layer + ".weight_packed");
  const std::vector<int> q = unpack(values_of<int32_t>(f, layer + ".weight_packed", DType::I32), packed.shape[0],
                                    packed.shape[1], bits, 1, in);
  std::vector<int> zero(size_t(out * groups), 0);
  if (!args["symmetric"].get<bool>()) {
    const TensorInfo& z = f.at(layer + ".weight_zero_point");
    EXPECT_EQ(z.shape, (std::vector<int64_t>{(out + 32 / bits - 1) / (32 / bits), groups})) << layer;
    zero = unpack(values_of<int32_t>(f, layer + ".weight_zero_point", DType::I32), z.shape[0], z.shape[1], bits, 0, out);
  }
  const std::vector<uint16_t> scale16 = values_of<uint16_t>(f, layer + ".weight_scale", DType::BF16);
  EXPECT_EQ(f.at(layer + ".weight_scale").shape, (std::vector<int64_t>{out, groups})) << layer;
  std::vector<float> w(size_t(out * in));
  for (int64_t r = 0; r < out; ++r)
    for (int64_t c = 0; c < in; ++c) {
      const int64_t g = r * groups + c / group;
      const uint32_t bits32 = uint32_t(scale16[size_t(g)]) << 16;
      float s;
      std::memcpy(&s, &bits32, 4);
      w[size_t(r * in + c)] = float(q[size_t(r * in + c)] - zero[size_t(g)]) * s;
    }
  return w;
}

TEST(CompressedTensors, AnIndependentDecoderReadsTheQuantizedModelsWeightsExactly) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  const char* const formats[] = {"int4:g64", "int4:g32:asym", "int8", "int8:asym:g128", "int4:channel:asym", "int4:mse:g64"};
  std::vector<LayerFormat> plan;
  size_t i = 0;
  for (const LinearLayer& l : model->linear_layers())
    if (l.layer >= 0) plan.push_back({l.name, format_parse(formats[i++ % std::size(formats)]), std::nullopt, {}});
  plan[5].format = format_parse("bf16");
  ExportOptions options;
  options.target = ExportTarget::CompressedTensors;
  const ExportReport report = model_export(*model, plan, dir.path() / "ct", options);
  EXPECT_LT(report.bytes, report.bf16_bytes);
  const nlohmann::json config = nlohmann::json::parse(test::bytes_read(dir.path() / "ct" / "config.json"));
  const nlohmann::json& qc = config["quantization_config"];
  EXPECT_EQ(qc["quant_method"], "compressed-tensors");
  EXPECT_EQ(qc["format"], "pack-quantized");
  EXPECT_EQ(qc["config_groups"].size(), std::size(formats));
  std::map<std::string, nlohmann::json> args;
  for (const auto& [name, group] : qc["config_groups"].items())
    for (const auto& target : group["targets"]) args[target.get<std::string>()] = group["weights"];
  EXPECT_NE(std::find(qc["ignore"].begin(), qc["ignore"].end(), plan[5].name), qc["ignore"].end());
  const SafetensorsFile file = SafetensorsFile::open(dir.path() / "ct" / "model.safetensors");
  const auto quantized = model_quantize(*model, plan);
  for (const LayerFormat& lf : plan) {
    const std::vector<float> expected = quantized->tensor_values(lf.name + ".weight");
    if (!lf.format.quantized()) {
      EXPECT_EQ(file.at(lf.name + ".weight").dtype, DType::BF16);
      continue;
    }
    ASSERT_TRUE(args.count(lf.name)) << lf.name;
    EXPECT_EQ(args[lf.name]["num_bits"], lf.format.bits);
    EXPECT_EQ(args[lf.name]["symmetric"], !lf.format.asymmetric);
    EXPECT_EQ(file.find(lf.name + ".weight"), nullptr) << lf.name;
    const std::vector<float> w = decode(file, lf.name, args[lf.name]);
    ASSERT_EQ(w.size(), expected.size());
    EXPECT_EQ(std::memcmp(w.data(), expected.data(), w.size() * 4), 0) << lf.name << " " << format_print(lf.format);
  }
}

TEST(CompressedTensors, RefusesWhatPackQuantizedCannotHoldOrStoresTheFallback) {
  test::TempDir dir;
  const auto model = model_load(demo_model_dir());
  std::vector<LayerFormat> plan;
  for (const LinearLayer& l : model->linear_layers())
    if (l.layer >= 0) plan.push_back({l.name, format_parse(l.role == "down_proj" ? "int4:g256" : "kmeans2"), std::nullopt, {}});
  ExportOptions options;
  options.target = ExportTarget::CompressedTensors;
  try {
    model_export(*model, plan, dir.path() / "ct", options);
    FAIL() << "exported k-means";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("compressed-tensors cannot hold 28 layers of the plan: kmeans2: k-means codebooks have no "
                     "compressed-tensors form"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("int4:g256: groups of 256 do not divide in_features 640"), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(dir.path() / "ct" / "model.safetensors"));
  options.fallback = format_parse("int8");
  const ExportReport r = model_export(*model, plan, dir.path() / "ct", options);
  EXPECT_EQ(r.fallback_layers.size(), 28u);
  EXPECT_EQ(SafetensorsFile::open(dir.path() / "ct" / "model.safetensors").at("model.layers.0.mlp.up_proj.weight_packed").shape,
            (std::vector<int64_t>{640, 64}));
}

}  // namespace
}  // namespace qs
