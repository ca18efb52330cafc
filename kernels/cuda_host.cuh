// Host-side helpers shared by the CUDA kernels: error checks (every runtime call and launch goes
// through QS_CUDA_CHECK, which throws std::runtime_error naming the call and CUDA's error string, so a
// failure reaches qs::Job's captured errors instead of corrupting later results silently) and
// temporary device buffers from the stream-ordered pool.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace qs::kernels {

inline void cuda_check_status(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                             "): " + cudaGetErrorString(status));
}

// A device buffer from the stream-ordered pool (cheap to take per call), returned on scope exit.
template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) {
    void* p = nullptr;
    if (count > 0)
      cuda_check_status(cudaMallocAsync(&p, count * sizeof(T), 0), "cudaMallocAsync", __FILE__, __LINE__);
    data_ = static_cast<T*>(p);
  }
  ~DeviceBuffer() {
    if (data_) cudaFreeAsync(data_, 0);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return data_; }

 private:
  T* data_ = nullptr;
};

}  // namespace qs::kernels

#define QS_CUDA_CHECK(call) ::qs::kernels::cuda_check_status((call), #call, __FILE__, __LINE__)
// After a kernel launch: launch errors (bad configuration) surface here, asynchronous ones at the
// next synchronising call.
#define QS_CUDA_CHECK_LAUNCH() \
  ::qs::kernels::cuda_check_status(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
