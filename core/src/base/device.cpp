// Device and compute-precision names, and whether this build can use CUDA.
#include "quantscope/device.hpp"

#include <torch/torch.h>
#ifdef QS_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

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

// The allocator refuses both calls until CUDA has been initialised by a first allocation; until then
// nothing has been allocated, which is what the zeros say.
DeviceMemory cuda_memory() {
#ifdef QS_WITH_CUDA
  if (cuda_available()) try {
      // allocated_bytes[0]: the aggregate over small and large pools.
      const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(c10::cuda::current_device());
      return {stats.allocated_bytes[0].current, stats.allocated_bytes[0].peak};
    } catch (const c10::Error&) {
    }
#endif
  return {};
}

void cuda_memory_peak_reset() {
#ifdef QS_WITH_CUDA
  if (cuda_available()) try {
      c10::cuda::CUDACachingAllocator::resetPeakStats(c10::cuda::current_device());
    } catch (const c10::Error&) {
    }
#endif
}

}  // namespace qs
