// CUDA side of packed_gemv.hpp. One warp owns 1, 2 or 4 tiles of 16 rows over a range of at most 8
// chunks of 256 columns, so each activation fragment feeds several mmas; the 8 warps of a block take
// consecutive tiles over the same chunks and share the activations, staged once in shared memory in
// fragment order, and a level table. Each task's codes and scales are requested into L2 in bulk when
// the task (or the one before it) starts, so DRAM sees all of them at once. Columns are split across
// blocks until the GPU holds the warp tasks warps_per_sm() asks for; the partial sums of a warp's rows
// are added by the last of its splits to finish, in split order, so results do not depend on timing.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "bf16_round.hpp"
#include "cuda_host.cuh"
#include "packed_gemv.hpp"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxChunksPerSplit = 8;  // bounds the activations a block stages in shared memory

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

// Tiles per warp: as many as the registers allow, so one activation fragment feeds several mmas.
__host__ __device__ constexpr int tiles_per_warp(int bits, int groups) {
  return groups == 16 || bits == 8 ? 1 : 2;
}

// Warp tasks the split aims for per SM: QS_GEMV_WARPS_PER_SM when set (the decode benchmark's sweep), else
// 16. With a task's bytes requested into L2 up front, fewer and longer tasks won: the 8B kmeans2 step
// took 2169, 1931, 2074, 2131, 2122 and 2181 µs at 8, 16, 24, 32, 64 and 128 on the H100
// (docs/performance.md), as splits and their reductions became fewer.
int64_t warps_per_sm() {
  static const int64_t n = [] {
    const char* v = std::getenv("QS_GEMV_WARPS_PER_SM");
    const int64_t asked = v != nullptr ? std::atoll(v) : 0;
    return asked > 0 ? asked : int64_t(16);
  }();
  return n;
}

// Enough warp tasks for the target above, each over at most 8 whole chunks.
Split split_choose(const GemvShape& s) {
  const int64_t target = int64_t(sm_count()) * warps_per_sm();
  const int64_t warp_rows = s.tiles() / tiles_per_warp(s.bits, s.groups());
  const int64_t chunks = s.chunks();
  const int64_t want = std::clamp<int64_t>((target + warp_rows - 1) / warp_rows,
                                           (chunks + kMaxChunksPerSplit - 1) / kMaxChunksPerSplit, chunks);
  const int64_t per = (chunks + want - 1) / want;
  return {int((chunks + per - 1) / per), int(per)};
}

// The level table in shared memory, indexed by record bits and copied so that lookups never conflict:
//   1 bit: a byte (one k-step's 8 codes) → 4 bf16x2, 8 copies (a 16-byte load serves 8 lanes a phase);
//   2 bits: a byte (4 codes) → 2 bf16x2, 16 copies; 4 bits: a byte (a pair) → bf16x2, 32 copies;
//   3 bits: 6 bits (a pair, two planes) → bf16x2, 32 copies; 8 bits: a code → bf16, 32 copies.
// Every layout puts entry e at byte e << 7 (e << 6 for 8 bits) and the copy in the low bits.
__host__ __device__ constexpr int table_bytes(int bits) { return bits == 8 ? 256 * 64 : bits == 3 ? 64 * 128 : 256 * 128; }
__host__ __device__ constexpr int64_t x_words(int nt, int chunks_per_split) {
  return int64_t(8 * nt) * (chunks_per_split * 128 + 8);
}

__device__ __forceinline__ uint32_t bf16_bits(float v) { return __float_as_uint(bf16_round(v)) >> 16; }
__device__ __forceinline__ uint32_t level_pair(const float* levels, int lo, int hi) {
  return bf16_bits(__ldg(levels + lo)) | bf16_bits(__ldg(levels + hi)) << 16;
}

