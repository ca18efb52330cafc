// The quantizer families end to end through tensor_quantize, in the manner of llama.cpp's
// test-quantize-fns: the threaded CPU path against the scalar reference (bit-exact), CUDA against CPU,
// round-trip error bounds per family and bit width on Gaussian and Student-t weights, independent
// re-implementations of QuEST and of 1-Bit Wonder's 1.25-bit format, decoding the packed bytes,
// idempotence where the format has it, and the errors for bad input.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "core/tiny_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

std::vector<float> values_of(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

std::vector<float> gaussian(int64_t out, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  return values_of(torch::randn({out, in}) * 0.02);
}

// Student-t with 4 degrees of freedom: heavy tails (kurtosis 6 above a Gaussian's) like real LLM weights.
std::vector<float> student_t(int64_t out, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor z = torch::randn({out, in});
  const torch::Tensor chi2 = torch::randn({4, out, in}).pow(2).sum(0);
  return values_of(z / torch::sqrt(chi2 / 4) * 0.02);
}

QuantizedTensor quantize(const std::string& spec, const std::vector<float>& w, int64_t out, int64_t in,
                         QuantizeOptions options = {}) {
  return tensor_quantize(format_parse(spec), w, out, in, options);
}

const std::vector<std::string> kSpecs = {
    "bf16",          "f16",         "int8",         "int4",        "int4:g64",       "int3:g32:asym", "int2:tensor",
    "int4:g64:mse",  "int3:asym:mse", "int1",       "int1:g64",    "quest1",         "quest2:h64",    "quest4",
    "quest8:h32",    "quest3:h1",   "kmeans1",      "kmeans2",     "kmeans3:b32",    "kmeans4:absmean", "kmeans2:lloyd",
    "kmeans2:channel", "kmeans3:g64", "kmeans2:h128", "kmeans1:b16:lloyd", "nf4"};

TEST(QuantizeFastPath, ThreadedCpuEqualsScalarReferenceBitForBit) {
  // 300 columns: groups and blocks of 32/64 end short; 256 rows keep several threads busy.
  const int64_t out = 256, in = 384;
  const std::vector<float> w = student_t(out, in, 1);
  for (const std::string& spec : kSpecs) {
    SCOPED_TRACE(spec);
    QuantizeOptions reference;
    reference.reference = true;
    const QuantizedTensor fast = quantize(spec, w, out, in);
    const QuantizedTensor ref = quantize(spec, w, out, in, reference);
    EXPECT_EQ(fast.codes, ref.codes);
    EXPECT_EQ(fast.dequantized, ref.dequantized);
    EXPECT_EQ(fast.scales, ref.scales);
    EXPECT_EQ(fast.codebooks, ref.codebooks);
    EXPECT_EQ(fast.packed, ref.packed);
  }
}

TEST(QuantizeFastPath, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or on this machine";
  const int64_t out = 512, in = 1024;
  const std::vector<float> w = student_t(out, in, 2);
  for (const std::string& spec : kSpecs) {
    SCOPED_TRACE(spec);
    QuantizeOptions cuda;
    cuda.device = Device::Cuda;
    const QuantizedTensor cpu = quantize(spec, w, out, in);
    const QuantizedTensor gpu = quantize(spec, w, out, in, cuda);
    // Reductions and the rotation run in another order on the GPU: codes may differ only for weights
    // within float rounding of a decision boundary, and values by float rounding.
    size_t differ = 0;
    for (size_t i = 0; i < cpu.codes.size(); ++i) differ += cpu.codes[i] != gpu.codes[i];
    EXPECT_LE(double(differ), 1e-4 * double(cpu.codes.size()) + 1);
    ASSERT_EQ(cpu.codebooks.size(), gpu.codebooks.size());
    for (size_t i = 0; i < cpu.codebooks.size(); ++i) EXPECT_NEAR(cpu.codebooks[i], gpu.codebooks[i], 1e-4);
    EXPECT_NEAR(gpu.metrics.mse, cpu.metrics.mse, 1e-3 * cpu.metrics.mse + 1e-12);
  }
}

// With importance, divided by its mean (which the GPU sums in another order), codebooks agree relative
// to the largest centroid (a centroid near zero moves as much as any other), and codes nearly all.
void expect_close_with_importance(const QuantizedTensor& got, const QuantizedTensor& want) {
  ASSERT_EQ(got.codebooks.size(), want.codebooks.size());
  float largest = 0;
  for (float c : want.codebooks) largest = std::max(largest, std::abs(c));
  for (size_t i = 0; i < want.codebooks.size(); ++i) EXPECT_NEAR(got.codebooks[i], want.codebooks[i], 1e-5 * largest) << i;
  EXPECT_NEAR(got.inertia, want.inertia, 1e-5 * want.inertia);
  size_t differ = 0;
  for (size_t i = 0; i < want.codes.size(); ++i) differ += got.codes[i] != want.codes[i];
  EXPECT_LE(double(differ), 1e-4 * double(want.codes.size()) + 1);
}

// Per-row and per-group codebooks are fitted on the GPU by the CPU's programme, step for step: the same
// codebooks, inertia, codes and values, with short last groups. With importance (a fifth of it zero)
// the fit is the same too, but the importance is first divided by its mean, which the GPU sums in
// another order: centroids then move by a few float roundings of the largest (about 1e-10 absolute,
// against centroids up to 0.1, on an H100).
TEST(QuantizeFastPath, CudaCodebooksPerRowAndGroupEqualTheCpuBitForBit) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or on this machine";
  const int64_t out = 96, in = 1000;
  const std::vector<float> w = student_t(out, in, 3);
  std::vector<float> importance(w.size());
  for (size_t i = 0; i < importance.size(); ++i) importance[i] = i % 5 == 0 ? 0.f : 0.5f + float(i % 7);
  for (const std::string spec : {"kmeans2:channel", "kmeans3:g64", "kmeans1:g300", "kmeans4:channel:fisher",
                                 "kmeans2:g128:fisher"}) {
    SCOPED_TRACE(spec);
    QuantizeOptions cpu, cuda;
    cpu.importance = cuda.importance = importance;
    cuda.device = Device::Cuda;
    const QuantizedTensor want = quantize(spec, w, out, in, cpu), got = quantize(spec, w, out, in, cuda);
    if (spec.find("fisher") == std::string::npos) {
      EXPECT_EQ(got.codebooks, want.codebooks);
      EXPECT_EQ(got.inertia, want.inertia);
      EXPECT_EQ(got.codes, want.codes);
      EXPECT_EQ(got.dequantized, want.dequantized);
      continue;
    }
    expect_close_with_importance(got, want);
  }
}

