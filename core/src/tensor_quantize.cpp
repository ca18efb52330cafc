// tensor_quantize and tensor_dequantize: the plain-vector face of the quantizer families, with the
// packed bytes, exact storage, metrics and plot data the GUI and the reports use.
#include <torch/torch.h>

#include <algorithm>

#include "quantizer.hpp"
#include "quantscope/error.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU).to(torch::kFloat32).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

std::string label(const QuantizeOptions& options) { return options.name.empty() ? "weight" : options.name; }

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
  if (options.device == Device::Cuda && !cuda_available())
    throw Error(ErrorKind::Invalid, label(options) + ": CUDA is not available in this build or on this machine");
  const torch::Device device = options.device == Device::Cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  auto from = [&](std::span<const float> v) {
    return torch::from_blob(const_cast<float*>(v.data()), {out, in}, torch::kFloat32).to(device, false, true);
  };
  QuantizerInput input;
  input.weight = from(weight);
  if (!options.importance.empty()) input.importance = from(options.importance);
  input.reference = options.reference;
  input.want_normalized = true;
  input.seed = options.seed;
  input.name = options.name;
  const QuantizerOutput q = quantizer_run(spec, input);

  QuantizedTensor r;
  r.format = spec;
  r.out = out;
  r.in = in;
  r.dequantized = to_vector(q.dequant);
  if (q.codes.defined()) {
    const torch::Tensor codes = q.codes.to(torch::kCPU).contiguous();
    r.codes.assign(codes.data_ptr<uint8_t>(), codes.data_ptr<uint8_t>() + codes.numel());
    const torch::Tensor counts = torch::bincount(codes.view(-1).to(torch::kLong), {}, spec.levels());
    r.occupancy.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
  }
  if (q.scales.defined()) r.scales = to_vector(q.scales);
  if (q.zero_points.defined()) {
    const torch::Tensor z = q.zero_points.to(torch::kCPU).contiguous();
    r.zero_points.assign(z.data_ptr<uint8_t>(), z.data_ptr<uint8_t>() + z.numel());
  }
  if (q.codebooks.defined()) r.codebooks = to_vector(q.codebooks);
  r.inertia = q.inertia;
  PackedWriter writer;
  quantizer_family(spec.family).pack(spec, q, writer);
  r.packed = std::move(writer.bytes);
  r.storage_bits = format_storage_bits(spec, out, in);
  r.metrics = metrics_compute(weight, r.dequantized, r.storage_bits);

  const int bins = std::max(1, options.histogram_bins);
  r.weight_histogram = histogram_compute(weight, bins);
  if (q.codebooks.defined()) r.levels.assign(r.codebooks.begin(), r.codebooks.begin() + q.codebooks.size(1));
  const std::vector<float> normalized = to_vector(q.normalized);
  double lo = *std::min_element(normalized.begin(), normalized.end());
  double hi = *std::max_element(normalized.begin(), normalized.end());
  for (double level : r.levels) {
    lo = std::min(lo, level);
    hi = std::max(hi, level);
  }
  r.normalized_histogram = histogram_compute(normalized, bins, lo, hi);
  std::vector<float> error(weight.size());
  for (size_t i = 0; i < error.size(); ++i) error[i] = r.dequantized[i] - weight[i];
  r.error_histogram = histogram_compute(error, bins);
  return r;
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
