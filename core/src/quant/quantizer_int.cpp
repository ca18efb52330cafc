// Round-to-nearest integer formats (`int<b>`): symmetric with zero and 2^b − 1 levels as in 1-Bit
// Wonder's baseline, or asymmetric with a b-bit zero point; absmax or MSE-searched clip; one scale
// per tensor, row or group. 1 bit is sign × absmean. The arithmetic is kernels/int_quantize.hpp.
#include <torch/torch.h>

#include "int_quantize.hpp"
#include "quant/code_levels.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/pack.hpp"
#include "base/rows_parallel.hpp"

namespace qs {
namespace {

struct IntLayout {
  int64_t rows, cols, group, groups_per_row;
};

// Tensor granularity is one group over the whole tensor, which the kernels see as a single row.
IntLayout int_layout(const FormatSpec& spec, int64_t out, int64_t in) {
  const bool whole = spec.granularity == Granularity::Tensor;
  IntLayout l;
  l.rows = whole ? 1 : out;
  l.cols = whole ? out * in : in;
  l.group = spec.granularity == Granularity::Group ? std::min(spec.group, l.cols) : l.cols;
  l.groups_per_row = kernels::int_groups_per_row(l.cols, l.group);
  return l;
}

int int_qmax(int bits) { return (1 << (bits - 1)) - 1; }

}  // namespace

std::vector<float> int_grid(const FormatSpec& spec) {
  std::vector<float> grid;
  if (spec.bits == 1) return {-1.0f, 1.0f};
  const int levels = spec.asymmetric ? (1 << spec.bits) : (1 << spec.bits) - 1;
  for (int c = 0; c < levels; ++c) grid.push_back(float(spec.asymmetric ? c : c - int_qmax(spec.bits)));
  return grid;
}

QuantizerOutput quantizer_int_run(const FormatSpec& spec, const QuantizerInput& input) {
  const torch::Tensor& w = input.weight;
  const int64_t out = w.size(0), in = w.size(1);
  const IntLayout l = int_layout(spec, out, in);
  const auto opts = w.options();
  QuantizerOutput q;
  q.scales = torch::empty({l.rows * l.groups_per_row}, opts);
  if (spec.asymmetric) q.zero_points = torch::empty({l.rows * l.groups_per_row}, opts.dtype(torch::kUInt8));
  q.codes = output_empty({out, in}, opts.dtype(torch::kUInt8));
  q.dequant = output_empty({out, in}, opts);
  const float* wp = w.data_ptr<float>();
  float* sp = q.scales.data_ptr<float>();
  uint8_t* zp = spec.asymmetric ? q.zero_points.data_ptr<uint8_t>() : nullptr;
  uint8_t* cp = q.codes.data_ptr<uint8_t>();
  float* dp = q.dequant.data_ptr<float>();
#ifdef QS_WITH_CUDA
  if (w.is_cuda()) {
    kernels::int_scales_cuda(wp, l.rows, l.cols, l.group, spec.bits, spec.asymmetric, spec.mse_clip, sp, zp);
    kernels::int_quantize_cuda(wp, l.rows, l.cols, l.group, spec.bits, spec.asymmetric, sp, zp, cp, dp);
  } else
#endif
  {
    rows_parallel(l.rows, l.cols, input.reference, [&](int64_t b, int64_t e) {
      const int64_t g = b * l.groups_per_row;
      const float* wb = wp + b * l.cols;
      uint8_t* zb = zp ? zp + g : nullptr;
      if (!input.reference)
        return kernels::int_quantize_fast(wb, e - b, l.cols, l.group, spec.bits, spec.asymmetric, spec.mse_clip,
                                          sp + g, zb, cp + b * l.cols, dp + b * l.cols);
      kernels::int_scales_cpu(wb, e - b, l.cols, l.group, spec.bits, spec.asymmetric, spec.mse_clip, sp + g, zb);
      kernels::int_quantize_cpu(wb, e - b, l.cols, l.group, spec.bits, spec.asymmetric, sp + g, zb, cp + b * l.cols,
                                dp + b * l.cols);
    });
  }
  const std::vector<float> grid = int_grid(spec);
  q.codebooks = torch::tensor(grid).view({1, int64_t(grid.size())});
  if (input.want_normalized) {
    const torch::Tensor zero = spec.asymmetric ? q.zero_points.to(torch::kFloat32) : torch::Tensor();
    q.normalized = groups_divide(w.reshape({l.rows, l.cols}), q.scales, l.group, zero).reshape({out, in});
  }
  return q;
}

void quantizer_int_pack(const FormatSpec& spec, const QuantizerOutput& q, PackedWriter& writer) {
  writer.codes(q.codes, spec.bits);
  writer.bf16(q.scales);
  if (spec.asymmetric) writer.codes(q.zero_points, spec.bits);
}

std::vector<PackedSection> quantizer_int_sections(const FormatSpec& spec, int64_t out, int64_t in) {
  const IntLayout l = int_layout(spec, out, in);
  const uint64_t groups = uint64_t(l.rows * l.groups_per_row);
  std::vector<PackedSection> s = {{"codes", DType::U8, codes_packed_bytes(uint64_t(out * in), spec.bits)},
                                  {"scales", DType::BF16, 2 * groups}};
  if (spec.asymmetric) s.push_back({"zero_points", DType::U8, codes_packed_bytes(groups, spec.bits)});
  return s;
}

std::vector<float> quantizer_int_unpack(const FormatSpec& spec, PackedReader& reader, int64_t out, int64_t in) {
  const IntLayout l = int_layout(spec, out, in);
  const uint64_t groups = uint64_t(l.rows * l.groups_per_row);
  const std::vector<uint8_t> codes = reader.codes(uint64_t(out * in), spec.bits);
  const std::vector<float> scales = reader.bf16(groups);
  const std::vector<uint8_t> zeros = spec.asymmetric ? reader.codes(groups, spec.bits) : std::vector<uint8_t>();
  std::vector<float> w(codes.size());
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t c = 0; c < l.cols; ++c) {
      const int64_t i = r * l.cols + c, g = r * l.groups_per_row + c / l.group;
      w[i] = kernels::int_dequantize(codes[i], scales[g], zeros.empty() ? 0 : zeros[g], spec.bits, spec.asymmetric);
    }
  return w;
}

}  // namespace qs
