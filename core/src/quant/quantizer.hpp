// The quantizer families behind tensor_quantize and model_quantize, on LibTorch tensors that stay on
// their device (CPU or CUDA). One family per file (quantizer_<family>.cpp); quantizer_registry.cpp
// is the one table that maps a FormatSpec's family to its functions.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "quantscope/format.hpp"
#include "quantscope/job.hpp"

namespace qs {
namespace kernels {
enum class GgmlType : int;
}

class Model;
struct LayerFormat;
struct ModelQuantizeOptions;
struct ModelState;
struct QuantizeOptions;

struct QuantizerInput {
  torch::Tensor weight;      // float32, contiguous, [out, in], CPU or CUDA
  torch::Tensor importance;  // float32 [out, in] on the same device, or undefined
  bool reference = false;    // CPU: the scalar single-threaded reference instead of the threaded path
  bool want_normalized = false;  // fill QuantizerOutput::normalized (plots)
  uint64_t seed = 0;
  std::string name;          // for error messages
  // KMeans: codebooks [n, 2^b] on the weight's device used as they are instead of a fit (QAT between
  // refits, plans with pinned codebooks); scales are still computed from the weight.
  torch::Tensor codebooks;
  // Skip the finite-weight check, which syncs a GPU once per call: QAT quantizes every layer on
  // every step and its loss check catches NaN weights instead.
  bool trusted = false;
  const JobContext* job = nullptr;  // cancellation, asked between stages and rows
};

struct QuantizerOutput {
  torch::Tensor dequant;      // float32 [out, in], original basis, on the input's device
  torch::Tensor codes;        // uint8 [out, in] (rotated basis for Hadamard formats); undefined for Float
  torch::Tensor scales;       // float32, in storage precision; undefined when the format has none
  torch::Tensor zero_points;  // uint8, Int :asym only
  torch::Tensor codebooks;    // float32 [n, 2^b], sorted (KMeans, NF4) or the grid in scale units (Int, Quest)
  torch::Tensor normalized;   // float32 [out, in]: the values the grid applies to, when asked
  torch::Tensor blocks;       // uint8 [out, row bytes]: Gguf's ggml blocks as GGUF stores them (CPU)
  double inertia = 0;  // KMeans fit; 0 with pinned codebooks
};

// Reads the sections of a packed tensor in order (docs/quantization.md).
class PackedReader {
 public:
  PackedReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  std::vector<uint8_t> codes(uint64_t count, int bits);
  std::vector<float> bf16(uint64_t count);
  std::vector<float> f32(uint64_t count);
  const uint8_t* raw(uint64_t bytes) { return take(bytes); }
  void finish() const;  // throws Format when bytes are left over

