// Decode-time products with packed low-bit weights, y[m, n] = Σ_k x[m, k] · ŵ[n, k] for a batch of
// 1–16 activation rows, reading the weights as packed codes: the point of a 1–4-bit format is a model
// that is smaller and faster, which a dequantized copy is not.
//
// The weights this covers are "table formats": ŵ[n, k] = s[n, k / block] · level[code[n, k]], with
// 2^bits levels shared by the whole tensor. k-means with one codebook per tensor (`kmeans<b>:b<N>`:
// the levels are the codebook, s the bf16 block scales), symmetric integer (`int<b>:g<N>`: levels
// code − qmax; `int1`: ±1) and QuEST (levels on its grid, s = σ per row, codes in the rotated basis so
// the caller rotates x) all have this form, and so do llama.cpp's types after a repack at load (the
// sub-block of 16 or 32 weights is the scale block, the levels its integer grid: q4_0 code − 8, q8_0
// the int8 value, q6_k q − 32 with s = d·sc; 5- and 6-bit codes take the 8-bit layout). Formats with
// a minimum per group (q4_k, `int<b>:asym`: ŵ = s·level − m) are this product plus a per-group offset
// term, which the caller adds (model/packed_linear.hpp).
//
// The kernel runs on tensor cores (mma m16n8k16, bf16 in, fp32 accumulate): weights are the A operand,
// the batch the 8 (or 16) columns of B, so batch 1–8 costs one decode. Codes are repacked once, at
// load, from the documented MSB-first stream into "warp records": for each tile of 16 rows and chunk
// of 256 columns, lane L of a warp holds, in `bits` 16-byte words, exactly the codes of its mma
// fragments for the chunk's 16 k-steps, so a warp reads 512·bits contiguous bytes per chunk and decodes
// with shared-memory lookups in a table of levels indexed by record bits (a byte gives a k-step's 8
// weights at 1 bit, 4 at 2 bits, 2 at 4 bits), copied so that lookups never conflict. Scales are
// repacked beside them, in the same tile order, and applied to the fp32 partial sums of each scale
// group rather than to every weight. The on-disk format stays the
// documented one; only the GPU copy is repacked. Rows are padded to groups of 4 tiles (64 rows) and
// columns to chunks with zero scales, so every shape runs.
//
// Precision: levels and activations are rounded to bf16 (the mma's input), products are summed in
// fp32. Against the fp64 product of the dequantized weight, |y − y_ref| ≤ 2⁻⁷ · Σ_k |ŵ·x| + 1e-6·|y|
// per output (two bf16 roundings of at most 2⁻⁸ each, and fp32 sums over at most 2^20 terms); tests
// check this bound. Scales are held in bf16: a scale that is not a bf16 number (llama.cpp's fp16 d,
// q6_k's d·sc) is rounded, 2⁻⁸ relative at most, a third rounding; the bound still holds for those
// formats because their levels are integers of at most 8 bits, exact in bf16, so the level's rounding
// is never spent. The dense weight read back from the records (gemv_dequantize_*) carries that scale
// rounding alone: within 2⁻⁸ · |ŵ| of the format's own decoder.
#pragma once
#include <cstdint>
#include <cstring>

#include "host_device.hpp"

