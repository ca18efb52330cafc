// The one textual quantization format spec ("int4:g128", "quest2", "kmeans1", "nf4", "bf16"), shared
// by the CLI, the GUI, plan files and exports. Parsing resolves every default, so two specs that mean
// the same format compare equal; printing gives the shortest canonical text (defaults left out).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quantscope/dtype.hpp"

namespace qs {

enum class QuantFamily { Float, Int, Quest, KMeans, NF4 };
// Which weights share a scale (int) or a codebook (kmeans): the whole tensor, one output row, or
// groups of `group` consecutive weights along `in`. KMeans `Block`: ONE codebook for the tensor over
// values normalised by a scale per block of `group` weights along `in` (1-Bit Wonder's format).
enum class Granularity { Tensor, Channel, Group, Block };
enum class BlockScale { Absmax, Absmean };
enum class KMeansSolver { Exact, Lloyd };

struct FormatSpec {
  QuantFamily family = QuantFamily::Float;
  DType dtype = DType::BF16;  // Float: BF16, F16 or F32
  int bits = 16;              // Int, Quest, KMeans: 1..8; NF4: 4; Float: 16 or 32
  Granularity granularity = Granularity::Channel;
  int64_t group = 0;          // Group / Block: weights per group along `in`
  bool asymmetric = false;    // Int
  bool mse_clip = false;      // Int: clip ratio searched per group to minimise the MSE
  int64_t hadamard = 0;       // Quest: rotation block (default 128); KMeans: 0 (none) or a block
  BlockScale scale = BlockScale::Absmax;  // KMeans Block
  KMeansSolver solver = KMeansSolver::Exact;
  bool fisher = false;        // KMeans: importance-weighted fitting (importance from the caller)

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

// Exact storage of an [out, in] weight in this format: codes, scales, zero points and codebooks.
uint64_t format_storage_bits(const FormatSpec& spec, int64_t out, int64_t in);
double format_bits_per_weight(const FormatSpec& spec, int64_t out, int64_t in);
// KMeans: how many codebooks an [out, in] weight has (1 for the block format, one per row or group
// otherwise); 0 for the other families.
int64_t format_codebook_count(const FormatSpec& spec, int64_t out, int64_t in);

// The QuEST clip α_b (MSE-optimal for a unit Gaussian with 2^b uniform levels), b in 1..8.
double quest_alpha(int bits);

}  // namespace qs
