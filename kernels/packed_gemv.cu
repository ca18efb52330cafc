// CUDA side of packed_gemv.hpp. One warp owns a 16-row tile over a range of 256-column chunks; the 8
// warps of a block take 8 consecutive tiles over the same chunks, so they share the activations in L1
// and one table of level pairs in shared memory. Columns are split across warps until the GPU holds
// about 32 warps per SM; the partial sums of a tile are added by the last of its warps to finish, in
// split order, so results do not depend on timing.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "bf16_round.hpp"
#include "cuda_host.cuh"
#include "packed_gemv.hpp"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

struct GemvParams {
  const uint4* records;
  const uint32_t* scales;  // two bf16 per word: rows g and g + 8 of one scale group
  const float* levels;
  const uint16_t* x;
  float* y;
  float* partials;
  int* counters;
  int64_t rows, tiles, chunks, padded_cols;
  int batch, splits, chunks_per_split;
};

struct Split {
  int splits, chunks_per_split;
};

int sm_count() {
  static const int count = [] {
    int device = 0, n = 0;
    QS_CUDA_CHECK(cudaGetDevice(&device));
    QS_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device));
    return n;
  }();
  return count;
}

// Enough warps for about 32 per SM, each over whole chunks.
Split split_choose(const GemvShape& s) {
  const int64_t target = int64_t(sm_count()) * 32;
  const int64_t chunks = s.chunks();
  const int64_t want = std::clamp<int64_t>((target + s.tiles() - 1) / s.tiles(), 1, chunks);
  const int64_t per = (chunks + want - 1) / want;
  return {int((chunks + per - 1) / per), int(per)};
}

__host__ __device__ constexpr int table_entries(int bits) { return bits == 8 ? 256 : bits == 3 ? 64 : 1 << (2 * bits); }
// Words of shared memory: a pair table keeps one bf16x2 per entry and lane; the 8-bit table one bf16.
__host__ __device__ constexpr int table_words(int bits) { return bits == 8 ? 256 * 16 : table_entries(bits) * 32; }

__device__ __forceinline__ uint32_t bf16_bits(float v) { return __float_as_uint(bf16_round(v)) >> 16; }

// The two codes that table entry e stands for (see gemv_slot_position: for 3 bits the index is the
// 2-bit plane's pair, then the 1-bit plane's pair).
template <int BITS>
__device__ __forceinline__ void table_codes(int e, int* lo, int* hi) {
  if constexpr (BITS == 3) {
    *lo = (e & 3) | ((e >> 4) & 1) << 2;
    *hi = ((e >> 2) & 3) | ((e >> 5) & 1) << 2;
  } else {
    *lo = e & ((1 << BITS) - 1);
    *hi = e >> BITS;
  }
}

template <int BITS>
__device__ void table_build(uint32_t* table, const float* levels) {
  if constexpr (BITS == 8) {
    for (int e = threadIdx.x; e < 256; e += blockDim.x) {
      const uint32_t v = bf16_bits(__ldg(levels + e));
      const uint4 copies = make_uint4(v | v << 16, v | v << 16, v | v << 16, v | v << 16);
      for (int i = 0; i < 4; ++i) reinterpret_cast<uint4*>(table + e * 16)[i] = copies;
    }
  } else {
    for (int e = threadIdx.x; e < table_entries(BITS); e += blockDim.x) {
      int lo, hi;
      table_codes<BITS>(e, &lo, &hi);
      const uint32_t v = bf16_bits(__ldg(levels + lo)) | bf16_bits(__ldg(levels + hi)) << 16;
      const uint4 copies = make_uint4(v, v, v, v);
      for (int i = 0; i < 8; ++i) reinterpret_cast<uint4*>(table + e * 32)[i] = copies;
    }
  }
}

