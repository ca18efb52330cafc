// The export targets behind model_export (quantscope/export.hpp), one file each; model_export.cpp
// checks the plan and the output path once for all of them and dispatches.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "quantscope/export.hpp"

namespace qs {

struct ModelState;

// A layer a checkpoint already stores in its plan format, untouched in memory and without pinned
// codebooks: its stored bytes are written as they are (stored_packed.cpp says why).
bool stored_as_planned(const ModelState& state, const LayerFormat& lf);
// Such a layer's packed bytes, as tensor_dequantize reads them, rows in Hugging Face order.
std::vector<uint8_t> stored_packed(const ModelState& state, const std::string& tensor);
// The plan plus, for the layers it does not name, the format a checkpoint stores them in: every such
// layer for `quantscope`, llama.cpp's types for `gguf` (the other targets re-quantize, so they keep the
// decoded floats).
std::vector<LayerFormat> plan_with_stored_formats(const Model& model, const std::vector<LayerFormat>& plan,
                                                  ExportTarget target);

// Why `target` cannot store a weight of this shape in `format`, or empty when it can.
std::string gguf_format_problem(const FormatSpec& format, int64_t out, int64_t in);

// The file's exact size, from its layout alone.
uint64_t gguf_export_size(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options);
// Write the model with every layer in its (checked) final format; the path checks are done.
void gguf_export(const Model& model, const std::vector<LayerFormat>& plan, const std::filesystem::path& out,
                 const ExportOptions& options);

// The compressed-tensors target: why it cannot hold a format, its data and tokenizer bytes, the writer.
std::string compressed_tensors_format_problem(const FormatSpec& format, int64_t out, int64_t in);
uint64_t compressed_tensors_export_size(const Model& model, const std::vector<LayerFormat>& plan,
                                        const ExportOptions& options);
void compressed_tensors_export(const Model& model, const std::vector<LayerFormat>& plan,
                               const std::filesystem::path& out, const ExportOptions& options);

// The packed target's data and tokenizer bytes (its small config and safetensors header aside).
uint64_t packed_export_size(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options);
void packed_export(const Model& model, const std::vector<LayerFormat>& plan, const std::filesystem::path& out,
                   const ExportOptions& options);

}  // namespace qs
