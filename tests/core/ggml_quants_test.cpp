// llama.cpp's tensor types (kernels/ggml_quants.hpp) against ggml itself: for every type, our bytes
// equal ggml_quantize_chunk's without an importance matrix and our dequantized floats equal ggml's
// to_float, bit for bit, on random rows of many shapes and scales, on degenerate blocks and on the
// demo model's real weights. ggml comes from llama.cpp v0.4.0's prebuilt libraries, installed by
// packaging/install-test-clients.sh and opened with dlopen; without them those tests skip. The
// checks that need no ggml: the levels read back from the blocks rebuild the dequantized weights
// exactly, error bounds per type, and the gguf family through quantizer_run and its packed bytes.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ggml_quants.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"

#if defined(QS_LLAMA_LIB_DIR) && __has_include(<ggml.h>)
#include <ggml.h>
#define QS_HAVE_GGML_HEADERS 1
#endif

namespace qs {
namespace {

using kernels::GgmlType;

struct TypeCase {
  const char* spec;
  GgmlType type;
  double max_rmse;  // bound on the RMS error relative to the RMS of a Gaussian row
};
// The bounds are a little above what each type reaches on Gaussian rows (ggml's own
// test-quantize-fns bounds absolute errors on a cosine; these are relative, so they hold for any scale).
const TypeCase kTypes[] = {
    {"q4_0", GgmlType::Q4_0, 0.12}, {"q4_1", GgmlType::Q4_1, 0.11}, {"q5_0", GgmlType::Q5_0, 0.06},
    {"q5_1", GgmlType::Q5_1, 0.055}, {"q8_0", GgmlType::Q8_0, 0.006}, {"q2_k", GgmlType::Q2_K, 0.40},
    {"q3_k", GgmlType::Q3_K, 0.20}, {"q4_k", GgmlType::Q4_K, 0.11}, {"q5_k", GgmlType::Q5_K, 0.055},
    {"q6_k", GgmlType::Q6_K, 0.03}, {"iq4_nl", GgmlType::IQ4_NL, 0.11}};

std::string type_name(GgmlType t) {
  for (const TypeCase& c : kTypes)
    if (c.type == t) return c.spec;
  return "type " + std::to_string(int(t));
}

// Rows that exercise every branch: Gaussian at several scales, outliers, all-zero and constant
// blocks, tiny and huge magnitudes, one sign only.
std::vector<std::vector<float>> test_rows(int64_t n, int count, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<std::vector<float>> rows;
  for (int r = 0; r < count; ++r) {
    std::vector<float> x(static_cast<size_t>(n));
    const float scale = std::pow(10.0f, float(r % 9) - 4.0f);
    for (float& v : x) v = gauss(rng) * scale;
    switch (r % 8) {
      case 1:
        for (int64_t i = 0; i < n; i += 37) x[size_t(i)] *= 25.0f;
        break;
      case 2:
        std::fill(x.begin(), x.begin() + std::min<int64_t>(n, 64), 0.0f);
        break;
      case 3:
        std::fill(x.begin(), x.begin() + std::min<int64_t>(n, 256), 0.5f * scale);
        break;
      case 4:
        for (float& v : x) v = std::fabs(v);
        break;
      case 5:
        for (float& v : x) v = -std::fabs(v) * 1e-26f;
        break;
      case 6:
        for (float& v : x) v *= 1e4f / scale;
        break;
      default:
        break;
    }
    rows.push_back(std::move(x));
  }
  return rows;
}

std::vector<uint8_t> ours_quantize(GgmlType t, const std::vector<float>& x) {
  const kernels::GgmlBlock b = kernels::ggml_block(t);
  std::vector<uint8_t> out(size_t(int64_t(x.size()) / b.weights * b.bytes));
  kernels::ggml_quantize_row_cpu(t, x.data(), int64_t(x.size()), out.data());
  return out;
}

std::vector<float> ours_dequantize(GgmlType t, const std::vector<uint8_t>& blocks, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n));
  kernels::ggml_dequantize_row_cpu(t, blocks.data(), n, y.data());
  return y;
}

