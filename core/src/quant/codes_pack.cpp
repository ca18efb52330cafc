// Bit packing of quantization codes into the MSB-first stream of pack.hpp. Any 8 codes of b bits fill
// exactly b bytes, so the stream splits into independent chunks of a multiple of 8 codes that pack in
// parallel; 1, 2, 4 and 8 bits have whole codes per byte and take a direct path.
#include "quantscope/pack.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <string>

#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr int64_t kChunkCodes = int64_t(8) << 16;  // a multiple of 8: chunks start on byte boundaries

void check_bits(int bits, const char* who) {
  if (bits < 1 || bits > 8)
    throw Error(ErrorKind::Invalid, std::string(who) + ": code width " + std::to_string(bits) + " is outside 1..8");
}

// Packs `count` codes starting on a byte boundary into out (zeroed tail bits in the last byte).
void pack_run(const uint8_t* codes, int64_t count, int bits, uint8_t* out) {
  if (bits == 8) {
    std::copy(codes, codes + count, out);
    return;
  }
  if (bits == 1 || bits == 2 || bits == 4) {
    const int per_byte = 8 / bits;
    int64_t i = 0;
    for (; i < count; i += per_byte) {
      uint8_t byte = 0;
      const int64_t n = std::min<int64_t>(per_byte, count - i);
      for (int64_t t = 0; t < n; ++t) byte |= uint8_t(codes[i + t] << (8 - bits * (t + 1)));
      *out++ = byte;
    }
    return;
  }
  uint32_t acc = 0;  // pending bits, right-aligned
  int pending = 0;
  for (int64_t i = 0; i < count; ++i) {
    acc = (acc << bits) | codes[i];
    pending += bits;
    if (pending >= 8) {
      pending -= 8;
      *out++ = uint8_t(acc >> pending);
      acc &= (1u << pending) - 1;
    }
  }
  if (pending > 0) *out = uint8_t(acc << (8 - pending));
}

void unpack_run(const uint8_t* packed, int64_t count, int bits, uint8_t* codes) {
  if (bits == 8) {
    std::copy(packed, packed + count, codes);
    return;
  }
  const uint32_t mask = (1u << bits) - 1;
  if (bits == 1 || bits == 2 || bits == 4) {
    const int per_byte = 8 / bits;
    for (int64_t i = 0; i < count; ++i)
      codes[i] = uint8_t(packed[i / per_byte] >> (8 - bits * (i % per_byte + 1)) & mask);
    return;
  }
  uint32_t acc = 0;
  int pending = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (pending < bits) {
      acc = (acc << 8) | *packed++;
      pending += 8;
    }
    pending -= bits;
    codes[i] = uint8_t(acc >> pending & mask);
    acc &= (1u << pending) - 1;
  }
}

}  // namespace

uint64_t codes_packed_bytes(uint64_t count, int bits) {
  check_bits(bits, "codes_packed_bytes");
  return (count * uint64_t(bits) + 7) / 8;
}

std::vector<uint8_t> codes_pack(std::span<const uint8_t> codes, int bits) {
  check_bits(bits, "codes_pack");
  const int64_t count = int64_t(codes.size());
  if (bits < 8) {
    const uint8_t limit = uint8_t(1u << bits);
    const auto bad = std::find_if(codes.begin(), codes.end(), [&](uint8_t c) { return c >= limit; });
    if (bad != codes.end())
      throw Error(ErrorKind::Invalid, "codes_pack: code " + std::to_string(*bad) + " at index " +
                                          std::to_string(bad - codes.begin()) + " does not fit in " +
                                          std::to_string(bits) + " bits");
  }
  std::vector<uint8_t> packed(codes_packed_bytes(uint64_t(count), bits));
  const int64_t chunks = (count + kChunkCodes - 1) / kChunkCodes;
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t first = c * kChunkCodes, n = std::min(kChunkCodes, count - first);
      pack_run(codes.data() + first, n, bits, packed.data() + first / 8 * bits);
    }
  });
  return packed;
}

std::vector<uint8_t> codes_unpack(std::span<const uint8_t> packed, int bits, uint64_t count) {
  check_bits(bits, "codes_unpack");
  const uint64_t need = codes_packed_bytes(count, bits);
  if (packed.size() < need)
    throw Error(ErrorKind::Format, "codes_unpack: " + std::to_string(packed.size()) + " bytes hold fewer than " +
                                       std::to_string(count) + " codes of " + std::to_string(bits) + " bits (" +
                                       std::to_string(need) + " bytes needed)");
  std::vector<uint8_t> codes(count);
  const int64_t total = int64_t(count), chunks = (total + kChunkCodes - 1) / kChunkCodes;
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t first = c * kChunkCodes, n = std::min(kChunkCodes, total - first);
      unpack_run(packed.data() + first / 8 * bits, n, bits, codes.data() + first);
    }
  });
  return codes;
}

}  // namespace qs