// Lloyd's codebooks on the GPU are the CPU's: per row and group by the same steps on the GPU
// (KernelsKMeansLloyd), tensor-wide by the same fit of the same sample, gathered on the GPU. Codebooks,
// codes and values equal bit for bit; the inertia too, except over a sample's whole tensor, which the
// GPU sums in another order. With importance, divided by its mean summed in another order, as above.
TEST(QuantizeFastPath, CudaLloydCodebooksEqualTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or on this machine";
  struct Case {
    std::string spec;
    int64_t out, in;
  };
  for (const Case& c : {Case{"kmeans2:channel:lloyd", 96, 1000}, Case{"kmeans3:g64:lloyd", 96, 1000},
                        Case{"kmeans1:g300:lloyd", 96, 1000}, Case{"kmeans4:channel:lloyd:fisher", 96, 1000},
                        Case{"kmeans2:lloyd", 96, 1000}, Case{"kmeans2:lloyd", 1100, 1000},
                        Case{"kmeans3:b32:lloyd:fisher", 1100, 1000}}) {
    SCOPED_TRACE(c.spec + " on " + std::to_string(c.out) + "x" + std::to_string(c.in));
    const std::vector<float> w = student_t(c.out, c.in, 5);
    std::vector<float> importance(w.size());
    for (size_t i = 0; i < importance.size(); ++i) importance[i] = i % 5 == 0 ? 0.f : 0.5f + float(i % 7);
    QuantizeOptions cpu, cuda;
    cpu.importance = cuda.importance = importance;
    cpu.seed = cuda.seed = 11;
    cuda.device = Device::Cuda;
    const QuantizedTensor want = quantize(c.spec, w, c.out, c.in, cpu), got = quantize(c.spec, w, c.out, c.in, cuda);
    const bool sampled = c.out * c.in > (int64_t{1} << 20) && c.spec.find(":g") == std::string::npos &&
                         c.spec.find("channel") == std::string::npos;
    if (c.spec.find("fisher") == std::string::npos) {
      EXPECT_EQ(got.codebooks, want.codebooks);
      EXPECT_EQ(got.codes, want.codes);
      EXPECT_EQ(got.dequantized, want.dequantized);
      if (sampled) EXPECT_NEAR(got.inertia, want.inertia, 1e-9 * want.inertia);
      else EXPECT_EQ(got.inertia, want.inertia);
      continue;
    }
    expect_close_with_importance(got, want);
  }
}

