// A loaded Llama-family model: its configuration, its tensors and its tokenizer. Opening reads headers
// only; the weights stay in the file, mapped, and are converted a layer at a time when used (see
// Residency). The tensors live inside core (LibTorch); front ends see names, shapes and float copies
// of one tensor at a time for plotting only.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantscope/device.hpp"
#include "quantscope/dtype.hpp"
#include "quantscope/model_config.hpp"

namespace qs {

class JobContext;
class Tokenizer;
struct ModelState;  // core-internal (LibTorch); see core/src/model/model_state.hpp

// One linear layer, addressed by its Hugging Face name, e.g. "model.layers.3.mlp.down_proj".
struct LinearLayer {
  std::string name;   // without the ".weight" suffix
  int64_t layer = -1;  // decoder block index; -1 for lm_head
  std::string role;    // q_proj k_proj v_proj o_proj gate_proj up_proj down_proj lm_head
  int64_t out_features = 0;
  int64_t in_features = 0;
  DType stored_dtype = DType::F32;
  // The format a quantized checkpoint stores it in (a GGUF type, a packed checkpoint's format) as
  // format_name spells it; empty for a float weight.
  std::string stored_format;
  int64_t parameters() const { return out_features * in_features; }
};

// Resident: a weight converted for computing (to the compute dtype, to the device) is kept for the next
// use. Streamed: it is converted at every use and released after, so memory holds one layer at a time.
// Weights stored in the compute dtype are views of the mapped file on the CPU either way.
enum class Residency { Resident, Streamed };
std::string_view residency_name(Residency residency);  // "resident" | "streamed"

struct LoadOptions {
  // Tokenizer file. For an HF directory tokenizer.model inside it is used when this is empty; a
  // llama2.c .bin needs it (or a tok*.model beside the .bin, taken when exactly one exists).
  std::filesystem::path tokenizer;
  Device device = Device::Cpu;
  ComputeType compute = ComputeType::F32;
  // Bytes the converted weights may take (host memory on the CPU, GPU memory on CUDA): the model is
  // resident when they fit, streamed when not. 0: three quarters of what is free when loading.
  uint64_t memory_budget = 0;
  // Forces the choice regardless of the budget (the trainer keeps its own float32 copies).
  std::optional<Residency> residency;
};

class Model {
 public:
  explicit Model(std::shared_ptr<ModelState> state);
  ~Model();

  const ModelConfig& config() const;
  const std::filesystem::path& source() const;
  std::string source_format() const;  // "hf", "quantscope" (packed), "llama2c" or "gguf"
  std::vector<LinearLayer> linear_layers() const;  // in forward order, lm_head last when untied
  std::vector<std::string> tensor_names() const;   // every tensor, HF names
  std::vector<int64_t> tensor_shape(const std::string& name) const;
  int64_t parameter_count() const;
  // The dtypes tensors are stored in, the one holding the most bytes first (one for most checkpoints).
  std::vector<DType> stored_dtypes() const;
  uint64_t stored_bytes() const;  // all tensors, as stored in the source
  // Layers held as packed codes (model_quantize with Keep::Packed), and the bytes they hold.
  int64_t packed_layers() const;
  uint64_t packed_bytes() const;
  // One tensor as stored in the source: its dtype and its bytes. Throw Invalid for an unknown name.
  DType tensor_stored_dtype(const std::string& name) const;
  uint64_t tensor_stored_bytes(const std::string& name) const;
  // The format a quantized tensor is stored in, as format_name spells it; empty for a float tensor.
  std::string tensor_stored_format(const std::string& name) const;
  std::shared_ptr<const Tokenizer> tokenizer() const;  // may be null when none was found
  // What the model was read from, precisely enough to key cached measurements: for each file (config,
  // index, weights, tokenizer) its name and either a fingerprint of its whole text or, for weight
  // files, size, modification and change times, device and inode, and a fingerprint of sampled
  // content. Rewriting a file changes it. Throws Invalid for a model made in memory (quantized,
  // trained, built by a test).
  std::string identity() const;
  Device device() const;
  ComputeType compute() const;
  Residency residency() const;
  uint64_t memory_budget() const;  // the budget that chose residency()
  // Bytes the weights take converted for computing, beyond the mapped file (0 when every weight is
  // stored in the compute dtype on the CPU); a resident model reaches this as its weights are used.
  uint64_t conversion_bytes() const;
  // A float32 copy of a tensor (for statistics and plots). Throws Invalid for an unknown name.
  std::vector<float> tensor_values(const std::string& name) const;

  ModelState& state() { return *state_; }
  const ModelState& state() const { return *state_; }

 private:
  std::shared_ptr<ModelState> state_;
};

// MODEL is an HF directory (also a packed Quantscope checkpoint), a .safetensors file with config.json
// beside it, a llama2.c .bin, or a GGUF file of the llama architecture.
std::shared_ptr<Model> model_load(const std::filesystem::path& path, const LoadOptions& options = {},
                                  JobContext* job = nullptr);

// Writes an HF directory (config.json, model.safetensors, tokenizer.model when known), atomically
// per file. Refuses to write into the directory the model was loaded from. Weights are written in
// `dtype` (F32, BF16 or F16).
void model_save(const Model& model, const std::filesystem::path& dir, DType dtype = DType::F32,
                JobContext* job = nullptr);

}  // namespace qs
