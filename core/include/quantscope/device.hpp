// Where computation runs and in which precision.
#pragma once
#include <optional>
#include <string_view>

namespace qs {

enum class Device { Cpu, Cuda };
enum class ComputeType { F32, BF16 };

std::string_view device_name(Device device);
std::optional<Device> device_parse(std::string_view name);  // "cpu" | "cuda"
std::string_view compute_type_name(ComputeType type);
std::optional<ComputeType> compute_type_parse(std::string_view name);  // "f32" | "bf16"
// True when this build's LibTorch has CUDA and a device is present.
bool cuda_available();

}  // namespace qs