// Relative MSE (mse / mean w²) bounds per format on [256, 1024] weights, Gaussian and Student-t(4).
// QuEST's Gaussian values are the theory (methods.md §1: the MSE of α_b-clipped uniform quantization
// of a unit Gaussian; after the rotation every row is Gaussian); the rest are upper bounds with a
// margin over what this implementation gives, so that a regression in accuracy fails.
struct Bound {
  std::string spec;
  double gaussian, student;
};

TEST(QuantizeRoundTrip, RelativeErrorWithinBoundsPerFamilyAndBits) {
  const int64_t out = 256, in = 1024;
  const std::vector<float> g = gaussian(out, in, 3), t = student_t(out, in, 4);
  // Gaussian anchors from theory: int1 (sign × absmean) has MSE 1 − 2/π = 0.3634; the best 4-level
  // quantizer of a Gaussian (Lloyd–Max) 0.1175, which kmeans2's block normalisation may only beat.
  const std::vector<Bound> bounds = {
      {"int8", 7.0e-5, 5.1e-4},     {"int4", 2.3e-2, 1.15e-1},      {"int4:g64", 1.3e-2, 2.8e-2},
      {"int3:g64", 7.0e-2, 1.33e-1}, {"int2:g64", 5.7e-1, 5.75e-1},  {"int2:g64:mse", 2.0e-1, 2.9e-1},
      {"int1", 0.3634 * 1.02, 5.6e-1}, {"kmeans1", 3.65e-1, 5.5e-1}, {"kmeans2", 1.175e-1, 2.45e-1},
      {"kmeans3", 3.5e-2, 6.0e-2}, {"kmeans4", 8.5e-3, 1.35e-2},    {"nf4", 9.4e-3, 1.35e-2},
  };

  for (const Bound& b : bounds) {
    SCOPED_TRACE(b.spec);
    const double rg = quantize(b.spec, g, out, in).metrics.relative_mse;
    const double rt = quantize(b.spec, t, out, in).metrics.relative_mse;
    if (std::getenv("QS_PRINT_BOUNDS")) std::cout << b.spec << " " << rg << " " << rt << "\n";
    EXPECT_LT(rg, b.gaussian);
    EXPECT_LT(rt, b.student);
  }
  const std::vector<std::pair<int, double>> quest = {{1, 0.36338}, {2, 0.11885}, {3, 0.03744}, {4, 0.011543}, {8, 8.78e-5}};
  for (const auto& [bits, mse] : quest) {
    SCOPED_TRACE(bits);
    // At 8 bits the clip sits 3.9σ out, where a row's estimated σ matters most: 6 % there, 3 % below.
    EXPECT_NEAR(quantize("quest" + std::to_string(bits), g, out, in).metrics.relative_mse, mse,
                (bits == 8 ? 0.06 : 0.03) * mse);
    // The rotation makes heavy-tailed rows Gaussian enough to stay within 25 % of the Gaussian value.
    EXPECT_LT(quantize("quest" + std::to_string(bits), t, out, in).metrics.relative_mse, 1.25 * mse);
  }
}

TEST(QuantizeRoundTrip, KMeansBeatsIntegerAtEqualBitsPerWeight) {
  const int64_t out = 256, in = 1024;
  for (const auto& w : {gaussian(out, in, 5), student_t(out, in, 6)})
    for (int bits = 1; bits <= 4; ++bits) {
      SCOPED_TRACE(bits);
      const QuantizedTensor k = quantize("kmeans" + std::to_string(bits), w, out, in);
      const QuantizedTensor i = quantize("int" + std::to_string(bits) + ":g64", w, out, in);
      EXPECT_EQ(k.storage_bits - i.storage_bits, uint64_t(32) << bits);  // only the codebook differs
      EXPECT_LT(k.metrics.mse, i.metrics.mse);
    }
}

