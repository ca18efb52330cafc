// The checkpoint readers behind model_load, one per source format. Each returns a complete
// ModelState (tensors already in the compute dtype and on the requested device, tokenizer not yet
// set) or throws qs::Error naming the file and tensor.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>

#include "hf_layout.hpp"
#include "model_state.hpp"

namespace qs {

// config: config.json; weights: a .safetensors file or a model.safetensors.index.json.
std::shared_ptr<ModelState> checkpoint_hf_read(const std::filesystem::path& config,
                                               const std::filesystem::path& weights, const LoadOptions& options,
                                               JobContext* job);

std::shared_ptr<ModelState> checkpoint_llama2c_read(const std::filesystem::path& bin, const LoadOptions& options,
                                                    JobContext* job);

// Converts a freshly read tensor to what ModelState holds for its kind (norms float32, the rest the
// compute dtype), moves it to the device and rejects NaN/Inf naming `file` and the tensor.
torch::Tensor tensor_place(const torch::Tensor& tensor, const HfTensor& spec, const LoadOptions& options,
                           const std::string& file);

}  // namespace qs
