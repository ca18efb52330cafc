// The format spec grammar (format.hpp): parsing resolves every default so that equal formats compare
// equal, printing gives the canonical short form, and storage is counted exactly (codes, scales, zero
// points, codebooks). Specs are case-insensitive and surrounding whitespace is ignored; the canonical
// form is lower-case. llama.cpp's types (q4_k, iq4_nl, …) are names of their own, without options.
#include "quantscope/format.hpp"

#include <array>
#include <cctype>
#include <set>
#include <utility>
#include <vector>

#include "ggml_quants.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr std::string_view kFamilies =
    "bf16, f16, f32, int<b>, quest<b>, kmeans<b> (b = 1..8), nf4, and llama.cpp's types q4_0, q4_1, q5_0, q5_1, "
    "q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl";
constexpr std::string_view kGgufAllowed = "q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl";

// llama.cpp's tensor types: name, code width, weights per block.
struct GgufEntry {
  std::string_view name;
  GgufType type;
  int bits;
  int64_t block;
};
constexpr GgufEntry kGgufTypes[] = {
    {"q4_0", GgufType::Q4_0, 4, 32},   {"q4_1", GgufType::Q4_1, 4, 32},   {"q5_0", GgufType::Q5_0, 5, 32},
    {"q5_1", GgufType::Q5_1, 5, 32},   {"q8_0", GgufType::Q8_0, 8, 32},   {"q2_k", GgufType::Q2_K, 2, 256},
    {"q3_k", GgufType::Q3_K, 3, 256},  {"q4_k", GgufType::Q4_K, 4, 256},  {"q5_k", GgufType::Q5_K, 5, 256},
    {"q6_k", GgufType::Q6_K, 6, 256},  {"iq4_nl", GgufType::IQ4_NL, 4, 32}};
// llama-quantize's file recipes mix types per tensor; each names the type most of its tensors take.
constexpr std::pair<std::string_view, std::string_view> kGgufRecipes[] = {
    {"q2_k_s", "q2_k"}, {"q3_k_s", "q3_k"}, {"q3_k_m", "q3_k"}, {"q3_k_l", "q3_k"},
    {"q4_k_s", "q4_k"}, {"q4_k_m", "q4_k"}, {"q5_k_s", "q5_k"}, {"q5_k_m", "q5_k"}};

const GgufEntry& gguf_entry(GgufType type) {
  for (const GgufEntry& e : kGgufTypes)
    if (e.type == type) return e;
  throw Error(ErrorKind::Invalid, "unknown gguf type id " + std::to_string(int(type)));
}
constexpr std::string_view kIntAllowed =
    "int<b> (b = 1..8) with tensor | channel | g<N> (N >= 1) [channel], asym [symmetric], mse [absmax clip]";
constexpr std::string_view kInt1Allowed = "int1 (sign x absmean) with tensor | channel | g<N> (N >= 1) [channel]";
constexpr std::string_view kQuestAllowed = "quest<b> (b = 1..8) with h<N> (N a power of two >= 1) [h128]";
constexpr std::string_view kKMeansAllowed =
    "kmeans<b> (b = 1..8) with b<N> | channel | g<N> (N >= 1) [b64], absmax | absmean (b<N> only) "
    "[absmean for b <= 2, absmax above], exact | lloyd [exact], fisher, h<N> (N a power of two >= 2, not with fisher)";
constexpr int64_t kMaxCount = int64_t(1) << 40;
// The CUDA rotation keeps a block on one multiprocessor, which bounds it.
constexpr int64_t kHadamardMax = 32768;

[[noreturn]] void fail(std::string_view text, const std::string& problem, std::string_view allowed) {
  throw Error(ErrorKind::Invalid,
              "format '" + std::string(text) + "': " + problem + "; allowed: " + std::string(allowed));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A whole number, -1 when it is not one, -2 when it exceeds kMaxCount.
int64_t parse_count(std::string_view digits) {
  if (digits.empty()) return -1;
  int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    if (v <= kMaxCount) v = v * 10 + (c - '0');
  }
  return v <= kMaxCount ? v : -2;
}

// An option that is a letter followed by a (possibly malformed) number: g64, b32, h128, g-1, g12x.
bool numbered(std::string_view option, char letter) {
  return option.size() > 1 && option[0] == letter &&
         (std::isdigit(static_cast<unsigned char>(option[1])) || option[1] == '-' || option[1] == '+');
}

bool power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

