// CPU quantizers and dequantizers for ggml's block formats, bit-identical to ggml's
// reference C code (ggml-quants.c, ggml.c, ggml-impl.h of llama.cpp v0.4.0).
//
// Why the arithmetic looks the way it does: ggml's output is a function of the exact
// sequence of float operations.  Every expression below keeps ggml's operand order and
// association (e.g. w*x*l is (w*x)*l), accumulates in the same order, converts ints to
// float at the same points and re-reads fp16-rounded scales where ggml does.  Nothing may
// be fused into FMAs: the pragmas below switch contraction off for this file whatever the
// command line says, because g++ contracts by default (also under -std=c++20) once the
// target has FMA, e.g. with -march=native.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "ggml_quants.hpp"

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace qs::kernels {
namespace {

constexpr int kQK = 32;     // weights per block of the 32-weight formats
constexpr int kQK_K = 256;  // weights per super-block of the K formats
// ggml treats a sub-block whose largest |x| is below this as all zero.
constexpr float kGroupMaxEps = 1e-15f;

// ---------------------------------------------------------------- scalar helpers

// IEEE half via the bit tricks of Maratyszcza's FP16 library, as ggml-impl.h does it.
// Reproducing its exact float operations (rather than a hardware conversion) keeps NaN
// results identical too: every NaN becomes 0x7E00 | sign.
uint16_t half_from_float(float f) {
  float base = (std::fabs(f) * 0x1.0p+112f) * 0x1.0p-110f;
  const uint32_t w = std::bit_cast<uint32_t>(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) {
    bias = 0x71000000u;
  }
  base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = std::bit_cast<uint32_t>(base);
  const uint32_t exp_bits = (bits >> 13) & 0x00007C00u;
  const uint32_t mantissa_bits = bits & 0x00000FFFu;
  const uint32_t nonsign = exp_bits + mantissa_bits;
  return static_cast<uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

float half_to_float(uint16_t h) {
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  const float normalized = std::bit_cast<float>((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  const float denormalized = std::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t magnitude =
      two_w < (1u << 27) ? std::bit_cast<uint32_t>(denormalized) : std::bit_cast<uint32_t>(normalized);
  return std::bit_cast<float>(sign | magnitude);
}

// ggml's GGML_FP32_TO_BF16: round to nearest even, NaNs kept but forced quiet.
uint16_t bf16_from_float(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
    return static_cast<uint16_t>((u >> 16) | 64u);
  }
  return static_cast<uint16_t>((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

// Block fields are stored little-endian, as ggml writes them on every platform GGUF targets.
void store_half(uint8_t* p, uint16_t h) {
  p[0] = static_cast<uint8_t>(h);
  p[1] = static_cast<uint8_t>(h >> 8);
}
uint16_t load_half_bits(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
float load_half(const uint8_t* p) { return half_to_float(load_half_bits(p)); }

void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// ggml's nearest_int: adding 1.5*2^23 makes the FPU round to an integer held in the low
// mantissa bits (ties to even).  Out-of-range inputs give the same garbage ggml gets.
int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  return (std::bit_cast<int32_t>(shifted) & 0x007FFFFF) - 0x00400000;
}

// ggml converts floats to int8_t/uint8_t with C casts, which on x86-64 compile to a
// truncating conversion to int32 (NaN and out-of-range give INT32_MIN) followed by keeping
// the low byte.  Spelled out here so that NaN/Inf inputs are defined and still match.
int32_t truncate_like_x86(float v) {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) {
    return INT32_MIN;
  }
  return static_cast<int32_t>(v);
}
int8_t truncate_to_i8(float v) { return static_cast<int8_t>(truncate_like_x86(v)); }
uint8_t truncate_to_u8(float v) { return static_cast<uint8_t>(truncate_like_x86(v)); }

// ggml's MAX/MIN macros, whose NaN behaviour (which operand wins) std::max does not share.
float macro_max(float a, float b) { return a > b ? a : b; }

// The first of the n values of largest magnitude, with its sign (0 when all are 0); *amax gets its
// magnitude. NaNs are never chosen, as in ggml.
float signed_absmax(const float* x, int n, float* amax) {
  float max = 0;
  *amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > *amax) {
      *amax = ax;
      max = x[i];
    }
  }
  return max;
}

// The smallest and largest of a block of 32, from ±FLT_MAX as ggml starts them.
void block_min_max(const float* x, float* min, float* max) {
  *min = std::numeric_limits<float>::max();
  *max = -std::numeric_limits<float>::max();
  for (int j = 0; j < kQK; ++j) {
    if (x[j] < *min) *min = x[j];
    if (x[j] > *max) *max = x[j];
  }
}

// 16 bytes of nibbles: byte j holds weight j (low) and weight j + 16 (high).
void nibble_codes(const uint8_t* nibbles, uint8_t* code) {
  for (int j = 0; j < kQK / 2; ++j) {
    code[j] = nibbles[j] & 0x0F;
    code[j + kQK / 2] = nibbles[j] >> 4;
  }
}

// q2_K's and q3_K's low 2 bits: byte 32h + l holds levels 128h + l + {0, 32, 64, 96} at bits 0, 2, 4, 6.
template <class Level>
void two_bit_pack(const Level* L, uint8_t* qs) {
  for (int j = 0; j < kQK_K; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] =
          static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

// ---------------------------------------------------------------- shared K-quant fits

// ggml's make_qkx2_quants: fits x ~ scale*L - min with L in [0, nmax] and min >= 0, first
// from the range, then by weighted least squares on nstep+1 perturbed grids, keeping the
// fit of lowest weighted error (absolute if use_mad, else squared).  Returns scale; *the_min
// gets min.
float fit_scale_min(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, float rmin,
                    float rdelta, int nstep, bool use_mad) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t{0});
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  uint8_t trial[kQK];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      trial[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * trial[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        std::copy(trial, trial + n, L);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// ggml's make_q3_quants(16, 4, x, L, do_rmse=true): symmetric 3-bit fit with x^2 weights,
// refined by up to 5 rounds of coordinate descent on the least-squares scale.
// L gets l + 4 in [0, 7].
float fit_q3_group(const float* x, int8_t* L) {
  constexpr int n = 16, nmax = 4;
  float amax;
  const float max = signed_absmax(x, n, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        int new_l = nearest_int(x[i] * sl2 / slx);
        new_l = std::max(-nmax, std::min(nmax - 1, new_l));
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// ggml's make_qx_quants(16, 32, x, L, rmse_type=1, NULL): symmetric 6-bit fit with x^2
// weights, trying 18 perturbed inverse scales around -32/max.  L gets l + 32 in [0, 63].
float fit_q6_group(const float* x, int8_t* L) {
  constexpr int n = 16, nmax = 32;
  float amax;
  const float max = signed_absmax(x, n, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, int8_t{0});
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  int8_t trial[n];
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      trial[i] = static_cast<int8_t>(l + nmax);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      std::copy(trial, trial + n, L);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// The 6-bit scale and 6-bit min of sub-block j of q4_K/q5_K's 12-byte scales field.
void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// q4_K/q5_K's sub-block scales d·sc and minimums dmin·m as dequantizing reads them.
void k4_scales(float d, float dmin, const uint8_t* packed, float* scale, float* min) {
  for (int j = 0; j < kQK_K / 32; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, packed, &sc, &m);
    scale[j] = d * sc;
    min[j] = dmin * m;
  }
}

// q4_K/q5_K: fits the 8 sub-blocks of 32 with weights rms + |x|, quantizes their scales
// and mins to 6 bits against fp16 super-scales, then requantizes every weight against the
// scales as stored.  Writes d, dmin and the 12 scale bytes at b; L gets the levels.
void quantize_k_scale_min_superblock(const float* x, int nmax, float rmin, int nstep, uint8_t* b, uint8_t* L) {
  float scales[kQK_K / 32];
  float mins[kQK_K / 32];
  float weights[32];
  float max_scale = 0;  // scales are never negative once the min is taken out
  float max_min = 0;
  for (int j = 0; j < kQK_K / 32; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = fit_scale_min(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }

  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  uint8_t* packed = b + 4;
  for (int j = 0; j < kQK_K / 32; ++j) {
    uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
    ls = std::min<uint8_t>(63, ls);
    lm = std::min<uint8_t>(63, lm);
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      packed[j - 4] = static_cast<uint8_t>(packed[j - 4] | ((ls >> 4) << 6));
      packed[j] = static_cast<uint8_t>(packed[j] | ((lm >> 4) << 6));
    }
  }
  const uint16_t d16 = half_from_float(max_scale / 63.f);
  const uint16_t dmin16 = half_from_float(max_min / 63.f);
  store_half(b, d16);
  store_half(b + 2, dmin16);

  for (int j = 0; j < kQK_K / 32; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, packed, &sc, &m);
    const float d = half_to_float(d16) * sc;
    if (d == 0.0f) continue;  // keep the levels of the fit
    const float dm = half_to_float(dmin16) * m;
    for (int ii = 0; ii < 32; ++ii) {
      const int l = nearest_int((x[32 * j + ii] + dm) / d);
      L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    }
  }
}

// ---------------------------------------------------------------- q4_0
// 18 bytes / 32 weights: fp16 d, then 16 bytes of nibbles; byte j holds weight j (low)
// and weight j+16 (high).  x = d * (q - 8), d = -max/8 where max is the signed weight of
// largest magnitude, so that weight lands exactly on level 0.
void q4_0_quantize(const float* x, uint8_t* b) {
  float amax;
  const float d = signed_absmax(x, kQK, &amax) / -8;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_half(b, half_from_float(d));
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = x[j] * id;
    const float x1 = x[j + kQK / 2] * id;
    const uint8_t q0 = static_cast<uint8_t>(std::min<int>(15, truncate_to_i8(x0 + 8.5f)));
    const uint8_t q1 = static_cast<uint8_t>(std::min<int>(15, truncate_to_i8(x1 + 8.5f)));
    b[2 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
}

void q4_0_levels(const uint8_t* b, uint8_t* code, float* scale, float*) {
  scale[0] = load_half(b);
  nibble_codes(b + 2, code);
}

// ---------------------------------------------------------------- q4_1
// 20 bytes / 32 weights: fp16 d, fp16 m, 16 bytes of nibbles as in q4_0.  x = d*q + m with
// m the block minimum, d = (max - min)/15.
void q4_1_quantize(const float* x, uint8_t* b) {
  float min, max;
  block_min_max(x, &min, &max);
  const float d = (max - min) / 15;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_half(b, half_from_float(d));
  store_half(b + 2, half_from_float(min));
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = (x[j] - min) * id;
    const float x1 = (x[j + kQK / 2] - min) * id;
    const uint8_t q0 = static_cast<uint8_t>(std::min<int>(15, truncate_to_i8(x0 + 0.5f)));
    const uint8_t q1 = static_cast<uint8_t>(std::min<int>(15, truncate_to_i8(x1 + 0.5f)));
    b[4 + j] = static_cast<uint8_t>(q0 | (q1 << 4));
  }
}

void q4_1_levels(const uint8_t* b, uint8_t* code, float* scale, float* offset) {
  scale[0] = load_half(b);
  offset[0] = load_half(b + 2);
  nibble_codes(b + 4, code);
}

// ---------------------------------------------------------------- q5_0
// 22 bytes / 32 weights: fp16 d, 4 bytes qh (bit j = 5th bit of weight j, little-endian
// u32), 16 bytes of low nibbles as in q4_0.  x = d * (q - 16), d = -max/16.
void q5_0_quantize(const float* x, uint8_t* b) {
  float amax;
  const float d = signed_absmax(x, kQK, &amax) / -16;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_half(b, half_from_float(d));
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = x[j] * id;
    const float x1 = x[j + kQK / 2] * id;
    const uint8_t q0 = static_cast<uint8_t>(std::min<int>(31, truncate_to_i8(x0 + 16.5f)));
    const uint8_t q1 = static_cast<uint8_t>(std::min<int>(31, truncate_to_i8(x1 + 16.5f)));
    b[6 + j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
    qh |= ((q0 & 0x10u) >> 4) << j;
    qh |= ((q1 & 0x10u) >> 4) << (j + kQK / 2);
  }
  store_u32(b + 2, qh);
}

// The fifth bits of q5_0 and q5_1: bit j of qh belongs to weight j.
void q5_codes(const uint8_t* nibbles, uint32_t qh, uint8_t* code) {
  nibble_codes(nibbles, code);
  for (int j = 0; j < kQK / 2; ++j) {
    code[j] = static_cast<uint8_t>(code[j] | (((qh >> j) << 4) & 0x10));
    code[j + kQK / 2] = static_cast<uint8_t>(code[j + kQK / 2] | ((qh >> (j + 12)) & 0x10));
  }
}

void q5_0_levels(const uint8_t* b, uint8_t* code, float* scale, float*) {
  scale[0] = load_half(b);
  q5_codes(b + 6, load_u32(b + 2), code);
}

// ---------------------------------------------------------------- q5_1
// 24 bytes / 32 weights: fp16 d, fp16 m, 4 bytes qh, 16 bytes of low nibbles.
// x = d*q + m, d = (max - min)/31.
void q5_1_quantize(const float* x, uint8_t* b) {
  float min, max;
  block_min_max(x, &min, &max);
  const float d = (max - min) / 31;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_half(b, half_from_float(d));
  store_half(b + 2, half_from_float(min));
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = (x[j] - min) * id;
    const float x1 = (x[j + kQK / 2] - min) * id;
    // ggml does not clamp here: (max - min)*id rounds to at most 31.
    const uint8_t q0 = truncate_to_u8(x0 + 0.5f);
    const uint8_t q1 = truncate_to_u8(x1 + 0.5f);
    b[8 + j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
    qh |= ((q0 & 0x10u) >> 4) << j;
    qh |= ((q1 & 0x10u) >> 4) << (j + kQK / 2);
  }
  store_u32(b + 4, qh);
}

void q5_1_levels(const uint8_t* b, uint8_t* code, float* scale, float* offset) {
  scale[0] = load_half(b);
  offset[0] = load_half(b + 2);
  q5_codes(b + 8, load_u32(b + 4), code);
}

// ---------------------------------------------------------------- q8_0
// 34 bytes / 32 weights: fp16 d, 32 int8 quants.  x = d*q, d = amax/127, q = roundf(x/d)
// (ties away from zero, unlike nearest_int).
void q8_0_quantize(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = macro_max(amax, std::fabs(x[j]));
  const float d = amax / 127;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  store_half(b, half_from_float(d));
  for (int j = 0; j < kQK; ++j) {
    b[2 + j] = static_cast<uint8_t>(truncate_to_i8(std::round(x[j] * id)));
  }
}

void q8_0_levels(const uint8_t* b, uint8_t* code, float* scale, float*) {
  scale[0] = load_half(b);
  for (int j = 0; j < kQK; ++j) code[j] = static_cast<uint8_t>(static_cast<int8_t>(b[2 + j]) + 128);
}

// ---------------------------------------------------------------- q2_K
// 84 bytes / 256 weights: 16 scale bytes (low nibble scale, high nibble min, one per
// sub-block of 16), 64 bytes of 2-bit quants, fp16 d, fp16 dmin.  Quant byte 32*h + l holds
// weights 128*h + l + {0, 32, 64, 96} at bits {0, 2, 4, 6}.  x = d*sc*q - dmin*m.
void q2_k_quantize(const float* x, uint8_t* b) {
  constexpr float q4scale = 15.f;
  uint8_t L[kQK_K];
  float weights[16];
  float scales[kQK_K / 16];
  float mins[kQK_K / 16];
  float max_scale = 0;  // scales are never negative once the min is taken out
  float max_min = 0;
  for (int j = 0; j < kQK_K / 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = fit_scale_min(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15, true);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }

  uint8_t* packed = b;
  uint16_t d16 = half_from_float(0.f);
  uint16_t dmin16 = half_from_float(0.f);
  if (max_scale > 0) {
    const float iscale = q4scale / max_scale;
    for (int j = 0; j < kQK_K / 16; ++j) {
      packed[j] = static_cast<uint8_t>(nearest_int(iscale * scales[j]));
    }
    d16 = half_from_float(max_scale / q4scale);
  } else {
    std::fill(packed, packed + kQK_K / 16, uint8_t{0});
  }
  if (max_min > 0) {
    const float iscale = q4scale / max_min;
    for (int j = 0; j < kQK_K / 16; ++j) {
      const int l = nearest_int(iscale * mins[j]);
      packed[j] = static_cast<uint8_t>(packed[j] | (l << 4));
    }
    dmin16 = half_from_float(max_min / q4scale);
  }
  store_half(b + 80, d16);
  store_half(b + 82, dmin16);

  for (int j = 0; j < kQK_K / 16; ++j) {
    const float d = half_to_float(d16) * (packed[j] & 0xF);
    if (d == 0.0f) continue;  // keep the levels of the fit
    const float dm = half_to_float(dmin16) * (packed[j] >> 4);
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int((x[16 * j + ii] + dm) / d);
      L[16 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(3, l)));
    }
  }

  two_bit_pack(L, b + 16);
}

void q2_k_levels(const uint8_t* b, uint8_t* code, float* scale, float* offset) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = load_half(b + 80);
  const float min = load_half(b + 82);
  int is = 0;
  for (int n = 0; n < kQK_K; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half = 0; half < 2; ++half) {
        const uint8_t sc = scales[is];
        scale[is] = d * (sc & 0xF);
        offset[is] = min * (sc >> 4);
        ++is;
        for (int l = 0; l < 16; ++l) *code++ = (q[16 * half + l] >> shift) & 3;
      }
    }
    q += 32;
  }
}

// ---------------------------------------------------------------- q3_K
// 110 bytes / 256 weights: 32 bytes hmask (bit k of byte m = high bit of weight 32k + m),
// 64 bytes of low 2 bits (as q2_K), 12 bytes of 6-bit signed scales (+32 bias: low nibbles
// in bytes 0..7, high 2-bit pairs in bytes 8..11), fp16 d.  x = d*(sc - 32)*(q - 4).
int q3_k_scale(const uint8_t* packed, int j) {
  const int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
  const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

void q3_k_quantize(const float* x, uint8_t* b) {
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  for (int j = 0; j < kQK_K / 16; ++j) scales[j] = fit_q3_group(x + 16 * j, L + 16 * j);
  float amax;
  const float max_scale = signed_absmax(scales, kQK_K / 16, &amax);

  uint8_t* packed = b + 96;
  std::fill(packed, packed + 12, uint8_t{0});
  uint16_t d16 = half_from_float(0.f);
  if (max_scale != 0.0f) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < kQK_K / 16; ++j) {
      // ggml narrows to int8_t before clamping.
      int l = static_cast<int8_t>(nearest_int(iscale * scales[j]));
      l = std::max(-32, std::min(31, l)) + 32;
      if (j < 8) {
        packed[j] = static_cast<uint8_t>(l & 0xF);
      } else {
        packed[j - 8] = static_cast<uint8_t>(packed[j - 8] | ((l & 0xF) << 4));
      }
      packed[8 + j % 4] = static_cast<uint8_t>(packed[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
    }
    d16 = half_from_float(1 / iscale);
  }
  store_half(b + 108, d16);

  for (int j = 0; j < kQK_K / 16; ++j) {
    const int sc = q3_k_scale(packed, j) - 32;
    const float d = half_to_float(d16) * sc;
    if (d == 0.0f) continue;  // keep the levels of the fit
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>(std::max(-4, std::min(3, l)) + 4);
    }
  }

  uint8_t* hmask = b;
  std::fill(hmask, hmask + kQK_K / 8, uint8_t{0});
  for (int j = 0; j < kQK_K; ++j) {
    if (L[j] > 3) {
      hmask[j % 32] = static_cast<uint8_t>(hmask[j % 32] | (1 << (j / 32)));
      L[j] = static_cast<int8_t>(L[j] - 4);
    }
  }
  two_bit_pack(L, b + 32);
}

void q3_k_levels(const uint8_t* b, uint8_t* code, float* scale, float*) {
  const uint8_t* hmask = b;
  const uint8_t* q = b + 32;
  const uint8_t* packed = b + 96;
  const float d_all = load_half(b + 108);
  int is = 0;
  int bit = 0;  // hmask bit: advances per 32 weights, across both 128-weight halves
  for (int n = 0; n < kQK_K; n += 128) {
    for (int shift = 0; shift < 8; shift += 2, ++bit) {
      for (int half = 0; half < 2; ++half) {
        scale[is] = d_all * (q3_k_scale(packed, is) - 32);
        ++is;
        for (int l = 0; l < 16; ++l) {
          const int k = 16 * half + l;
          *code++ = static_cast<uint8_t>(((q[k] >> shift) & 3) + ((hmask[k] >> bit) & 1 ? 4 : 0));
        }
      }
    }
    q += 32;
  }
}

// ---------------------------------------------------------------- q4_K
// 144 bytes / 256 weights: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins for 8
// sub-blocks of 32 (see unpack_scale_min_k4), 128 bytes of nibbles: byte 32*h + l holds
// weight 64*h + l (low) and 64*h + l + 32 (high).  x = d*sc*q - dmin*m.
void q4_k_quantize(const float* x, uint8_t* b) {
  uint8_t L[kQK_K];
  quantize_k_scale_min_superblock(x, 15, -1.f, 20, b, L);
  uint8_t* q = b + 16;
  for (int j = 0; j < kQK_K; j += 64) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    q += 32;
  }
}

void q4_k_levels(const uint8_t* b, uint8_t* code, float* scale, float* offset) {
  const float d = load_half(b);
  const float min = load_half(b + 2);
  const uint8_t* packed = b + 4;
  const uint8_t* q = b + 16;
  k4_scales(d, min, packed, scale, offset);
  for (int j = 0; j < kQK_K; j += 64, q += 32)
    for (int l = 0; l < 32; ++l) {
      code[j + l] = q[l] & 0xF;
      code[j + 32 + l] = q[l] >> 4;
    }
}

// ---------------------------------------------------------------- q5_K
// 176 bytes / 256 weights: fp16 d, fp16 dmin, 12 scale bytes as q4_K, 32 bytes qh (bit
// 2h / 2h+1 of byte l = 5th bit of weight 64*h + l / 64*h + l + 32), 128 bytes of low
// nibbles laid out as q4_K.  x = d*sc*q - dmin*m.
void q5_k_quantize(const float* x, uint8_t* b) {
  uint8_t L[kQK_K];
  quantize_k_scale_min_superblock(x, 31, -0.5f, 15, b, L);
  uint8_t* qh = b + 16;
  uint8_t* ql = b + 48;
  std::fill(qh, qh + kQK_K / 8, uint8_t{0});
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < kQK_K; n += 64) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[n + j];
      if (l1 > 15) {
        l1 -= 16;
        qh[j] |= m1;
      }
      int l2 = L[n + j + 32];
      if (l2 > 15) {
        l2 -= 16;
        qh[j] |= m2;
      }
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
    m1 = static_cast<uint8_t>(m1 << 2);
    m2 = static_cast<uint8_t>(m2 << 2);
    ql += 32;
  }
}

