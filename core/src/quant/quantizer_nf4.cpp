// bitsandbytes' NormalFloat-4 (`nf4`) as a reference baseline: 16 fixed levels (quantiles of a
// Gaussian, with an exact zero) scaled by the fp32 absmax of each block of 64 weights: 4.5 bits per
// weight.
#include <torch/torch.h>

#include "codebook.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/pack.hpp"
#include "base/rows_parallel.hpp"

namespace qs {
namespace {

constexpr int64_t kBlock = 64;
// bitsandbytes' NF4 table (functional.py, create_normal_map), as float32.
constexpr float kLevels[16] = {-1.0f,
                               -0.6961928009986877f,
                               -0.5250730514526367f,
                               -0.39491748809814453f,
                               -0.28444138169288635f,
                               -0.18477343022823334f,
                               -0.09105003625154495f,
                               0.0f,
                               0.07958029955625534f,
                               0.16093020141124725f,
                               0.24611230194568634f,
                               0.33791524171829224f,
                               0.44070982933044434f,
                               0.5626170039176941f,
                               0.7229568362236023f,
                               1.0f};
// An all-zero block still needs a non-zero divisor; its weights all land on the zero level.
constexpr float kScaleEps = 1e-30f;

}  // namespace

QuantizerOutput quantizer_nf4_run(const FormatSpec& spec, const QuantizerInput& input) {
  const torch::Tensor& w = input.weight;
  const int64_t out = w.size(0), in = w.size(1), block = std::min(kBlock, in);
  const int64_t bpr = kernels::blocks_per_row(in, block);
  QuantizerOutput q;
  q.scales = torch::empty({out * bpr}, w.options());
  const float* wp = w.data_ptr<float>();
  float* sp = q.scales.data_ptr<float>();
#ifdef QS_WITH_CUDA
  if (w.is_cuda()) {
    kernels::block_scales_cuda(wp, out, in, block, false, kScaleEps, false, sp);
  } else
#endif
  {
    rows_parallel(out, in, input.reference, [&](int64_t b, int64_t e) {
      (input.reference ? kernels::block_scales_cpu : kernels::block_scales_fast)(wp + b * in, e - b, in, block, false,
                                                                                 kScaleEps, false, sp + b * bpr);
    });
  }
  q.codebooks = torch::from_blob(const_cast<float*>(kLevels), {1, 16}, torch::kFloat32).clone().to(w.device());
  q.codes = output_empty({out, in}, w.options().dtype(torch::kUInt8));
  q.dequant = output_empty({out, in}, w.options());
  codebook_assign(w, q.scales, block, q.codebooks, 0, input.reference, q, input.job);
  if (input.want_normalized) q.normalized = groups_divide(w, q.scales, block);
  return q;
}

void quantizer_nf4_pack(const FormatSpec& spec, const QuantizerOutput& q, PackedWriter& writer) {
  writer.codes(q.codes, 4);
  writer.f32(q.scales);
}

std::vector<PackedSection> quantizer_nf4_sections(const FormatSpec& spec, int64_t out, int64_t in) {
  const int64_t block = std::min(kBlock, in);
  return {{"codes", DType::U8, codes_packed_bytes(uint64_t(out * in), 4)},
          {"scales", DType::F32, 4 * uint64_t(out * kernels::blocks_per_row(in, block))}};
}

std::vector<float> quantizer_nf4_unpack(const FormatSpec& spec, PackedReader& reader, int64_t out, int64_t in) {
  const int64_t block = std::min(kBlock, in), bpr = kernels::blocks_per_row(in, block);
  const std::vector<uint8_t> codes = reader.codes(uint64_t(out * in), 4);
  const std::vector<float> scales = reader.f32(uint64_t(out * bpr));
  std::vector<float> w(codes.size());
  for (int64_t r = 0; r < out; ++r)
    for (int64_t c = 0; c < in; ++c) w[r * in + c] = scales[r * bpr + c / block] * kLevels[codes[r * in + c]];
  return w;
}

}  // namespace qs