// The bf16x2 A register `reg` of k-step `step` from the lane's record words.
template <int BITS>
__device__ __forceinline__ uint32_t pair_decode(const uint32_t* w, const uint32_t* table, int lane, int step,
                                                int reg) {
  const int pair = step * 4 + reg;
  if constexpr (BITS == 8) {
    const uint32_t bits = w[pair / 2] >> ((pair % 2) * 16);
    const auto* t16 = reinterpret_cast<const uint16_t*>(table);
    return uint32_t(t16[(bits & 0xff) << 5 | lane]) | uint32_t(t16[((bits >> 8) & 0xff) << 5 | lane]) << 16;
  } else if constexpr (BITS == 3) {
    const uint32_t low = (w[pair / 8] >> ((pair % 8) * 4)) & 0xf;
    const uint32_t high = (w[8 + pair / 16] >> ((pair % 16) * 2)) & 0x3;
    return table[(low | high << 4) << 5 | lane];
  } else {
    constexpr int per_word = 16 / BITS;
    const uint32_t e = (w[pair / per_word] >> ((pair % per_word) * 2 * BITS)) & ((1u << (2 * BITS)) - 1);
    return table[e << 5 | lane];
  }
}

__device__ __forceinline__ uint4 load_streaming(const uint4* p) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
}

__device__ __forceinline__ void mma_bf16(float* d, const uint32_t* a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <int BITS, int G, int NT>
__global__ void __launch_bounds__(kThreads) gemv_kernel(GemvParams p) {
  extern __shared__ uint4 shared_words[];
  uint32_t* table = reinterpret_cast<uint32_t*>(shared_words);
  table_build<BITS>(table, p.levels);
  __syncthreads();

  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t warp = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (warp >= p.tiles * p.splits) return;
  const int split = int(warp / p.tiles);
  const int64_t tile = warp - int64_t(split) * p.tiles;
  const int64_t chunk_begin = int64_t(split) * p.chunks_per_split;
  const int64_t chunk_end = p.chunks < chunk_begin + p.chunks_per_split ? p.chunks : chunk_begin + p.chunks_per_split;

  // The activation rows this lane feeds to B: columns g (and g + 8) of the mma.
  const uint16_t* xrow[NT];
  bool xlive[NT];
  for (int nt = 0; nt < NT; ++nt) {
    xlive[nt] = nt * 8 + g < p.batch;
    xrow[nt] = p.x + int64_t(xlive[nt] ? nt * 8 + g : 0) * p.padded_cols + 2 * t;
  }

  float acc[NT][4] = {};
  for (int64_t chunk = chunk_begin; chunk < chunk_end; ++chunk) {
    const int64_t record = tile * p.chunks + chunk;
    uint32_t w[4 * BITS];
    for (int u = 0; u < BITS; ++u)
      reinterpret_cast<uint4*>(w)[u] = load_streaming(p.records + (record * BITS + u) * 32 + lane);
    uint32_t sw[G];
    const uint32_t* scale_words = p.scales + (record * 8 + g) * G;
    if constexpr (G >= 4) {
      for (int i = 0; i < G / 4; ++i) reinterpret_cast<uint4*>(sw)[i] = __ldg(reinterpret_cast<const uint4*>(scale_words) + i);
    } else if constexpr (G == 2) {
      *reinterpret_cast<uint2*>(sw) = __ldg(reinterpret_cast<const uint2*>(scale_words));
    } else {
      sw[0] = __ldg(scale_words);
    }
    const int64_t k_chunk = chunk * kGemvChunk;
#pragma unroll
    for (int j = 0; j < G; ++j) {
      float d[NT][4] = {};
#pragma unroll
      for (int step = j * (16 / G); step < (j + 1) * (16 / G); ++step) {
        uint32_t a[4];
#pragma unroll
        for (int reg = 0; reg < 4; ++reg) a[reg] = pair_decode<BITS>(w, table, lane, step, reg);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          const int64_t k = k_chunk + step * 16;
          const uint32_t b0 = xlive[nt] ? __ldg(reinterpret_cast<const uint32_t*>(xrow[nt] + k)) : 0u;
          const uint32_t b1 = xlive[nt] ? __ldg(reinterpret_cast<const uint32_t*>(xrow[nt] + k + 8)) : 0u;
          mma_bf16(d[nt], a, b0, b1);
        }
      }
      const float s_low = __uint_as_float(sw[j] << 16), s_high = __uint_as_float(sw[j] & 0xffff0000u);
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        acc[nt][0] += s_low * d[nt][0];
        acc[nt][1] += s_low * d[nt][1];
        acc[nt][2] += s_high * d[nt][2];
        acc[nt][3] += s_high * d[nt][3];
      }
    }
  }

  // Lane (g, t) holds rows g and g + 8 for batch columns 2t and 2t + 1 of each n-tile.
  const int64_t padded_rows = p.tiles * kGemvTileRows;
  if (p.splits == 1) {
    for (int nt = 0; nt < NT; ++nt)
      for (int i = 0; i < 4; ++i) {
        const int m = nt * 8 + 2 * t + (i & 1);
        const int64_t row = tile * kGemvTileRows + g + 8 * (i >> 1);
        if (m < p.batch && row < p.rows) p.y[int64_t(m) * p.rows + row] = acc[nt][i];
      }
    return;
  }
  for (int nt = 0; nt < NT; ++nt)
    for (int i = 0; i < 4; ++i) {
      const int m = nt * 8 + 2 * t + (i & 1);
      const int64_t row = tile * kGemvTileRows + g + 8 * (i >> 1);
      if (m < p.batch) p.partials[(int64_t(split) * p.batch + m) * padded_rows + row] = acc[nt][i];
    }
  __threadfence();
  __syncwarp();
  int arrived = 0;
  if (lane == 0) arrived = atomicAdd(p.counters + tile, 1);
  arrived = __shfl_sync(0xffffffffu, arrived, 0);
  if (arrived != p.splits - 1) return;
  __threadfence();
  for (int i = lane; i < p.batch * kGemvTileRows; i += 32) {
    const int m = i / kGemvTileRows;
    const int64_t row = tile * kGemvTileRows + i % kGemvTileRows;
    float sum = 0;
    for (int s = 0; s < p.splits; ++s) sum += __ldcg(p.partials + (int64_t(s) * p.batch + m) * padded_rows + row);
    if (row < p.rows) p.y[int64_t(m) * p.rows + row] = sum;
  }
  if (lane == 0) p.counters[tile] = 0;
}

