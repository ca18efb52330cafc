// tensor_quantize, layer_quantize and tensor_dequantize: the plain-vector face of the quantizer
// families, with the packed bytes, exact storage, metrics and plot data the GUI and the reports use.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "model/model_state.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU).to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

std::span<const float> span_of(const torch::Tensor& t) { return {t.data_ptr<float>(), size_t(t.numel())}; }

std::string label(const QuantizeOptions& options) { return options.name.empty() ? "weight" : options.name; }

// The histogram of ŵ − w without a tensor of the errors: the range from one pass, then the counts a
// chunk at a time, the same bins histogram_compute gives the whole error vector.
Histogram error_histogram(std::span<const float> w, std::span<const float> dq, int bins) {
  constexpr size_t kChunk = size_t(1) << 20;
  std::vector<float> error(std::min(kChunk, w.size()));
  const auto chunk_errors = [&](size_t begin) {
    const size_t n = std::min(kChunk, w.size() - begin);
    for (size_t i = 0; i < n; ++i) error[i] = dq[begin + i] - w[begin + i];
    return std::span<const float>(error.data(), n);
  };
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (size_t begin = 0; begin < w.size(); begin += kChunk)
    for (const float e : chunk_errors(begin))
      if (std::isfinite(e)) lo = std::min<double>(lo, e), hi = std::max<double>(hi, e);
  if (lo > hi) lo = hi = 0;
  if (lo == hi) lo -= 0.5, hi += 0.5;
  Histogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(size_t(bins), 0.0);
  for (size_t begin = 0; begin < w.size(); begin += kChunk) {
    const Histogram part = histogram_compute(chunk_errors(begin), bins, lo, hi);
    for (size_t b = 0; b < h.counts.size(); ++b) h.counts[b] += part.counts[b];
  }
  return h;
}

QuantizerInput quantizer_input(const torch::Tensor& weight, const torch::Tensor& importance,
                               const QuantizeOptions& options) {
  QuantizerInput input;
  input.weight = weight;
  input.importance = importance;
  input.reference = options.reference;
  input.seed = options.seed;
  input.name = options.name;
  input.job = options.job;
  return input;
}

// Quantizes a float32 [out, in] weight on its device. Memory beyond the weight: the quantizer's
// outputs (dequantized and normalized weights, codes), released as soon as what is kept is taken.
QuantizedTensor quantized_tensor_make(const FormatSpec& spec, QuantizerInput input, const QuantizeOptions& options) {
  const torch::Tensor weight = input.weight;
  const int64_t out = weight.size(0), in = weight.size(1);
  input.want_normalized = true;
  QuantizerOutput q = quantizer_run(spec, input);
  if (options.job) options.job->check_cancelled();

  QuantizedTensor r;
  r.format = spec;
  r.out = out;
  r.in = in;
  if (q.codes.defined()) {
    // Counted here rather than by torch::bincount, which wants the codes as int64: eight bytes each.
    const torch::Tensor codes = q.codes.to(torch::kCPU).contiguous();
    const uint8_t* c = codes.data_ptr<uint8_t>();
    r.occupancy.assign(size_t(spec.levels()), 0);
    for (int64_t i = 0; i < codes.numel(); ++i) ++r.occupancy[c[i]];
    if (!options.summary_only) r.codes.assign(c, c + codes.numel());
  }
  if (q.codebooks.defined()) r.codebooks = to_vector(q.codebooks);
  r.inertia = q.inertia;
  r.storage_bits = format_storage_bits(spec, out, in);
  if (!options.summary_only) {
    if (q.scales.defined()) r.scales = to_vector(q.scales);
    if (q.zero_points.defined()) {
      const torch::Tensor z = q.zero_points.to(torch::kCPU).contiguous();
      r.zero_points.assign(z.data_ptr<uint8_t>(), z.data_ptr<uint8_t>() + z.numel());
    }
    PackedWriter writer;
    quantizer_family(spec.family).pack(spec, q, writer);
    r.packed = std::move(writer.bytes);
  }
  q.codes = q.scales = q.zero_points = torch::Tensor();

  const int bins = std::max(1, options.histogram_bins);
  if (q.codebooks.defined()) r.levels.assign(r.codebooks.begin(), r.codebooks.begin() + q.codebooks.size(1));
  {
    const torch::Tensor normalized = q.normalized.to(torch::kCPU, torch::kFloat32).contiguous();
    q.normalized = torch::Tensor();
    const std::span<const float> values = span_of(normalized);
    double lo = *std::min_element(values.begin(), values.end());
    double hi = *std::max_element(values.begin(), values.end());
    for (double level : r.levels) {
      lo = std::min(lo, level);
      hi = std::max(hi, level);
    }
    r.normalized_histogram = histogram_compute(values, bins, lo, hi);
  }
  const torch::Tensor w = weight.to(torch::kCPU).contiguous();
  const torch::Tensor dq = q.dequant.to(torch::kCPU).contiguous();
  q.dequant = torch::Tensor();
  if (options.job) options.job->check_cancelled();
  r.metrics = metrics_compute(span_of(w), span_of(dq), r.storage_bits);
  r.weight_histogram = histogram_compute(span_of(w), bins);
  r.error_histogram = error_histogram(span_of(w), span_of(dq), bins);
  if (!options.summary_only) r.dequantized.assign(dq.data_ptr<float>(), dq.data_ptr<float>() + dq.numel());
  return r;
}

