// Reading and writing the sections of a packed quantized tensor: bit-packed codes, bf16 and f32
// arrays, each starting on a byte boundary, little-endian (docs/quantization.md).
#include <torch/torch.h>

#include <cstring>

#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"
#include "quantscope/pack.hpp"

namespace qs {

const uint8_t* PackedReader::take(uint64_t bytes) {
  if (bytes > size_ - offset_)
    throw Error(ErrorKind::Format, "packed tensor: truncated (" + std::to_string(size_) + " bytes, needs more than " +
                                       std::to_string(offset_ + bytes - 1) + ")");
  const uint8_t* p = data_ + offset_;
  offset_ += bytes;
  return p;
}

std::vector<uint8_t> PackedReader::codes(uint64_t count, int bits) {
  const uint64_t bytes = codes_packed_bytes(count, bits);
  const uint8_t* p = take(bytes);
  return codes_unpack({p, bytes}, bits, count);
}

std::vector<float> PackedReader::bf16(uint64_t count) {
  const uint8_t* p = take(count * 2);
  std::vector<float> out(count);
  for (uint64_t i = 0; i < count; ++i) {
    const uint32_t bits = uint32_t(p[2 * i]) << 16 | uint32_t(p[2 * i + 1]) << 24;
    std::memcpy(&out[i], &bits, 4);
  }
  return out;
}

std::vector<float> PackedReader::f32(uint64_t count) {
  const uint8_t* p = take(count * 4);
  std::vector<float> out(count);
  std::memcpy(out.data(), p, count * 4);
  return out;
}

void PackedReader::finish() const {
  if (offset_ != size_)
    throw Error(ErrorKind::Format, "packed tensor: " + std::to_string(size_ - offset_) + " bytes left over");
}

void PackedWriter::codes(const torch::Tensor& codes, int bits) {
  const torch::Tensor c = codes.to(torch::kCPU).contiguous();
  const std::vector<uint8_t> packed = codes_pack({c.data_ptr<uint8_t>(), size_t(c.numel())}, bits);
  bytes.insert(bytes.end(), packed.begin(), packed.end());
}

void PackedWriter::raw(const torch::Tensor& values) {
  const torch::Tensor v = values.to(torch::kCPU).contiguous();
  const auto* p = reinterpret_cast<const uint8_t*>(v.data_ptr());
  bytes.insert(bytes.end(), p, p + v.numel() * v.element_size());
}

void PackedWriter::bf16(const torch::Tensor& values) { raw(values.to(torch::kBFloat16)); }

void PackedWriter::f32(const torch::Tensor& values) { raw(values.to(torch::kFloat32)); }

}  // namespace qs
