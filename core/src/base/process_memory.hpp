// The process's memory as streaming sees it: what is free now (resident or streamed?), and giving
// the heap's freed blocks back between layers.
#pragma once
#include <cstdint>

#include "quantscope/device.hpp"

namespace qs {

// Bytes free now: MemAvailable of /proc/meminfo on the CPU, the current GPU's free memory on CUDA;
// 0 when it cannot be told.
uint64_t memory_available(Device device);

// Returns the heap's free blocks, and the blocks buffer_cache.hpp keeps, to the system. glibc keeps freed blocks below its (adaptive) mmap
// threshold for reuse, and a stream of layers of different shapes fragments them: quantizing a 1.2B
// model a layer at a time held 1 GB this way against 0.3 GB for one layer. Called between layers of
// layer-at-a-time work; costs a walk of the heap and fresh page faults, small beside a layer.
void heap_release();

}  // namespace qs
