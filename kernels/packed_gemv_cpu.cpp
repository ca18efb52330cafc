// The CPU side of packed_gemv.hpp: the repacking into warp records, the kernel's arithmetic read back
// from those records (which checks the layout without a GPU), and the fp64 reference.
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bf16_round.hpp"
#include "packed_gemv.hpp"

namespace qs::kernels {
namespace {

uint16_t bf16_bits(float v) {
  const float r = bf16_round(v);
  uint32_t u;
  std::memcpy(&u, &r, 4);
  return uint16_t(u >> 16);
}

}  // namespace

const char* gemv_shape_unsupported(const GemvShape& s) {
  if (s.rows <= 0 || s.cols <= 0) return "empty weight";
  if (s.bits != 1 && s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8) return "bit width not 1, 2, 3, 4 or 8";
  if (s.block <= 0) return "no scale block";
  const bool divides_chunk = s.block >= 16 && s.block < kGemvChunk && kGemvChunk % s.block == 0;
  const bool whole_chunks = s.block % kGemvChunk == 0 || s.block >= s.cols;
  if (!divides_chunk && !whole_chunks) return "scale block not 16, 32, 64, 128, a multiple of 256 or a whole row";
  return "";
}

void gemv_shape_require(const GemvShape& s) {
  if (const char* why = gemv_shape_unsupported(s); why[0] != '\0')
    throw std::invalid_argument(std::string("packed product: ") + why);
}

void gemv_repack_cpu(const GemvShape& s, const uint8_t* codes, const float* scales, uint8_t* records,
                     uint16_t* scale_records) {
  gemv_shape_require(s);
  std::memset(records, 0, s.record_bytes());
  std::memset(scale_records, 0, s.scale_record_bytes());
  auto* words = reinterpret_cast<uint32_t*>(records);
  const int groups = s.groups(), group_cols = kGemvChunk / groups;
  for (int64_t r = 0; r < s.rows; ++r) {
    const int64_t tile = r / kGemvTileRows;
    const int rt = int(r % kGemvTileRows);
    for (int64_t k = 0; k < s.cols; ++k) {
      const int64_t chunk = k / kGemvChunk;
      const GemvSlot slot = gemv_slot(rt, int(k % kGemvChunk));
      const uint32_t code = codes[r * s.cols + k];
      for (int p = 0; p < gemv_planes(s.bits); ++p) {
        const GemvPlane plane = gemv_plane(s.bits, p);
        int word, shift;
        gemv_slot_position(slot, plane.bits, &word, &shift);
        const uint32_t field = (code >> plane.code_shift) & ((1u << plane.bits) - 1);
        words[gemv_word_index(s, tile, chunk, slot.lane, plane.first_word + word)] |= field << shift;
      }
    }
    for (int64_t chunk = 0; chunk < s.chunks(); ++chunk)
      for (int g = 0; g < groups; ++g) {
        const int64_t first = chunk * kGemvChunk + int64_t(g) * group_cols;
        if (first >= s.cols) break;
        scale_records[gemv_scale_index(s, tile, chunk, rt, g)] = bf16_bits(scales[r * s.blocks_per_row() + first / s.block]);
      }
  }
}

void gemv_dequantize_cpu(const GemvShape& s, const uint8_t* records, const uint16_t* scale_records,
                         const float* levels, float* w) {
  gemv_shape_require(s);
  const auto* words = reinterpret_cast<const uint32_t*>(records);
  const int group_cols = kGemvChunk / s.groups();
  for (int64_t r = 0; r < s.rows; ++r) {
    const int64_t tile = r / kGemvTileRows;
    const int rt = int(r % kGemvTileRows);
    for (int64_t k = 0; k < s.cols; ++k) {
      const int64_t chunk = k / kGemvChunk;
      const int c = int(k % kGemvChunk);
      const uint32_t code = gemv_code_read(s, words, tile, chunk, rt, c);
      w[r * s.cols + k] = gemv_bf16_value(scale_records[gemv_scale_index(s, tile, chunk, rt, c / group_cols)]) * levels[code];
    }
  }
}

void gemv_records_cpu(const GemvShape& s, const uint8_t* records, const uint16_t* scale_records, const float* levels,
                      const float* x, int batch, float* y) {
  gemv_shape_require(s);
  const auto* words = reinterpret_cast<const uint32_t*>(records);
  const int groups = s.groups(), group_cols = kGemvChunk / groups;
  std::vector<float> level_bf16(size_t(1) << s.bits);
  for (size_t i = 0; i < level_bf16.size(); ++i) level_bf16[i] = bf16_round(levels[i]);
  for (int m = 0; m < batch; ++m)
    for (int64_t r = 0; r < s.rows; ++r) {
      const int64_t tile = r / kGemvTileRows;
      const int rt = int(r % kGemvTileRows);
      float acc = 0;
      for (int64_t chunk = 0; chunk < s.chunks(); ++chunk)
        for (int g = 0; g < groups; ++g) {
          float part = 0;
          for (int c = g * group_cols; c < (g + 1) * group_cols; ++c) {
            const int64_t k = chunk * kGemvChunk + c;
            const uint32_t code = gemv_code_read(s, words, tile, chunk, rt, c);
            const float xv = k < s.cols ? bf16_round(x[int64_t(m) * s.cols + k]) : 0.f;
            part += level_bf16[code] * xv;
          }
          acc += gemv_bf16_value(scale_records[gemv_scale_index(s, tile, chunk, rt, g)]) * part;
        }
      y[int64_t(m) * s.rows + r] = acc;
    }
}

void gemv_reference_cpu(const GemvShape& s, const uint8_t* codes, const float* scales, const float* levels,
                        const float* x, int batch, double* y) {
  for (int m = 0; m < batch; ++m)
    for (int64_t r = 0; r < s.rows; ++r) {
      double acc = 0;
      for (int64_t k = 0; k < s.cols; ++k)
        acc += double(scales[r * s.blocks_per_row() + k / s.block]) * double(levels[codes[r * s.cols + k]]) *
               double(x[int64_t(m) * s.cols + k]);
      y[int64_t(m) * s.rows + r] = acc;
    }
}

}  // namespace qs::kernels
