// Device and compute-precision names, and whether this build can use CUDA.
#include "quantscope/device.hpp"

#include <torch/torch.h>

namespace qs {

std::string_view device_name(Device device) { return device == Device::Cuda ? "cuda" : "cpu"; }

std::optional<Device> device_parse(std::string_view name) {
  if (name == "cpu") return Device::Cpu;
  if (name == "cuda") return Device::Cuda;
  return std::nullopt;
}

std::string_view compute_type_name(ComputeType type) { return type == ComputeType::BF16 ? "bf16" : "f32"; }

std::optional<ComputeType> compute_type_parse(std::string_view name) {
  if (name == "f32") return ComputeType::F32;
  if (name == "bf16") return ComputeType::BF16;
  return std::nullopt;
}

bool cuda_available() { return torch::cuda::is_available(); }

}  // namespace qs