template <int BITS, int G, int NT>
void gemv_launch(const GemvParams& p, cudaStream_t stream) {
  const int64_t warps = p.tiles * p.splits;
  const int blocks = int((warps + kWarps - 1) / kWarps);
  const size_t shared = size_t(table_words(BITS)) * 4;
  gemv_kernel<BITS, G, NT><<<blocks, kThreads, shared, stream>>>(p);
  QS_CUDA_CHECK_LAUNCH();
}

template <int BITS, int G>
void gemv_dispatch_batch(const GemvParams& p, cudaStream_t stream) {
  if (p.batch <= 8)
    gemv_launch<BITS, G, 1>(p, stream);
  else
    gemv_launch<BITS, G, 2>(p, stream);
}

template <int BITS>
void gemv_dispatch_groups(const GemvParams& p, int groups, cudaStream_t stream) {
  switch (groups) {
    case 1: return gemv_dispatch_batch<BITS, 1>(p, stream);
    case 2: return gemv_dispatch_batch<BITS, 2>(p, stream);
    case 4: return gemv_dispatch_batch<BITS, 4>(p, stream);
    case 8: return gemv_dispatch_batch<BITS, 8>(p, stream);
    case 16: return gemv_dispatch_batch<BITS, 16>(p, stream);
  }
  throw std::invalid_argument("packed product: internal: " + std::to_string(groups) + " scale groups per chunk");
}

uint64_t counters_bytes(const GemvShape& s) { return (uint64_t(s.tiles()) * 4 + 255) / 256 * 256; }

// Repacking on the device: one thread per record word, gathering the codes its pairs stand for (the
// inverse of gemv_slot), and one per scale entry.
__global__ void repack_words_kernel(GemvShape s, const uint8_t* codes, uint32_t* words) {
  const int64_t total = int64_t(s.record_bytes() / 4);
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int within = int(i % 4);
    const int lane = int((i / 4) % 32);
    const int64_t u = (i / 128) % s.bits, record = i / 128 / s.bits;
    const int64_t tile = record / s.chunks(), chunk = record % s.chunks();
    const int word = int(u) * 4 + within;
    // Which plane this word belongs to, its width and the code bits it holds.
    int plane_bits = s.bits, code_shift = 0, first = 0;
    if (s.bits == 3) {
      if (word < 8) {
        plane_bits = 2;
      } else {
        plane_bits = 1, code_shift = 2, first = 8;
      }
    }
    const int per_word = 16 / plane_bits, mask = (1 << plane_bits) - 1;
    uint32_t value = 0;
    for (int i_pair = 0; i_pair < per_word; ++i_pair) {
      const int pair = (word - first) * per_word + i_pair, step = pair / 4, reg = pair % 4;
      for (int half = 0; half < 2; ++half) {
        const int64_t row = tile * kGemvTileRows + lane / 4 + 8 * (reg & 1);
        const int64_t col = chunk * kGemvChunk + step * 16 + 2 * (lane % 4) + half + 8 * (reg >> 1);
        if (row >= s.rows || col >= s.cols) continue;
        const uint32_t field = (uint32_t(codes[row * s.cols + col]) >> code_shift) & uint32_t(mask);
        value |= field << (i_pair * 2 * plane_bits + half * plane_bits);
      }
    }
    words[i] = value;
  }
}

