// What the kernels' CUDA tests share: the skip on machines without a device, and host vectors copied
// to it with a shape (the kernels take raw device pointers, the references host vectors).
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#define QS_REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine"

namespace qs::test {

template <class T>
torch::Tensor cuda_copy(const std::vector<T>& v, std::vector<int64_t> shape, torch::Dtype dtype) {
  return torch::from_blob(const_cast<T*>(v.data()), shape, dtype).to(torch::kCUDA);
}

}  // namespace qs::test
