// The inside of a qs::Model. Tensors read from a checkpoint stay in their file, memory-mapped in
// their stored dtype; tensor() converts one when it is used (to the compute dtype, to the device) and,
// for a resident model, keeps the result. Tensors made in memory (quantized, trained, built by a test)
// are held in `tensors` and win over the file's. Core-internal; never included by the public headers,
// the GUI or the CLI.
#pragma once
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {

class MappedFile;
class PackedLinear;

// Where one tensor of a checkpoint lies, and how it becomes what the forward pass reads.
struct StoredTensor {
  std::shared_ptr<const MappedFile> file;
  uint64_t offset = 0;  // of its first byte in the file
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  bool keep_f32 = false;   // norm weights are computed in float32 whatever the compute dtype
  int64_t rope_heads = 0;  // llama2.c and GGUF q/k: interleaved RoPE pairs of this many heads become HF halves
  // A weight stored quantized (a GGUF block type, a layer of a packed checkpoint): its format and the
  // byte ranges (offset, bytes) of its packed sections in the order tensor_dequantize reads them. It
  // decodes to float32, which `dtype` says.
  std::optional<FormatSpec> format;
  std::vector<std::pair<uint64_t, uint64_t>> sections;
  int64_t numel() const;
  uint64_t bytes() const;  // as stored
};

// Converted tensors a resident model keeps, and the names already checked for NaN/Inf. Shared by the
// copies of a state (a quantized model reuses its base model's conversions) and locked, because a
// GUI job and a plot may read the same model.
struct TensorCache {
  std::mutex mutex;
  std::map<std::string, torch::Tensor> converted;
  std::set<std::string> checked;
};

struct ModelState {
  ModelConfig config;
  std::filesystem::path source;
  std::string source_format;  // "hf", "quantscope", "llama2c" or "gguf"
  // Every tensor's dtype in the source file, by HF name: checkpoints may mix dtypes (an F32 head
  // beside BF16 blocks), so sizes are always counted per tensor.
  std::map<std::string, DType> stored_dtypes;
  uint64_t stored_bytes = 0;  // all tensors, as stored
  // One line per file the model was read from (Model::identity); empty for a model made in memory.
  std::vector<std::string> source_identity;
  std::shared_ptr<const Tokenizer> tokenizer;
  Device device = Device::Cpu;
  ComputeType compute = ComputeType::F32;
  Residency residency = Residency::Resident;
  uint64_t memory_budget = 0;  // what decided `residency`, in bytes; 0 in states built in memory: none
  // The checkpoint's tensors under their HF names ("model.layers.0.self_attn.q_proj.weight").
  std::map<std::string, StoredTensor> stored;
  // Tensors held in memory, on `device`: linear weights and embeddings in the compute dtype, norm
  // weights float32. They replace stored tensors of the same name. For a tied model there is no
  // "lm_head.weight": the head reads "model.embed_tokens.weight".
  std::map<std::string, torch::Tensor> tensors;
  // Linear layers held as packed codes (model_quantize with Keep::Packed), by layer name
  // ("model.layers.0.mlp.up_proj"): the forward pass multiplies by them instead of reading a weight.
  // Their stored weight stays the unquantized one, so nothing may read it as the layer's weight.
  std::map<std::string, std::shared_ptr<const PackedLinear>> packed;
  std::shared_ptr<TensorCache> cache = std::make_shared<TensorCache>();

  // Called with every linear layer's name and input before the layer runs; the layer uses what it
  // returns. Calibration observes the input and returns it; activation quantization (quantized
  // models, QAT) returns the quantized input. Unset: inputs pass unchanged.
  std::function<torch::Tensor(const std::string& layer, const torch::Tensor& input)> linear_input;

  bool has(const std::string& name) const { return tensors.count(name) || stored.count(name); }
  std::vector<std::string> names() const;  // held and stored, sorted
  // Throw Invalid when absent.
  std::vector<int64_t> shape(const std::string& name) const;
  // The tensor as the forward pass reads it, on `device`. A stored tensor whose dtype is the compute
  // dtype is a view of the mapped file on the CPU: read-only, never written in place. Throws Numeric
  // naming the file and tensor when the values are not finite (checked once per tensor).
  torch::Tensor tensor(const std::string& name) const;
  // Rows [begin, begin + count) of a 2-D tensor, converted alone: the head and the embedding of a
  // streamed model are read a block of rows at a time.
  torch::Tensor rows(const std::string& name, int64_t begin, int64_t count) const;
  // The rows `index` (int64, any shape) of a 2-D tensor, converted alone: embedding lookups.
  torch::Tensor rows_select(const std::string& name, const torch::Tensor& index) const;
  // Rows [begin, begin + count) as float32 on the CPU, from the stored values rather than the compute
  // dtype's (statistics and plots describe the checkpoint). Never cached.
  torch::Tensor values(const std::string& name, int64_t begin, int64_t count) const;
  DType stored_dtype(const std::string& name) const;  // throws Invalid when absent
  torch::Dtype compute_dtype() const { return compute == ComputeType::BF16 ? torch::kBFloat16 : torch::kFloat32; }
  torch::Device torch_device() const { return device == Device::Cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU); }
  // Bytes the tensors not yet in memory would take converted; the mapped views that need no
  // conversion count nothing.
  uint64_t conversion_bytes() const;
};

}  // namespace qs
