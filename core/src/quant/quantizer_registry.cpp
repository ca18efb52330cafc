// The table of quantizer families and the checks every family shares (finite weights, a Hadamard
// block that divides the rows, importance where `:fisher` asks for it).
#include <torch/torch.h>

#include <cmath>

#include "base/buffer_cache.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

const QuantizerFamily kFamilies[] = {
    {QuantFamily::Float, quantizer_float_run, quantizer_float_pack, quantizer_float_unpack,
     quantizer_float_sections},
    {QuantFamily::Int, quantizer_int_run, quantizer_int_pack, quantizer_int_unpack,
     quantizer_int_sections},
    {QuantFamily::Quest, quantizer_quest_run, quantizer_quest_pack, quantizer_quest_unpack,
     quantizer_quest_sections},
    {QuantFamily::KMeans, quantizer_kmeans_run, quantizer_kmeans_pack, quantizer_kmeans_unpack,
     quantizer_kmeans_sections},
    {QuantFamily::NF4, quantizer_nf4_run, quantizer_nf4_pack, quantizer_nf4_unpack,
     quantizer_nf4_sections},
    {QuantFamily::Gguf, quantizer_gguf_run, quantizer_gguf_pack, quantizer_gguf_unpack,
     quantizer_gguf_sections},
};

std::string label(const QuantizerInput& input) { return input.name.empty() ? "weight" : input.name; }

// NaN propagates through min and max and an infinity is one of them, so two reductions answer what
// isfinite(w).sum() would, without a mask as large as the weight (2.5 s of a 4096 x 14336 layer on 2
// cores went to that mask and its int64 sum).
bool finite_all(const torch::Tensor& w) {
  const auto [lo, hi] = torch::aminmax(w);
  const torch::Tensor both = torch::stack({lo, hi}).cpu();
  const float* v = both.data_ptr<float>();
  return std::isfinite(v[0]) && std::isfinite(v[1]);
}

void hadamard_check(const FormatSpec& spec, int64_t in, const QuantizerInput& input) {
  const int64_t h = spec.hadamard;
  if (h <= 1 || in % h == 0) return;
  int64_t largest = 1;
  while (largest * 2 <= in && in % (largest * 2) == 0) largest *= 2;
  throw Error(ErrorKind::Invalid, label(input) + ": format " + format_print(spec) + ": Hadamard block " +
                                      std::to_string(h) + " does not divide in_features " + std::to_string(in) +
                                      " (the largest power of two that does is " + std::to_string(largest) + ")");
}

}  // namespace

torch::Tensor output_empty(at::IntArrayRef sizes, const torch::TensorOptions& options) {
  if (options.device().is_cpu()) return buffer_empty(sizes, options.dtype().toScalarType());
  return torch::empty(sizes, options);
}

const QuantizerFamily& quantizer_family(QuantFamily family) {
  for (const QuantizerFamily& f : kFamilies)
    if (f.family == family) return f;
  throw Error(ErrorKind::Invalid, "no quantizer for this format family");
}

std::vector<PackedSection> packed_sections(const FormatSpec& spec, int64_t out, int64_t in) {
  return quantizer_family(spec.family).sections(spec, out, in);
}

bool format_rows_independent(const FormatSpec& spec) {
  switch (spec.family) {
    case QuantFamily::Float:
    case QuantFamily::Quest:
    case QuantFamily::NF4:
    case QuantFamily::Gguf:
      return true;
    case QuantFamily::Int:
      return spec.granularity != Granularity::Tensor;
    case QuantFamily::KMeans:
      return false;
  }
  return false;
}

QuantizerOutput quantizer_run(const FormatSpec& spec, const QuantizerInput& input) {
  const torch::Tensor& w = input.weight;
  if (w.dim() != 2 || w.scalar_type() != torch::kFloat32 || !w.is_contiguous())
    throw Error(ErrorKind::Invalid, label(input) + ": quantizers take a contiguous float32 [out, in] weight");
  if (w.numel() == 0) throw Error(ErrorKind::Invalid, label(input) + ": empty weight");
  if (!input.trusted && !finite_all(w)) {
    const int64_t bad = w.numel() - torch::isfinite(w).sum().item<int64_t>();
    throw Error(ErrorKind::Numeric, label(input) + ": " + std::to_string(bad) +
                                        " weights are NaN or Inf; quantization needs finite weights");
  }
  if (spec.family == QuantFamily::Quest || spec.family == QuantFamily::KMeans) hadamard_check(spec, w.size(1), input);
  if (const std::string problem = format_shape_problem(spec, w.size(0), w.size(1)); !problem.empty())
    throw Error(ErrorKind::Invalid, label(input) + ": format " + format_print(spec) + ": " + problem);
  if (spec.family == QuantFamily::KMeans && input.codebooks.defined()) {
    const int64_t n = format_codebook_count(spec, w.size(0), w.size(1));
    if (input.codebooks.dim() != 2 || input.codebooks.size(0) != n || input.codebooks.size(1) != spec.levels())
      throw Error(ErrorKind::Invalid, label(input) + ": pinned codebooks must be [" + std::to_string(n) + ", " +
                                          std::to_string(spec.levels()) + "] for format " + format_print(spec));
  } else if (spec.family == QuantFamily::KMeans && spec.fisher) {
    const torch::Tensor& m = input.importance;
    if (!m.defined())
      throw Error(ErrorKind::Invalid, label(input) + ": format " + format_print(spec) +
                                          " needs importance (e.g. a calibration text: --calib FILE)");
    if (m.sizes() != w.sizes())
      throw Error(ErrorKind::Invalid, label(input) + ": importance shape does not match the weight");
    if (!torch::isfinite(m).all().item<bool>() || (m < 0).any().item<bool>())
      throw Error(ErrorKind::Numeric, label(input) + ": importance must be finite and non-negative");
  }
  return quantizer_family(spec.family).run(spec, input);
}

}  // namespace qs