// Each thread makes one entry and writes its 128 (64) bytes of copies, 16 bytes at a time, starting at
// a different 16-byte slot than its neighbours, so that the 8 lanes of a store phase cover 8 slots of
// the banks. (Making every 16 bytes anew cost more instructions per weight than the product itself on
// a 4096-row layer, where a block multiplies about 65,000 weights.)
template <int BITS>
__device__ uint4 table_entry(const float* levels, int e) {
  if constexpr (BITS == 1) {
    const uint32_t l0 = bf16_bits(__ldg(levels)), l1 = bf16_bits(__ldg(levels + 1));
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) w[i] = (e >> (2 * i) & 1 ? l1 : l0) | (e >> (2 * i + 1) & 1 ? l1 : l0) << 16;
    return make_uint4(w[0], w[1], w[2], w[3]);
  } else if constexpr (BITS == 2) {
    const uint32_t w0 = level_pair(levels, e & 3, e >> 2 & 3), w1 = level_pair(levels, e >> 4 & 3, e >> 6 & 3);
    return make_uint4(w0, w1, w0, w1);
  } else if constexpr (BITS == 8) {
    const uint32_t h = bf16_bits(__ldg(levels + e));
    return make_uint4(h | h << 16, h | h << 16, h | h << 16, h | h << 16);
  } else {
    int lo = e & 15, hi = e >> 4;
    if constexpr (BITS == 3) {  // the 2-bit plane's pair, then the 1-bit plane's (gemv_slot_position)
      lo = (e & 3) | (e >> 4 & 1) << 2;
      hi = (e >> 2 & 3) | (e >> 5 & 1) << 2;
    }
    const uint32_t w = level_pair(levels, lo, hi);
    return make_uint4(w, w, w, w);
  }
}

template <int BITS>
__device__ void table_build(uint8_t* table, const float* levels) {
  constexpr int entries = BITS == 3 ? 64 : 256, slots = BITS == 8 ? 4 : 8;
  for (int e = threadIdx.x; e < entries; e += blockDim.x) {
    const uint4 v = table_entry<BITS>(levels, e);
    // 8 bits: two 64-byte entries share 128 bytes of banks, so the rotation follows e / 2.
    const int turn = BITS == 8 ? e >> 1 : e;
#pragma unroll
    for (int j = 0; j < slots; ++j)
      reinterpret_cast<uint4*>(table)[e * slots + ((j + turn) & (slots - 1))] = v;
  }
}

// ((w >> shift) & (2^bits − 1)) << scale: one shift and one mask once unrolled.
__device__ __forceinline__ uint32_t field(uint32_t w, int shift, int bits, int scale) {
  const uint32_t mask = ((1u << bits) - 1) << scale;
  return shift >= scale ? (w >> (shift - scale)) & mask : (w << (scale - shift)) & mask;
}

