// The format spec grammar: every family's fields and defaults, canonical printing and round trips,
// invalid specs rejected with a message that names the spec and what is allowed, and storage costs
// computed by hand (stories260K's shapes, 1-Bit Wonder's 1.25 bits, NF4's 4.5).
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/format.hpp"

namespace qs {
namespace {

FormatSpec int_spec(int bits, Granularity g, int64_t group = 0, bool asym = false, bool mse = false) {
  FormatSpec s;
  s.family = QuantFamily::Int;
  s.bits = bits;
  s.granularity = g;
  s.group = group;
  s.asymmetric = asym;
  s.mse_clip = mse;
  return s;
}

FormatSpec kmeans_spec(int bits, Granularity g, int64_t group, BlockScale scale) {
  FormatSpec s;
  s.family = QuantFamily::KMeans;
  s.bits = bits;
  s.granularity = g;
  s.group = group;
  s.scale = scale;
  return s;
}

// The parser's message for a spec it refuses, or "accepted".
std::string parse_message(const std::string& text) {
  try {
    format_parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(FormatSpec, SuggestionsParseAndPrintAsWritten) {
  for (const std::string& text : format_suggestions()) {
    SCOPED_TRACE(text);
    EXPECT_EQ(format_print(format_parse(text)), text);
  }
}

TEST(FormatSpec, FloatFamilies) {
  const FormatSpec bf16 = format_parse("bf16");
  EXPECT_EQ(bf16.family, QuantFamily::Float);
  EXPECT_EQ(bf16.dtype, DType::BF16);
  EXPECT_EQ(bf16.bits, 16);
  EXPECT_FALSE(bf16.quantized());
  EXPECT_EQ(bf16, FormatSpec{});
  EXPECT_EQ(format_parse("f16").dtype, DType::F16);
  EXPECT_EQ(format_parse("f16").bits, 16);
  EXPECT_EQ(format_parse("f32").dtype, DType::F32);
  EXPECT_EQ(format_parse("f32").bits, 32);
  EXPECT_EQ(format_parse("  F32 \t"), format_parse("f32"));
}

TEST(FormatSpec, IntFieldsAndDefaults) {
  EXPECT_EQ(format_parse("int4"), int_spec(4, Granularity::Channel));
  EXPECT_EQ(format_parse("int4:channel"), int_spec(4, Granularity::Channel));
  EXPECT_EQ(format_parse("int8:tensor"), int_spec(8, Granularity::Tensor));
  EXPECT_EQ(format_parse("int3:g128"), int_spec(3, Granularity::Group, 128));
  EXPECT_EQ(format_parse("int2:g1"), int_spec(2, Granularity::Group, 1));
  EXPECT_EQ(format_parse("int4:g64:asym:mse"), int_spec(4, Granularity::Group, 64, true, true));
  EXPECT_EQ(format_parse("int4:mse:asym:g64"), int_spec(4, Granularity::Group, 64, true, true));
  EXPECT_EQ(format_parse("int4:asym"), int_spec(4, Granularity::Channel, 0, true));
  EXPECT_EQ(format_parse("int1"), int_spec(1, Granularity::Channel));
  EXPECT_EQ(format_parse("int1:g64"), int_spec(1, Granularity::Group, 64));
  EXPECT_EQ(format_parse("int1:tensor"), int_spec(1, Granularity::Tensor));
  EXPECT_EQ(format_parse("INT4:G128"), int_spec(4, Granularity::Group, 128));
  const FormatSpec s = format_parse("int5");
  EXPECT_EQ(s.hadamard, 0);
  EXPECT_EQ(s.levels(), 32);
  EXPECT_TRUE(s.quantized());
}

TEST(FormatSpec, QuestFieldsAndDefaults) {
  const FormatSpec q = format_parse("quest4");
  EXPECT_EQ(q.family, QuantFamily::Quest);
  EXPECT_EQ(q.bits, 4);
  EXPECT_EQ(q.hadamard, 128);
  EXPECT_EQ(q, format_parse("quest4:h128"));
  EXPECT_EQ(format_parse("quest1:h1").hadamard, 1);
  EXPECT_EQ(format_parse("quest2:h64").hadamard, 64);
  EXPECT_EQ(format_parse("quest8:h4096").hadamard, 4096);
  EXPECT_EQ(format_parse("quest2:h64").bits, 2);
}

TEST(FormatSpec, KMeansFieldsAndDefaults) {
  // 1-Bit Wonder's format: one codebook over absmean-scaled blocks of 64 at b <= 2, absmax above.
  EXPECT_EQ(format_parse("kmeans1"), kmeans_spec(1, Granularity::Block, 64, BlockScale::Absmean));
  EXPECT_EQ(format_parse("kmeans2"), kmeans_spec(2, Granularity::Block, 64, BlockScale::Absmean));
  EXPECT_EQ(format_parse("kmeans3"), kmeans_spec(3, Granularity::Block, 64, BlockScale::Absmax));
  EXPECT_EQ(format_parse("kmeans8"), kmeans_spec(8, Granularity::Block, 64, BlockScale::Absmax));
  EXPECT_EQ(format_parse("kmeans1:b64:absmean:exact"), format_parse("kmeans1"));
  EXPECT_EQ(format_parse("kmeans4:absmax:b64"), format_parse("kmeans4"));
  EXPECT_EQ(format_parse("kmeans2:b128"), kmeans_spec(2, Granularity::Block, 128, BlockScale::Absmean));
  EXPECT_EQ(format_parse("kmeans4:absmean"), kmeans_spec(4, Granularity::Block, 64, BlockScale::Absmean));
  EXPECT_EQ(format_parse("kmeans1:absmax:b32"), kmeans_spec(1, Granularity::Block, 32, BlockScale::Absmax));
  // Per-row and per-group codebooks have no block scale: the field keeps its default.
  EXPECT_EQ(format_parse("kmeans2:channel"), kmeans_spec(2, Granularity::Channel, 0, BlockScale::Absmax));
  EXPECT_EQ(format_parse("kmeans3:g256"), kmeans_spec(3, Granularity::Group, 256, BlockScale::Absmax));

  FormatSpec full = kmeans_spec(2, Granularity::Group, 128, BlockScale::Absmax);
  full.solver = KMeansSolver::Lloyd;
  full.hadamard = 64;
  EXPECT_EQ(format_parse("kmeans2:g128:lloyd:h64"), full);
  EXPECT_EQ(format_parse("kmeans2:h64:g128:lloyd"), full);
  full.hadamard = 0;
  full.fisher = true;
  EXPECT_EQ(format_parse("kmeans2:fisher:g128:lloyd"), full);
  EXPECT_EQ(format_parse("kmeans1").hadamard, 0);
  EXPECT_EQ(format_parse("kmeans1:h2").hadamard, 2);
  EXPECT_EQ(format_parse("kmeans1").solver, KMeansSolver::Exact);
  EXPECT_FALSE(format_parse("kmeans1").fisher);
}

TEST(FormatSpec, NF4) {
  const FormatSpec s = format_parse("nf4");
  EXPECT_EQ(s.family, QuantFamily::NF4);
  EXPECT_EQ(s.bits, 4);
  EXPECT_EQ(s.granularity, Granularity::Block);
  EXPECT_EQ(s.group, 64);
  EXPECT_EQ(s.scale, BlockScale::Absmax);
  EXPECT_EQ(s.hadamard, 0);
}

TEST(FormatSpec, LlamaCppTypes) {
  const struct {
    const char* text;
    GgufType type;
    int bits;
    int64_t block;
    uint64_t bytes;  // per block, as ggml stores it
  } types[] = {{"q4_0", GgufType::Q4_0, 4, 32, 18},   {"q4_1", GgufType::Q4_1, 4, 32, 20},
               {"q5_0", GgufType::Q5_0, 5, 32, 22},   {"q5_1", GgufType::Q5_1, 5, 32, 24},
               {"q8_0", GgufType::Q8_0, 8, 32, 34},   {"q2_k", GgufType::Q2_K, 2, 256, 84},
               {"q3_k", GgufType::Q3_K, 3, 256, 110}, {"q4_k", GgufType::Q4_K, 4, 256, 144},
               {"q5_k", GgufType::Q5_K, 5, 256, 176}, {"q6_k", GgufType::Q6_K, 6, 256, 210},
               {"iq4_nl", GgufType::IQ4_NL, 4, 32, 18}};
  for (const auto& t : types) {
    SCOPED_TRACE(t.text);
    const FormatSpec s = format_parse(t.text);
    EXPECT_EQ(s.family, QuantFamily::Gguf);
    EXPECT_EQ(s.gguf, t.type);
    EXPECT_EQ(s.bits, t.bits);
    EXPECT_EQ(s.group, t.block);
    EXPECT_TRUE(s.quantized());
    EXPECT_EQ(format_print(s), t.text);
    std::string upper = t.text;
    for (char& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(format_parse(upper), s);  // as llama.cpp's users write them
    // 3 rows of 2 blocks: every byte of every block counted.
    EXPECT_EQ(format_storage_bits(s, 3, 2 * t.block), 3 * 2 * t.bytes * 8);
    EXPECT_EQ(format_shape_problem(s, 3, 2 * t.block), "");
    EXPECT_EQ(format_shape_problem(s, 3, t.block + 16),
              "in_features " + std::to_string(t.block + 16) + " is not a multiple of " + t.text + "'s block of " +
                  std::to_string(t.block));
    EXPECT_THROW(format_storage_bits(s, 3, t.block + 16), Error);
  }
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("q4_k"), 4096, 4096), 4.5);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("q6_k"), 4096, 4096), 6.5625);
  EXPECT_EQ(format_shape_problem(format_parse("int4:g128"), 3, 100), "");  // only gguf types constrain shapes
}

TEST(FormatSpec, LlamaCppRecipesAndOtherTypesAreExplained) {
  EXPECT_NE(parse_message("Q4_K_M").find("file recipe"), std::string::npos) << parse_message("Q4_K_M");
  EXPECT_NE(parse_message("q3_k_s").find("q3_k"), std::string::npos);
  EXPECT_NE(parse_message("iq2_xxs").find("not one Quantscope quantizes to"), std::string::npos);
  EXPECT_NE(parse_message("tq1_0").find("allowed: q4_0"), std::string::npos);
  EXPECT_NE(parse_message("q4_0:g32").find("takes no options"), std::string::npos);
  EXPECT_NE(parse_message("q7_0").find("not one Quantscope quantizes to"), std::string::npos);
}

TEST(FormatSpec, PrintsCanonicalShortForm) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"bf16", "bf16"},
      {"F16", "f16"},
      {"f32", "f32"},
      {"nf4", "nf4"},
      {"int4:channel", "int4"},
      {"int4:asym:g128", "int4:g128:asym"},
      {"int4:mse:asym:tensor", "int4:tensor:asym:mse"},
      {"int1:g64", "int1:g64"},
      {"quest4:h128", "quest4"},
      {"quest1:h1", "quest1:h1"},
      {"quest3:h32", "quest3:h32"},
      {"kmeans1:b64:absmean:exact", "kmeans1"},
      {"kmeans3:absmax", "kmeans3"},
      {"kmeans3:absmean", "kmeans3:absmean"},
      {"kmeans2:absmax", "kmeans2:absmax"},
      {"kmeans2:h128:lloyd:absmax:b32", "kmeans2:b32:absmax:lloyd:h128"},
      {"kmeans2:fisher:lloyd:absmax:b32", "kmeans2:b32:absmax:lloyd:fisher"},
      {"kmeans4:fisher:channel", "kmeans4:channel:fisher"},
      {"kmeans4:g128:exact", "kmeans4:g128"},
      {" kmeans1 : lloyd ", "kmeans1:lloyd"},
  };
  for (const auto& [text, canonical] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(format_print(format_parse(text)), canonical);
  }
}

