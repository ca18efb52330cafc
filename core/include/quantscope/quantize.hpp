// Quantizing one weight tensor in any format of format.hpp, and the per-tensor metrics and
// histograms that the GUI and the reports plot. Plain vectors in and out: the GUI and the CLI call
// this without LibTorch; model-level quantization (model_quantize.hpp) uses the same quantizers on
// the model's own tensors.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quantscope/device.hpp"
#include "quantscope/format.hpp"
#include "quantscope/stats.hpp"

namespace qs {

class JobContext;
class Model;

struct TensorMetrics {
  int64_t count = 0;
  double mse = 0;
  double relative_mse = 0;  // mse / mean(w²)
  double sqnr_db = 0;       // 10·log10(Σw² / Σ(w − ŵ)²); +inf when exact
  double cosine = 0;
  double max_abs_error = 0;
  double bits_per_weight = 0;
  uint64_t bytes = 0;       // storage, rounded up to whole bytes
};

// w and wq of equal length; storage_bits as format_storage_bits gives it.
TensorMetrics metrics_compute(std::span<const float> w, std::span<const float> wq, uint64_t storage_bits);

struct QuantizeOptions {
  Device device = Device::Cpu;
  // The scalar single-threaded CPU reference instead of the fast path (tests, debugging).
  bool reference = false;
  // Per-weight importance, [out, in] (e.g. squared gradients, or activation second moments broadcast
  // over rows); required by `:fisher` formats, ignored otherwise.
  std::span<const float> importance;
  uint64_t seed = 0;  // Lloyd's k-means++ initialisation and sampling
  std::string name;   // the layer or tensor name, used in error messages
  int histogram_bins = 256;
  // Only what a plot needs (metrics, histograms, levels and codebooks, occupancy): dequantized, codes,
  // scales, zero_points and packed stay empty, which spares as much memory as the weight takes.
  bool summary_only = false;
  // Asked between stages and, in k-means fits, between rows: a cancelled job stops within a fraction
  // of a second even on a 4096 x 14336 layer (throws Error(Cancelled)).
  const JobContext* job = nullptr;
};

struct QuantizedTensor {
  FormatSpec format;
  int64_t out = 0, in = 0;
  std::vector<float> dequantized;  // [out, in], row-major, in the original basis
  // One code per weight, [out, in], in the rotated basis for Hadamard formats; empty for Float.
  std::vector<uint8_t> codes;
  std::vector<float> scales;       // per row / group / block, with the precision they are stored in
  std::vector<uint8_t> zero_points;  // Int :asym, one per scale
  // Int and Quest: the grid in units of the scale; KMeans and NF4: the codebooks, [n, 2^bits], sorted.
  std::vector<float> codebooks;
  double inertia = 0;              // KMeans: the weighted within-cluster sum of squares of the fit
  std::vector<uint8_t> packed;     // the storage layout of docs/quantization.md
  uint64_t storage_bits = 0;
  TensorMetrics metrics;
  // Plots: the weights; the values the grid or codebook applies to (w / scale, or the rotated row
  // over σ) with the levels drawn over them; the error ŵ − w; and how many weights use each code.
  Histogram weight_histogram;
  Histogram normalized_histogram;
  std::vector<double> levels;      // in normalised units; the first codebook for per-row/group ones
  Histogram error_histogram;
  std::vector<int64_t> occupancy;  // [2^bits]
};

// weight: [out, in] row-major. Throws Error(Numeric) for NaN/Inf weights, Error(Invalid) when the
// spec cannot apply (a Hadamard block that does not divide `in`, `:fisher` without importance), with
// options.name in the message.
QuantizedTensor tensor_quantize(const FormatSpec& spec, std::span<const float> weight, int64_t out, int64_t in,
                                const QuantizeOptions& options = {});

// The weight of a loaded model's linear layer ("model.layers.0.mlp.up_proj"), quantized where it lies
// (on the model's device; options.device is not used) without a float copy of a float32 weight.
// Throws Invalid for an unknown layer, and what tensor_quantize throws.
QuantizedTensor layer_quantize(const Model& model, const std::string& layer, const FormatSpec& spec,
                               const QuantizeOptions& options = {});

// Decodes `packed` (as tensor_quantize wrote it) back to the dequantized [out, in] weight.
std::vector<float> tensor_dequantize(const FormatSpec& spec, std::span<const uint8_t> packed, int64_t out,
                                     int64_t in);

}  // namespace qs