bool bits_equal(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(GgmlQuants, LevelsRebuildTheDequantizedWeightsExactly) {
  for (const TypeCase& c : kTypes) {
    const int64_t n = 512, sub = kernels::ggml_sub_block(c.type);
    const std::vector<float> grid = kernels::ggml_grid(c.type);
    for (const std::vector<float>& x : test_rows(n, 24, 7)) {
      const std::vector<uint8_t> blocks = ours_quantize(c.type, x);
      const std::vector<float> y = ours_dequantize(c.type, blocks, n);
      std::vector<uint8_t> codes(static_cast<size_t>(n));
      std::vector<float> scales(static_cast<size_t>(n / sub)), offsets(size_t(n / sub));
      kernels::ggml_levels_row_cpu(c.type, blocks.data(), n, codes.data(), scales.data(), offsets.data());
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_LT(codes[size_t(i)], grid.size()) << c.spec;
        const float rebuilt = scales[size_t(i / sub)] * grid[codes[size_t(i)]] + offsets[size_t(i / sub)];
        ASSERT_TRUE(bits_equal(rebuilt, y[size_t(i)]) || rebuilt == y[size_t(i)])
            << c.spec << " weight " << i << ": " << rebuilt << " vs " << y[size_t(i)];
      }
    }
  }
}

TEST(GgmlQuants, ErrorWithinEachTypesBound) {
  for (const TypeCase& c : kTypes) {
    std::mt19937 rng(11);
    std::normal_distribution<float> gauss(0.0f, 0.02f);
    std::vector<float> x(256 * 64);
    for (float& v : x) v = gauss(rng);
    const std::vector<float> y = ours_dequantize(c.type, ours_quantize(c.type, x), int64_t(x.size()));
    double err = 0, ref = 0;
    for (size_t i = 0; i < x.size(); ++i) err += (y[i] - x[i]) * double(y[i] - x[i]), ref += x[i] * double(x[i]);
    const double rel = std::sqrt(err / ref);
    EXPECT_LT(rel, c.max_rmse) << c.spec;
    EXPECT_GT(rel, c.max_rmse / 20) << c.spec << ": suspiciously exact";
  }
}

TEST(GgmlQuants, FamilyPacksTheBlocksAndUnpacksThemBack) {
  std::mt19937 rng(3);
  std::normal_distribution<float> gauss(0.0f, 0.05f);
  const torch::Tensor w = torch::empty({6, 512});
  for (int64_t i = 0; i < w.numel(); ++i) w.data_ptr<float>()[i] = gauss(rng);
  for (const TypeCase& c : kTypes) {
    const FormatSpec spec = format_parse(c.spec);
    ASSERT_EQ(spec.family, QuantFamily::Gguf);
    QuantizerInput in;
    in.weight = w;
    in.want_normalized = true;
    const QuantizerOutput q = quantizer_run(spec, in);
    PackedWriter writer;
    quantizer_family(spec.family).pack(spec, q, writer);
    EXPECT_EQ(writer.bytes.size() * 8, format_storage_bits(spec, 6, 512)) << c.spec;
    for (int64_t r = 0; r < 6; ++r) {
      const std::vector<float> row(w.data_ptr<float>() + r * 512, w.data_ptr<float>() + (r + 1) * 512);
      const std::vector<uint8_t> blocks = ours_quantize(c.type, row);
      ASSERT_EQ(0, std::memcmp(blocks.data(), writer.bytes.data() + r * blocks.size(), blocks.size())) << c.spec;
    }
    PackedReader reader(writer.bytes.data(), writer.bytes.size());
    const std::vector<float> back = quantizer_family(spec.family).unpack(spec, reader, 6, 512);
    reader.finish();
    ASSERT_EQ(0, std::memcmp(back.data(), q.dequant.data_ptr<float>(), back.size() * sizeof(float))) << c.spec;
    // The grid applies to the normalised values: each weight lies within about half a gap of its level
    // (a little more where a scale was rounded to its stored precision after the levels were chosen).
    const torch::Tensor grid = q.codebooks.view({-1});
    const float gap = (grid.slice(0, 1) - grid.slice(0, 0, -1)).max().item<float>();
    const torch::Tensor level = grid.index({q.codes.to(torch::kLong)});
    EXPECT_LT((q.normalized - level).abs().max().item<float>(), 0.75f * gap + 0.26f) << c.spec;
  }
}

