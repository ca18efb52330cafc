// PackedLinear with llama.cpp's types and asymmetric integer formats (ŵ = s·level[code] + o per group)
// against the fp64 product of the weight their independent decoders give (ggml_dequantize_row_cpu,
// tensor_dequantize), on odd shapes: the CPU's dense path within the records' bf16 scale rounding, the
// GPU kernel within its stated bound for every batch 1–16; and a layer read from its stored sections
// equal to the one made from the quantizer's output.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "ggml_quants.hpp"
#include "model/packed_linear.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

// Rows past a tile, columns past a chunk, and (for blocks of 32) not a multiple of 256.
struct Case {
  std::string spec;
  int64_t out, in;
};

std::vector<Case> cases_all() {
  std::vector<Case> cases;
  for (const char* spec : {"q4_0", "q8_0", "q4_1", "q5_0", "q5_1", "iq4_nl"}) cases.push_back({spec, 37, 288});
  for (const char* spec : {"q6_k", "q4_k", "q2_k", "q3_k", "q5_k"}) cases.push_back({spec, 19, 768});
  for (const char* spec : {"int4:g32:asym", "int3:g128:asym", "int2:channel:asym", "int8:g64:asym", "int4:tensor:asym"})
    cases.push_back({spec, 21, 300});
  return cases;
}

struct Quantized {
  FormatSpec spec;
  QuantizerOutput q;
  std::vector<float> w;        // the decoded weight, [out, in]
  std::vector<float> offsets;  // per weight, o of ŵ = s·level + o
};

torch::Tensor weight_make(int64_t out, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  // Rows of different magnitudes and a shifted mean, so that minimums and offsets matter.
  return (torch::randn({out, in}) * torch::logspace(-3, 0, out).unsqueeze(1) + 0.3 * torch::rand({out, 1}) *
                                                                                  torch::logspace(-3, 0, out).unsqueeze(1))
      .contiguous();
}

// The decoded weight from the format's own decoder: ggml's for its types, tensor_dequantize (the packed
// checkpoint's reader) for the integer formats.
Quantized quantized_make(const Case& c, torch::Device device) {
  Quantized r{format_parse(c.spec), {}, {}, {}};
  QuantizerInput input;
  input.weight = weight_make(c.out, c.in, 7).to(device);
  r.q = quantizer_run(r.spec, input);
  r.w.resize(size_t(c.out * c.in));
  r.offsets.assign(r.w.size(), 0.f);
  if (r.spec.family == QuantFamily::Gguf) {
    const auto type = static_cast<kernels::GgmlType>(r.spec.gguf);
    const int64_t sub = kernels::ggml_sub_block(type), row_bytes = r.q.blocks.size(1);
    std::vector<uint8_t> codes(size_t(c.in));
    std::vector<float> scales(size_t(c.in / sub)), offsets(size_t(c.in / sub));
    for (int64_t row = 0; row < c.out; ++row) {
      const uint8_t* blocks = r.q.blocks.data_ptr<uint8_t>() + row * row_bytes;
      kernels::ggml_dequantize_row_cpu(type, blocks, c.in, r.w.data() + row * c.in);
      kernels::ggml_levels_row_cpu(type, blocks, c.in, codes.data(), scales.data(), offsets.data());
      for (int64_t k = 0; k < c.in; ++k) r.offsets[size_t(row * c.in + k)] = offsets[size_t(k / sub)];
    }
    return r;
  }
  PackedWriter writer;
  quantizer_family(r.spec.family).pack(r.spec, r.q, writer);
  r.w = tensor_dequantize(r.spec, writer.bytes, c.out, c.in);
  // ŵ = s·code − s·z: the offset is −s·z of the weight's group.
  const torch::Tensor s = r.q.scales.cpu().reshape({-1}), z = r.q.zero_points.cpu().to(torch::kFloat32).reshape({-1});
  const int64_t group = r.spec.granularity == Granularity::Group ? std::min(r.spec.group, c.in) : c.in;
  for (int64_t row = 0; row < c.out; ++row)
    for (int64_t k = 0; k < c.in; ++k) {
      const int64_t g = s.numel() == 1 ? 0 : row * ((c.in + group - 1) / group) + k / group;
      r.offsets[size_t(row * c.in + k)] = -s[g].item<float>() * z[g].item<float>();
    }
  return r;
}