// The four bf16x2 A registers of k-step `step` from one tile's record words.
template <int BITS>
__device__ __forceinline__ void step_decode(const uint32_t* w, const uint8_t* table, int lane, int step, uint32_t* a) {
  if constexpr (BITS == 1) {
    const uint4 v = *reinterpret_cast<const uint4*>(table + (field(w[step / 4], 8 * (step % 4), 8, 7) | (lane & 7) << 4));
    a[0] = v.x, a[1] = v.y, a[2] = v.z, a[3] = v.w;
  } else if constexpr (BITS == 2) {
    const uint32_t word = w[step / 2], copy = (lane & 15) << 3;
    const uint2 v0 = *reinterpret_cast<const uint2*>(table + (field(word, 16 * (step % 2), 8, 7) | copy));
    const uint2 v1 = *reinterpret_cast<const uint2*>(table + (field(word, 16 * (step % 2) + 8, 8, 7) | copy));
    a[0] = v0.x, a[1] = v0.y, a[2] = v1.x, a[3] = v1.y;
  } else {
#pragma unroll
    for (int reg = 0; reg < 4; ++reg) {
      const int pair = step * 4 + reg;
      if constexpr (BITS == 4) {
        a[reg] = *reinterpret_cast<const uint32_t*>(table + (field(w[step], 8 * reg, 8, 7) | lane << 2));
      } else if constexpr (BITS == 3) {
        const uint32_t e = field(w[pair / 8], (pair % 8) * 4, 4, 7) | field(w[8 + pair / 16], (pair % 16) * 2, 2, 11);
        a[reg] = *reinterpret_cast<const uint32_t*>(table + (e | lane << 2));
      } else {
        const uint32_t word = w[pair / 2];
        const uint32_t lo = *reinterpret_cast<const uint16_t*>(table + (field(word, (pair % 2) * 16, 8, 6) | lane << 1));
        const uint32_t hi = *reinterpret_cast<const uint16_t*>(table + (field(word, (pair % 2) * 16 + 8, 8, 6) | lane << 1));
        a[reg] = lo | hi << 16;
      }
    }
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

// The block's activations in B-fragment order: for batch row m and k-step s, lane t's two words
// (columns 2t, 2t+1 and 2t+8, 2t+9) lie side by side, rows 8 words apart modulo 32 banks, so one
// 8-byte load per lane and step never conflicts. Columns past the split are 0; rows past the batch are
// not staged (their lanes take zero fragments without reading), which at batch 1 is 7/8 of the work.
template <int NT>
__device__ void x_stage(uint32_t* xs, const GemvParams& p, int64_t chunk_begin, int64_t chunk_end) {
  const int per_row = p.chunks_per_split * 128, stride = per_row + 8;
  const auto* x32 = reinterpret_cast<const uint32_t*>(p.x);
  const int64_t live = (chunk_end - chunk_begin) * 128;
  const int rows = p.batch < 8 * NT ? p.batch : 8 * NT;
  for (int i = threadIdx.x; i < rows * per_row; i += blockDim.x) {
    const int m = i / per_row, wi = i % per_row;
    const int step = wi / 8, c = (2 * wi) % 16;
    const uint32_t v = wi < live ? x32[(int64_t(m) * p.padded_cols + chunk_begin * kGemvChunk) / 2 + wi] : 0u;
    xs[m * stride + step * 8 + (c % 8) / 2 * 2 + c / 8] = v;
  }
}

// One warp's task: R tiles (from tile group · R) over the chunks of one split.
template <int BITS, int G, int NT>
__device__ __forceinline__ void warp_task(const GemvParams& p, const uint8_t* table, const uint32_t* xs, int64_t group,
                                          int split, int64_t chunk_begin, int64_t chunk_end) {
  constexpr int R = tiles_per_warp(BITS, G);
  constexpr int SUB = G <= 4 ? 4 : 16 / G;  // k-steps per scale application
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int x_stride = p.chunks_per_split * 128 + 8;
  const uint32_t* xlane = xs + g * x_stride + 2 * t;

  float acc[R][NT][4] = {};
  // The next chunk's codes are requested before this chunk's arithmetic.
  uint32_t next[R][4 * BITS];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int u = 0; u < BITS; ++u)
      reinterpret_cast<uint4*>(next[r])[u] =
          load_streaming(p.records + (((group * R + r) * p.chunks + chunk_begin) * BITS + u) * 32 + lane);
  for (int64_t chunk = chunk_begin; chunk < chunk_end; ++chunk) {
    uint32_t w[R][4 * BITS];
    uint32_t sw[R][G];
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const int64_t record = (group * R + r) * p.chunks + chunk;
#pragma unroll
      for (int i = 0; i < 4 * BITS; ++i) w[r][i] = next[r][i];
      if (chunk + 1 < chunk_end)
#pragma unroll
        for (int u = 0; u < BITS; ++u)
          reinterpret_cast<uint4*>(next[r])[u] = load_streaming(p.records + ((record + 1) * BITS + u) * 32 + lane);
      const uint32_t* scale_words = p.scales + (record * 8 + g) * G;
      if constexpr (G >= 4) {
#pragma unroll
        for (int i = 0; i < G / 4; ++i)
          reinterpret_cast<uint4*>(sw[r])[i] = __ldg(reinterpret_cast<const uint4*>(scale_words) + i);
      } else if constexpr (G == 2) {
        *reinterpret_cast<uint2*>(sw[r]) = __ldg(reinterpret_cast<const uint2*>(scale_words));
      } else {
        sw[r][0] = __ldg(scale_words);
      }
    }
    const int step_base = int(chunk - chunk_begin) * 16;
#pragma unroll
    for (int q = 0; q < 16 / SUB; ++q) {
      uint2 b[SUB][NT];
#pragma unroll
      for (int i = 0; i < SUB; ++i)
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
          b[i][nt] = nt * 8 + g < p.batch
                         ? *reinterpret_cast<const uint2*>(xlane + nt * 8 * x_stride + (step_base + q * SUB + i) * 8)
                         : make_uint2(0u, 0u);
#pragma unroll
      for (int r = 0; r < R; ++r) {
        float d[NT][4] = {};
#pragma unroll
        for (int i = 0; i < SUB; ++i) {
          uint32_t a[4];
          step_decode<BITS>(w[r], table, lane, q * SUB + i, a);
#pragma unroll
          for (int nt = 0; nt < NT; ++nt) mma_bf16(d[nt], a, b[i][nt].x, b[i][nt].y);
        }
        const uint32_t s = sw[r][q * SUB * G / 16];
        const float s_low = __uint_as_float(s << 16), s_high = __uint_as_float(s & 0xffff0000u);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
          acc[r][nt][0] += s_low * d[nt][0];
          acc[r][nt][1] += s_low * d[nt][1];
          acc[r][nt][2] += s_high * d[nt][2];
          acc[r][nt][3] += s_high * d[nt][3];
        }
      }
    }
  }

  // Lane (g, t) holds rows g and g + 8 of each tile for batch columns 2t and 2t + 1 of each n-tile;
  // unsplit, they are the outputs, else this split's partial sums.
  const int64_t padded_rows = p.tiles * kGemvTileRows, first_row = group * R * kGemvTileRows;
  const bool whole = p.splits == 1;
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int m = nt * 8 + 2 * t + (i & 1);
        const int64_t row = first_row + r * kGemvTileRows + g + 8 * (i >> 1);
        if (m >= p.batch) continue;
        if (whole && row < p.rows) p.y[int64_t(m) * p.rows + row] = acc[r][nt][i];
        if (!whole) p.partials[(int64_t(split) * p.batch + m) * padded_rows + row] = acc[r][nt][i];
      }
  if (whole) return;
  __threadfence();
  __syncwarp();
  int arrived = 0;
  if (lane == 0) arrived = atomicAdd(p.counters + group, 1);
  arrived = __shfl_sync(0xffffffffu, arrived, 0);
  if (arrived != p.splits - 1) return;
  __threadfence();
  for (int i = lane; i < p.batch * R * kGemvTileRows; i += 32) {
    const int m = i / (R * kGemvTileRows);
    const int64_t row = first_row + i % (R * kGemvTileRows);
    const float* part = p.partials + int64_t(m) * padded_rows + row;
    const int64_t split_stride = int64_t(p.batch) * padded_rows;
    float sum = 0;
    // Loads run ahead; the sum keeps split order.
#pragma unroll 8
    for (int s = 0; s < p.splits; ++s) sum += __ldcg(part + s * split_stride);
    if (row < p.rows) p.y[int64_t(m) * p.rows + row] = sum;
  }
  if (lane == 0) p.counters[group] = 0;
}

