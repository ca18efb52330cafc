// model_quantize and layers_select: the quantizer families applied to a loaded model's tensors on
// the model's device; the result is a new Model sharing every tensor it did not quantize.
#include <torch/torch.h>

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "export/export_targets.hpp"
#include "io/mapped_file.hpp"
#include "quant/fake_quant.hpp"
#include "quant/metrics_accumulator.hpp"
#include "model/model_state.hpp"
#include "model/packed_linear.hpp"
#include "quant/quantizer.hpp"
#include "base/process_memory.hpp"
#include "io/scratch_file.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"

namespace qs {
namespace {

const char* const kEmbedding = "model.embed_tokens";

torch::Tensor importance_for(const LayerFormat& lf, const ModelQuantizeOptions& options, const torch::Tensor& w) {
  if (!lf.format.fisher || !lf.codebooks.empty()) return {};  // pinned codebooks need no fit
  if (!options.importance)
    throw Error(ErrorKind::Invalid, lf.name + ": format " + format_print(lf.format) +
                                        " needs importance: give a calibration text (--calib FILE)");
  const auto it = options.importance->input_second_moment.find(lf.name);
  if (it == options.importance->input_second_moment.end() || int64_t(it->second.size()) != w.size(1))
    throw Error(ErrorKind::Invalid, lf.name + ": no importance was collected for this layer (the embedding has none)");
  const torch::Tensor row = torch::tensor(it->second).to(w.device());
  return row.unsqueeze(0).expand({w.size(0), w.size(1)}).contiguous();
}

// lm_head of a tied model reads the embedding, whose columns are the hidden size.
int64_t linear_in_features(const ModelState& state, const std::string& layer) {
  if (layer == "lm_head" && state.config.tie_word_embeddings) return state.config.hidden_size;
  if (!state.has(layer + ".weight")) throw Error(ErrorKind::Invalid, layer + ": no such layer in " + state.source.string());
  return state.shape(layer + ".weight").at(1);
}

// Quantized weights are new memory, in the compute dtype. A streamed model, or a resident one whose
// memory budget cannot hold them beside its conversions (a bf16 model computed in bf16 converts
// nothing, but its 8B quantized copy is 14 GiB), keeps them in a scratch file instead: memory then holds
// one block of rows, not the model.
bool held_exceeds_budget(const ModelState& state, const std::vector<LayerFormat>& formats) {
  if (state.residency == Residency::Streamed) return true;
  if (state.memory_budget == 0) return false;  // a state built in memory has no budget
  uint64_t held = 0;
  for (const LayerFormat& lf : formats) {
    const std::string tensor_name = lf.name + ".weight";
    if (!lf.format.quantized() || !state.has(tensor_name)) continue;
    uint64_t n = 1;
    for (const int64_t d : state.shape(tensor_name)) n *= uint64_t(d);
    held += n * torch::elementSize(state.compute_dtype());
  }
  return held + state.conversion_bytes() > state.memory_budget;
}

// The linear layers the checkpoint stores in a format PackedLinear takes and that nothing replaced
// (a plan's layers are quantized anew), read as codes from their stored sections: no float copy of
// them is made, and the file's pages are released once repacked.
void stored_layers_pack(ModelState& state, const Model& model, JobContext* job) {
  for (const LinearLayer& l : model.linear_layers()) {
    const std::string tensor_name = l.name + ".weight";
    const auto it = state.stored.find(tensor_name);
    if (it == state.stored.end() || !it->second.format || state.tensors.count(tensor_name) ||
        state.packed.count(l.name))
      continue;
    const StoredTensor& s = it->second;
    const int64_t rows = s.shape.at(0), cols = s.shape.at(1);
    if (!PackedLinear::supports(*s.format, rows, cols)) continue;
    if (job) job->check_cancelled();
    state.packed[l.name] =
        PackedLinear::stored_create(*s.format, stored_packed(state, tensor_name), rows, cols, state.torch_device());
    for (const auto& [offset, bytes] : s.sections) s.file->release(offset, bytes);
  }
}

}  // namespace

QuantizerInput plan_layer_input(const ModelState& state, const LayerFormat& lf, const ModelQuantizeOptions& options,
                                int64_t begin, int64_t count, const JobContext* job) {
  QuantizerInput input;
  input.weight = state.values(lf.name + ".weight", begin, count).to(state.torch_device()).contiguous();
  input.importance = importance_for(lf, options, input.weight);
  input.seed = options.seed;
  input.name = lf.name;
  input.job = job;
  if (!lf.codebooks.empty())
    input.codebooks = torch::tensor(lf.codebooks).view({-1, lf.format.levels()}).to(input.weight.device());
  return input;
}

std::vector<std::string> layers_select(const Model& model, const std::string& glob) {
  const std::string pattern = glob.empty() ? "model.layers.*" : glob;
  std::vector<std::string> names;
  for (const LinearLayer& layer : model.linear_layers())
    if (fnmatch(pattern.c_str(), layer.name.c_str(), 0) == 0) names.push_back(layer.name);
  if (fnmatch(pattern.c_str(), kEmbedding, 0) == 0) names.push_back(kEmbedding);
  if (names.empty())
    throw Error(ErrorKind::Invalid, "--layers '" + pattern +
                                        "' matches no layer; names look like model.layers.0.mlp.up_proj, "
                                        "lm_head, model.embed_tokens");
  return names;
}

std::shared_ptr<Model> model_quantize(const Model& model, const std::vector<LayerFormat>& formats,
                                      const ModelQuantizeOptions& options, ModelQuantizeReport* report,
                                      JobContext* job) {
  const auto start = std::chrono::steady_clock::now();
  auto state = std::make_shared<ModelState>(model.state());
  state->source_identity.clear();  // its weights are no longer the files'
  ModelQuantizeReport r;
  r.bytes_before = model.stored_bytes();
  int64_t bytes_after = int64_t(r.bytes_before);
  auto activations = std::make_shared<std::map<std::string, FormatSpec>>();
  std::shared_ptr<ScratchFile> scratch;
  const bool to_scratch = options.keep == ModelQuantizeOptions::Keep::Write ||
                          (options.keep != ModelQuantizeOptions::Keep::None && held_exceeds_budget(*state, formats));
  for (size_t i = 0; i < formats.size(); ++i) {
    const LayerFormat& lf = formats[i];
    if (i > 0) heap_release();  // the previous layer's blocks
    if (job) {
      job->check_cancelled();
      job->progress(double(i) / formats.size(), lf.name);
    }
    if (lf.activation) {
      if (lf.activation->family != QuantFamily::Quest)
        throw Error(ErrorKind::Invalid, lf.name + ": activation format " + format_print(*lf.activation) +
                                            " is not a QuEST format; inputs are quantized with quest<b> formats");
      if (lf.name == kEmbedding)
        throw Error(ErrorKind::Invalid, lf.name + ": an embedding has no input to quantize");
      (*activations)[lf.name] = *lf.activation;
      // A plan that quantizes only a layer's input keeps its weight as stored.
      if (!lf.format.quantized()) continue;
    }
    if (lf.name == "lm_head" && state->config.tie_word_embeddings)
      throw Error(ErrorKind::Invalid, "lm_head: tied to the embedding in this model; quantize model.embed_tokens");
    const std::string tensor_name = lf.name + ".weight";
    if (!state->has(tensor_name))
      throw Error(ErrorKind::Invalid, lf.name + ": no such layer in " + state->source.string());
    const auto layer_start = std::chrono::steady_clock::now();
    if (!lf.codebooks.empty() && lf.format.family != QuantFamily::KMeans)
      throw Error(ErrorKind::Invalid, lf.name + ": pinned codebooks need a kmeans format, not " + format_print(lf.format));
    const std::vector<int64_t> shape = state->shape(tensor_name);
    const int64_t rows = shape.at(0), cols = shape.at(1);
    const int64_t block = format_rows_independent(lf.format)
                              ? std::clamp<int64_t>(options.block_weights / std::max<int64_t>(cols, 1), 1, rows)
                              : rows;
    LayerReport layer;
    layer.name = lf.name;
    layer.out = rows;
    layer.in = cols;
    layer.format = lf.format;
    MetricsAccumulator sums;
    // The weight as stored, in float32, read for these rows alone: quantizing reads each weight once,
    // so a resident model's cache of conversions would only hold memory.
    const auto quantize_rows = [&](int64_t begin, int64_t count) {
      const QuantizerInput input = plan_layer_input(*state, lf, options, begin, count, job);
      QuantizerOutput q = quantizer_run(lf.format, input);
      const torch::Tensor w = input.weight.cpu(), dq = q.dequant.cpu();
      sums.add({w.data_ptr<float>(), size_t(w.numel())}, {dq.data_ptr<float>(), size_t(dq.numel())});
      layer.inertia += q.inertia;
      return q;
    };
    const auto rows_quantize = [&](int64_t begin, int64_t count) {
      return quantize_rows(begin, count).dequant.to(state->compute_dtype());
    };
    if (options.keep == ModelQuantizeOptions::Keep::Packed && lf.name != kEmbedding &&
        PackedLinear::supports(lf.format, rows, cols)) {
      state->packed[lf.name] = PackedLinear::create(lf.format, quantize_rows(0, rows), rows, cols);
      state->tensors.erase(tensor_name);
    } else if (options.keep == ModelQuantizeOptions::Keep::None) {
      for (int64_t begin = 0; begin < rows; begin += block) rows_quantize(begin, std::min(block, rows - begin));
    } else if (to_scratch) {
      if (!scratch) scratch = ScratchFile::create(std::filesystem::temp_directory_path());
      state->tensors[tensor_name] = scratch->store({rows, cols}, state->compute_dtype(), block, rows_quantize);
    } else if (block == rows) {
      state->tensors[tensor_name] = rows_quantize(0, rows);
    } else {
      torch::Tensor held = torch::empty({rows, cols}, torch::TensorOptions()
                                                           .dtype(state->compute_dtype())
                                                           .device(state->torch_device()));
      for (int64_t begin = 0; begin < rows; begin += block) {
        const int64_t count = std::min(block, rows - begin);
        held.narrow(0, begin, count).copy_(rows_quantize(begin, count));
      }
      state->tensors[tensor_name] = held;
    }
    layer.metrics = sums.result(format_storage_bits(lf.format, rows, cols));
    layer.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - layer_start).count();
    bytes_after += int64_t(layer.metrics.bytes) - int64_t(model.tensor_stored_bytes(tensor_name));
    r.quantized_parameters += uint64_t(rows * cols);
    r.layers.push_back(std::move(layer));
  }
  if (options.keep == ModelQuantizeOptions::Keep::Packed) stored_layers_pack(*state, model, job);
  if (!activations->empty()) {
    // Inputs are checked against their Hadamard block here, before any forward pass.
    for (const auto& [name, spec] : *activations) {
      const int64_t in = linear_in_features(*state, name);
      if (spec.hadamard > 1 && in % spec.hadamard != 0)
        throw Error(ErrorKind::Invalid, name + ": activation format " + format_print(spec) + " needs the layer's " +
                                            std::to_string(in) + " inputs to be a multiple of its Hadamard block");
    }
    auto previous = state->linear_input;
    state->linear_input = [activations, previous](const std::string& layer, const torch::Tensor& input) {
      const torch::Tensor x = previous ? previous(layer, input) : input;
      const auto it = activations->find(layer);
      if (it == activations->end()) return x;
      torch::NoGradGuard no_grad;
      return activation_fake_quantize(x, it->second, {.kind = GradientEstimator::Ste}, layer);
    };
  }
  r.bytes_after = uint64_t(bytes_after);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (job) job->progress(1.0, "quantized");
  if (report) *report = std::move(r);
  return options.keep == ModelQuantizeOptions::Keep::None ? nullptr : std::make_shared<Model>(state);
}

}  // namespace qs