// The number after a one-letter option prefix (g, b, h), checked against a lower bound.
int64_t option_count(std::string_view text, std::string_view option, int64_t min, const char* what,
                     std::string_view allowed) {
  const int64_t v = parse_count(option.substr(1));
  std::string problem = "'";  // built by appending: GCC 12 misreads a chain of operator+ here
  problem.append(option).append("': ").append(what);
  if (v == -2) fail(text, problem.append(" is too large"), allowed);
  if (v < 0) fail(text, problem.append(" must be a whole number"), allowed);
  if (v < min) fail(text, problem.append(" must be at least ").append(std::to_string(min)), allowed);
  return v;
}

int64_t hadamard_count(std::string_view text, std::string_view option, int64_t min, std::string_view allowed) {
  const int64_t v = option_count(text, option, min, "the Hadamard block", allowed);
  if (!power_of_two(v))
    fail(text, std::string("'").append(option).append("': the Hadamard block must be a power of two"), allowed);
  if (v > kHadamardMax)
    fail(text, std::string("'").append(option).append("': Hadamard blocks above ").append(std::to_string(kHadamardMax))
                   .append(" are not supported"),
         allowed);
  return v;
}

BlockScale default_scale(int bits) { return bits <= 2 ? BlockScale::Absmean : BlockScale::Absmax; }

uint64_t ceil_div(int64_t a, int64_t b) { return uint64_t((a + b - 1) / b); }

// Parses the options of int<b>; `granularity` remembers the option that set it, for conflict messages.
void parse_int_options(std::string_view text, const std::vector<std::string_view>& options, FormatSpec& spec) {
  const std::string_view allowed = spec.bits == 1 ? kInt1Allowed : kIntAllowed;
  std::string_view granularity;
  for (std::string_view o : options) {
    if (o == "tensor" || o == "channel" || numbered(o, 'g')) {
      if (!granularity.empty())
        fail(text, "two granularities '" + std::string(granularity) + "' and '" + std::string(o) + "'", allowed);
      granularity = o;
      if (o == "tensor") {
        spec.granularity = Granularity::Tensor;
      } else if (o == "channel") {
        spec.granularity = Granularity::Channel;
      } else {
        spec.granularity = Granularity::Group;
        spec.group = option_count(text, o, 1, "the group size", allowed);
      }
    } else if (o == "asym" || o == "mse") {
      if (spec.bits == 1)
        fail(text,
             "int1 is sign x absmean (two levels +-s with s the mean |w|, the MSE-optimal scale for the sign), "
             "so '" + std::string(o) + "' does not apply",
             allowed);
      (o == "asym" ? spec.asymmetric : spec.mse_clip) = true;
    } else {
      fail(text, "unknown option '" + std::string(o) + "'", allowed);
    }
  }
}

void parse_quest_options(std::string_view text, const std::vector<std::string_view>& options, FormatSpec& spec) {
  std::string_view hadamard;
  for (std::string_view o : options) {
    if (numbered(o, 'h')) {
      if (!hadamard.empty())
        fail(text, "two Hadamard blocks '" + std::string(hadamard) + "' and '" + std::string(o) + "'", kQuestAllowed);
      hadamard = o;
      spec.hadamard = hadamard_count(text, o, 1, kQuestAllowed);
    } else {
      fail(text, "unknown option '" + std::string(o) + "'", kQuestAllowed);
    }
  }
}

void parse_kmeans_options(std::string_view text, const std::vector<std::string_view>& options, FormatSpec& spec) {
  std::string_view granularity, scale, solver, hadamard;
  const auto set_once = [&](std::string_view& slot, std::string_view o, const char* what) {
    if (!slot.empty())
      fail(text, std::string("two ") + what + " '" + std::string(slot) + "' and '" + std::string(o) + "'",
           kKMeansAllowed);
    slot = o;
  };
  for (std::string_view o : options) {
    if (o == "channel" || numbered(o, 'g') || numbered(o, 'b')) {
      set_once(granularity, o, "granularities");
      if (o == "channel") {
        spec.granularity = Granularity::Channel;
        spec.group = 0;
      } else {
        spec.granularity = o[0] == 'b' ? Granularity::Block : Granularity::Group;
        spec.group = option_count(text, o, 1, o[0] == 'b' ? "the block size" : "the group size", kKMeansAllowed);
      }
    } else if (o == "absmax" || o == "absmean") {
      set_once(scale, o, "block scales");
      spec.scale = o == "absmax" ? BlockScale::Absmax : BlockScale::Absmean;
    } else if (o == "exact" || o == "lloyd") {
      set_once(solver, o, "solvers");
      spec.solver = o == "exact" ? KMeansSolver::Exact : KMeansSolver::Lloyd;
    } else if (o == "fisher") {
      spec.fisher = true;
    } else if (numbered(o, 'h')) {
      set_once(hadamard, o, "Hadamard blocks");
      spec.hadamard = hadamard_count(text, o, 2, kKMeansAllowed);
    } else {
      fail(text, "unknown option '" + std::string(o) + "'", kKMeansAllowed);
    }
  }
  if (spec.fisher && !hadamard.empty())
    fail(text, "importance is per weight of the original basis, so 'fisher' cannot be combined with '" +
                   std::string(hadamard) + "'",
         kKMeansAllowed);
  if (spec.granularity != Granularity::Block) {
    if (!scale.empty())
      fail(text, "'" + std::string(scale) + "' is a block scale and needs b<N> granularity, not '" +
                     std::string(granularity) + "'",
           kKMeansAllowed);
    spec.scale = BlockScale::Absmax;  // the field's default, so that equal formats compare equal
  } else if (scale.empty()) {
    spec.scale = default_scale(spec.bits);
  }
}

}  // namespace