namespace qs::kernels {

constexpr int kGemvTileRows = 16;
constexpr int kGemvTileGroup = 4;  // tiles are padded to a multiple of this: a warp takes up to 4
constexpr int kGemvChunk = 256;    // columns per warp record
constexpr int kGemvMaxBatch = 16;  // activation rows per call

struct GemvShape {
  int64_t rows = 0, cols = 0;
  int bits = 0;        // 1, 2, 3, 4 or 8
  int64_t block = 0;   // columns per scale: 16, 32, 64, 128, 256, a multiple of 256, or ≥ cols (per row)
  QS_HOST_DEVICE int64_t tiles() const {
    const int64_t rows_per_group = int64_t(kGemvTileRows) * kGemvTileGroup;
    return (rows + rows_per_group - 1) / rows_per_group * kGemvTileGroup;
  }
  QS_HOST_DEVICE int64_t chunks() const { return (cols + kGemvChunk - 1) / kGemvChunk; }
  QS_HOST_DEVICE int64_t padded_cols() const { return chunks() * kGemvChunk; }
  QS_HOST_DEVICE int64_t blocks_per_row() const { return (cols + block - 1) / block; }
  // Scale groups per chunk: one scale per (row, group) in the repacked layout.
  QS_HOST_DEVICE int groups() const { return block < kGemvChunk ? int(kGemvChunk / block) : 1; }
  QS_HOST_DEVICE uint64_t record_bytes() const { return uint64_t(tiles()) * uint64_t(chunks()) * uint64_t(bits) * 512; }
  QS_HOST_DEVICE uint64_t scale_record_bytes() const {
    return uint64_t(tiles()) * uint64_t(chunks()) * kGemvTileRows * uint64_t(groups()) * 2;
  }
};

// Empty when the packed kernel can run this shape, else why not (a bit width or block it lacks).
const char* gemv_shape_unsupported(const GemvShape& shape);
// Throws std::invalid_argument with that reason.
void gemv_shape_require(const GemvShape& shape);

// Where weight (row r, column k) of a tile and chunk sits in the records. The mma A fragment gives
// lane (g = lane / 4, t = lane % 4) rows {g, g + 8} × columns {2t, 2t + 1, 2t + 8, 2t + 9} of each
// 16-column step; its 8 codes per step form 4 pairs (one bf16x2 register each). Codes of b bits live
// in planes of p bits (b = 1, 2, 4, 8: one plane; b = 3: a 2-bit plane, then a 1-bit plane holding the
// code's high bit); in a plane a pair takes 2p adjacent bits, low code in the low bits, pairs
// numbered step · 4 + register from the least significant end of word 0.
struct GemvSlot {
  int lane, step, reg, half;  // half 0: the register's low bf16 (the smaller column)
};
QS_HOST_DEVICE inline GemvSlot gemv_slot(int row_in_tile, int col_in_chunk) {
  const int step = col_in_chunk / 16, c = col_in_chunk % 16;
  const int g = row_in_tile % 8, upper_row = row_in_tile / 8, upper_col = c / 8, t = (c % 8) / 2;
  return {g * 4 + t, step, upper_row + 2 * upper_col, c % 2};
}
QS_HOST_DEVICE inline void gemv_slot_position(const GemvSlot& s, int plane_bits, int* word, int* shift) {
  const int pair = s.step * 4 + s.reg, pairs_per_word = 16 / plane_bits;
  *word = pair / pairs_per_word;
  *shift = (pair % pairs_per_word) * 2 * plane_bits + s.half * plane_bits;
}

// Index of record word `word` (0 .. 4·bits − 1) of `lane` in (tile, chunk), in 32-bit words.
QS_HOST_DEVICE inline uint64_t gemv_word_index(const GemvShape& s, int64_t tile, int64_t chunk, int lane, int word) {
  const uint64_t record = uint64_t(tile * s.chunks() + chunk);
  return ((record * uint64_t(s.bits) + uint64_t(word / 4)) * 32 + uint64_t(lane)) * 4 + uint64_t(word % 4);
}
// Index of the bf16 scale of (tile, chunk, row in tile, scale group): lane g's groups side by side,
// rows g and g + 8 of a group in one 32-bit word.
QS_HOST_DEVICE inline uint64_t gemv_scale_index(const GemvShape& s, int64_t tile, int64_t chunk, int row_in_tile,
                                                int group) {
  const uint64_t record = uint64_t(tile * s.chunks() + chunk);
  const int g = row_in_tile % 8, half = row_in_tile / 8;
  return ((record * 8 + uint64_t(g)) * uint64_t(s.groups()) + uint64_t(group)) * 2 + uint64_t(half);
}
// Plane p of a b-bit code: its width, the lowest code bit it holds, and its first record word.
struct GemvPlane {
  int bits, code_shift, first_word;
};
QS_HOST_DEVICE inline int gemv_planes(int bits) { return bits == 3 ? 2 : 1; }
QS_HOST_DEVICE inline GemvPlane gemv_plane(int bits, int p) {
  if (bits == 3) return p == 0 ? GemvPlane{2, 0, 0} : GemvPlane{1, 2, 8};
  return {bits, 0, 0};
}
// The code of weight (row in tile, column in chunk) read from the records.
QS_HOST_DEVICE inline uint32_t gemv_code_read(const GemvShape& s, const uint32_t* words, int64_t tile, int64_t chunk,
                                              int row_in_tile, int col_in_chunk) {
  const GemvSlot slot = gemv_slot(row_in_tile, col_in_chunk);
  uint32_t code = 0;
  for (int p = 0; p < gemv_planes(s.bits); ++p) {
    const GemvPlane plane = gemv_plane(s.bits, p);
    int word, shift;
    gemv_slot_position(slot, plane.bits, &word, &shift);
    const uint32_t w = words[gemv_word_index(s, tile, chunk, slot.lane, plane.first_word + word)];
    code |= ((w >> shift) & ((1u << plane.bits) - 1)) << plane.code_shift;
  }
  return code;
}
QS_HOST_DEVICE inline float gemv_bf16_value(uint16_t bits) {
  const uint32_t u = uint32_t(bits) << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// codes: one per byte, [rows, cols] (what codes_unpack gives); scales: [rows, blocks_per_row] (float
// values of bf16 numbers). Writes shape.record_bytes() and shape.scale_record_bytes() bytes.
void gemv_repack_cpu(const GemvShape& shape, const uint8_t* codes, const float* scales, uint8_t* records,
                     uint16_t* scale_records);
// The kernel's arithmetic on the CPU, reading the records as the GPU does (bf16 levels and activations,
// fp32 sums per scale group): what tests compare the layout and the GPU against. x: [batch, cols].
void gemv_records_cpu(const GemvShape& shape, const uint8_t* records, const uint16_t* scale_records,
                      const float* levels, const float* x, int batch, float* y);
// The reference: the dequantized weight times x in fp64, straight from the unpacked codes.
void gemv_reference_cpu(const GemvShape& shape, const uint8_t* codes, const float* scales, const float* levels,
                        const float* x, int batch, double* y);

// The dense weight read back from the records, ŵ = scale · level in f32 (levels unrounded): what a
// product with more than 16 activation rows multiplies by, made when needed. w: [rows, cols].
void gemv_dequantize_cpu(const GemvShape& shape, const uint8_t* records, const uint16_t* scale_records,
                         const float* levels, float* w);

#ifdef QS_WITH_CUDA
// Bytes of device workspace for a call with this batch; zero-fill it once before the first call (the
// calls leave it zeroed again). One workspace serves any sequence of calls on one stream. The split of
// the columns, and with it this size, follows QS_GEMV_WARPS_PER_SM (the decode benchmark's sweep; 16
// when unset), read once per process.
uint64_t gemv_workspace_bytes(const GemvShape& shape, int batch);
// Device pointers. x: bf16 bits, [batch, padded_cols()], zero beyond cols; levels: 2^bits floats;
// y: float [batch, rows]. stream: a cudaStream_t (null: the legacy default stream). Deterministic: the
// same inputs give the same bits whatever the split of the columns across thread blocks.
void gemv_cuda(const GemvShape& shape, const uint8_t* records, const uint16_t* scale_records, const float* levels,
               const uint16_t* x, int batch, float* y, void* workspace, void* stream);
// gemv_dequantize_cpu on the device (all pointers device memory).
void gemv_dequantize_cuda(const GemvShape& shape, const uint8_t* records, const uint16_t* scale_records,
                          const float* levels, float* w, void* stream);
// The records and scales from device copies of the unpacked codes and scales (gemv_repack_cpu's
// arithmetic), so a checkpoint's layers are repacked where they will run.
void gemv_repack_cuda(const GemvShape& shape, const uint8_t* codes, const float* scales, uint8_t* records,
                      uint16_t* scale_records, void* stream);
#endif

}  // namespace qs::kernels