__global__ void repack_scales_kernel(GemvShape s, const float* scales, uint16_t* out) {
  const int64_t total = int64_t(s.scale_record_bytes() / 2);
  const int groups = s.groups(), group_cols = kGemvChunk / groups;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int half = int(i % 2), group = int((i / 2) % groups), g = int((i / 2 / groups) % 8);
    const int64_t record = i / 2 / groups / 8;
    const int64_t tile = record / s.chunks(), chunk = record % s.chunks();
    const int64_t row = tile * kGemvTileRows + g + 8 * half;
    const int64_t first = chunk * kGemvChunk + int64_t(group) * group_cols;
    out[i] = row < s.rows && first < s.cols
                 ? uint16_t(bf16_bits(scales[row * s.blocks_per_row() + first / s.block]))
                 : uint16_t(0);
  }
}

void shape_require(const GemvShape& s) {
  if (const char* why = gemv_shape_unsupported(s); why[0] != '\0')
    throw std::invalid_argument(std::string("packed product: ") + why);
}

}  // namespace

uint64_t gemv_workspace_bytes(const GemvShape& s, int batch) {
  shape_require(s);
  const Split split = split_choose(s);
  const uint64_t partials = split.splits > 1 ? uint64_t(split.splits) * uint64_t(batch) * uint64_t(s.tiles()) *
                                                   kGemvTileRows * 4
                                             : 0;
  return counters_bytes(s) + partials;
}

void gemv_cuda(const GemvShape& s, const uint8_t* records, const uint16_t* scale_records, const float* levels,
               const uint16_t* x, int batch, float* y, void* workspace, void* stream) {
  shape_require(s);
  if (batch < 1 || batch > kGemvMaxBatch)
    throw std::invalid_argument("packed product: batch " + std::to_string(batch) + " outside 1.." +
                                std::to_string(kGemvMaxBatch));
  const Split split = split_choose(s);
  GemvParams p{reinterpret_cast<const uint4*>(records),
               reinterpret_cast<const uint32_t*>(scale_records),
               levels,
               x,
               y,
               reinterpret_cast<float*>(static_cast<char*>(workspace) + counters_bytes(s)),
               static_cast<int*>(workspace),
               s.rows,
               s.tiles(),
               s.chunks(),
               s.padded_cols(),
               batch,
               split.splits,
               split.chunks_per_split};
  const auto st = static_cast<cudaStream_t>(stream);
  const int groups = s.groups();
  switch (s.bits) {
    case 1: return gemv_dispatch_groups<1>(p, groups, st);
    case 2: return gemv_dispatch_groups<2>(p, groups, st);
    case 3: return gemv_dispatch_groups<3>(p, groups, st);
    case 4: return gemv_dispatch_groups<4>(p, groups, st);
    case 8: return gemv_dispatch_groups<8>(p, groups, st);
  }
}

void gemv_repack_cuda(const GemvShape& s, const uint8_t* codes, const float* scales, uint8_t* records,
                      uint16_t* scale_records, void* stream) {
  shape_require(s);
  const auto st = static_cast<cudaStream_t>(stream);
  const int blocks = sm_count() * 8;
  repack_words_kernel<<<blocks, 256, 0, st>>>(s, codes, reinterpret_cast<uint32_t*>(records));
  QS_CUDA_CHECK_LAUNCH();
  repack_scales_kernel<<<blocks, 256, 0, st>>>(s, scales, scale_records);
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace qs::kernels