struct Reference {
  std::vector<double> y;          // fp64 x·ŵᵀ, [batch, out]
  std::vector<double> magnitude;  // Σ_k (|s·level·x| + |o·x|) per output, the scale of the bounds
};

Reference reference_of(const Quantized& r, const torch::Tensor& x, int64_t out, int64_t in) {
  const torch::Tensor xc = x.cpu().to(torch::kFloat32).contiguous();
  const int64_t batch = xc.size(0);
  const float* xp = xc.data_ptr<float>();
  Reference ref{std::vector<double>(size_t(batch * out)), std::vector<double>(size_t(batch * out))};
  for (int64_t m = 0; m < batch; ++m)
    for (int64_t n = 0; n < out; ++n) {
      double sum = 0, magnitude = 0;
      for (int64_t k = 0; k < in; ++k) {
        const double w = r.w[size_t(n * in + k)], o = r.offsets[size_t(n * in + k)], xv = xp[m * in + k];
        sum += w * xv;
        magnitude += std::abs((w - o) * xv) + std::abs(o * xv);
      }
      ref.y[size_t(m * out + n)] = sum;
      ref.magnitude[size_t(m * out + n)] = magnitude;
    }
  return ref;
}

// Activations with a few large entries, as the kernel tests use.
torch::Tensor activations_make(int64_t batch, int64_t in, torch::Device device) {
  torch::manual_seed(uint64_t(batch) * 31 + uint64_t(in));
  torch::Tensor x = torch::randn({batch, in});
  x.view({-1}).slice(0, 0, x.numel(), 97).mul_(1e3);
  return x.to(device);
}

// Worst |y − y_ref| over the bound `relative`·magnitude; ≤ 1 passes.
double bound_use(const torch::Tensor& y, const Reference& ref, double relative) {
  const torch::Tensor yc = y.cpu().to(torch::kFloat64).contiguous().view({-1});
  const double* yp = yc.data_ptr<double>();
  double worst = 0;
  for (size_t i = 0; i < ref.y.size(); ++i)
    worst = std::max(worst, std::abs(yp[i] - ref.y[i]) / (relative * ref.magnitude[i] + 1e-30));
  return worst;
}

TEST(PackedLinear, CpuLlamaCppAndAsymmetricFormatsMatchTheirDecoders) {
  for (const Case& c : cases_all()) {
    const Quantized r = quantized_make(c, torch::kCPU);
    ASSERT_TRUE(PackedLinear::supports(r.spec, c.out, c.in)) << c.spec;
    const auto layer = PackedLinear::create(r.spec, r.q, c.out, c.in);
    for (const int64_t batch : {1, 3, 17}) {
      const torch::Tensor x = activations_make(batch, c.in, torch::kCPU);
      const Reference ref = reference_of(r, x, c.out, c.in);
      // The dense path: the records' bf16 scales (2⁻⁸ relative for llama.cpp's fp16 scales, exact for
      // the integer formats' bf16 ones) and float32 sums.
      EXPECT_LE(bound_use(layer->forward(x), ref, std::ldexp(1.0, -8) + c.in * std::ldexp(1.0, -23)), 1.0)
          << c.spec << " batch " << batch;
    }
  }
}

TEST(PackedLinear, ScalesOfBf16FormatsAreExact) {
  // The integer formats' scales are bf16 already: their product misses the decoder only by float32 sums.
  for (const Case& c : cases_all()) {
    if (format_parse(c.spec).family != QuantFamily::Int) continue;
    const Quantized r = quantized_make(c, torch::kCPU);
    const torch::Tensor x = activations_make(5, c.in, torch::kCPU);
    const Reference ref = reference_of(r, x, c.out, c.in);
    EXPECT_LE(bound_use(PackedLinear::create(r.spec, r.q, c.out, c.in)->forward(x), ref, c.in * std::ldexp(1.0, -23)),
              1.0)
        << c.spec;
  }
}

