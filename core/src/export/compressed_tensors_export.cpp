// The `compressed-tensors` target: the "pack-quantized" layout vLLM loads for integer weights
// (vllm-project/compressed-tensors, compressors/quantized_compressors/pack_quantized.py): per quantized
// linear X, X.weight_packed int32 [out, ⌈in/(32/b)⌉] holding 32/b unsigned codes each, the first in the
// lowest bits; X.weight_scale [out, groups]; X.weight_shape int64 [2]; and for asymmetric formats
// X.weight_zero_point int32, the zero points packed the same way down each column. A code u is the
// signed value q plus 2^(b−1), and w = (q − zero)·scale. The quantization_config has one config group
// per distinct integer format, targeting its layers by name, and lists the other linear layers in
// `ignore`. Quantscope's symmetric integers (q in ±(2^(b−1)−1)) and asymmetric ones (code − zero, each
// in [0, 2^b)) fit this exactly for b = 4 and 8.
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "export/export_folder.hpp"
#include "export/export_targets.hpp"
#include "model/model_state.hpp"

namespace qs {
namespace fs = std::filesystem;
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t groups_per_row(const FormatSpec& f, int64_t in) {
  return f.granularity == Granularity::Group ? ceil_div(in, f.group) : 1;
}

// `values` [rows, cols] of b-bit unsigned codes into int32 words along rows (dim 1) or down columns
// (dim 0): 32/b codes per word, the first in the lowest bits, the last word padded with zeros.
std::vector<uint8_t> int32_pack(const std::vector<uint32_t>& values, int64_t rows, int64_t cols, int bits, int dim) {
  const int64_t per_word = 32 / bits;
  const int64_t out_rows = dim == 1 ? rows : ceil_div(rows, per_word), out_cols = dim == 1 ? ceil_div(cols, per_word) : cols;
  std::vector<uint32_t> words(size_t(out_rows * out_cols), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t wr = dim == 1 ? r : r / per_word, wc = dim == 1 ? c / per_word : c;
      const int64_t slot = dim == 1 ? c % per_word : r % per_word;
      words[size_t(wr * out_cols + wc)] |= values[size_t(r * cols + c)] << (slot * bits);
    }
  std::vector<uint8_t> bytes(words.size() * 4);
  std::memcpy(bytes.data(), words.data(), bytes.size());  // little-endian, as safetensors stores it
  return bytes;
}

// weight_packed, weight_scale, weight_shape and (asymmetric) weight_zero_point.
std::vector<FolderTensor> ct_parts(const std::string& tensor, int64_t out, int64_t in, const LayerFormat& layer) {
  const FormatSpec& f = layer.format;
  const std::string base = tensor.substr(0, tensor.size() - std::string("weight").size());
  const int64_t per_word = 32 / f.bits, groups = groups_per_row(f, in);
  std::vector<FolderTensor> parts = {
      {tensor, base + "weight_packed", DType::I32, {out, ceil_div(in, per_word)}, &layer, 0},
      {tensor, base + "weight_scale", DType::BF16, {out, groups}, &layer, 1},
      {tensor, base + "weight_shape", DType::I64, {2}, &layer, 2}};
  if (f.asymmetric)
    parts.push_back({tensor, base + "weight_zero_point", DType::I32, {ceil_div(out, per_word), groups}, &layer, 3});
  return parts;
}

nlohmann::ordered_json weights_args(const FormatSpec& f) {
  const bool group = f.granularity == Granularity::Group;
  return {{"num_bits", f.bits},
          {"type", "int"},
          {"symmetric", !f.asymmetric},
          {"strategy", group ? "group" : "channel"},
          {"group_size", group ? nlohmann::ordered_json(f.group) : nlohmann::ordered_json(nullptr)},
          {"dynamic", false},
          {"actorder", nullptr},
          {"observer", f.mse_clip ? "mse" : "minmax"},
          {"observer_kwargs", nlohmann::ordered_json::object()},
          {"block_structure", nullptr}};
}

nlohmann::ordered_json ct_config(const Model& model, const std::vector<LayerFormat>& plan) {
  nlohmann::ordered_json groups = nlohmann::ordered_json::object();
  std::vector<std::pair<std::string, nlohmann::ordered_json>> seen;  // format -> its group
  std::map<std::string, bool> quantized;
  for (const LayerFormat& lf : plan) {
    if (!lf.format.quantized()) continue;
    quantized[lf.name] = true;
    const std::string key = format_print(lf.format);
    auto it = std::find_if(seen.begin(), seen.end(), [&](const auto& s) { return s.first == key; });
    if (it == seen.end()) {
      const std::string name = "group_" + std::to_string(seen.size());
      groups[name] = {{"targets", nlohmann::ordered_json::array()},
                      {"weights", weights_args(lf.format)},
                      {"input_activations", nullptr},
                      {"output_activations", nullptr},
                      {"format", "pack-quantized"}};
      it = seen.insert(seen.end(), {key, name});
    }
    groups[it->second.get<std::string>()]["targets"].push_back(lf.name);
  }
  nlohmann::ordered_json ignore = nlohmann::ordered_json::array();
  for (const LinearLayer& l : model.linear_layers())
    if (!quantized.count(l.name)) ignore.push_back(l.name);
  return {{"quant_method", "compressed-tensors"},
          {"format", "pack-quantized"},
          {"quantization_status", "compressed"},
          {"config_groups", groups},
          {"ignore", ignore},
          {"kv_cache_scheme", nullptr}};
}

}  // namespace

