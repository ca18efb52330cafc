// The one textual quantization format spec ("int4:g128", "quest2", "kmeans1", "q4_k", "bf16"), shared
// by the CLI, the GUI, plan files and exports. Parsing resolves every default, so two specs that mean
// the same format compare equal; printing gives the shortest canonical text (defaults left out).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quantscope/dtype.hpp"

namespace qs {

enum class QuantFamily { Float, Int, Quest, KMeans, NF4, Gguf };
// llama.cpp's tensor types that the Gguf family quantizes to, bit for bit as ggml does; the values
// are ggml's own type ids (enum ggml_type), which GGUF files store.
enum class GgufType { Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13,
                      Q6_K = 14, IQ4_NL = 20 };
// Which weights share a scale (int) or a codebook (kmeans): the whole tensor, one output row, or
// groups of `group` consecutive weights along `in`. KMeans `Block`: ONE codebook for the tensor over
// values normalised by a scale per block of `group` weights along `in` (1-Bit Wonder's format).
enum class Granularity { Tensor, Channel, Group, Block };
enum class BlockScale { Absmax, Absmean };
enum class KMeansSolver { Exact, Lloyd };

struct FormatSpec {
  QuantFamily family = QuantFamily::Float;
  DType dtype = DType::BF16;  // Float: BF16, F16 or F32
  int bits = 16;              // Int, Quest, KMeans: 1..8; NF4: 4; Float: 16 or 32; Gguf: the code width
  Granularity granularity = Granularity::Channel;
  int64_t group = 0;          // Group / Block: weights per group along `in`; Gguf: ggml's block (32 or 256)
  bool asymmetric = false;    // Int
  bool mse_clip = false;      // Int: clip ratio searched per group to minimise the MSE
  int64_t hadamard = 0;       // Quest: rotation block (default 128); KMeans: 0 (none) or a block
  BlockScale scale = BlockScale::Absmax;  // KMeans Block
  KMeansSolver solver = KMeansSolver::Exact;
  bool fisher = false;        // KMeans: importance-weighted fitting (importance from the caller)
  GgufType gguf = GgufType::Q8_0;  // Gguf: the tensor type

  bool quantized() const { return family != QuantFamily::Float; }
  int levels() const { return 1 << bits; }  // codebook size / code range upper bound
  bool operator==(const FormatSpec&) const = default;
};

// Throws Error(Invalid) with a one-line message naming the spec, the problem and what is allowed.
FormatSpec format_parse(std::string_view text);
std::string format_print(const FormatSpec& spec);
// Multi-line description of the grammar, for --help and the GUI's tooltip.
std::string format_grammar();

// The formats an editor offers first, a few per family from 8 bits down to 1 (each parses).
const std::vector<std::string>& format_suggestions();

// Why an [out, in] weight cannot take this format ("in_features 100 is not a multiple of q4_k's block
// of 256"), or empty when it can. Only Gguf types constrain the shape.
std::string format_shape_problem(const FormatSpec& spec, int64_t out, int64_t in);
// Exact storage of an [out, in] weight in this format: codes, scales, zero points and codebooks (for
// Gguf, ggml's blocks as a GGUF file holds them; a shape it cannot take throws Invalid).
uint64_t format_storage_bits(const FormatSpec& spec, int64_t out, int64_t in);
double format_bits_per_weight(const FormatSpec& spec, int64_t out, int64_t in);
// KMeans: how many codebooks an [out, in] weight has (1 for the block format, one per row or group
// otherwise); 0 for the other families.
int64_t format_codebook_count(const FormatSpec& spec, int64_t out, int64_t in);

// The QuEST clip α_b (MSE-optimal for a unit Gaussian with 2^b uniform levels), b in 1..8.
double quest_alpha(int bits);

}  // namespace qs
