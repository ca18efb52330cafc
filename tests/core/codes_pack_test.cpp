// Code packing: the documented MSB-first byte order on hand examples, every width against a bit-by-bit
// reference and back for odd lengths (including the parallel chunks of long streams), and errors.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/pack.hpp"

namespace qs {
namespace {

// Bit t (MSB first) of code i is bit i·b + t of the stream; bit p is bit 7 − p % 8 of byte p / 8.
std::vector<uint8_t> pack_bitwise(const std::vector<uint8_t>& codes, int bits) {
  std::vector<uint8_t> out((codes.size() * size_t(bits) + 7) / 8, 0);
  for (size_t i = 0; i < codes.size(); ++i)
    for (int t = 0; t < bits; ++t)
      if (codes[i] >> (bits - 1 - t) & 1) {
        const size_t p = i * size_t(bits) + size_t(t);
        out[p / 8] |= uint8_t(0x80 >> (p % 8));
      }
  return out;
}

std::vector<uint8_t> random_codes(size_t n, int bits, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> codes(n);
  for (auto& c : codes) c = uint8_t(rng() & ((1u << bits) - 1));
  return codes;
}

TEST(CodesPack, DocumentedByteOrder) {
  EXPECT_EQ(codes_pack(std::vector<uint8_t>{1, 0, 1, 1, 0, 0, 0, 0, 1}, 1), (std::vector<uint8_t>{0xB0, 0x80}));
  EXPECT_EQ(codes_pack(std::vector<uint8_t>{3, 0, 1, 2, 1}, 2), (std::vector<uint8_t>{0xC6, 0x40}));
  // 3 bits straddle bytes: 101 011 111 -> 10101111 1(0000000).
  EXPECT_EQ(codes_pack(std::vector<uint8_t>{5, 3, 7}, 3), (std::vector<uint8_t>{0xAF, 0x80}));
  // 8 codes of 3 bits fill exactly 3 bytes: 001 010 011 100 101 110 111 000.
  EXPECT_EQ(codes_pack(std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 0}, 3), (std::vector<uint8_t>{0x29, 0xCB, 0xB8}));
  EXPECT_EQ(codes_pack(std::vector<uint8_t>{0xA, 0x3, 0xF}, 4), (std::vector<uint8_t>{0xA3, 0xF0}));
  EXPECT_EQ(codes_pack(std::vector<uint8_t>{31, 1}, 5), (std::vector<uint8_t>{0xF8, 0x40}));
  EXPECT_EQ(codes_pack(std::vector<uint8_t>{0x81, 0x7F}, 8), (std::vector<uint8_t>{0x81, 0x7F}));
  EXPECT_TRUE(codes_pack(std::vector<uint8_t>{}, 3).empty());
}

TEST(CodesPack, PackedBytes) {
  EXPECT_EQ(codes_packed_bytes(0, 3), 0u);
  EXPECT_EQ(codes_packed_bytes(1, 1), 1u);
  EXPECT_EQ(codes_packed_bytes(9, 1), 2u);
  EXPECT_EQ(codes_packed_bytes(3, 3), 2u);
  EXPECT_EQ(codes_packed_bytes(8, 3), 3u);
  EXPECT_EQ(codes_packed_bytes(1001, 7), 876u);
  EXPECT_EQ(codes_packed_bytes(5, 8), 5u);
}

TEST(CodesPack, RoundTripEveryWidthAndOddLengths) {
  for (int bits = 1; bits <= 8; ++bits)
    for (size_t n : {0, 1, 2, 3, 7, 8, 9, 1001}) {
      SCOPED_TRACE("bits " + std::to_string(bits) + " n " + std::to_string(n));
      const std::vector<uint8_t> codes = random_codes(n, bits, uint64_t(bits) * 1000 + n);
      const std::vector<uint8_t> packed = codes_pack(codes, bits);
      EXPECT_EQ(packed.size(), codes_packed_bytes(n, bits));
      EXPECT_EQ(packed, pack_bitwise(codes, bits));
      EXPECT_EQ(codes_unpack(packed, bits, n), codes);
    }
}

TEST(CodesPack, LongStreamsAcrossChunks) {
  // Longer than one parallel chunk (2^19 codes) and not a multiple of 8.
  const size_t n = (size_t(1) << 20) + 13;
  for (int bits : {1, 3, 4, 7}) {
    const std::vector<uint8_t> codes = random_codes(n, bits, uint64_t(bits));
    const std::vector<uint8_t> packed = codes_pack(codes, bits);
    EXPECT_EQ(packed, pack_bitwise(codes, bits)) << bits;
    EXPECT_EQ(codes_unpack(packed, bits, n), codes) << bits;
  }
}

TEST(CodesPack, UnpackIgnoresTrailingBytesAndReadsPrefix) {
  const std::vector<uint8_t> codes = {1, 2, 3, 4, 5};
  std::vector<uint8_t> packed = codes_pack(codes, 3);
  packed.push_back(0xFF);
  EXPECT_EQ(codes_unpack(packed, 3, 5), codes);
  EXPECT_EQ(codes_unpack(packed, 3, 2), (std::vector<uint8_t>{1, 2}));
}

TEST(CodesPack, Errors) {
  const auto kind = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::Cancelled;  // "did not throw"
  };
  EXPECT_EQ(kind([] { codes_pack(std::vector<uint8_t>{0, 8, 1}, 3); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([] { codes_pack(std::vector<uint8_t>{2}, 1); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([] { codes_pack(std::vector<uint8_t>{16}, 4); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([] { codes_pack(std::vector<uint8_t>{1}, 0); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([] { codes_pack(std::vector<uint8_t>{1}, 9); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([] { codes_packed_bytes(4, 9); }), ErrorKind::Invalid);
  EXPECT_EQ(kind([] { codes_unpack(std::vector<uint8_t>{0xFF}, 3, 3); }), ErrorKind::Format);
  EXPECT_EQ(kind([] { codes_unpack(std::vector<uint8_t>{}, 1, 1); }), ErrorKind::Format);
  EXPECT_EQ(kind([] { codes_unpack(std::vector<uint8_t>{0xFF}, 0, 1); }), ErrorKind::Invalid);
  try {
    codes_pack(std::vector<uint8_t>{0, 8, 1}, 3);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("index 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qs
