// QS_HOST_DEVICE marks the inline functions that the CPU references and the CUDA kernels share, so
// that both compute the same values with one definition.
#pragma once

#ifdef __CUDACC__
#define QS_HOST_DEVICE __host__ __device__
#else
#define QS_HOST_DEVICE
#endif
