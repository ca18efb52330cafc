// PackedLinear: which formats the decode kernels take, the repack of a quantizer's or a checkpoint's
// codes, and the product (kernel for ≤ 16 rows on CUDA, else a transient dense weight, plus the
// per-group offsets of the formats that have them).
#include "model/packed_linear.hpp"

#include <algorithm>
#include <mutex>

#include "ggml_quants.hpp"
#include "quant/code_levels.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

kernels::GgmlType ggml_type(const FormatSpec& spec) { return static_cast<kernels::GgmlType>(spec.gguf); }

// Columns per scale in the kernels' terms, or 0 when the format has no single level table.
int64_t packed_block(const FormatSpec& spec, int64_t in) {
  switch (spec.family) {
    case QuantFamily::KMeans:
      return spec.granularity == Granularity::Block ? std::min(spec.group, in) : 0;
    case QuantFamily::Int:
      return spec.granularity == Granularity::Group ? std::min(spec.group, in) : in;
    case QuantFamily::Quest:
      return in;
    case QuantFamily::Gguf:
      return kernels::ggml_sub_block(ggml_type(spec));
    default:
      return 0;
  }
}

// The code width in the records: llama.cpp's 5- and 6-bit codes take the kernels' 8-bit layout.
int packed_bits(const FormatSpec& spec) { return spec.family == QuantFamily::Gguf && spec.bits > 4 ? 8 : spec.bits; }

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

torch::Tensor floats_tensor(const std::vector<float>& values) {
  return torch::tensor(values, torch::TensorOptions().dtype(torch::kFloat32));
}

torch::Tensor codes_tensor(const std::vector<uint8_t>& codes) {
  return torch::from_blob(const_cast<uint8_t*>(codes.data()), {int64_t(codes.size())}, torch::kUInt8).clone();
}

}  // namespace

bool PackedLinear::supports(const FormatSpec& spec, int64_t out, int64_t in) {
  const int64_t block = packed_block(spec, in);
  return block > 0 && kernels::gemv_shape_unsupported({out, in, packed_bits(spec), block})[0] == '\0';
}

std::shared_ptr<const PackedLinear> PackedLinear::create(const FormatSpec& spec, const QuantizerOutput& q,
                                                         int64_t out, int64_t in) {
  return create_on(spec, q, out, in, q.codes.device());
}

std::shared_ptr<const PackedLinear> PackedLinear::stored_create(const FormatSpec& spec,
                                                                const std::vector<uint8_t>& bytes, int64_t out,
                                                                int64_t in, torch::Device device) {
  // The sections in their stored order (docs/quantization.md), as the quantizer would have output them.
  QuantizerOutput q;
  PackedReader reader(bytes.data(), bytes.size());
  for (const PackedSection& section : packed_sections(spec, out, in)) {
    if (section.name == "codes") {
      q.codes = codes_tensor(reader.codes(uint64_t(out * in), spec.bits)).view({out, in});
    } else if (section.name == "zero_points") {
      q.zero_points = codes_tensor(reader.codes(uint64_t(q.scales.numel()), spec.bits));
    } else if (section.name == "blocks") {
      q.blocks = torch::from_blob(const_cast<uint8_t*>(reader.raw(section.bytes)), {out, int64_t(section.bytes) / out},
                                  torch::kUInt8);
    } else {
      const std::vector<float> v =
          section.dtype == DType::BF16 ? reader.bf16(section.bytes / 2) : reader.f32(section.bytes / 4);
      (section.name == "codebooks" ? q.codebooks : q.scales) = floats_tensor(v);
    }
  }
  reader.finish();
  if (spec.family == QuantFamily::Int) q.codebooks = floats_tensor(int_grid(spec));
  if (spec.family == QuantFamily::Quest) q.codebooks = floats_tensor(quest_grid(spec));
  if (q.codes.defined()) q.codes = q.codes.to(device);
  return create_on(spec, q, out, in, device);
}