TEST(FormatSpec, RoundTrips) {
  const std::vector<std::string> specs = {
      "bf16", "f16", "f32", "nf4", "int1", "int1:tensor", "int1:g32", "int2", "int3:g128", "int4:tensor",
      "int4:g64:asym", "int4:asym:mse", "int8:mse", "int7:g1:asym:mse", "quest1", "quest1:h1", "quest2:h2",
      "quest4:h256", "quest8", "kmeans1", "kmeans1:absmax", "kmeans2:b32", "kmeans3", "kmeans3:absmean",
      "kmeans4:channel", "kmeans4:g128:lloyd", "kmeans2:fisher", "kmeans2:h128", "kmeans8:b16:absmean:lloyd:h2",
      "kmeans5:channel:lloyd:fisher", "kmeans6:g3", "q4_0", "q5_1", "q8_0", "q2_k", "q6_k", "iq4_nl"};
  for (const std::string& text : specs) {
    SCOPED_TRACE(text);
    const FormatSpec s = format_parse(text);
    const std::string printed = format_print(s);
    EXPECT_EQ(format_parse(printed), s);
    EXPECT_EQ(format_print(format_parse(printed)), printed);
  }
  // Every bit width of every family with bits.
  for (int b = 1; b <= 8; ++b)
    for (const std::string family : {"int", "quest", "kmeans"}) {
      const std::string text = family + std::to_string(b);
      EXPECT_EQ(format_print(format_parse(text)), text);
      EXPECT_EQ(format_parse(text).bits, b);
    }
}