// A layer made on the CPU from a quantizer's output, and the same layer read on `device` from the
// sections the quantizer's family packs.
struct MadeAndStored {
  std::shared_ptr<const PackedLinear> made, stored;
  int64_t in;
};

MadeAndStored made_and_stored(const std::string& spec, torch::Device device) {
  const FormatSpec f = format_parse(spec);
  const int64_t out = 19, in = f.family == QuantFamily::Gguf ? 768 : 384;  // 384: QuEST's block 128 divides it
  QuantizerInput input;
  input.weight = weight_make(out, in, 3);
  const QuantizerOutput q = quantizer_run(f, input);
  PackedWriter writer;
  quantizer_family(f.family).pack(f, q, writer);
  return {PackedLinear::create(f, q, out, in), PackedLinear::stored_create(f, writer.bytes, out, in, device), in};
}

TEST(PackedLinear, StoredSectionsGiveTheQuantizersLayer) {
  for (const std::string spec : {"kmeans2", "kmeans3:h64", "int4:g32", "int3:g128:asym", "int4:tensor:asym", "quest3",
                                 "q4_0", "q8_0", "q4_k", "q6_k"}) {
    const MadeAndStored layers = made_and_stored(spec, torch::kCPU);
    const torch::Tensor x = activations_make(4, layers.in, torch::kCPU);
    EXPECT_TRUE(torch::equal(layers.stored->forward(x), layers.made->forward(x))) << spec;
    EXPECT_EQ(layers.stored->bytes(), layers.made->bytes()) << spec;
  }
}

TEST(PackedLinear, SixBitCodesAreHeldAsBytes) {
  // q6_k: 8-bit codes and a bf16 scale per 16 weights, 9 bits a weight (6.5625 as ggml stores it).
  const FormatSpec f = format_parse("q6_k");
  QuantizerInput input;
  input.weight = weight_make(64, 1024, 5);
  const auto layer = PackedLinear::create(f, quantizer_run(f, input), 64, 1024);
  EXPECT_EQ(layer->bytes(), uint64_t(64 * 1024 * 9 / 8 + 256 * 4));
}

#ifdef QS_WITH_CUDA
// The kernel for every batch of 1–16 rows and the dense path past it, with the offsets added on the GPU:
// within the header's bound over Σ(|s·level·x| + |o·x|).
TEST(PackedLinear, CudaLlamaCppAndAsymmetricFormatsWithinTheKernelBound) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  for (const Case& c : cases_all()) {
    const Quantized r = quantized_make(c, torch::kCUDA);
    const auto layer = PackedLinear::create(r.spec, r.q, c.out, c.in);
    for (int64_t batch = 1; batch <= 17; ++batch) {
      const torch::Tensor x = activations_make(batch, c.in, torch::kCUDA);
      const Reference ref = reference_of(r, x, c.out, c.in);
      const double relative = batch <= kernels::kGemvMaxBatch ? std::ldexp(1.0, -7) + c.in * std::ldexp(1.0, -23)
                                                              : std::ldexp(1.0, -8) + c.in * std::ldexp(1.0, -23);
      EXPECT_LE(bound_use(layer->forward(x), ref, relative), 1.0) << c.spec << " batch " << batch;
    }
  }
}

TEST(PackedLinear, CudaStoredSectionsGiveTheQuantizersLayer) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine";
  for (const std::string spec : {"kmeans2", "int3:g128:asym", "quest3", "q4_k", "q6_k"}) {
    const MadeAndStored layers = made_and_stored(spec, torch::kCUDA);
    for (const int64_t batch : {1, 16, 40}) {
      const torch::Tensor x = activations_make(batch, layers.in, torch::kCPU);
      const torch::Tensor want = layers.made->forward(x), got = layers.stored->forward(x.cuda()).cpu();
      const double tolerance = batch <= kernels::kGemvMaxBatch ? 0.02 : 1e-4;
      EXPECT_LT((got - want).abs().max().item<double>(), tolerance * want.abs().max().item<double>())
          << spec << " batch " << batch;
    }
  }
}
#endif

}  // namespace
}  // namespace qs