FormatSpec format_parse(std::string_view input) {
  const std::string_view text = trim(input);
  std::string lower(text);
  for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty()) fail(text, "empty format", kFamilies);

  std::vector<std::string_view> parts;
  const std::string_view all(lower);
  for (size_t start = 0;;) {
    const size_t colon = all.find(':', start);
    const size_t length = colon == std::string_view::npos ? std::string_view::npos : colon - start;
    parts.push_back(trim(all.substr(start, length)));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  const std::string_view head = parts[0];
  const std::vector<std::string_view> options(parts.begin() + 1, parts.end());

  FormatSpec spec;
  if (head == "bf16" || head == "f16" || head == "f32" || head == "nf4") {
    if (!options.empty()) fail(text, std::string(head) + " takes no options", std::string(head) + " alone");
    if (head == "nf4") {
      spec.family = QuantFamily::NF4;
      spec.bits = 4;
      spec.granularity = Granularity::Block;
      spec.group = 64;
      spec.scale = BlockScale::Absmax;
    } else {
      spec.family = QuantFamily::Float;
      spec.dtype = head == "bf16" ? DType::BF16 : head == "f16" ? DType::F16 : DType::F32;
      spec.bits = head == "f32" ? 32 : 16;
    }
    return spec;
  }

  for (const GgufEntry& e : kGgufTypes) {
    if (head != e.name) continue;
    if (!options.empty()) fail(text, std::string(head) + " takes no options", std::string(head) + " alone");
    spec.family = QuantFamily::Gguf;
    spec.gguf = e.type;
    spec.bits = e.bits;
    spec.granularity = Granularity::Block;
    spec.group = e.block;
    return spec;
  }
  for (const auto& [recipe, type] : kGgufRecipes)
    if (head == recipe)
      fail(text,
           "'" + std::string(head) + "' is a llama-quantize file recipe (a mix of types per tensor), not a tensor "
               "type; give each layer a type, e.g. " + std::string(type) + " for most and q6_k for the sensitive ones",
           kGgufAllowed);
  if ((head.size() > 1 && head[0] == 'q' && std::isdigit(static_cast<unsigned char>(head[1]))) ||
      head.starts_with("iq") || head.starts_with("tq") || head == "mxfp4" || head == "nvfp4")
    fail(text, "llama.cpp type '" + std::string(head) + "' is not one Quantscope quantizes to", kGgufAllowed);

  size_t letters = 0;
  while (letters < head.size() && std::isalpha(static_cast<unsigned char>(head[letters]))) ++letters;
  const std::string_view name = head.substr(0, letters), digits = head.substr(letters);
  std::string_view allowed;
  if (name == "int") {
    spec.family = QuantFamily::Int;
    allowed = kIntAllowed;
  } else if (name == "quest") {
    spec.family = QuantFamily::Quest;
    allowed = kQuestAllowed;
  } else if (name == "kmeans") {
    spec.family = QuantFamily::KMeans;
    allowed = kKMeansAllowed;
  } else {
    fail(text, head.empty() ? std::string("missing family") : "unknown family '" + std::string(head) + "'",
         kFamilies);
  }
  if (digits.empty()) fail(text, "missing bit width after '" + std::string(name) + "'", allowed);
  const int64_t bits = parse_count(digits);
  if (bits == -1) fail(text, "bit width '" + std::string(digits) + "' is not a whole number", allowed);
  if (bits < 1 || bits > 8) fail(text, "bit width " + std::string(digits) + " is outside 1..8", allowed);
  spec.bits = int(bits);

  std::set<std::string_view> seen;
  for (std::string_view o : options) {
    if (o.empty()) fail(text, "empty option", allowed);
    if (!seen.insert(o).second) fail(text, "option '" + std::string(o) + "' given twice", allowed);
  }
  switch (spec.family) {
    case QuantFamily::Int:
      spec.granularity = Granularity::Channel;
      parse_int_options(text, options, spec);
      break;
    case QuantFamily::Quest:
      spec.hadamard = 128;
      parse_quest_options(text, options, spec);
      break;
    case QuantFamily::KMeans:
      spec.granularity = Granularity::Block;
      spec.group = 64;
      parse_kmeans_options(text, options, spec);
      break;
    case QuantFamily::Float:
    case QuantFamily::NF4:
    case QuantFamily::Gguf:
      break;  // handled above
  }
  return spec;
}

