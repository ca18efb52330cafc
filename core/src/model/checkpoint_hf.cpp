// Reads Hugging Face Llama-family checkpoints: config.json plus one model.safetensors or the shards
// of a model.safetensors.index.json. Every tensor the config implies must be present with the
// implied shape; tensors the model does not use (e.g. rotary inv_freq buffers) are ignored. Only the
// headers are read: the tensors stay in the mapped files until used. A packed Quantscope checkpoint
// (docs/export.md) is one of these whose config.json has a quantization_config with quant_method
// "quantscope": each quantized layer's weight is its packed sections, "<layer>.weight.codes" and so
// on, kept in the file and decoded when used.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "model/checkpoint_read.hpp"
#include "quant/quantizer.hpp"
#include "base/fingerprint.hpp"
#include "base/json_strict.hpp"
#include "io/mapped_file.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/job.hpp"
#include "quantscope/safetensors.hpp"
#include "io/safetensors_torch.hpp"

namespace qs {
namespace {

// tensor name -> shard file, from the text of model.safetensors.index.json.
std::map<std::string, std::filesystem::path> index_parse(const std::filesystem::path& index, const std::string& text) {
  const std::string file = index.string();
  const nlohmann::ordered_json j = json_parse_strict(text, file);
  if (!j.is_object() || !j.contains("weight_map") || !j.at("weight_map").is_object())
    throw Error(ErrorKind::Format, file + ": no \"weight_map\" object");
  std::map<std::string, std::filesystem::path> map;
  for (const auto& [name, shard] : j.at("weight_map").items()) {
    if (!shard.is_string()) throw Error(ErrorKind::Format, file + ": weight_map entry of \"" + name + "\" is not a string");
    const std::filesystem::path shard_path = shard.get<std::string>();
    if (shard_path.empty() || shard_path.has_parent_path() || shard_path.is_absolute())
      throw Error(ErrorKind::Format, file + ": weight_map entry of \"" + name + "\" is not a file name in the same folder");
    map[name] = index.parent_path() / shard_path;
  }
  return map;
}

// A packed checkpoint's layer formats from config.json's quantization_config, by weight name; empty
// for a plain checkpoint. Throws Format naming the file and key for a malformed one.
std::map<std::string, FormatSpec> packed_formats(const std::filesystem::path& config, const std::string& text) {
  const std::string file = config.string();
  const nlohmann::ordered_json j = json_parse_strict(text, file);
  if (!j.is_object() || !j.contains("quantization_config")) return {};
  const nlohmann::ordered_json& q = j.at("quantization_config");
  if (!q.is_object() || !q.contains("quant_method") || !q.at("quant_method").is_string())
    throw Error(ErrorKind::Format, file + ": quantization_config has no quant_method");
  const std::string method = q.at("quant_method").get<std::string>();
  if (method != "quantscope")
    throw Error(ErrorKind::Unsupported, file + ": quantization_config.quant_method '" + method +
                                            "' is not supported (Quantscope reads its own packed checkpoints, "
                                            "quant_method \"quantscope\")");
  if (!q.contains("format_version") || q.at("format_version") != 1)
    throw Error(ErrorKind::Unsupported, file + ": quantization_config.format_version must be 1");
  if (!q.contains("layers") || !q.at("layers").is_object())
    throw Error(ErrorKind::Format, file + ": quantization_config has no \"layers\" object");
  std::map<std::string, FormatSpec> formats;
  for (const auto& [layer, entry] : q.at("layers").items()) {
    if (!entry.is_object() || !entry.contains("format") || !entry.at("format").is_string())
      throw Error(ErrorKind::Format, file + ": quantization_config.layers.\"" + layer + "\" has no \"format\" string");
    try {
      formats[layer + ".weight"] = format_parse(entry.at("format").get<std::string>());
    } catch (const Error& e) {
      throw Error(ErrorKind::Format, file + ": quantization_config.layers.\"" + layer + "\": " + e.what());
    }
  }
  return formats;
}

}  // namespace

std::shared_ptr<ModelState> checkpoint_hf_read(const std::filesystem::path& config, const std::filesystem::path& weights,
                                               const LoadOptions& options, JobContext* job) {
  auto state = std::make_shared<ModelState>();
  const std::string config_text = file_read(config);
  state->config = config_parse(config_text, config.string());
  config_validate(state->config, config.string());
  state->source_identity.push_back(config.filename().string() + " text=" + text_fingerprint(config_text));
  const std::map<std::string, FormatSpec> packed = packed_formats(config, config_text);
  state->source_format = packed.empty() ? "hf" : "quantscope";
  state->device = options.device;
  state->compute = options.compute;

  const bool sharded = weights.filename().string().ends_with(".index.json");
  std::map<std::string, std::filesystem::path> weight_map;
  if (sharded) {
    const std::string index_text = file_read(weights);
    weight_map = index_parse(weights, index_text);
    state->source_identity.push_back(weights.filename().string() + " text=" + text_fingerprint(index_text));
  }
  std::map<std::filesystem::path, SafetensorsFile> open_files;
  auto file_of = [&](const std::string& name) -> const SafetensorsFile& {
    std::filesystem::path path = weights;
    if (sharded) {
      const auto it = weight_map.find(name);
      if (it == weight_map.end()) throw Error(ErrorKind::Format, weights.string() + ": missing tensor \"" + name + "\"");
      path = it->second;
    }
    auto found = open_files.find(path);
    if (found == open_files.end()) found = open_files.emplace(path, SafetensorsFile::open(path)).first;
    return found->second;
  };

  const std::vector<HfTensor> layout = hf_layout(state->config);
  for (const auto& [name, format] : packed)
    if (std::none_of(layout.begin(), layout.end(), [&](const HfTensor& t) { return t.name == name; }))
      throw Error(ErrorKind::Format, config.string() + ": quantization_config names " +
                                         name.substr(0, name.size() - 7) + ", which the model does not have");
  for (size_t i = 0; i < layout.size(); ++i) {
    const HfTensor& spec = layout[i];
    if (job) job->check_cancelled();
    const auto format = packed.find(spec.name);
    if (format != packed.end() && format->second.quantized()) {
      if (spec.shape.size() != 2)
        throw Error(ErrorKind::Format, config.string() + ": quantization_config gives " + spec.name +
                                           ", which is not a matrix, the format " + format_print(format->second));
      const std::string problem = format_shape_problem(format->second, spec.shape[0], spec.shape[1]);
      if (!problem.empty()) throw Error(ErrorKind::Format, config.string() + ": " + spec.name + ": " + problem);
      StoredTensor& stored = state->stored[spec.name];
      stored.dtype = DType::F32;
      stored.shape = spec.shape;
      stored.format = format->second;
      for (const PackedSection& section : packed_sections(format->second, spec.shape[0], spec.shape[1])) {
        const std::string name = spec.name + "." + section.name;
        const SafetensorsFile& file = file_of(name);
        const TensorInfo* info = file.find(name);
        if (!info)
          throw Error(ErrorKind::Format, file.path().string() + ": missing tensor \"" + name + "\" (" +
                                             format_print(format->second) + " stores " + section.name + ")");
        const uint64_t element = uint64_t(dtype_bits(section.dtype) / 8);
        if (info->dtype != section.dtype || info->shape != std::vector<int64_t>{int64_t(section.bytes / element)})
          throw Error(ErrorKind::Format, file.path().string() + ": tensor \"" + name + "\" is " +
                                             std::string(dtype_name(info->dtype)) + " " + shape_text(info->shape) +
                                             ", expected " + std::string(dtype_name(section.dtype)) + " [" +
                                             std::to_string(section.bytes / element) + "] for " +
                                             format_print(format->second) + " of shape " + shape_text(spec.shape));
        if (stored.file && stored.file != file.mapping())
          throw Error(ErrorKind::Format, file.path().string() + ": the sections of " + spec.name +
                                             " are split over several files");
        stored.file = file.mapping();
        stored.sections.emplace_back(uint64_t(file.bytes(*info).data() - file.mapping()->data()), section.bytes);
      }
      stored.offset = stored.sections.front().first;
      state->stored_dtypes[spec.name] = DType::F32;
      state->stored_bytes += stored.bytes();
      continue;
    }
    const SafetensorsFile& file = file_of(spec.name);
    const TensorInfo* info = file.find(spec.name);
    if (!info) throw Error(ErrorKind::Format, file.path().string() + ": missing tensor \"" + spec.name + "\"");
    if (info->shape != spec.shape)
      throw Error(ErrorKind::Format, file.path().string() + ": tensor \"" + spec.name + "\" has shape " +
                                         shape_text(info->shape) + ", expected " + shape_text(spec.shape) +
                                         " from " + config.filename().string());
    if (!dtype_computable(info->dtype) || !dtype_to_torch(info->dtype))
      throw Error(ErrorKind::Unsupported, file.path().string() + ": tensor \"" + spec.name + "\" has dtype " +
                                              std::string(dtype_name(info->dtype)) + ", which Quantscope cannot compute with");
    if (format != packed.end() && format->second.dtype != info->dtype)
      throw Error(ErrorKind::Format, file.path().string() + ": tensor \"" + spec.name + "\" is " +
                                         std::string(dtype_name(info->dtype)) + " but quantization_config says " +
                                         format_print(format->second));
    state->stored_dtypes[spec.name] = info->dtype;
    StoredTensor& stored = state->stored[spec.name];
    stored.file = file.mapping();
    stored.offset = uint64_t(file.bytes(*info).data() - file.mapping()->data());
    stored.dtype = info->dtype;
    stored.shape = info->shape;
    stored.keep_f32 = spec.kind == TensorKind::Norm;
    state->stored_bytes += info->end - info->begin;
    if (job) job->progress(double(i + 1) / layout.size(), "reading the header of " + spec.name);
  }
  for (const auto& [path, file] : open_files)
    state->source_identity.push_back(path.filename().string() + " " + file.mapping()->identity());
  return state;
}

}  // namespace qs
