// llama.cpp's own tensor types as a family (`q4_0` … `q6_k`, `iq4_nl`): each row quantized by
// kernels/ggml_quants.hpp, bit for bit what ggml's reference quantizer writes without an importance
// matrix, so that a plan's numbers are those of the GGUF it exports. The packed form is the blocks as
// GGUF stores them. Codes, scales and the grid are read back from the blocks so that the inspector,
// the histograms and QAT's estimators see these types like any other family.
#include <torch/torch.h>

#include "ggml_quants.hpp"
#include "quant/code_levels.hpp"
#include "quant/quantizer.hpp"
#include "base/rows_parallel.hpp"

namespace qs {
namespace {

kernels::GgmlType ggml_type(const FormatSpec& spec) { return static_cast<kernels::GgmlType>(spec.gguf); }

int64_t row_bytes(const FormatSpec& spec, int64_t in) {
  const kernels::GgmlBlock b = kernels::ggml_block(ggml_type(spec));
  return in / b.weights * b.bytes;
}

}  // namespace

void ggml_rows_quantize(kernels::GgmlType type, const float* w, int64_t rows, int64_t cols, uint8_t* out,
                        bool reference, const JobContext* job) {
  const kernels::GgmlBlock b = kernels::ggml_block(type);
  const int64_t row_bytes = cols / b.weights * b.bytes;
  rows_parallel(rows, cols, reference, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      if (job && r % 64 == 0) job->check_cancelled();
      kernels::ggml_quantize_row_cpu(type, w + r * cols, cols, out + r * row_bytes);
    }
  });
}

void ggml_levels_read(kernels::GgmlType type, const uint8_t* blocks, int64_t rows, int64_t cols, uint8_t* codes,
                      float* scales, float* offsets, bool reference) {
  const kernels::GgmlBlock b = kernels::ggml_block(type);
  const int64_t row_bytes = cols / b.weights * b.bytes, subs = cols / kernels::ggml_sub_block(type);
  rows_parallel(rows, cols, reference, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      kernels::ggml_levels_row_cpu(type, blocks + r * row_bytes, cols, codes + r * cols, scales + r * subs,
                                   offsets + r * subs);
  });
}

QuantizerOutput quantizer_gguf_run(const FormatSpec& spec, const QuantizerInput& input) {
  // ggml quantizes on the CPU; a CUDA weight makes the round trip.
  const torch::Tensor w = input.weight.to(torch::kCPU).contiguous();
  const int64_t out = w.size(0), in = w.size(1), bytes = row_bytes(spec, in);
  const kernels::GgmlType type = ggml_type(spec);
  const int64_t sub = kernels::ggml_sub_block(type), subs = in / sub;
  QuantizerOutput q;
  q.blocks = torch::empty({out, bytes}, torch::kUInt8);
  q.dequant = torch::empty({out, in}, torch::kFloat32);
  q.codes = torch::empty({out, in}, torch::kUInt8);
  q.scales = torch::empty({out * subs}, torch::kFloat32);
  torch::Tensor offsets = torch::empty({out * subs}, torch::kFloat32);
  const float* wp = w.data_ptr<float>();
  uint8_t* bp = q.blocks.data_ptr<uint8_t>();
  float* dp = q.dequant.data_ptr<float>();
  uint8_t* cp = q.codes.data_ptr<uint8_t>();
  float* sp = q.scales.data_ptr<float>();
  float* op = offsets.data_ptr<float>();
  // A row's blocks are written, decoded and read for their levels while they sit in cache.
  rows_parallel(out, in, input.reference, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      if (input.job && r % 64 == 0) input.job->check_cancelled();
      uint8_t* row = bp + r * bytes;
      kernels::ggml_quantize_row_cpu(type, wp + r * in, in, row);
      kernels::ggml_dequantize_row_cpu(type, row, in, dp + r * in);
      kernels::ggml_levels_row_cpu(type, row, in, cp + r * in, sp + r * subs, op + r * subs);
    }
  });
  const std::vector<float> grid = kernels::ggml_grid(type);
  q.codebooks = torch::tensor(grid).view({1, int64_t(grid.size())});
  // ŵ = s·grid[code] + o, so the grid applies to w / s − o / s (0 where a sub-block's scale is 0).
  if (input.want_normalized)
    q.normalized = groups_divide(w, q.scales, sub, torch::where(q.scales != 0, -offsets / q.scales, 0.0f));
  const torch::Device device = input.weight.device();
  if (!device.is_cpu()) {
    q.dequant = q.dequant.to(device);
    q.codes = q.codes.to(device);
    q.scales = q.scales.to(device);
    if (q.normalized.defined()) q.normalized = q.normalized.to(device);
  }
  return q;
}

void quantizer_gguf_pack(const FormatSpec& spec, const QuantizerOutput& q, PackedWriter& writer) {
  writer.raw(q.blocks);
}

std::vector<PackedSection> quantizer_gguf_sections(const FormatSpec& spec, int64_t out, int64_t in) {
  return {{"blocks", DType::U8, uint64_t(out) * uint64_t(row_bytes(spec, in))}};
}

std::vector<float> quantizer_gguf_unpack(const FormatSpec& spec, PackedReader& reader, int64_t out, int64_t in) {
  const int64_t bytes = row_bytes(spec, in);
  const uint8_t* blocks = reader.raw(uint64_t(out) * uint64_t(bytes));
  std::vector<float> w(size_t(out * in));
  for (int64_t r = 0; r < out; ++r)
    kernels::ggml_dequantize_row_cpu(ggml_type(spec), blocks + r * bytes, in, w.data() + r * in);
  return w;
}

}  // namespace qs
