// Exporting a model under a plan to what a runtime loads (docs/export.md): each layer stored in its
// plan format where the target can hold it, streamed a tensor at a time, written atomically, the
// input never overwritten. Targets: `gguf`, one file for llama.cpp; `hf`, the dequantized float
// directory any tool reads; `quantscope`, an HF directory of packed layers in any format of the
// registry, which Quantscope opens again; `compressed-tensors`, vLLM's pack-quantized integers.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quantscope/dtype.hpp"
#include "quantscope/format.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"

namespace qs {

enum class ExportTarget { Gguf, Hf, Quantscope, CompressedTensors };
// "gguf", "hf", "quantscope", "compressed-tensors"
std::optional<ExportTarget> export_target_parse(std::string_view name);
std::string_view export_target_name(ExportTarget target);
const std::vector<std::string>& export_target_names();

// A layer whose plan format the target cannot store, and why.
struct ExportProblem {
  std::string layer;
  FormatSpec format;
  std::string why;
};
// Every layer of `plan` that `target` cannot hold, in the plan's order; empty when all fit.
std::vector<ExportProblem> export_problems(const Model& model, const std::vector<LayerFormat>& plan,
                                           ExportTarget target);

struct ExportOptions {
  ExportTarget target = ExportTarget::Gguf;
  // What the layers the target cannot hold are stored as instead; without one they are refused.
  std::optional<FormatSpec> fallback;
  // Float tensors the plan leaves alone keep their stored dtype (F32, F16, BF16) unless this is set.
  std::optional<DType> float_dtype;
  bool force = false;  // replace an existing output (a file, or a folder Quantscope wrote)
  ModelQuantizeOptions quantize;  // hf: how the plan's layers are quantized (seed, importance)
  JobContext* job = nullptr;
};

struct ExportReport {
  std::filesystem::path path;
  uint64_t bytes = 0;       // what was written
  uint64_t bf16_bytes = 0;  // every parameter of the model in bf16, the usual reference size
  std::vector<std::string> fallback_layers;  // layers stored in the fallback format
  double seconds = 0;
};

// What model_export would write, before anything is computed: exact for gguf (its layout is known
// before its data), the weights, config and tokenizer for hf. Throws as model_export does for a plan
// the target cannot hold.
uint64_t export_size(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options);

// Throws Invalid listing every layer the target cannot hold (without a fallback) or naming the
// output's problem (the model's own file or folder, an existing output without `force`), Unsupported
// for a model the target cannot describe, Io when it cannot be written; an interrupted or failed
// export leaves nothing under `out` (an earlier file there stays as it was).
ExportReport model_export(const Model& model, const std::vector<LayerFormat>& plan, const std::filesystem::path& out,
                          const ExportOptions& options);

}  // namespace qs
