// How well a quantized tensor uses its codes: a 4-bit format whose weights fall on 6 of its 16 levels
// stores 4 bits for what 2.6 would say. The compare table and the level view report it.
#pragma once
#include <cstdint>
#include <span>

namespace qs {

struct CodeUse {
  int total = 0;            // codes the format has (2^bits)
  int used = 0;             // codes at least one weight takes
  double entropy_bits = 0;  // −Σ p·log2 p over the codes' shares: the bits an ideal entropy coder needs
};

// From QuantizedTensor::occupancy (weights per code).
CodeUse code_use_compute(std::span<const int64_t> occupancy);

}  // namespace qs
