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

// Bytes of GPU memory that LibTorch's allocator has given to tensors on the current device: now, and at
// most since the last cuda_memory_peak_reset (zeros without CUDA, or before CUDA's first allocation).
// What a model holds on the GPU and what a generation needed at most, without the allocator's cached
// but unused blocks.
struct DeviceMemory {
  int64_t allocated = 0, peak = 0;
};
DeviceMemory cuda_memory();
void cuda_memory_peak_reset();

}  // namespace qs
