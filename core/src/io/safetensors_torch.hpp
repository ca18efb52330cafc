// Bridges safetensors tensors and LibTorch tensors: the dtype correspondence and a view of a
// tensor's bytes as a torch::Tensor, for every reader and writer of weights.
#pragma once
#include <torch/torch.h>

#include <optional>

#include "quantscope/safetensors.hpp"

namespace qs {

// nullopt for dtypes LibTorch cannot represent (see dtype_computable).
std::optional<torch::Dtype> dtype_to_torch(DType dtype);
// Throws Unsupported for torch types with no safetensors name.
DType dtype_from_torch(torch::Dtype dtype);

// A CPU tensor over the file's bytes: zero-copy when the data is aligned for its type, an aligned
// copy otherwise. Valid while `file`'s mapping lives. Throws Unsupported naming the file, the tensor
// and the dtype when the dtype is not computable.
torch::Tensor safetensors_tensor(const SafetensorsFile& file, const TensorInfo& info);

}  // namespace qs