std::string format_print(const FormatSpec& spec) {
  const std::string bits = std::to_string(spec.bits);
  const auto granularity = [&]() -> std::string {
    switch (spec.granularity) {
      case Granularity::Tensor: return ":tensor";
      case Granularity::Channel: return ":channel";
      case Granularity::Group: return ":g" + std::to_string(spec.group);
      case Granularity::Block: return ":b" + std::to_string(spec.group);
    }
    return {};
  };
  std::string s;
  switch (spec.family) {
    case QuantFamily::Float:
      return spec.dtype == DType::F32 ? "f32" : spec.dtype == DType::F16 ? "f16" : "bf16";
    case QuantFamily::NF4:
      return "nf4";
    case QuantFamily::Gguf:
      return std::string(gguf_entry(spec.gguf).name);
    case QuantFamily::Int:
      s = "int" + bits;
      if (spec.granularity != Granularity::Channel) s += granularity();
      if (spec.asymmetric) s += ":asym";
      if (spec.mse_clip) s += ":mse";
      return s;
    case QuantFamily::Quest:
      s = "quest" + bits;
      if (spec.hadamard != 128) s += ":h" + std::to_string(spec.hadamard);
      return s;
    case QuantFamily::KMeans:
      s = "kmeans" + bits;
      if (spec.granularity != Granularity::Block || spec.group != 64) s += granularity();
      if (spec.granularity == Granularity::Block && spec.scale != default_scale(spec.bits))
        s += spec.scale == BlockScale::Absmax ? ":absmax" : ":absmean";
      if (spec.solver == KMeansSolver::Lloyd) s += ":lloyd";
      if (spec.fisher) s += ":fisher";
      if (spec.hadamard != 0) s += ":h" + std::to_string(spec.hadamard);
      return s;
  }
  return s;
}

std::string format_grammar() {
  return "Format specs (options after ':' in any order; [defaults]; case-insensitive):\n"
         "  bf16 | f16 | f32        no quantization\n"
         "  int<b>, b = 1..8        round-to-nearest integer, bf16 scales\n"
         "    tensor | channel | g<N>   one scale per tensor, output row, or N weights along in [channel]\n"
         "    asym                  asymmetric with a b-bit zero point [symmetric: 2^b - 1 levels incl. 0]\n"
         "    mse                   clip ratio searched to minimise the MSE [absmax]\n"
         "    int1 is sign x absmean: +-mean|w| per group (no asym, no mse)\n"
         "  quest<b>, b = 1..8      QuEST: Hadamard rotation, RMS scale per row, Gaussian-optimal clip,\n"
         "                          mid-rise grid (2^b levels, no zero)\n"
         "    h<N>                  Hadamard block, a power of two [h128]; h1 = no rotation\n"
         "  kmeans<b>, b = 1..8     2^b-entry k-means codebook (1-Bit Wonder); kmeans1 = 1.25 bits/weight\n"
         "    b<N> | channel | g<N> one codebook per tensor over w / block scale (N weights per block),\n"
         "                          per output row (no scales), or per N weights along in [b64]\n"
         "    absmax | absmean      block scale, b<N> only [absmean for b <= 2, absmax above]\n"
         "    exact | lloyd         optimal 1-D DP on a fine histogram, or Lloyd with k-means++ [exact]\n"
         "    fisher                importance-weighted fitting (importance from the caller)\n"
         "    h<N>                  Hadamard rotation before fitting, N a power of two >= 2 [none]\n"
         "  nf4                     bitsandbytes NormalFloat 4, absmax blocks of 64 (4.5 bits/weight)\n"
         "  q4_0 q4_1 q5_0 q5_1 q8_0 iq4_nl   llama.cpp's types, blocks of 32, bit for bit as ggml quantizes\n"
         "  q2_k q3_k q4_k q5_k q6_k           llama.cpp's K-quants, super-blocks of 256 (no importance matrix)\n"
         "Group and block sizes need not divide in (the last one is shorter); a Hadamard block must.\n";
}

