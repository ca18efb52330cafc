// The checkpoint readers behind model_load, one per source format. Each reads headers only and returns
// a ModelState whose `stored` map says where every tensor lies (tokenizer and residency not yet set),
// or throws qs::Error naming the file and tensor.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "model/hf_layout.hpp"
#include "model/model_state.hpp"

namespace qs {

// config: config.json; weights: a .safetensors file or a model.safetensors.index.json.
std::shared_ptr<ModelState> checkpoint_hf_read(const std::filesystem::path& config,
                                               const std::filesystem::path& weights, const LoadOptions& options,
                                               JobContext* job);

// A GGUF file of the llama architecture; its tokenizer comes from its own metadata.
std::shared_ptr<ModelState> checkpoint_gguf_read(const std::filesystem::path& path, const LoadOptions& options,
                                                 JobContext* job);

std::shared_ptr<ModelState> checkpoint_llama2c_read(const std::filesystem::path& bin, const LoadOptions& options,
                                                    JobContext* job);

}  // namespace qs
