// Quantizing a loaded model: a format per selected tensor (every linear layer of the decoder by
// default; the embedding and lm_head only when asked), the dequantized weights put in place of the
// originals in a new Model that shares every other tensor, and a per-layer report. The new Model
// evaluates, generates and saves like any other.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "quantscope/format.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/quantize.hpp"

namespace qs {

class Model;
class JobContext;

struct LayerFormat {
  std::string name;  // a linear layer ("model.layers.0.mlp.up_proj") or "model.embed_tokens"
  FormatSpec format;  // of the weight
  // The layer's input, quantized per token on every forward pass of the quantized model (QuEST
  // formats only; WxAy). Unset: inputs stay in the compute dtype.
  std::optional<FormatSpec> activation;
  // KMeans: codebooks [n, 2^bits] row-major used instead of a fit (a QAT run's trained codebooks).
  std::vector<float> codebooks;
};

// Tensors whose name matches the glob (`*` any run of characters, `?` one; matched against the
// whole name without ".weight"). The candidates are the linear layers and "model.embed_tokens".
// An empty glob means the decoder's linear layers ("model.layers.*"). Throws Invalid when nothing
// matches.
std::vector<std::string> layers_select(const Model& model, const std::string& glob);

struct LayerReport {
  std::string name;
  int64_t out = 0, in = 0;
  FormatSpec format;
  TensorMetrics metrics;
  double inertia = 0;  // KMeans
  double seconds = 0;
};

struct ModelQuantizeReport {
  std::vector<LayerReport> layers;
  uint64_t bytes_before = 0;  // every tensor as stored in the source
  uint64_t bytes_after = 0;   // the same with each quantized tensor at its exact quantized size
  uint64_t quantized_parameters = 0;
  double seconds = 0;
};

struct ModelQuantizeOptions {
  uint64_t seed = 0;
  // Per-layer importance for `:fisher` formats, from importance_collect; empty otherwise.
  std::shared_ptr<const LayerImportance> importance;
  // What becomes of the quantized weights. None: only the report is wanted; nothing is kept and
  // model_quantize returns null. Use: kept for computing with, in memory when the memory budget has room
  // for them beside the model's conversions, else in the scratch file. Write: the model is written out
  // once (quantize --save), so they go to the scratch file whatever the budget: memory would only hold
  // what the disk gets anyway. Packed: as Use, but the layers whose format the decode kernels take are
  // held as packed codes (memory falls with the bits; on CUDA the kernels read them): those `formats`
  // quantizes, and those the checkpoint already stores in such a format (a GGUF's q4_k layers, a packed
  // checkpoint's kmeans2 layers), read from their stored codes without a dequantized copy, so an empty
  // `formats` packs a quantized checkpoint as it is. Such a model computes (eval, generate) but cannot
  // be saved or exported.
  enum class Keep { None, Use, Write, Packed };
  Keep keep = Keep::Use;
  // A weight larger than this many values (an 8B model's 525M-value head or embedding) is quantized a
  // block of rows of about this size at a time when its format quantizes rows independently (all but
  // k-means), so memory holds a block rather than the layer; the result is the same.
  int64_t block_weights = int64_t{1} << 26;
};

// A layer at a time. The quantized weights are kept (options.keep) in the compute dtype, in memory or in
// an unlinked scratch file in $TMPDIR (a streamed model's always).
// Throws Invalid naming the layer when a format cannot apply to it (Hadamard block not dividing
// `in`, `:fisher` without importance), Numeric when a weight holds NaN or Inf, Io when the scratch
// file cannot be written.
std::shared_ptr<Model> model_quantize(const Model& model, const std::vector<LayerFormat>& formats,
                                      const ModelQuantizeOptions& options = {}, ModelQuantizeReport* report = nullptr,
                                      JobContext* job = nullptr);

}  // namespace qs
