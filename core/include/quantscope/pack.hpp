// Bit packing of quantization codes. Codes of b bits (1..8) form one MSB-first bit stream: the first
// code occupies the most significant bits of byte 0, the next code the bits right below, and a code
// may straddle a byte boundary (3, 5, 6, 7 bits). For b = 1, 2, 4, 8 this is "8/b codes per byte,
// first element in the most significant bits", the order of 1-Bit Wonder's release. The last byte
// is padded with zero bits.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace qs {

uint64_t codes_packed_bytes(uint64_t count, int bits);
// Throws Error(Invalid) when a code does not fit in `bits` or bits is outside 1..8.
std::vector<uint8_t> codes_pack(std::span<const uint8_t> codes, int bits);
// Throws Error(Format) when `packed` is shorter than `count` codes need.
std::vector<uint8_t> codes_unpack(std::span<const uint8_t> packed, int bits, uint64_t count);

}  // namespace qs
