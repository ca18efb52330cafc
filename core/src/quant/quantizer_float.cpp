// The unquantized formats (bf16, f16, f32): a cast to the storage type and back, so that a model
// "quantized" to bf16 is the baseline every other format is compared with.
#include <torch/torch.h>

#include "quant/quantizer.hpp"

namespace qs {
namespace {

torch::Dtype storage_dtype(const FormatSpec& spec) {
  if (spec.dtype == DType::F16) return torch::kFloat16;
  if (spec.dtype == DType::BF16) return torch::kBFloat16;
  return torch::kFloat32;
}

}  // namespace

QuantizerOutput quantizer_float_run(const FormatSpec& spec, const QuantizerInput& input) {
  QuantizerOutput out;
  out.dequant = input.weight.to(storage_dtype(spec)).to(torch::kFloat32);
  if (input.want_normalized) out.normalized = input.weight;
  return out;
}

void quantizer_float_pack(const FormatSpec& spec, const QuantizerOutput& q, PackedWriter& writer) {
  writer.raw(q.dequant.to(storage_dtype(spec)));
}

std::vector<PackedSection> quantizer_float_sections(const FormatSpec& spec, int64_t out, int64_t in) {
  return {{"values", spec.dtype, uint64_t(out * in) * uint64_t(torch::elementSize(storage_dtype(spec)))}};
}

std::vector<float> quantizer_float_unpack(const FormatSpec& spec, PackedReader& reader, int64_t out, int64_t in) {
  const torch::Dtype dtype = storage_dtype(spec);
  const int64_t n = out * in;
  const uint8_t* p = reader.raw(uint64_t(n) * torch::elementSize(dtype));
  const torch::Tensor w = torch::from_blob(const_cast<uint8_t*>(p), {n}, dtype).to(torch::kFloat32).contiguous();
  return {w.data_ptr<float>(), w.data_ptr<float>() + n};
}

}  // namespace qs