torch::Device device_of(const QuantizeOptions& options) {
  if (options.device == Device::Cuda && !cuda_available())
    throw Error(ErrorKind::Invalid, label(options) + ": CUDA is not available in this build or on this machine");
  return options.device == Device::Cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

}  // namespace

QuantizedTensor tensor_quantize(const FormatSpec& spec, std::span<const float> weight, int64_t out, int64_t in,
                                const QuantizeOptions& options) {
  if (out <= 0 || in <= 0 || weight.size() != size_t(out * in))
    throw Error(ErrorKind::Invalid, label(options) + ": " + std::to_string(weight.size()) +
                                        " values do not form a [" + std::to_string(out) + ", " + std::to_string(in) +
                                        "] weight");
  if (!options.importance.empty() && options.importance.size() != weight.size())
    throw Error(ErrorKind::Invalid, label(options) + ": importance has " + std::to_string(options.importance.size()) +
                                        " values for " + std::to_string(weight.size()) + " weights");
  const torch::Device device = device_of(options);
  // The quantizers never write to their input, so on the CPU the caller's values are used in place.
  auto from = [&](std::span<const float> v) {
    return torch::from_blob(const_cast<float*>(v.data()), {out, in}, torch::kFloat32).to(device);
  };
  return quantized_tensor_make(
      spec, quantizer_input(from(weight), options.importance.empty() ? torch::Tensor() : from(options.importance), options),
      options);
}

QuantizerInput layer_quantizer_input(const Model& model, const std::string& layer, const QuantizeOptions& options) {
  const torch::Tensor& stored = model.state().tensor(layer + ".weight");
  if (stored.dim() != 2) throw Error(ErrorKind::Invalid, layer + ": not a linear layer's weight");
  if (!options.importance.empty() && options.importance.size() != size_t(stored.numel()))
    throw Error(ErrorKind::Invalid, label(options) + ": importance has " + std::to_string(options.importance.size()) +
                                        " values for " + std::to_string(stored.numel()) + " weights");
  // A float32 model's weight is used as it is; another dtype is converted once.
  const torch::Tensor weight = stored.detach().to(torch::kFloat32).contiguous();
  const torch::Tensor importance =
      options.importance.empty()
          ? torch::Tensor()
          : torch::from_blob(const_cast<float*>(options.importance.data()), weight.sizes(), torch::kFloat32)
                .to(weight.device());
  return quantizer_input(weight, importance, options);
}

QuantizedTensor layer_quantize(const Model& model, const std::string& layer, const FormatSpec& spec,
                               const QuantizeOptions& options) {
  return quantized_tensor_make(spec, layer_quantizer_input(model, layer, options), options);
}

std::vector<float> tensor_dequantize(const FormatSpec& spec, std::span<const uint8_t> packed, int64_t out,
                                     int64_t in) {
  if (out <= 0 || in <= 0) throw Error(ErrorKind::Invalid, "packed tensor: bad shape");
  PackedReader reader(packed.data(), packed.size());
  std::vector<float> w = quantizer_family(spec.family).unpack(spec, reader, out, in);
  reader.finish();
  return w;
}

}  // namespace qs