// A block's task: the tiles of its 8 warps over the chunks of one split.
struct Task {
  int split;
  int64_t group, chunk_begin, chunk_end;  // group: the warp's tiles are group · R .. group · R + R − 1
};
__device__ __forceinline__ Task task_of(const GemvParams& p, int64_t task, int64_t row_blocks) {
  const int split = int(task / row_blocks);
  const int64_t begin = int64_t(split) * p.chunks_per_split;
  return {split, (task % row_blocks) * kWarps + (threadIdx.x >> 5), begin,
          p.chunks < begin + p.chunks_per_split ? p.chunks : begin + p.chunks_per_split};
}

// The codes and scales of a warp's task requested into L2, one bulk request per tile and stream, so
// that all of them are in flight at once rather than a chunk ahead of the arithmetic: DRAM runs at its
// rate with about 16 KB in flight per SM, about all that a 4096-row layer holds per SM.
template <int BITS, int G>
__device__ __forceinline__ void task_prefetch(const GemvParams& p, const Task& k) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  constexpr int R = tiles_per_warp(BITS, G);
  const int lane = threadIdx.x & 31;
  const int64_t tile = k.group * R + lane / 2;
  if (lane >= 2 * R || tile >= p.tiles) return;
  const int64_t record = tile * p.chunks + k.chunk_begin, n = k.chunk_end - k.chunk_begin;
  const bool codes = lane % 2 == 0;
  const void* from = codes ? static_cast<const void*>(p.records + record * BITS * 32)
                           : static_cast<const void*>(p.scales + record * 8 * G);
  const uint32_t bytes = uint32_t(codes ? n * BITS * 512 : n * 8 * G * 4);
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(from), "r"(bytes) : "memory");
#endif
}

// A block requests its first task's bytes, builds the level table while they come, then takes tasks
// (8 warps' tiles × one split) in turn, staging each task's activations and requesting the next one's.
template <int BITS, int G, int NT>
__global__ void __launch_bounds__(kThreads) gemv_kernel(GemvParams p, int64_t row_blocks) {
  constexpr int R = tiles_per_warp(BITS, G);
  extern __shared__ uint4 shared_words[];
  uint8_t* table = reinterpret_cast<uint8_t*>(shared_words);
  uint32_t* xs = reinterpret_cast<uint32_t*>(table + table_bytes(BITS));
  const int64_t tasks = row_blocks * p.splits;
  if (blockIdx.x < tasks) task_prefetch<BITS, G>(p, task_of(p, blockIdx.x, row_blocks));
  table_build<BITS>(table, p.levels);
  for (int64_t task = blockIdx.x; task < tasks; task += gridDim.x) {
    const Task k = task_of(p, task, row_blocks);
    if (task + gridDim.x < tasks) task_prefetch<BITS, G>(p, task_of(p, task + gridDim.x, row_blocks));
    __syncthreads();  // the previous task's activations are no longer read
    x_stage<NT>(xs, p, k.chunk_begin, k.chunk_end);
    __syncthreads();
    if (k.group * R < p.tiles) warp_task<BITS, G, NT>(p, table, xs, k.group, k.split, k.chunk_begin, k.chunk_end);
  }
}

