// PackedLinear: which formats the decode kernels take, the repack of a quantizer's codes, and the
// product (kernel for ≤ 16 rows on CUDA, else a transient dense weight).
#include "model/packed_linear.hpp"

#include <algorithm>
#include <mutex>

#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

// Columns per scale in the kernels' terms, or 0 when the format has no single level table.
int64_t packed_block(const FormatSpec& spec, int64_t in) {
  switch (spec.family) {
    case QuantFamily::KMeans:
      return spec.granularity == Granularity::Block ? std::min(spec.group, in) : 0;
    case QuantFamily::Int:
      if (spec.asymmetric) return 0;
      return spec.granularity == Granularity::Group ? std::min(spec.group, in) : in;
    case QuantFamily::Quest:
      return in;
    default:
      return 0;
  }
}

#ifdef QS_WITH_CUDA
// One workspace for every packed layer's split sums: products run one after another on the default
// stream, so they can share it. Grown under a lock; kernels leave it zeroed.
void* workspace_get(uint64_t bytes) {
  static std::mutex mutex;
  static torch::Tensor workspace;
  std::lock_guard lock(mutex);
  if (!workspace.defined() || uint64_t(workspace.numel()) < bytes)
    workspace = torch::zeros({int64_t(bytes)}, torch::TensorOptions().dtype(torch::kUInt8).device(torch::kCUDA));
  return workspace.data_ptr();
}
#endif

}  // namespace

bool PackedLinear::supports(const FormatSpec& spec, int64_t out, int64_t in) {
  const int64_t block = packed_block(spec, in);
  return block > 0 && kernels::gemv_shape_unsupported({out, in, spec.bits, block})[0] == '\0';
}

std::shared_ptr<const PackedLinear> PackedLinear::create(const FormatSpec& spec, const QuantizerOutput& q,
                                                         int64_t out, int64_t in) {
  if (!supports(spec, out, in))
    throw Error(ErrorKind::Invalid, format_print(spec) + " cannot be held packed");
  auto layer = std::make_shared<PackedLinear>();
  layer->shape_ = {out, in, spec.bits, packed_block(spec, in)};
  layer->hadamard_ = spec.hadamard > 1 ? spec.hadamard : 0;
  const torch::Tensor codes = q.codes.contiguous();
  // Integer :tensor has one scale; the kernels want one per row at least.
  torch::Tensor scales = q.scales.to(torch::kFloat32).reshape({-1});
  if (scales.numel() == 1) scales = scales.expand({out}).contiguous();
  if (spec.family == QuantFamily::Quest) {
    layer->row_scales_ = scales.contiguous();
    scales = torch::ones_like(scales);
  }
  scales = scales.contiguous();
  const auto bytes = codes.options().dtype(torch::kUInt8);
  layer->records_ = torch::empty({int64_t(layer->shape_.record_bytes())}, bytes);
  layer->scale_records_ = torch::empty({int64_t(layer->shape_.scale_record_bytes() / 2)}, bytes.dtype(torch::kInt16));
  layer->levels_ = q.codebooks.to(codes.device(), torch::kFloat32).reshape({-1}).contiguous();
  auto* scale_records = reinterpret_cast<uint16_t*>(layer->scale_records_.data_ptr<int16_t>());
#ifdef QS_WITH_CUDA
  if (codes.is_cuda()) {
    kernels::gemv_repack_cuda(layer->shape_, codes.data_ptr<uint8_t>(), scales.data_ptr<float>(),
                              layer->records_.data_ptr<uint8_t>(), scale_records, nullptr);
    return layer;
  }
#endif
  kernels::gemv_repack_cpu(layer->shape_, codes.data_ptr<uint8_t>(), scales.data_ptr<float>(),
                           layer->records_.data_ptr<uint8_t>(), scale_records);
  return layer;
}

torch::Tensor PackedLinear::dequantize() const {
  torch::Tensor w = torch::empty({shape_.rows, shape_.cols}, levels_.options());
  const auto* scale_records = reinterpret_cast<const uint16_t*>(scale_records_.data_ptr<int16_t>());
#ifdef QS_WITH_CUDA
  if (w.is_cuda()) {
    kernels::gemv_dequantize_cuda(shape_, records_.data_ptr<uint8_t>(), scale_records, levels_.data_ptr<float>(),
                                  w.data_ptr<float>(), nullptr);
    return row_scales_.defined() ? w.mul_(row_scales_.unsqueeze(1)) : w;
  }
#endif
  kernels::gemv_dequantize_cpu(shape_, records_.data_ptr<uint8_t>(), scale_records, levels_.data_ptr<float>(),
                               w.data_ptr<float>());
  return row_scales_.defined() ? w.mul_(row_scales_.unsqueeze(1)) : w;
}

torch::Tensor PackedLinear::forward(const torch::Tensor& input) const {
  std::vector<int64_t> sizes = input.sizes().vec();
  torch::Tensor x = input.reshape({-1, shape_.cols});
  if (hadamard_ > 0) {
    x = x.to(torch::kFloat32).contiguous().clone();
    hadamard_apply(x, hadamard_);
  }
  sizes.back() = shape_.rows;
#ifdef QS_WITH_CUDA
  const int64_t batch = x.size(0);
  if (x.is_cuda() && batch >= 1 && batch <= kernels::kGemvMaxBatch) {
    torch::Tensor padded = torch::zeros({batch, shape_.padded_cols()}, x.options().dtype(torch::kBFloat16));
    padded.narrow(1, 0, shape_.cols).copy_(x);
    torch::Tensor y = torch::empty({batch, shape_.rows}, x.options().dtype(torch::kFloat32));
    kernels::gemv_cuda(shape_, records_.data_ptr<uint8_t>(),
                       reinterpret_cast<const uint16_t*>(scale_records_.data_ptr<int16_t>()), levels_.data_ptr<float>(),
                       reinterpret_cast<const uint16_t*>(padded.data_ptr()), int(batch), y.data_ptr<float>(),
                       workspace_get(kernels::gemv_workspace_bytes(shape_, int(batch))), nullptr);
    if (row_scales_.defined()) y.mul_(row_scales_);
    return y.to(input.scalar_type()).reshape(sizes);
  }
#endif
  return torch::linear(x.to(input.scalar_type()), dequantize().to(input.scalar_type())).reshape(sizes);
}

uint64_t PackedLinear::bytes() const {
  return uint64_t(records_.nbytes() + scale_records_.nbytes() + levels_.nbytes() +
                  (row_scales_.defined() ? row_scales_.nbytes() : 0));
}

}  // namespace qs