std::shared_ptr<const PackedLinear> PackedLinear::create_on(const FormatSpec& spec, const QuantizerOutput& q,
                                                            int64_t out, int64_t in, torch::Device device) {
  if (!supports(spec, out, in))
    throw Error(ErrorKind::Invalid, format_print(spec) + " cannot be held packed");
  auto layer = std::make_shared<PackedLinear>();
  layer->shape_ = {out, in, packed_bits(spec), packed_block(spec, in)};
  layer->hadamard_ = spec.hadamard > 1 ? spec.hadamard : 0;
  const auto floats = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  torch::Tensor codes, scales, levels, offsets;
  if (spec.family == QuantFamily::Gguf) {
    // ggml's blocks (on the CPU) as codes, sub-block scales and offsets.
    const kernels::GgmlType type = ggml_type(spec);
    const int64_t groups = out * (in / layer->shape_.block);
    const torch::Tensor blocks = q.blocks.contiguous();
    codes = torch::empty({out, in}, torch::kUInt8);
    scales = torch::empty({groups}, torch::kFloat32);
    offsets = torch::empty({groups}, torch::kFloat32);
    ggml_levels_read(type, blocks.data_ptr<uint8_t>(), out, in, codes.data_ptr<uint8_t>(), scales.data_ptr<float>(),
                     offsets.data_ptr<float>());
    codes = codes.to(device);
    levels = floats_tensor(kernels::ggml_grid(type));
    if (!offsets.any().item<bool>()) offsets = torch::Tensor();
  } else {
    codes = q.codes.contiguous();
    // Integer :tensor has one scale (and zero point); the kernels want one per row at least.
    scales = q.scales.to(torch::kFloat32).reshape({-1});
    if (scales.numel() == 1) scales = scales.expand({out});
    levels = q.codebooks;
    // ŵ = s·(code − z): the offset of each group is −s·z, exact in float32 (a bf16 times a b-bit integer).
    if (spec.family == QuantFamily::Int && spec.asymmetric)
      offsets = -(q.scales.to(torch::kFloat32).reshape({-1}) * q.zero_points.to(torch::kFloat32).reshape({-1}))
                     .expand({scales.numel()});
  }
  if (offsets.defined()) layer->offsets_ = offsets.reshape({out, -1}).to(floats).contiguous();
  if (spec.family == QuantFamily::Quest) {
    layer->row_scales_ = scales.to(floats).contiguous();
    scales = torch::ones_like(scales);
  }
  scales = scales.to(floats).contiguous();
  // The kernels read 2^bits levels; codes held wider than their format never reach the padding.
  levels = levels.to(floats).reshape({-1});
  layer->levels_ = torch::zeros({int64_t(1) << layer->shape_.bits}, floats);
  layer->levels_.narrow(0, 0, levels.numel()).copy_(levels);
  const auto bytes = floats.dtype(torch::kUInt8);
  layer->records_ = torch::empty({int64_t(layer->shape_.record_bytes())}, bytes);
  layer->scale_records_ = torch::empty({int64_t(layer->shape_.scale_record_bytes() / 2)}, bytes.dtype(torch::kInt16));
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

torch::Tensor PackedLinear::table_dequantize() const {
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
  torch::Tensor y;
#ifdef QS_WITH_CUDA
  const int64_t batch = x.size(0);
  if (x.is_cuda() && batch >= 1 && batch <= kernels::kGemvMaxBatch) {
    torch::Tensor padded = torch::zeros({batch, shape_.padded_cols()}, x.options().dtype(torch::kBFloat16));
    padded.narrow(1, 0, shape_.cols).copy_(x);
    y = torch::empty({batch, shape_.rows}, x.options().dtype(torch::kFloat32));
    kernels::gemv_cuda(shape_, records_.data_ptr<uint8_t>(),
                       reinterpret_cast<const uint16_t*>(scale_records_.data_ptr<int16_t>()), levels_.data_ptr<float>(),
                       reinterpret_cast<const uint16_t*>(padded.data_ptr()), int(batch), y.data_ptr<float>(),
                       workspace_get(kernels::gemv_workspace_bytes(shape_, int(batch))), nullptr);
    if (row_scales_.defined()) y.mul_(row_scales_);
  }
#endif
  if (!y.defined()) y = torch::linear(x.to(input.scalar_type()), table_dequantize().to(input.scalar_type()));
  if (offsets_.defined()) {
    // Σ_g o[n, g] · (Σ_{k∈g} x_k) in float32: x's group sums (the last group zero-padded), then a
    // product as deep as the groups.
    const int64_t groups = offsets_.size(1), width = std::min(shape_.block, shape_.cols);
    const torch::Tensor sums = torch::constant_pad_nd(x.to(torch::kFloat32), {0, groups * width - shape_.cols})
                                   .view({x.size(0), groups, width})
                                   .sum(-1);
    y = y.to(torch::kFloat32).addmm(sums, offsets_.t());
  }
  return y.to(input.scalar_type()).reshape(sizes);
}

uint64_t PackedLinear::bytes() const {
  return uint64_t(records_.nbytes() + scale_records_.nbytes() + levels_.nbytes() +
                  (row_scales_.defined() ? row_scales_.nbytes() : 0) + (offsets_.defined() ? offsets_.nbytes() : 0));
}

}  // namespace qs