TEST(QuantizeRoundTrip, IntegerErrorNeverExceedsHalfAStepWithoutClipping) {
  const int64_t out = 64, in = 200;
  const std::vector<float> w = student_t(out, in, 7);
  for (int bits = 2; bits <= 8; ++bits) {
    const QuantizedTensor q = quantize("int" + std::to_string(bits) + ":g64", w, out, in);
    const int64_t groups = (in + 63) / 64;
    for (int64_t r = 0; r < out; ++r)
      for (int64_t c = 0; c < in; ++c) {
        const float s = q.scales[r * groups + c / 64];
        // The bf16 scale may sit just below absmax/qmax; the clamp then costs at most 2^-8 of absmax.
        const float absmax = s * float((1 << (bits - 1)) - 1);
        ASSERT_LE(std::abs(q.dequantized[r * in + c] - w[r * in + c]), 0.5f * s + absmax * 0.0040f)
            << "bits " << bits << " at " << r << "," << c;
      }
  }
}

// QuEST written out again from methods.md §1 with dense matrices: an explicit Sylvester Hadamard,
// σ over the rotated row, clamp, half-to-even rounding, mid-rise grid, rotation back.
TEST(QuantizeReference, QuestMatchesAnIndependentImplementation) {
  const int64_t out = 96, in = 256;
  const std::vector<float> w = student_t(out, in, 8);
  const std::vector<double> alphas = {0.7978845587, 1.4935346200, 2.0510683541, 2.5139305786};
  for (int64_t h : {int64_t(1), int64_t(32), int64_t(128)})
    for (int bits = 1; bits <= 4; ++bits) {
      SCOPED_TRACE("h" + std::to_string(h) + " bits " + std::to_string(bits));
      torch::Tensor hm = torch::ones({1, 1}, torch::kFloat64);
      while (hm.size(0) < h) hm = torch::cat({torch::cat({hm, hm}, 1), torch::cat({hm, -hm}, 1)}, 0);
      hm = hm / std::sqrt(double(h));
      const torch::Tensor rot = torch::block_diag(std::vector<torch::Tensor>(in / h, hm));
      const torch::Tensor x = torch::tensor(w, torch::kFloat64).view({out, in}).mm(rot);
      const torch::Tensor sigma = x.pow(2).mean(1, true).sqrt() + 1e-8;
      const double a = alphas[bits - 1], levels = double(1 << bits);
      const torch::Tensor step = 2 * a * sigma / (levels - 1);
      const torch::Tensor n = torch::round(torch::clamp(x, -a * sigma, a * sigma) / step + 0.5);
      const torch::Tensor expected = (step * (n - 0.5)).mm(rot);  // H is symmetric and orthonormal
      const torch::Tensor codes = (n + (levels / 2 - 1)).to(torch::kUInt8).view(-1);

      const QuantizedTensor q = quantize("quest" + std::to_string(bits) + ":h" + std::to_string(h), w, out, in);
      const torch::Tensor got = torch::tensor(q.dequantized, torch::kFloat64).view({out, in});
      EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5 * sigma.max().item<double>());
      int64_t differ = 0;
      for (int64_t i = 0; i < out * in; ++i) differ += q.codes[i] != codes[i].item<uint8_t>();
      EXPECT_LE(differ, out * in / 10000);  // only values within float rounding of a boundary
      for (int64_t r = 0; r < out; ++r) EXPECT_NEAR(q.scales[r], sigma[r][0].item<double>(), 1e-6 * q.scales[r]);
    }
}