template <int BITS, int G, int NT>
void gemv_launch(const GemvParams& p, cudaStream_t stream) {
  constexpr int R = tiles_per_warp(BITS, G);
  const int64_t row_blocks = (p.tiles / R + kWarps - 1) / kWarps;
  const int shared = table_bytes(BITS) + int(x_words(NT, p.chunks_per_split)) * 4;
  // Above 48 KiB a kernel must ask; once, before any graph capture. Blocks: as many as fit at once.
  static const bool raised = [] {
    QS_CUDA_CHECK(cudaFuncSetAttribute(gemv_kernel<BITS, G, NT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       table_bytes(BITS) + int(x_words(NT, kMaxChunksPerSplit)) * 4));
    return true;
  }();
  (void)raised;
  static int resident[kMaxChunksPerSplit + 1] = {};
  int& per_sm = resident[p.chunks_per_split];
  if (per_sm == 0)
    QS_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, gemv_kernel<BITS, G, NT>, kThreads, shared));
  const int64_t tasks = row_blocks * p.splits;
  const int blocks = int(std::min<int64_t>(tasks, int64_t(std::max(per_sm, 1)) * sm_count()));
  gemv_kernel<BITS, G, NT><<<blocks, kThreads, size_t(shared), stream>>>(p, row_blocks);
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
    // The plane this word belongs to: its width and the code bits it holds.
    const GemvPlane plane = gemv_plane(s.bits, s.bits == 3 && word >= 8 ? 1 : 0);
    const int plane_bits = plane.bits, code_shift = plane.code_shift, first = plane.first_word;
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

__global__ void dequantize_kernel(GemvShape s, const uint32_t* words, const uint16_t* scales, const float* levels,
                                  float* w) {
  const int64_t total = s.rows * s.cols;
  const int group_cols = kGemvChunk / s.groups();
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / s.cols, k = i % s.cols;
    const int64_t tile = r / kGemvTileRows, chunk = k / kGemvChunk;
    const int rt = int(r % kGemvTileRows), c = int(k % kGemvChunk);
    const uint32_t code = gemv_code_read(s, words, tile, chunk, rt, c);
    w[i] = gemv_bf16_value(scales[gemv_scale_index(s, tile, chunk, rt, c / group_cols)]) * __ldg(levels + code);
  }
}

}  // namespace

uint64_t gemv_workspace_bytes(const GemvShape& s, int batch) {
  gemv_shape_require(s);
  const Split split = split_choose(s);
  const uint64_t partials = split.splits > 1 ? uint64_t(split.splits) * uint64_t(batch) * uint64_t(s.tiles()) *
                                                   kGemvTileRows * 4
                                             : 0;
  return counters_bytes(s) + partials;
}

void gemv_cuda(const GemvShape& s, const uint8_t* records, const uint16_t* scale_records, const float* levels,
               const uint16_t* x, int batch, float* y, void* workspace, void* stream) {
  gemv_shape_require(s);
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
  gemv_shape_require(s);
  const auto st = static_cast<cudaStream_t>(stream);
  const int blocks = sm_count() * 8;
  repack_words_kernel<<<blocks, 256, 0, st>>>(s, codes, reinterpret_cast<uint32_t*>(records));
  QS_CUDA_CHECK_LAUNCH();
  repack_scales_kernel<<<blocks, 256, 0, st>>>(s, scales, scale_records);
  QS_CUDA_CHECK_LAUNCH();
}

void gemv_dequantize_cuda(const GemvShape& s, const uint8_t* records, const uint16_t* scale_records,
                          const float* levels, float* w, void* stream) {
  gemv_shape_require(s);
  dequantize_kernel<<<sm_count() * 8, 256, 0, static_cast<cudaStream_t>(stream)>>>(
      s, reinterpret_cast<const uint32_t*>(records), scale_records, levels, w);
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace qs::kernels