TEST(FormatSpec, RejectsInvalidSpecsWithAllowedList) {
  const std::vector<std::string> bad = {
      "",            "   ",          "int",          "int0",          "int9",           "int12",
      "intx",        "int4x",        "int-4",        "integer4",      "float",          "fp8",
      "bf8",         "nf3",          "int4:g0",      "int4:g-1",      "int4:g12x",      "int4:g",
      "int4:tensor:channel", "int4:g64:g128", "int4:g64:channel", "int4:asym:asym", "int4:h128",
      "int4:",       "int4::asym",   "int4:fisher",  "int1:asym",     "int1:mse",       "quest0",
      "quest9",      "quest",        "quest4:h3",    "quest4:h0",     "quest4:h100",    "quest4:g128",
      "quest4:h64:h128", "quest4:asym", "kmeans0",    "kmeans9",       "kmeans",         "kmeans2:b0",
      "kmeans2:g0",  "kmeans2:b64:channel", "kmeans2:g64:b64", "kmeans2:absmax:absmean",
      "kmeans2:exact:lloyd", "kmeans2:lloyd:lloyd", "kmeans2:fisher:fisher", "kmeans2:h1", "kmeans2:h3",
      "kmeans2:h0",  "kmeans2:h2:h4",  "kmeans2:channel:absmean", "kmeans2:g128:absmax", "kmeans2:tensor", "kmeans2:asym",
      "bf16:g64",    "f32:asym",     "nf4:g128",     "nf4:b64",       ":int4",          "int4 g128",
      "int4:g99999999999999999999", "kmeans2:fisher:h64", "kmeans2:h2:fisher", "quest4:h65536"};
  for (const std::string& text : bad) {
    SCOPED_TRACE("'" + text + "'");
    try {
      format_parse(text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Invalid);
      const std::string message = e.what();
      EXPECT_NE(message.find("'" + std::string(text.find_first_not_of(' ') == std::string::npos ? "" : text) + "'"),
                std::string::npos)
          << message;
      EXPECT_NE(message.find("allowed"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  }
}

TEST(FormatSpec, ErrorMessagesSayWhatIsWrong) {
  EXPECT_NE(parse_message("int1:asym").find("sign x absmean"), std::string::npos);
  EXPECT_NE(parse_message("int1:mse").find("sign x absmean"), std::string::npos);
  EXPECT_NE(parse_message("int9").find("1..8"), std::string::npos);
  EXPECT_NE(parse_message("quest4:h3").find("power of two"), std::string::npos);
  EXPECT_NE(parse_message("kmeans2:absmax:absmean").find("absmax"), std::string::npos);
  EXPECT_NE(parse_message("int4:asym:asym").find("twice"), std::string::npos);
  EXPECT_NE(parse_message("fp8").find("kmeans<b>"), std::string::npos);  // the families
  EXPECT_NE(parse_message("kmeans2:channel:absmean").find("b<N>"), std::string::npos);
  EXPECT_EQ(parse_message("int4:g12x").rfind("format 'int4:g12x': ", 0), 0u);
  EXPECT_NE(parse_message("kmeans2:fisher:h64").find("cannot be combined with 'h64'"), std::string::npos);
  EXPECT_NE(parse_message("quest4:h65536").find("above 32768"), std::string::npos);
}

TEST(FormatSpec, GrammarDescribesEveryFamily) {
  const std::string g = format_grammar();
  for (const char* word : {"bf16", "f16", "f32", "int<b>", "quest<b>", "kmeans<b>", "nf4", "tensor", "channel",
                           "g<N>", "b<N>", "asym", "mse", "absmax", "absmean", "exact", "lloyd", "fisher", "h<N>",
                           "sign x absmean", "h1 = no rotation", "q4_0", "q8_0", "iq4_nl", "q2_k", "q6_k"})
    EXPECT_NE(g.find(word), std::string::npos) << word;
}

TEST(FormatSpec, StorageBitsByHand) {
  // stories260K: in = 172, out = 172 (attention) and 460 (MLP); g64 -> ceil(172/64) = 3 groups per row.
  EXPECT_EQ(format_storage_bits(format_parse("int4:g64"), 172, 172), 172u * 172 * 4 + 172 * 3 * 16);
  EXPECT_EQ(format_storage_bits(format_parse("int4:g64"), 460, 172), 460u * 172 * 4 + 460 * 3 * 16);
  EXPECT_EQ(format_storage_bits(format_parse("int4:g64:asym"), 460, 172),
            460u * 172 * 4 + 460 * 3 * 16 + 460 * 3 * 4);
  EXPECT_EQ(format_storage_bits(format_parse("int3"), 460, 172), 460u * 172 * 3 + 460 * 16);
  EXPECT_EQ(format_storage_bits(format_parse("int8:tensor"), 460, 172), 460u * 172 * 8 + 16);
  EXPECT_EQ(format_storage_bits(format_parse("int2:tensor:asym"), 10, 10), 100u * 2 + 16 + 2);
  EXPECT_EQ(format_storage_bits(format_parse("int1:g64"), 172, 172), 172u * 172 + 172 * 3 * 16);
  EXPECT_EQ(format_storage_bits(format_parse("quest2"), 460, 172), 460u * 172 * 2 + 460 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("quest4:h1"), 3, 5), 15u * 4 + 3 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("kmeans1"), 172, 172), 172u * 172 + 172 * 3 * 16 + 2 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("kmeans3:b32"), 460, 172), 460u * 172 * 3 + 460 * 6 * 16 + 8 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("kmeans2:channel"), 460, 172), 460u * 172 * 2 + 460 * 4 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("kmeans2:g64"), 460, 172), 460u * 172 * 2 + 460 * 3 * 4 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("kmeans2:h128"), 460, 256),
            format_storage_bits(format_parse("kmeans2"), 460, 256));
  EXPECT_EQ(format_storage_bits(format_parse("nf4"), 460, 172), 460u * 172 * 4 + 460 * 3 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("bf16"), 460, 172), 460u * 172 * 16);
  EXPECT_EQ(format_storage_bits(format_parse("f32"), 460, 172), 460u * 172 * 32);
  EXPECT_EQ(format_storage_bits(format_parse("f16"), 3, 7), 21u * 16);
  // Large shapes do not overflow: 4096 x 14336 at 8 bits with per-row codebooks.
  EXPECT_EQ(format_storage_bits(format_parse("kmeans8:channel"), 4096, 14336),
            uint64_t(4096) * 14336 * 8 + uint64_t(4096) * 256 * 32);
}