// 1-Bit Wonder's 1.25-bit format written out again: absmean bf16 scale per 64 weights, one 2-entry
// codebook, fitted exactly (for k = 2 the optimal split of the sorted values is found by one scan).
TEST(QuantizeReference, KMeans1MatchesAnIndependentImplementation) {
  const int64_t out = 64, in = 500;  // 32,000 values: below the histogram threshold, so exact on raw values
  const std::vector<float> w = student_t(out, in, 9);
  std::vector<double> s, u(w.size());
  const int64_t blocks = (in + 63) / 64;
  for (int64_t r = 0; r < out; ++r)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t lo = b * 64, hi = std::min<int64_t>(in, lo + 64);
      double sum = 0;
      for (int64_t c = lo; c < hi; ++c) sum += std::abs(w[r * in + c]);
      const float mean = std::max(float(sum / double(hi - lo)), 1e-5f);
      const double bf16 = torch::tensor(mean).to(torch::kBFloat16).to(torch::kFloat64).item<double>();
      s.push_back(bf16);
      for (int64_t c = lo; c < hi; ++c) u[r * in + c] = double(w[r * in + c] / float(bf16));
    }
  std::vector<double> sorted = u;
  std::sort(sorted.begin(), sorted.end());
  double total = 0, squares = 0;
  for (double v : sorted) total += v, squares += v * v;
  double best = INFINITY, left = 0;
  for (size_t i = 1; i < sorted.size(); ++i) {  // every split of the sorted values into two runs
    left += sorted[i - 1];
    const double right = total - left;
    best = std::min(best, squares - left * left / double(i) - right * right / double(sorted.size() - i));
  }
  const QuantizedTensor q = quantize("kmeans1", w, out, in);
  ASSERT_EQ(q.codebooks.size(), 2u);
  EXPECT_NEAR(q.inertia, best, 1e-6 * best);  // the optimum of all two-cluster splits
  for (int64_t i = 0; i < out * in; ++i) {
    const double mid = 0.5 * (double(q.codebooks[0]) + double(q.codebooks[1]));
    ASSERT_EQ(q.codes[i], u[i] > mid ? 1 : 0) << i;
    ASSERT_FLOAT_EQ(q.dequantized[i], float(s[(i / in) * blocks + (i % in) / 64]) * q.codebooks[q.codes[i]]);
  }
  EXPECT_DOUBLE_EQ(q.metrics.bits_per_weight, 1.0 + 16.0 * out * blocks / double(out * in) + 64.0 / double(out * in));
}

TEST(QuantizePacked, DecodingThePackedBytesGivesTheDequantizedWeight) {
  const int64_t out = 48, in = 256;
  const std::vector<float> w = student_t(out, in, 10);
  for (const std::string& spec : kSpecs) {
    SCOPED_TRACE(spec);
    const QuantizedTensor q = quantize(spec, w, out, in);
    EXPECT_GE(q.packed.size() * 8, q.storage_bits);
    EXPECT_LE(q.packed.size() * 8, q.storage_bits + 8 * 3);  // at most three sections pad to a byte
    const std::vector<float> decoded = tensor_dequantize(q.format, q.packed, out, in);
    ASSERT_EQ(decoded.size(), q.dequantized.size());
    const bool rotated = q.format.hadamard > 1;
    for (size_t i = 0; i < decoded.size(); ++i) {
      if (rotated) ASSERT_NEAR(decoded[i], q.dequantized[i], 1e-6f) << i;
      else ASSERT_EQ(decoded[i], q.dequantized[i]) << i;
    }
    std::vector<uint8_t> truncated(q.packed.begin(), q.packed.end() - 1);
    EXPECT_THROW(tensor_dequantize(q.format, truncated, out, in), Error);
  }
}

// Formats whose scales are set by an extreme that survives quantization (absmax symmetric integer,
// NF4) or that have no scales (per-row and per-group codebooks) map their own output to itself.
// QuEST's RMS scale, absmean scales and block-scaled shared codebooks change on a second pass.
TEST(QuantizeIdempotence, QuantizingTheDequantizedWeightAgainIsAFixedPoint) {
  const int64_t out = 64, in = 320;
  const std::vector<float> w = student_t(out, in, 11);
  for (const std::string& spec : {"bf16", "int8", "int4", "int3:g64", "int2:tensor", "nf4", "kmeans4:channel",
                                  "kmeans2:g64", "kmeans3:channel:lloyd"}) {
    SCOPED_TRACE(spec);
    const QuantizedTensor once = quantize(spec, w, out, in);
    const QuantizedTensor twice = quantize(spec, once.dequantized, out, in);
    for (size_t i = 0; i < w.size(); ++i)
      ASSERT_NEAR(twice.dequantized[i], once.dequantized[i], 1e-6f * std::abs(once.dequantized[i])) << i;
  }
}

