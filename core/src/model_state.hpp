// The inside of a qs::Model: its tensors as LibTorch tensors. Core-internal; never included by the
// public headers, the GUI or the CLI.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {

struct ModelState {
  ModelConfig config;
  std::filesystem::path source;
  std::string source_format;  // "hf" or "llama2c"
  // Every tensor's dtype in the source file, by HF name: checkpoints may mix dtypes (an F32 head
  // beside BF16 blocks), so sizes are always counted per tensor.
  std::map<std::string, DType> stored_dtypes;
  uint64_t stored_bytes = 0;  // all tensors, as stored
  // One line per file the model was read from (Model::identity); empty for a model made in memory.
  std::vector<std::string> source_identity;
  std::shared_ptr<const Tokenizer> tokenizer;
  Device device = Device::Cpu;
  ComputeType compute = ComputeType::F32;
  // Every tensor under its HF name ("model.layers.0.self_attn.q_proj.weight"), on `device`.
  // Linear weights and embeddings are in the compute dtype; norm weights stay float32. For a tied
  // model there is no "lm_head.weight": the head reads "model.embed_tokens.weight".
  std::map<std::string, torch::Tensor> tensors;

  // Called with every linear layer's name and input before the layer runs; the layer uses what it
  // returns. Calibration observes the input and returns it; activation quantization (quantized
  // models, QAT) returns the quantized input. Unset: inputs pass unchanged.
  std::function<torch::Tensor(const std::string& layer, const torch::Tensor& input)> linear_input;

  const torch::Tensor& tensor(const std::string& name) const;  // throws Invalid when absent
  DType stored_dtype(const std::string& name) const;            // throws Invalid when absent
  torch::Dtype compute_dtype() const { return compute == ComputeType::BF16 ? torch::kBFloat16 : torch::kFloat32; }
  torch::Device torch_device() const { return device == Device::Cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU); }
};

}  // namespace qs
