// QuEST's weight format (`quest<b>`, methods.md §1): block Hadamard rotation, one RMS scale σ per row
// of the rotated weight, clip at α_b·σ, mid-rise grid without a zero level, and the result rotated
// back ("full Hadamard"), so the dequantized weight lives in the original basis. σ is stored as f32.
#include <torch/torch.h>

#include "quant/code_levels.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/pack.hpp"
#include "quest_quantize.hpp"
#include "base/rows_parallel.hpp"

namespace qs {

namespace {

// The rotation, the grid and the rotation back as three passes over the weight: the CUDA kernels and
// the CPU's scalar reference. Returns the rotated copy of the weight.
torch::Tensor quest_passes(const FormatSpec& spec, const QuantizerInput& input, float alpha, QuantizerOutput& q) {
  const int64_t out = input.weight.size(0), in = input.weight.size(1);
  torch::Tensor x = input.weight.clone();
  hadamard_apply(x, spec.hadamard, input.reference);
  const float* xp = x.data_ptr<float>();
  float* sp = q.scales.data_ptr<float>();
  uint8_t* cp = q.codes.data_ptr<uint8_t>();
  float* dp = q.dequant.data_ptr<float>();
#ifdef QS_WITH_CUDA
  if (x.is_cuda()) {
    kernels::quest_quantize_cuda(xp, out, in, spec.bits, alpha, sp, cp, dp);
  } else
#endif
  {
    rows_parallel(out, in, input.reference, [&](int64_t b, int64_t e) {
      kernels::quest_quantize_cpu(xp + b * in, e - b, in, spec.bits, alpha, sp + b, cp + b * in, dp + b * in);
    });
  }
  hadamard_apply(q.dequant, spec.hadamard, input.reference);
  return x;
}

// The CPU's vectorised path: all three steps on a few rows at a time. Returns the rotated weight when
// the normalized values are wanted, else an undefined tensor.
torch::Tensor quest_rows(const FormatSpec& spec, const QuantizerInput& input, float alpha, QuantizerOutput& q) {
  const int64_t out = input.weight.size(0), in = input.weight.size(1);
  const torch::Tensor x = input.want_normalized ? torch::empty_like(input.weight) : torch::Tensor();
  const float* wp = input.weight.data_ptr<float>();
  float* xp = x.defined() ? x.data_ptr<float>() : nullptr;
  float* sp = q.scales.data_ptr<float>();
  uint8_t* cp = q.codes.data_ptr<uint8_t>();
  float* dp = q.dequant.data_ptr<float>();
  rows_parallel(out, in, false, [&](int64_t b, int64_t e) {
    kernels::quest_rows_fast(wp + b * in, e - b, in, spec.hadamard, spec.bits, alpha, sp + b, cp + b * in,
                             dp + b * in, xp ? xp + b * in : nullptr);
  });
  return x;
}

}  // namespace

QuantizerOutput quantizer_quest_run(const FormatSpec& spec, const QuantizerInput& input) {
  const int64_t out = input.weight.size(0), in = input.weight.size(1);
  const float alpha = float(quest_alpha(spec.bits));
  const auto opts = input.weight.options();
  QuantizerOutput q;
  q.scales = torch::empty({out}, opts);
  q.codes = output_empty({out, in}, opts.dtype(torch::kUInt8));
  q.dequant = output_empty({out, in}, opts);
  const bool passes = input.reference || input.weight.is_cuda();
  torch::Tensor x = passes ? quest_passes(spec, input, alpha, q) : quest_rows(spec, input, alpha, q);
  // x is this function's own rotated copy: it becomes the normalized values in place.
  if (input.want_normalized) q.normalized = x.div_(q.scales.unsqueeze(1));
  const std::vector<float> grid = quest_grid(spec);
  q.codebooks = torch::tensor(grid).view({1, int64_t(grid.size())});
  return q;
}

std::vector<float> quest_grid(const FormatSpec& spec) {
  const int levels = spec.levels();
  // α in float, as the quantizer applies it.
  const double step = 2.0 * double(float(quest_alpha(spec.bits))) / (levels - 1);
  std::vector<float> grid;
  for (int c = 0; c < levels; ++c) grid.push_back(float((c - levels / 2 + 0.5) * step));
  return grid;
}

void quantizer_quest_pack(const FormatSpec& spec, const QuantizerOutput& q, PackedWriter& writer) {
  writer.codes(q.codes, spec.bits);
  writer.f32(q.scales);
}

std::vector<PackedSection> quantizer_quest_sections(const FormatSpec& spec, int64_t out, int64_t in) {
  return {{"codes", DType::U8, codes_packed_bytes(uint64_t(out * in), spec.bits)},
          {"scales", DType::F32, 4 * uint64_t(out)}};
}

std::vector<float> quantizer_quest_unpack(const FormatSpec& spec, PackedReader& reader, int64_t out, int64_t in) {
  const std::vector<uint8_t> codes = reader.codes(uint64_t(out * in), spec.bits);
  const std::vector<float> sigma = reader.f32(uint64_t(out));
  const float alpha = float(quest_alpha(spec.bits));
  const int levels = spec.levels();
  std::vector<float> w(codes.size());
  for (int64_t r = 0; r < out; ++r) {
    const float step = 2.0f * alpha * sigma[r] / float(levels - 1);
    for (int64_t c = 0; c < in; ++c) {
      const int n = int(codes[r * in + c]) - (levels / 2 - 1);
      w[r * in + c] = step * (float(n) - 0.5f);
    }
  }
  torch::Tensor t = torch::from_blob(w.data(), {out, in}, torch::kFloat32);
  hadamard_apply(t, spec.hadamard);
  return w;
}

}  // namespace qs
