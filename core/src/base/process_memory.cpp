// See process_memory.hpp.
#include "base/process_memory.hpp"

#include "base/buffer_cache.hpp"

#include <malloc.h>

#include <fstream>
#include <string>

#ifdef QS_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace qs {

uint64_t memory_available(Device device) {
  if (device == Device::Cuda) {
#ifdef QS_WITH_CUDA
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) == cudaSuccess) return free;
#endif
    return 0;
  }
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

void heap_release() {
  buffer_cache_release();
  ::malloc_trim(0);
}

}  // namespace qs
