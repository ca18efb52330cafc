// Rounding a float to the nearest bfloat16 (ties to even), kept as a float: the precision that
// scales are stored in, applied before they are used so that what is computed is what is stored.
// One definition for the CPU references and the CUDA kernels, so both round identically.
#pragma once
#include <cstdint>
#include <cstring>

#include "host_device.hpp"

namespace qs::kernels {

QS_HOST_DEVICE inline float bf16_round(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return x;  // NaN stays NaN (the carry could make it Inf)
  bits += 0x7fffu + ((bits >> 16) & 1u);             // round to nearest, ties to the even bf16
  bits &= 0xffff0000u;
  float y;
  std::memcpy(&y, &bits, sizeof y);
  return y;
}

}  // namespace qs::kernels