TEST(GgmlQuants, ShapesOutsideTheBlockAreRefusedNamingTheLayer) {
  QuantizerInput in;
  in.weight = torch::randn({4, 320});
  in.name = "model.layers.3.mlp.down_proj";
  try {
    quantizer_run(format_parse("q4_k"), in);
    FAIL() << "q4_k took 320 columns";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "model.layers.3.mlp.down_proj: format q4_k: in_features 320 is not a multiple of q4_k's block of 256");
  }
  EXPECT_NO_THROW(quantizer_run(format_parse("q4_0"), in));  // 320 = 10 blocks of 32
}

#ifdef QS_HAVE_GGML_HEADERS
// ggml's libraries, opened once.
class Ggml {
 public:
  Ggml() {
    const std::string path = std::string(QS_LLAMA_LIB_DIR) + "/libggml-base.so";
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      error_ = dlerror();
      return;
    }
    quantize_chunk_ = reinterpret_cast<decltype(&ggml_quantize_chunk)>(dlsym(handle_, "ggml_quantize_chunk"));
    type_traits_ = reinterpret_cast<decltype(&ggml_get_type_traits)>(dlsym(handle_, "ggml_get_type_traits"));
    if (!quantize_chunk_ || !type_traits_) error_ = "libggml-base.so lacks ggml_quantize_chunk or ggml_get_type_traits";
  }
  const std::string& error() const { return error_; }

  std::vector<uint8_t> quantize(GgmlType t, const std::vector<float>& x) const {
    const kernels::GgmlBlock b = kernels::ggml_block(t);
    std::vector<uint8_t> out(size_t(int64_t(x.size()) / b.weights * b.bytes));
    const size_t written = quantize_chunk_(ggml_type(int(t)), x.data(), out.data(), 0, 1, int64_t(x.size()), nullptr);
    EXPECT_EQ(written, out.size()) << type_name(t);
    return out;
  }
  std::vector<float> dequantize(GgmlType t, const std::vector<uint8_t>& blocks, int64_t n) const {
    const ggml_type_traits* traits = type_traits_(ggml_type(int(t)));
    EXPECT_EQ(traits->blck_size, kernels::ggml_block(t).weights) << type_name(t);
    EXPECT_EQ(int64_t(traits->type_size), kernels::ggml_block(t).bytes) << type_name(t);
    std::vector<float> y(static_cast<size_t>(n));
    if (t == GgmlType::F32)  // ggml has no to_float for its own float type
      std::memcpy(y.data(), blocks.data(), y.size() * sizeof(float));
    else
      traits->to_float(blocks.data(), y.data(), n);
    return y;
  }

 private:
  void* handle_ = nullptr;
  std::string error_;
  decltype(&ggml_quantize_chunk) quantize_chunk_ = nullptr;
  decltype(&ggml_get_type_traits) type_traits_ = nullptr;
};

const Ggml& ggml() {
  static const Ggml g;
  return g;
}

#define QS_REQUIRE_GGML()                                                   \
  if (!ggml().error().empty()) GTEST_SKIP() << "llama.cpp's libggml-base: " << ggml().error()