TEST(FormatSpec, BitsPerWeight) {
  const double n = 4096.0 * 4096.0;
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("kmeans1"), 4096, 4096), 1.25 + 32.0 * 2 / n);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("kmeans4"), 4096, 4096), 4.25 + 32.0 * 16 / n);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("nf4"), 4096, 4096), 4.5);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("nf4"), 4096, 14336), 4.5);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("int4:g128"), 4096, 4096), 4.125);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("quest4"), 4096, 4096), 4 + 32.0 / 4096);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("bf16"), 172, 172), 16.0);
  EXPECT_DOUBLE_EQ(format_bits_per_weight(format_parse("int4:g64"), 172, 172), 4 + 3 * 16.0 / 172);
}

TEST(FormatSpec, StorageRejectsEmptyShapes) {
  EXPECT_THROW(format_storage_bits(format_parse("int4"), 0, 172), Error);
  EXPECT_THROW(format_bits_per_weight(format_parse("int4"), 172, 0), Error);
  EXPECT_THROW(format_storage_bits(format_parse("int4"), -1, 4), Error);
  FormatSpec broken = format_parse("int4:g64");
  broken.group = 0;
  EXPECT_THROW(format_storage_bits(broken, 4, 4), Error);
}

}  // namespace
}  // namespace qs