void q5_k_levels(const uint8_t* b, uint8_t* code, float* scale, float* offset) {
  const float d = load_half(b);
  const float min = load_half(b + 2);
  const uint8_t* packed = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  k4_scales(d, min, packed, scale, offset);
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < kQK_K; j += 64, ql += 32) {
    for (int l = 0; l < 32; ++l) {
      code[j + l] = static_cast<uint8_t>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0));
      code[j + 32 + l] = static_cast<uint8_t>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0));
    }
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

// ---------------------------------------------------------------- q6_K
// 210 bytes / 256 weights: 128 bytes ql (low nibbles), 64 bytes qh (2-bit pairs), 16 int8
// scales (one per 16 weights), fp16 d.  Per 128-weight half h, weight 128h + l + 32k
// (k = 0..3) has low nibble in ql[64h + l + 32*(k&1)] (k<2 low, k>=2 high) and high bits
// at bits 2k of qh[32h + l].  x = d*sc*(q - 32).
void q6_k_quantize(const float* x, uint8_t* b) {
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  for (int ib = 0; ib < kQK_K / 16; ++ib) scales[ib] = fit_q6_group(x + 16 * ib, L + 16 * ib);
  float max_abs_scale;
  const float max_scale = signed_absmax(scales, kQK_K / 16, &max_abs_scale);
  if (max_abs_scale < kGroupMaxEps) {
    std::fill(b, b + 210, uint8_t{0});
    return;
  }

  const float iscale = -128.f / max_scale;
  const uint16_t d16 = half_from_float(1 / iscale);
  store_half(b + 208, d16);
  int8_t* sc = reinterpret_cast<int8_t*>(b + 192);
  for (int ib = 0; ib < kQK_K / 16; ++ib) {
    sc[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
  }
  for (int j = 0; j < kQK_K / 16; ++j) {
    const float d = half_to_float(d16) * sc[j];
    if (d == 0.0f) continue;  // keep the levels of the fit
    for (int ii = 0; ii < 16; ++ii) {
      const int l = nearest_int(x[16 * j + ii] / d);
      L[16 * j + ii] = static_cast<int8_t>(std::max(-32, std::min(31, l)) + 32);
    }
  }

  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l] & 0xF;
      const int q2 = L[j + l + 32] & 0xF;
      const int q3 = L[j + l + 64] & 0xF;
      const int q4 = L[j + l + 96] & 0xF;
      ql[l] = static_cast<uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                   ((L[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

void q6_k_levels(const uint8_t* b, uint8_t* code, float* scale, float*) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = load_half(b + 208);
  for (int is = 0; is < kQK_K / 16; ++is) scale[is] = d * sc[is];
  for (int n = 0; n < kQK_K; n += 128, ql += 64, qh += 32)
    for (int l = 0; l < 32; ++l) {
      code[n + l] = static_cast<uint8_t>((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
      code[n + l + 32] = static_cast<uint8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
      code[n + l + 64] = static_cast<uint8_t>((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
      code[n + l + 96] = static_cast<uint8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
    }
}

// ---------------------------------------------------------------- iq4_nl
// 18 bytes / 32 weights: fp16 d, 16 bytes of nibbles (as q4_0) indexing a fixed
// non-linear grid.  x = d * kIq4nlGrid[q].
constexpr int8_t kIq4nlGrid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// ggml's best_index_int8 over kIq4nlGrid: the nearest grid value, ties going up.
int iq4nl_nearest(float x) {
  const int8_t* val = kIq4nlGrid;
  if (x <= val[0]) return 0;
  if (x >= val[15]) return 15;
  int ml = 0, mu = 15;
  while (mu - ml > 1) {
    const int mav = (ml + mu) / 2;
    if (x < val[mav])
      mu = mav;
    else
      ml = mav;
  }
  return x - val[mu - 1] < val[mu] - x ? mu - 1 : mu;
}

// ggml_quantize_chunk runs quantize_row_iq4_nl_impl with ntry = 7 and, without an
// imatrix, weights x^2 (its sigma2 term only enters with an imatrix).  Note that ggml's
// own from_float_ref for this type (quantize_row_iq4_nl_ref) uses ntry = -1 instead,
// which gives different bytes; GGUF files come from ggml_quantize_chunk.
void iq4_nl_quantize(const float* x, uint8_t* b) {
  constexpr int ntry = 7;
  float weight[kQK];
  for (int j = 0; j < kQK; ++j) weight[j] = x[j] * x[j];
  float amax;
  const float max = signed_absmax(x, kQK, &amax);
  float d = 0;
  if (amax >= kGroupMaxEps) {
    d = -max / kIq4nlGrid[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < kQK; ++j) {
      const float q = kIq4nlGrid[iq4nl_nearest(id * x[j])];
      const float w = weight[j];
      sumqx += w * q * x[j];
      sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; ++itry) {
      id = (itry + kIq4nlGrid[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < kQK; ++j) {
        const float q = kIq4nlGrid[iq4nl_nearest(id * x[j])];
        const float w = weight[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
  }
  store_half(b, half_from_float(d));
  // ggml picks the final levels with the unrounded d, not the stored fp16 one.
  const float id = d != 0.0f ? 1 / d : 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int l0 = iq4nl_nearest(id * x[j]);
    const int l1 = iq4nl_nearest(id * x[j + kQK / 2]);
    b[2 + j] = static_cast<uint8_t>(l0 | (l1 << 4));
  }
}

void iq4_nl_levels(const uint8_t* b, uint8_t* code, float* scale, float*) {
  scale[0] = load_half(b);
  nibble_codes(b + 2, code);
}

// ---------------------------------------------------------------- float formats

void f32_store(const float* x, uint8_t* b) { std::memcpy(b, x, sizeof(float)); }
void f32_load(const uint8_t* b, float* y) { std::memcpy(y, b, sizeof(float)); }
void f16_store(const float* x, uint8_t* b) { store_half(b, half_from_float(*x)); }
void f16_load(const uint8_t* b, float* y) { *y = load_half(b); }
void bf16_store(const float* x, uint8_t* b) { store_half(b, bf16_from_float(*x)); }
void bf16_load(const uint8_t* b, float* y) { *y = bf16_to_float(load_half_bits(b)); }

// ---------------------------------------------------------------- dispatch

// How a quantized type's blocks read back: per sub-block a scale (and an offset, for the types that
// store a minimum), per weight a code into the type's grid. Dequantizing is scale·grid[code], then
// plus the offset (q4_1, q5_1) or minus it (the K-quants' minimum), which is ggml's to_float operation
// for operation, down to the sign of a NaN (x − m and x + (−m) differ there).
enum class Offset { None, Add, Subtract };
struct Levels {
  void (*read)(const uint8_t* block, uint8_t* code, float* scale, float* offset);
  int sub;              // weights per scale
  int codes;            // grid size
  int first;            // grid[code] = first + code, unless table
  const int8_t* table;  // iq4_nl's non-linear grid
  Offset offset;
};

struct Codec {
  GgmlBlock block;
  void (*quantize)(const float* x, uint8_t* block);
  void (*load)(const uint8_t* block, float* y);  // the float types, a weight at a time
  Levels levels;
};

Codec codec_for(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
      return {{1, 4}, f32_store, f32_load, {}};
    case GgmlType::F16:
      return {{1, 2}, f16_store, f16_load, {}};
    case GgmlType::BF16:
      return {{1, 2}, bf16_store, bf16_load, {}};
    case GgmlType::Q4_0:
      return {{32, 18}, q4_0_quantize, nullptr, {q4_0_levels, 32, 16, -8, nullptr, Offset::None}};
    case GgmlType::Q4_1:
      return {{32, 20}, q4_1_quantize, nullptr, {q4_1_levels, 32, 16, 0, nullptr, Offset::Add}};
    case GgmlType::Q5_0:
      return {{32, 22}, q5_0_quantize, nullptr, {q5_0_levels, 32, 32, -16, nullptr, Offset::None}};
    case GgmlType::Q5_1:
      return {{32, 24}, q5_1_quantize, nullptr, {q5_1_levels, 32, 32, 0, nullptr, Offset::Add}};
    case GgmlType::Q8_0:
      return {{32, 34}, q8_0_quantize, nullptr, {q8_0_levels, 32, 256, -128, nullptr, Offset::None}};
    case GgmlType::Q2_K:
      return {{256, 84}, q2_k_quantize, nullptr, {q2_k_levels, 16, 4, 0, nullptr, Offset::Subtract}};
    case GgmlType::Q3_K:
      return {{256, 110}, q3_k_quantize, nullptr, {q3_k_levels, 16, 8, -4, nullptr, Offset::None}};
    case GgmlType::Q4_K:
      return {{256, 144}, q4_k_quantize, nullptr, {q4_k_levels, 32, 16, 0, nullptr, Offset::Subtract}};
    case GgmlType::Q5_K:
      return {{256, 176}, q5_k_quantize, nullptr, {q5_k_levels, 32, 32, 0, nullptr, Offset::Subtract}};
    case GgmlType::Q6_K:
      return {{256, 210}, q6_k_quantize, nullptr, {q6_k_levels, 16, 64, -32, nullptr, Offset::None}};
    case GgmlType::IQ4_NL:
      return {{32, 18}, iq4_nl_quantize, nullptr, {iq4_nl_levels, 32, 16, 0, kIq4nlGrid, Offset::None}};
  }
  return {{0, 0}, nullptr, nullptr, {}};
}

float grid_level(const Levels& l, int code) { return float(l.table ? l.table[code] : l.first + code); }

}  // namespace

GgmlBlock ggml_block(GgmlType type) { return codec_for(type).block; }

int64_t ggml_sub_block(GgmlType type) {
  const Codec c = codec_for(type);
  return c.levels.read ? c.levels.sub : c.block.weights;
}

std::vector<float> ggml_grid(GgmlType type) {
  const Levels l = codec_for(type).levels;
  std::vector<float> grid;
  for (int code = 0; code < l.codes; ++code) grid.push_back(grid_level(l, code));
  return grid;
}

void ggml_quantize_row_cpu(GgmlType type, const float* x, int64_t n, uint8_t* out) {
  const Codec c = codec_for(type);
  if (c.quantize == nullptr) return;
  for (int64_t i = 0; i + c.block.weights <= n; i += c.block.weights) {
    c.quantize(x + i, out);
    out += c.block.bytes;
  }
}

void ggml_levels_row_cpu(GgmlType type, const uint8_t* in, int64_t n, uint8_t* codes, float* scales, float* offsets) {
  const Codec c = codec_for(type);
  if (c.levels.read == nullptr) return;
  const int64_t subs = c.block.weights / c.levels.sub;
  for (int64_t i = 0; i + c.block.weights <= n; i += c.block.weights, in += c.block.bytes) {
    const int64_t s = i / c.levels.sub;
    if (c.levels.offset == Offset::None) std::fill(offsets + s, offsets + s + subs, 0.0f);
    c.levels.read(in, codes + i, scales + s, offsets + s);
    if (c.levels.offset == Offset::Subtract)
      for (int64_t k = s; k < s + subs; ++k) offsets[k] = -offsets[k];
  }
}

void ggml_dequantize_row_cpu(GgmlType type, const uint8_t* in, int64_t n, float* y) {
  const Codec c = codec_for(type);
  if (c.load) {
    for (int64_t i = 0; i < n; ++i, in += c.block.bytes) c.load(in, y + i);
    return;
  }
  if (c.levels.read == nullptr) return;
  uint8_t code[kQK_K];
  float scale[kQK_K / 16], offset[kQK_K / 16];
  for (int64_t i = 0; i + c.block.weights <= n; i += c.block.weights, in += c.block.bytes) {
    c.levels.read(in, code, scale, offset);
    for (int64_t k = 0; k < c.block.weights; ++k) {
      const float level = grid_level(c.levels, code[k]), s = scale[k / c.levels.sub];
      switch (c.levels.offset) {
        case Offset::None:
          y[i + k] = s * level;
          break;
        case Offset::Add:
          y[i + k] = s * level + offset[k / c.levels.sub];
          break;
        case Offset::Subtract:
          y[i + k] = s * level - offset[k / c.levels.sub];
          break;
      }
    }
  }
}

}  // namespace qs::kernels