// Every row through both, bytes and floats compared; returns the rows checked.
int rows_compare(GgmlType t, const std::vector<std::vector<float>>& rows) {
  int checked = 0;
  for (const std::vector<float>& x : rows) {
    const std::vector<uint8_t> ours = ours_quantize(t, x), theirs = ggml().quantize(t, x);
    size_t bad = 0;
    for (size_t i = 0; i < ours.size(); ++i) bad += ours[i] != theirs[i];
    EXPECT_EQ(bad, 0u) << type_name(t) << ": row " << checked << " differs in " << bad << " of " << ours.size()
                       << " bytes";
    const std::vector<float> a = ours_dequantize(t, theirs, int64_t(x.size()));
    const std::vector<float> b = ggml().dequantize(t, theirs, int64_t(x.size()));
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << type_name(t) << ": row " << checked;
    if (bad != 0) return checked;
    ++checked;
  }
  return checked;
}

TEST(GgmlQuants, BytesAndDequantizedWeightsEqualGgmlsOwn) {
  QS_REQUIRE_GGML();
  for (const TypeCase& c : kTypes)
    for (const int64_t n : {int64_t(256), int64_t(1024), int64_t(4096)})
      EXPECT_EQ(rows_compare(c.type, test_rows(n, 160, uint64_t(n) * 31 + uint64_t(c.type))), 160) << c.spec;
}

TEST(GgmlQuants, ArbitraryBlocksDecodeAsGgmlDecodesThem) {
  // Blocks of random bytes reach every decoder path, NaN and infinite scales included.
  QS_REQUIRE_GGML();
  std::mt19937 rng(17);
  for (const TypeCase& c : kTypes) {
    const kernels::GgmlBlock b = kernels::ggml_block(c.type);
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<uint8_t> blocks(static_cast<size_t>(4 * b.bytes));
      for (uint8_t& v : blocks) v = uint8_t(rng());
      const std::vector<float> ours = ours_dequantize(c.type, blocks, 4 * b.weights);
      const std::vector<float> theirs = ggml().dequantize(c.type, blocks, 4 * b.weights);
      ASSERT_EQ(0, std::memcmp(ours.data(), theirs.data(), ours.size() * sizeof(float))) << c.spec << " trial " << trial;
    }
  }
}

TEST(GgmlQuants, FloatTypesEqualGgmlsOwn) {
  QS_REQUIRE_GGML();
  std::vector<std::vector<float>> rows = test_rows(512, 40, 5);
  rows.push_back({65504.0f, 65520.0f, 1e-8f, -6.1e-5f, 5.9e-8f, 3.0e38f, -0.0f, 1.0f + 1.0f / 4096.0f});
  for (const GgmlType t : {GgmlType::F16, GgmlType::BF16, GgmlType::F32}) EXPECT_EQ(rows_compare(t, rows), 41);
}

TEST(GgmlQuants, DemoModelWeightsEqualGgmlsOwn) {
  QS_REQUIRE_GGML();
  const std::shared_ptr<Model> model = model_load(demo_model_dir());
  for (const LinearLayer& layer : model->linear_layers()) {
    const std::vector<float> w = model->tensor_values(layer.name + ".weight");
    std::vector<std::vector<float>> rows;
    for (int64_t r = 0; r < layer.out_features; r += 7)
      rows.emplace_back(w.begin() + r * layer.in_features, w.begin() + (r + 1) * layer.in_features);
    for (const TypeCase& c : kTypes)
      if (format_shape_problem(format_parse(c.spec), layer.out_features, layer.in_features).empty())
        EXPECT_EQ(rows_compare(c.type, rows), int(rows.size())) << layer.name << " " << c.spec;
  }
}
#else
TEST(GgmlQuants, BytesAndDequantizedWeightsEqualGgmlsOwn) {
  GTEST_SKIP() << "llama.cpp v0.4.0 is not installed: run packaging/install-test-clients.sh, then cmake again";
}
#endif

}  // namespace
}  // namespace qs
