// The export targets behind model_export (quantscope/export.hpp), one file each; model_export.cpp
// checks the plan and the output path once for all of them and dispatches.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "quantscope/export.hpp"

namespace qs {

// Why `target` cannot store a weight of this shape in `format`, or empty when it can.
std::string gguf_format_problem(const FormatSpec& format, int64_t out, int64_t in);

// The file's exact size, from its layout alone.
uint64_t gguf_export_size(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options);
// Write the model with every layer in its (checked) final format; the path checks are done.
void gguf_export(const Model& model, const std::vector<LayerFormat>& plan, const std::filesystem::path& out,
                 const ExportOptions& options);

}  // namespace qs
