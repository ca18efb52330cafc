// What the folder targets share (`quantscope`, `compressed-tensors`): a Hugging Face folder whose
// model.safetensors holds float tensors as they are and each quantized layer as several tensors made
// from one run of its quantizer, a config.json with a quantization_config, and the tokenizer. Streamed
// a tensor at a time: memory holds one layer's quantizer output while its tensors are written.
#pragma once
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quant/quantizer.hpp"
#include "quantscope/export.hpp"

namespace qs {

struct ModelState;

// One tensor of the file: a float tensor converted to `dtype`, or part `part` of a planned layer.
struct FolderTensor {
  std::string tensor;  // the HF tensor it stores
  std::string name;    // its name in the file
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const LayerFormat* layer = nullptr;
  size_t part = 0;
  uint64_t bytes() const;
};

// A planned layer's part as bytes; `quantized()` runs the layer's quantizer once per layer, when first
// asked.
using PartBytes = std::function<std::vector<uint8_t>(const FolderTensor& part,
                                                     const std::function<const QuantizerOutput&()>& quantized)>;

// The tensors of a quantized layer (an HF tensor, its [out, in] shape, its plan entry), in file order.
using LayerParts = std::function<std::vector<FolderTensor>(const std::string& tensor, int64_t out, int64_t in,
                                                           const LayerFormat& layer)>;

// The file's tensors in HF order: a float tensor as itself (in its plan's float format, --float-dtype or
// as stored), a quantized layer as `parts` makes it.
std::vector<FolderTensor> folder_layout(const ModelState& state, const std::vector<LayerFormat>& plan,
                                        const ExportOptions& options, const LayerParts& parts);
// What the folder's tensors and tokenizer take (its small config and safetensors header aside).
uint64_t folder_size(const ModelState& state, const std::vector<FolderTensor>& tensors);

// Never the model's own folder or a file; a non-empty folder only with force, and only one Quantscope
// made.
void folder_output_check(const ModelState& state, const std::filesystem::path& out, bool force);

// Writes a folder target whole or not at all: `write` fills a new hidden folder beside `out`, which
// then takes `out`'s place in one exchange (renameat2 RENAME_EXCHANGE) and the earlier folder is
// removed. An export that fails or is killed leaves `out` as it was (a killed one also leaves its
// hidden ".<name>.partial-<pid>" folder behind).
void folder_publish(const ModelState& state, const std::filesystem::path& out, bool force,
                    const std::function<void(const std::filesystem::path& staging)>& write);

// model.safetensors, tokenizer.model and config.json (the model's config with `quantization_config`),
// each atomically, config.json last.
void folder_write(const ModelState& state, const std::vector<FolderTensor>& tensors, const PartBytes& part_bytes,
                  const nlohmann::ordered_json& quantization_config, const std::filesystem::path& out,
                  const ExportOptions& options);

}  // namespace qs
