// See safetensors_torch.hpp.
#include "io/safetensors_torch.hpp"

#include <cstring>

#include "quantscope/error.hpp"

namespace qs {

std::optional<torch::Dtype> dtype_to_torch(DType dtype) {
  switch (dtype) {
    case DType::BOOL: return torch::kBool;
    case DType::U8: return torch::kUInt8;
    case DType::I8: return torch::kInt8;
    case DType::I16: return torch::kInt16;
    case DType::I32: return torch::kInt32;
    case DType::I64: return torch::kInt64;
    case DType::F16: return torch::kFloat16;
    case DType::BF16: return torch::kBFloat16;
    case DType::F32: return torch::kFloat32;
    case DType::F64: return torch::kFloat64;
    default: return std::nullopt;
  }
}

DType dtype_from_torch(torch::Dtype dtype) {
  for (DType d : {DType::BOOL, DType::U8, DType::I8, DType::I16, DType::I32, DType::I64, DType::F16, DType::BF16,
                  DType::F32, DType::F64})
    if (dtype_to_torch(d) == dtype) return d;
  throw Error(ErrorKind::Unsupported, std::string("torch dtype ") + c10::toString(dtype) + " has no safetensors name");
}

torch::Tensor safetensors_tensor(const SafetensorsFile& file, const TensorInfo& info) {
  const auto torch_dtype = dtype_to_torch(info.dtype);
  if (!torch_dtype)
    throw Error(ErrorKind::Unsupported, file.path().string() + ": tensor \"" + info.name + "\": dtype " +
                                            std::string(dtype_name(info.dtype)) + " is not supported for computation");
  const auto bytes = file.bytes(info);
  const size_t element = size_t(dtype_bits(info.dtype) / 8);
  auto* data = const_cast<std::byte*>(bytes.data());  // read-only mapping: callers copy before writing
  if (reinterpret_cast<uintptr_t>(data) % element == 0)
    return torch::from_blob(data, info.shape, torch::TensorOptions().dtype(*torch_dtype));
  torch::Tensor aligned = torch::empty(info.shape, torch::TensorOptions().dtype(*torch_dtype));
  if (!bytes.empty()) std::memcpy(aligned.data_ptr(), bytes.data(), bytes.size());
  return aligned;
}

}  // namespace qs