std::string compressed_tensors_format_problem(const FormatSpec& format, int64_t out, int64_t in) {
  switch (format.family) {
    case QuantFamily::Float: return {};
    case QuantFamily::Int:
      if (format.bits != 4 && format.bits != 8)
        return "pack-quantized holds 4- and 8-bit integers; the nearest are int4 and int8";
      if (format.granularity == Granularity::Tensor) return "one scale per tensor is not a pack-quantized strategy; use channel or g<N>";
      if (format.granularity == Granularity::Group && in % format.group != 0)
        return "groups of " + std::to_string(format.group) + " do not divide in_features " + std::to_string(in) +
               ", which vLLM's kernels need";
      return {};
    case QuantFamily::Quest: return "QuEST's Hadamard-rotated codes have no compressed-tensors form";
    case QuantFamily::KMeans: return "k-means codebooks have no compressed-tensors form";
    case QuantFamily::NF4: return "NF4 has no pack-quantized form";
    case QuantFamily::Gguf: return "llama.cpp's blocks have no compressed-tensors form; the nearest is int4:g32 or int8:g32";
  }
  return "no compressed-tensors form";
}

uint64_t compressed_tensors_export_size(const Model& model, const std::vector<LayerFormat>& plan,
                                        const ExportOptions& options) {
  return folder_size(model.state(), folder_layout(model.state(), plan, options, ct_parts));
}

void compressed_tensors_export(const Model& model, const std::vector<LayerFormat>& plan, const fs::path& out,
                               const ExportOptions& options) {
  const ModelState& state = model.state();
  const PartBytes part_bytes = [&](const FolderTensor& part, const std::function<const QuantizerOutput&()>& quantized) {
    const QuantizerOutput& q = quantized();
    const FormatSpec& f = part.layer->format;
    const std::vector<int64_t> shape = state.shape(part.tensor);
    const int64_t rows = shape.at(0), cols = shape.at(1), groups = groups_per_row(f, cols);
    switch (part.part) {
      case 0: {  // codes: symmetric q + 2^(b−1) = Quantscope's code + 1; asymmetric the code itself
        const torch::Tensor c = q.codes.to(torch::kCPU).contiguous();
        const uint8_t* p = c.data_ptr<uint8_t>();
        std::vector<uint32_t> u(size_t(rows * cols));
        for (size_t i = 0; i < u.size(); ++i) u[i] = uint32_t(p[i]) + (f.asymmetric ? 0 : 1);
        return int32_pack(u, rows, cols, f.bits, 1);
      }
      case 1: {
        const torch::Tensor s = q.scales.to(torch::kCPU, torch::kBFloat16).contiguous();
        const auto* p = reinterpret_cast<const uint8_t*>(s.data_ptr());
        return std::vector<uint8_t>(p, p + s.nbytes());
      }
      case 2: {
        const int64_t dims[2] = {rows, cols};
        std::vector<uint8_t> bytes(sizeof dims);
        std::memcpy(bytes.data(), dims, sizeof dims);
        return bytes;
      }
      default: {  // zero points [rows, groups], packed down each column
        const torch::Tensor z = q.zero_points.to(torch::kCPU).contiguous();
        const uint8_t* p = z.data_ptr<uint8_t>();
        std::vector<uint32_t> u(p, p + rows * groups);
        return int32_pack(u, rows, groups, f.bits, 0);
      }
    }
  };
  folder_publish(state, out, options.force, [&](const fs::path& staging) {
    folder_write(state, folder_layout(state, plan, options, ct_parts), part_bytes, ct_config(model, plan), staging,
                 options);
  });
}

}  // namespace qs
