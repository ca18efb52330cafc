// The `quantscope` target: a Hugging Face folder whose model.safetensors holds each quantized layer
// as its packed sections ("<layer>.weight.codes", ".scales", ".zero_points", ".codebooks", ".blocks";
// docs/export.md gives every byte) and whose config.json names each layer's format in a
// quantization_config. Every format of the registry fits, pinned k-means codebooks included, and the
// folder decodes to exactly the weights model_quantize computes under the same plan.
#include "export/export_folder.hpp"
#include "export/export_targets.hpp"
#include "model/model_state.hpp"

namespace qs {
namespace fs = std::filesystem;
namespace {

// A planned layer's sections, in the packer's order.
std::vector<FolderTensor> packed_parts(const std::string& tensor, int64_t out, int64_t in, const LayerFormat& layer) {
  std::vector<FolderTensor> parts;
  const std::vector<PackedSection> sections = packed_sections(layer.format, out, in);
  for (size_t i = 0; i < sections.size(); ++i)
    parts.push_back({tensor, tensor + "." + sections[i].name, sections[i].dtype,
                     {int64_t(sections[i].bytes / uint64_t(dtype_bits(sections[i].dtype) / 8))}, &layer, i});
  return parts;
}

// A layer's format as the format string Quantscope parses and, for readers that do not, the
// parameters its sections decode with (docs/export.md).
nlohmann::ordered_json format_describe(const FormatSpec& f) {
  static const char* const kFamilies[] = {"float", "int", "quest", "kmeans", "nf4", "gguf"};
  static const char* const kGranularities[] = {"tensor", "channel", "group", "block"};
  nlohmann::ordered_json j = {{"format", format_print(f)}, {"family", kFamilies[int(f.family)]}};
  switch (f.family) {
    case QuantFamily::Float: j["dtype"] = std::string(dtype_name(f.dtype)); break;
    case QuantFamily::Int:
      j.update({{"bits", f.bits}, {"granularity", kGranularities[int(f.granularity)]}, {"group", f.group},
                {"asymmetric", f.asymmetric}});
      break;
    case QuantFamily::Quest: j.update({{"bits", f.bits}, {"hadamard", f.hadamard}, {"alpha", quest_alpha(f.bits)}}); break;
    case QuantFamily::KMeans:
      j.update({{"bits", f.bits}, {"granularity", kGranularities[int(f.granularity)]}, {"group", f.group},
                {"hadamard", f.hadamard}});
      break;
    case QuantFamily::NF4: j.update({{"bits", 4}, {"block", 64}}); break;
    case QuantFamily::Gguf: j["ggml_type"] = int(f.gguf); break;
  }
  return j;
}

}  // namespace

uint64_t packed_export_size(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options) {
  return folder_size(model.state(), folder_layout(model.state(), plan, options, packed_parts));
}

void packed_export(const Model& model, const std::vector<LayerFormat>& plan, const fs::path& out,
                   const ExportOptions& options) {
  const ModelState& state = model.state();
  const std::vector<FolderTensor> tensors = folder_layout(state, plan, options, packed_parts);
  // A layer's packed bytes, made (or read as stored) at its first section and sliced for the others.
  const LayerFormat* packed_layer = nullptr;
  std::vector<uint8_t> packed;
  const PartBytes part_bytes = [&](const FolderTensor& part, const std::function<const QuantizerOutput&()>& quantized) {
    if (part.layer != packed_layer || part.part == 0) {
      if (stored_as_planned(state, *part.layer)) {
        packed = stored_packed(state, part.tensor);
      } else {
        PackedWriter writer;
        quantizer_family(part.layer->format.family).pack(part.layer->format, quantized(), writer);
        packed = std::move(writer.bytes);
      }
      packed_layer = part.layer;
    }
    const std::vector<int64_t> shape = state.shape(part.tensor);
    uint64_t offset = 0;
    const std::vector<PackedSection> sections = packed_sections(part.layer->format, shape.at(0), shape.at(1));
    for (size_t i = 0; i < part.part; ++i) offset += sections[i].bytes;
    const uint64_t end = std::min<uint64_t>(offset + sections[part.part].bytes, packed.size());
    return std::vector<uint8_t>(packed.begin() + int64_t(std::min<uint64_t>(offset, end)), packed.begin() + int64_t(end));
  };
  nlohmann::ordered_json layers = nlohmann::ordered_json::object();
  for (const LayerFormat& lf : plan) layers[lf.name] = format_describe(lf.format);
  folder_publish(state, out, options.force, [&](const fs::path& staging) {
    folder_write(state, tensors, part_bytes,
                 {{"quant_method", "quantscope"}, {"format_version", 1}, {"layers", layers}}, staging, options);
  });
}

}  // namespace qs
