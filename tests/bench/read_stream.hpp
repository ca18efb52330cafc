// A read-only pass over device memory: the decode benchmark's bandwidth ceiling for a GEMV.
#pragma once
#include <cstdint>

// data: 16-byte aligned device memory; sink: 4 bytes of device memory; stream: a cudaStream_t.
void read_stream(const void* data, uint64_t bytes, void* sink, void* stream);