TEST(QuantizeOutputs, CodebooksSortedOccupancyCountsAndPlots) {
  const int64_t out = 40, in = 172;  // stories260K's hidden size: groups and blocks end short
  const std::vector<float> w = gaussian(out, in, 12);
  for (const std::string& spec : kSpecs) {
    SCOPED_TRACE(spec);
    if (format_parse(spec).hadamard > 4) continue;  // no larger Hadamard block divides 172
    const QuantizedTensor q = quantize(spec, w, out, in);
    if (q.format.family == QuantFamily::KMeans || q.format.family == QuantFamily::NF4) {
      const size_t k = size_t(q.format.levels());
      ASSERT_EQ(q.codebooks.size() % k, 0u);
      for (size_t b = 0; b < q.codebooks.size(); b += k)
        EXPECT_TRUE(std::is_sorted(q.codebooks.begin() + b, q.codebooks.begin() + b + k));
    }
    if (q.format.quantized()) {
      int64_t total = 0;
      for (int64_t n : q.occupancy) total += n;
      EXPECT_EQ(total, out * in);
      EXPECT_FALSE(q.levels.empty());
    }
    double counted = 0;
    for (double c : q.normalized_histogram.counts) counted += c;
    EXPECT_EQ(counted, double(out * in));
    EXPECT_EQ(q.metrics.count, out * in);
  }
}

// The error histogram is the histogram of ŵ − w; the summary leaves out every per-weight array and
// keeps every number; a model's layer quantizes as its values do.
TEST(QuantizeOutputs, SummaryAndLayerQuantizationAgreeWithTheFullResult) {
  const auto model = std::make_shared<Model>(test::tiny_state(test::tiny_config(false, false), 5));
  const std::string layer = "model.layers.1.mlp.down_proj";
  const std::vector<float> w = model->tensor_values(layer + ".weight");
  const std::vector<int64_t> shape = model->tensor_shape(layer + ".weight");
  for (const std::string& spec : {"int3:g16", "quest2:h16", "kmeans2", "nf4"}) {
    SCOPED_TRACE(spec);
    const QuantizedTensor full = quantize(spec, w, shape[0], shape[1]);
    std::vector<float> error(w.size());
    for (size_t i = 0; i < w.size(); ++i) error[i] = full.dequantized[i] - w[i];
    const Histogram expected = histogram_compute(error, 64);
    const Histogram actual = quantize(spec, w, shape[0], shape[1], {.histogram_bins = 64}).error_histogram;
    EXPECT_EQ(actual.lo, expected.lo);
    EXPECT_EQ(actual.hi, expected.hi);
    EXPECT_EQ(actual.counts, expected.counts);

    QuantizeOptions summary;
    summary.summary_only = true;
    const QuantizedTensor brief = layer_quantize(*model, layer, format_parse(spec), summary);
    EXPECT_TRUE(brief.dequantized.empty() && brief.codes.empty() && brief.packed.empty() && brief.scales.empty());
    EXPECT_EQ(brief.metrics.sqnr_db, full.metrics.sqnr_db);
    EXPECT_EQ(brief.metrics.bytes, full.metrics.bytes);
    EXPECT_EQ(brief.occupancy, full.occupancy);
    EXPECT_EQ(brief.codebooks, full.codebooks);
    EXPECT_EQ(brief.normalized_histogram.counts, full.normalized_histogram.counts);
    EXPECT_EQ(brief.error_histogram.counts, full.error_histogram.counts);
  }
  EXPECT_THROW(layer_quantize(*model, "model.layers.9.mlp.up_proj", format_parse("int4")), Error);
}

TEST(QuantizeErrors, NonFiniteWeightsAreRefusedByName) {
  std::vector<float> w = gaussian(8, 64, 13);
  w[100] = NAN;
  QuantizeOptions options;
  options.name = "model.layers.3.mlp.up_proj";
  try {
    quantize("int4", w, 8, 64, options);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Numeric);
    EXPECT_NE(std::string(e.what()).find("model.layers.3.mlp.up_proj"), std::string::npos) << e.what();
  }
  w[100] = INFINITY;
  EXPECT_THROW(quantize("kmeans2", w, 8, 64), Error);
}