 private:
  const uint8_t* take(uint64_t bytes);
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};

// Appends sections to a packed tensor.
struct PackedWriter {
  std::vector<uint8_t> bytes;
  void codes(const torch::Tensor& codes, int bits);  // uint8, any device
  void bf16(const torch::Tensor& values);            // float32 values exactly representable in bf16
  void f32(const torch::Tensor& values);
  void raw(const torch::Tensor& values);  // the tensor's bytes as they are (CPU copy)
};

// One section of a packed tensor: its name in a packed checkpoint (docs/export.md), the type its
// elements are stored as, and its bytes. Codes and zero points are bit streams (U8); ggml's blocks U8.
struct PackedSection {
  std::string name;  // codes, scales, zero_points, codebooks, blocks, values
  DType dtype = DType::U8;
  uint64_t bytes = 0;
};

struct QuantizerFamily {
  QuantFamily family;
  QuantizerOutput (*run)(const FormatSpec&, const QuantizerInput&);
  void (*pack)(const FormatSpec&, const QuantizerOutput&, PackedWriter&);
  std::vector<float> (*unpack)(const FormatSpec&, PackedReader&, int64_t out, int64_t in);
  // The sections `pack` writes for an [out, in] weight, in its order.
  std::vector<PackedSection> (*sections)(const FormatSpec&, int64_t out, int64_t in);
};

const QuantizerFamily& quantizer_family(QuantFamily family);

// quantizer_family(spec.family).sections: what a packed checkpoint stores for one layer.
std::vector<PackedSection> packed_sections(const FormatSpec& spec, int64_t out, int64_t in);

// An uninitialised tensor for a quantizer's output (codes, dequantized weights) on the options'
// device: on the CPU from buffer_cache.hpp, whose kept blocks spare re-quantizing a layer the page
// faults of fresh memory.
torch::Tensor output_empty(at::IntArrayRef sizes, const torch::TensorOptions& options);

// The block Hadamard rotation of every row of a float32 [rows, cols] tensor, in place, on its device
// (threaded on CPU unless `reference`). Its own inverse.
void hadamard_apply(torch::Tensor& x, int64_t block, bool reference = false);

// Nearest-centroid codes and s·c[code] into q.codes / q.dequant (allocated by the caller): scales per
// block of `block` along a row (or undefined), codebooks [n, k] shared (codebook_group 0) or one per
// group of codebook_group weights along a row.
void codebook_assign(const torch::Tensor& x, const torch::Tensor& scales, int64_t block, const torch::Tensor& books,
                     int64_t codebook_group, bool reference, QuantizerOutput& q,
                     const JobContext* job = nullptr);

// Rows of a float32 [rows, cols] array into ggml's blocks of `type`, row after row (the gguf family,
// and the GGUF writer for every tensor): row-parallel unless `reference`; `job` asked between rows.
void ggml_rows_quantize(kernels::GgmlType type, const float* w, int64_t rows, int64_t cols, uint8_t* out,
                        bool reference = false, const JobContext* job = nullptr);

// KMeans: the weights one block scale (Block) or one codebook (Channel, Group) covers along a row.
int64_t kmeans_segment(const FormatSpec& spec, int64_t in);
// The smallest k-means block scale (an all-zero block would otherwise divide by zero).
constexpr float kKMeansScaleEps = 1e-5f;

// x [rows, cols] divided by per-group values [rows · groups] (groups of `group` along a row, the last
// one possibly shorter), plus per-group offsets when given, without spreading the values over a tensor
// of x's size: the result is the only allocation. A zero divisor (an all-zero group) gives 0.
torch::Tensor groups_divide(const torch::Tensor& x, const torch::Tensor& divisors, int64_t group,
                            const torch::Tensor& offsets = {});

// Whether every row of a weight is quantized on its own (no scale, rotation or codebook spans rows),
// so that quantizing a block of rows at a time gives the same result as the whole weight at once.
// K-means formats say no: their codebooks are fitted over the tensor (or seeded per tensor).
bool format_rows_independent(const FormatSpec& spec);

// Throws Numeric when the weight holds NaN/Inf and Invalid when the spec cannot apply, naming
// input.name; then runs the family.
QuantizerOutput quantizer_run(const FormatSpec& spec, const QuantizerInput& input);

// What layer_quantize (and error_map_compute) quantizes for a loaded model's linear layer: its weight
// as float32 on the model's device, options.importance beside it, and options' seed, name, reference
// flag and job. Throws Invalid for an unknown layer, a weight that is not 2-D, or importance of
// another size.
QuantizerInput layer_quantizer_input(const Model& model, const std::string& layer, const QuantizeOptions& options);

// What model_quantize quantizes for rows [begin, begin + count) of a plan's layer: the weight as stored
// in float32 on the model's device, with the plan's importance, seed and pinned codebooks. The packed
// checkpoint's writer quantizes through it too, so that its layers decode to the quantized model's.
QuantizerInput plan_layer_input(const ModelState& state, const LayerFormat& lf, const ModelQuantizeOptions& options,
                                int64_t begin, int64_t count, const JobContext* job);

// Every family's declaration, for the registry.
QuantizerOutput quantizer_float_run(const FormatSpec&, const QuantizerInput&);
void quantizer_float_pack(const FormatSpec&, const QuantizerOutput&, PackedWriter&);
std::vector<float> quantizer_float_unpack(const FormatSpec&, PackedReader&, int64_t, int64_t);
std::vector<PackedSection> quantizer_float_sections(const FormatSpec&, int64_t, int64_t);
QuantizerOutput quantizer_int_run(const FormatSpec&, const QuantizerInput&);
void quantizer_int_pack(const FormatSpec&, const QuantizerOutput&, PackedWriter&);
std::vector<float> quantizer_int_unpack(const FormatSpec&, PackedReader&, int64_t, int64_t);
std::vector<PackedSection> quantizer_int_sections(const FormatSpec&, int64_t, int64_t);
QuantizerOutput quantizer_quest_run(const FormatSpec&, const QuantizerInput&);
void quantizer_quest_pack(const FormatSpec&, const QuantizerOutput&, PackedWriter&);
std::vector<float> quantizer_quest_unpack(const FormatSpec&, PackedReader&, int64_t, int64_t);
std::vector<PackedSection> quantizer_quest_sections(const FormatSpec&, int64_t, int64_t);
QuantizerOutput quantizer_kmeans_run(const FormatSpec&, const QuantizerInput&);
void quantizer_kmeans_pack(const FormatSpec&, const QuantizerOutput&, PackedWriter&);
std::vector<float> quantizer_kmeans_unpack(const FormatSpec&, PackedReader&, int64_t, int64_t);
std::vector<PackedSection> quantizer_kmeans_sections(const FormatSpec&, int64_t, int64_t);
QuantizerOutput quantizer_nf4_run(const FormatSpec&, const QuantizerInput&);
void quantizer_nf4_pack(const FormatSpec&, const QuantizerOutput&, PackedWriter&);
std::vector<float> quantizer_nf4_unpack(const FormatSpec&, PackedReader&, int64_t, int64_t);
std::vector<PackedSection> quantizer_nf4_sections(const FormatSpec&, int64_t, int64_t);
QuantizerOutput quantizer_gguf_run(const FormatSpec&, const QuantizerInput&);
void quantizer_gguf_pack(const FormatSpec&, const QuantizerOutput&, PackedWriter&);
std::vector<float> quantizer_gguf_unpack(const FormatSpec&, PackedReader&, int64_t, int64_t);
std::vector<PackedSection> quantizer_gguf_sections(const FormatSpec&, int64_t, int64_t);

}  // namespace qs