const std::vector<std::string>& format_suggestions() {
  static const std::vector<std::string> suggestions = {
      "int8",   "int4:g128", "int4:g64", "int4",   "int3:g64", "int2:g64", "int2:g32:asym", "quest4", "quest3",
      "quest2", "quest1",    "kmeans4",  "kmeans3", "kmeans2", "kmeans1",  "kmeans2:channel", "nf4",  "q8_0",
      "q6_k",   "q5_k",      "q4_k",     "q4_0",   "q3_k",    "q2_k",     "iq4_nl",          "bf16"};
  return suggestions;
}

int64_t format_codebook_count(const FormatSpec& spec, int64_t out, int64_t in) {
  if (spec.family != QuantFamily::KMeans) return 0;
  switch (spec.granularity) {
    case Granularity::Channel: return out;
    case Granularity::Group: return out * int64_t(ceil_div(in, spec.group));
    case Granularity::Block:
    case Granularity::Tensor: return 1;
  }
  return 1;
}

std::string format_shape_problem(const FormatSpec& spec, int64_t out, int64_t in) {
  if (spec.family != QuantFamily::Gguf || in % spec.group == 0) return {};
  return "in_features " + std::to_string(in) + " is not a multiple of " + format_print(spec) + "'s block of " +
         std::to_string(spec.group);
}

uint64_t format_storage_bits(const FormatSpec& spec, int64_t out, int64_t in) {
  if (out < 1 || in < 1)
    throw Error(ErrorKind::Invalid, "format " + format_print(spec) + ": weight shape [" + std::to_string(out) + ", " +
                                        std::to_string(in) + "] is empty");
  if (const std::string problem = format_shape_problem(spec, out, in); !problem.empty())
    throw Error(ErrorKind::Invalid, "format " + format_print(spec) + ": " + problem);
  const bool grouped = spec.granularity == Granularity::Group || spec.granularity == Granularity::Block;
  if (spec.quantized() && grouped && spec.group < 1)
    throw Error(ErrorKind::Invalid, "format " + format_print(spec) + ": group size must be at least 1");
  const uint64_t n = uint64_t(out) * uint64_t(in), b = uint64_t(spec.bits), rows = uint64_t(out);
  const uint64_t groups = grouped ? rows * ceil_div(in, spec.group) : 0;
  const uint64_t codebook = (uint64_t(1) << b) * 32;
  switch (spec.family) {
    case QuantFamily::Float:
      return n * b;
    case QuantFamily::Int: {
      const uint64_t scales = spec.granularity == Granularity::Tensor ? 1 : grouped ? groups : rows;
      return n * b + scales * 16 + (spec.asymmetric ? scales * b : 0);
    }
    case QuantFamily::Quest:
      return n * b + rows * 32;
    case QuantFamily::KMeans:
      switch (spec.granularity) {
        case Granularity::Block: return n * b + groups * 16 + codebook;
        case Granularity::Channel: return n * b + rows * codebook;
        case Granularity::Group: return n * b + groups * codebook;
        case Granularity::Tensor: return n * b + codebook;
      }
      break;
    case QuantFamily::NF4:
      return n * 4 + rows * ceil_div(in, 64) * 32;
    case QuantFamily::Gguf:
      return rows * uint64_t(in / spec.group) *
             uint64_t(kernels::ggml_block(static_cast<kernels::GgmlType>(spec.gguf)).bytes) * 8;
  }
  return n * b;
}

double format_bits_per_weight(const FormatSpec& spec, int64_t out, int64_t in) {
  return double(format_storage_bits(spec, out, in)) / (double(out) * double(in));
}

double quest_alpha(int bits) {
  // MSE-optimal clip of a unit Gaussian for 2^b uniform mid-rise levels (methods.md §1; reproduced by
  // tests/core/quest_alpha_test.cpp).
  static constexpr std::array<double, 8> kAlpha = {0.7978845587, 1.4935346200, 2.0510683541, 2.5139305786,
                                                   2.9160938835, 3.2765972826, 3.6010497188, 3.8849386788};
  if (bits < 1 || bits > 8)
    throw Error(ErrorKind::Invalid, "quest_alpha: bit width " + std::to_string(bits) + " is outside 1..8");
  return kAlpha[size_t(bits - 1)];
}

}  // namespace qs