TEST(QuantizeErrors, HadamardBlockMustDivideTheRow) {
  const std::vector<float> w = gaussian(4, 172, 14);
  QuantizeOptions options;
  options.name = "model.layers.0.mlp.down_proj";
  try {
    quantize("quest4", w, 4, 172, options);
    FAIL() << "h128 accepted on 172 columns";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    const std::string m = e.what();
    EXPECT_NE(m.find("model.layers.0.mlp.down_proj"), std::string::npos) << m;
    EXPECT_NE(m.find("172"), std::string::npos) << m;
  }
  EXPECT_NO_THROW(quantize("quest4:h4", w, 4, 172, options));
  EXPECT_THROW(quantize("kmeans2:h8", w, 4, 172, options), Error);
}

TEST(QuantizeErrors, FisherNeedsImportanceOfTheRightSize) {
  const std::vector<float> w = gaussian(16, 64, 15);
  EXPECT_THROW(quantize("kmeans2:fisher", w, 16, 64), Error);
  std::vector<float> m(16 * 63, 1.0f);
  QuantizeOptions options;
  options.importance = m;
  EXPECT_THROW(quantize("kmeans2:fisher", w, 16, 64, options), Error);
  EXPECT_THROW(quantize("int4", w, 16, 65), Error);
}

// Importance moves the codebook towards the weights that matter: the importance-weighted error falls
// and the plain error rises compared with the unweighted fit.
TEST(QuantizeFisher, ImportanceWeightedFitLowersTheWeightedError) {
  const int64_t out = 64, in = 256;
  const std::vector<float> w = student_t(out, in, 16);
  std::vector<float> m(w.size());
  for (int64_t r = 0; r < out; ++r)
    for (int64_t c = 0; c < in; ++c) m[r * in + c] = c < 16 ? 50.0f : 1.0f;  // a few salient input channels
  QuantizeOptions options;
  options.importance = m;
  for (const std::string& base : {"kmeans2", "kmeans2:channel", "kmeans3:lloyd"}) {
    SCOPED_TRACE(base);
    const QuantizedTensor plain = quantize(base, w, out, in);
    const QuantizedTensor fisher = quantize(base + ":fisher", w, out, in, options);
    auto weighted = [&](const QuantizedTensor& q) {
      double e = 0;
      for (size_t i = 0; i < w.size(); ++i) e += m[i] * std::pow(double(q.dequantized[i]) - w[i], 2);
      return e;
    };
    EXPECT_LT(weighted(fisher), weighted(plain));
    EXPECT_NE(fisher.codebooks, plain.codebooks);
  }
}

TEST(QuantizeKMeans, ExactInertiaNeverAboveLloydOnTheSameTensor) {
  const int64_t out = 128, in = 256;
  for (uint64_t seed = 20; seed < 23; ++seed) {
    const std::vector<float> w = student_t(out, in, seed);
    for (int bits = 1; bits <= 4; ++bits) {
      const std::string b = std::to_string(bits);
      const QuantizedTensor exact = quantize("kmeans" + b, w, out, in);
      const QuantizedTensor lloyd = quantize("kmeans" + b + ":lloyd", w, out, in);
      EXPECT_LE(exact.inertia, lloyd.inertia * (1 + 1e-12)) << "bits " << bits;
    }
  }
}

// The GUI cancels the quantization of a layer the user has moved away from: on a 4096 x 14336 layer
// (Llama-3-8B's MLP) the work must stop within a second, in the tensor-wide and per-row k-means fits.
TEST(QuantizeCancel, AKMeansQuantizationOfALargeLayerStopsWithinASecond) {
  const int64_t out = 4096, in = 14336;
  const std::vector<float> w = gaussian(out, in, 11);
  for (const std::string spec : {"kmeans2", "kmeans2:channel"}) {
    for (const int delay_ms : {50, 400}) {
      JobQueue queue;
      std::atomic<bool> started{false};
      auto job = queue.submit("", "quantize", [&](JobContext& context) {
        QuantizeOptions options;
        options.job = &context;
        options.summary_only = true;
        started = true;
        tensor_quantize(format_parse(spec), w, out, in, options);
      });
      while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      const auto cancel = std::chrono::steady_clock::now();
      job->cancel();
      job->wait();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - cancel).count();
      std::cout << spec << " cancelled after " << delay_ms << " ms: stopped in " << seconds << " s\n";
      EXPECT_EQ(job->state(), JobState::Cancelled) << spec;
      EXPECT_LT(seconds, 1.0) << spec << " after " << delay_ms << " ms";
    }
  }
}

}  // namespace
}  // namespace qs
