// CUDA version of int_quantize.hpp. Group statistics and the clip search work on chunks of at most
// kChunk weights, one warp per chunk, the chunk staged in shared memory; in the search each lane
// scores three of the 91 clip ratios (lane, lane + 32, lane + 64) over the whole chunk, reading the
// staged weights as broadcasts, so no reduction is needed per candidate.
//   Groups of ≤ kChunk weights (g64, g128, short rows): one warp does the whole group and picks the
//   ratio itself; each candidate's squared error is summed in the CPU reference's order with the same
//   IEEE steps, so the chosen scales are bit-identical to int_scales_cpu.
//   Larger groups (long rows, a whole tensor of 10^7–10^8 weights): the chunks of a group run in
//   parallel across the grid and combine through atomics (float max via the bit pattern of
//   non-negative floats, double sums), then one thread per group picks the ratio. Sums in another
//   order: a ratio whose MSE ties another to the last bits may be chosen differently.
// Quantization itself is elementwise and bit-identical to int_quantize_cpu given the scales.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "bf16_round.hpp"
#include "cuda_host.cuh"
#include "int_quantize.hpp"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kChunk = 1024;
constexpr int kCandidates = 91;  // r = 1.00, 0.99, …, 0.10

struct GroupStats {
  float absmax, min, max;  // min = min(w, 0), max = max(w, 0)
  double abs_sum;
  int64_t count;
};

struct IntParams {
  float scale;
  int zero;
};

__device__ float clip_ratio(int candidate) { return __fdiv_rn(float(100 - candidate), 100.0f); }

__device__ IntParams int_params(const GroupStats& g, int bits, bool asymmetric, float r) {
  if (bits == 1)
    return {bf16_round(__fmul_rn(r, __double2float_rn(__ddiv_rn(g.abs_sum, double(g.count))))), 0};
  if (!asymmetric) {
    const int qmax = (1 << (bits - 1)) - 1;
    return {bf16_round(__fdiv_rn(__fmul_rn(r, g.absmax), float(qmax))), 0};
  }
  const int top = (1 << bits) - 1;
  const float lo = __fmul_rn(r, g.min), hi = __fmul_rn(r, g.max);
  const float s = bf16_round(__fdiv_rn(__fsub_rn(hi, lo), float(top)));
  if (s == 0) return {0.0f, 0};
  return {s, static_cast<int>(fminf(fmaxf(rintf(__fdiv_rn(-lo, s)), 0.0f), float(top)))};
}

// The dequantized value of w, and its code; s = 0 encodes everything as 0.
__device__ __forceinline__ float int_encode(float w, IntParams p, int bits, bool asymmetric, uint8_t& code) {
  if (bits == 1) {
    code = w >= 0 ? 1 : 0;
    return code ? p.scale : -p.scale;
  }
  if (asymmetric) {
    const int top = (1 << bits) - 1;
    const float t = p.scale == 0 ? 0.0f : __fadd_rn(rintf(__fdiv_rn(w, p.scale)), float(p.zero));
    const int c = static_cast<int>(fminf(fmaxf(t, 0.0f), float(top)));
    code = static_cast<uint8_t>(c);
    return __fmul_rn(float(c - p.zero), p.scale);
  }
  const float qmax = float((1 << (bits - 1)) - 1);
  const float q = p.scale == 0 ? 0.0f : fminf(fmaxf(rintf(__fdiv_rn(w, p.scale)), -qmax), qmax);
  code = static_cast<uint8_t>(q + qmax);
  return __fmul_rn(q, p.scale);
}

__device__ __forceinline__ double squared_error_add(double sum, float value, float w) {
  const double d = __dsub_rn(double(value), double(w));
  return __dadd_rn(sum, __dmul_rn(d, d));
}

// Where a group lies: its first weight and its length.
struct GroupSpan {
  int64_t start, count;
};

__device__ GroupSpan group_span(int64_t g, int64_t cols, int64_t group, int64_t groups_per_row) {
  const int64_t row = g / groups_per_row, index = g - row * groups_per_row;
  return {row * cols + index * group, min(group, cols - index * group)};
}

// Each lane's squared-error sums over w[0, n) (shared memory) for the candidates lane, lane + 32 and
// lane + 64 (the last is past the 91 candidates for lanes 27…31: its sum is not used).
struct CandidateSums {
  double sum[3];
};

__device__ CandidateSums candidate_sums(const float* w, int n, const GroupStats& stats, int bits,
                                        bool asymmetric, int lane) {
  IntParams p[3];
#pragma unroll
  for (int k = 0; k < 3; ++k)
    p[k] = int_params(stats, bits, asymmetric, clip_ratio(min(lane + 32 * k, kCandidates - 1)));
  CandidateSums s{{0.0, 0.0, 0.0}};
  for (int i = 0; i < n; ++i) {
    const float v = w[i];
    uint8_t code;
#pragma unroll
    for (int k = 0; k < 3; ++k)
      s.sum[k] = squared_error_add(s.sum[k], int_encode(v, p[k], bits, asymmetric, code), v);
  }
  return s;
}

struct PartialStats {
  float absmax = 0, min = 0, max = 0;
  double abs_sum = 0;
};

// Reads w[0, n) of a chunk with the warp's lanes, optionally staging it, and reduces over the warp
// (every lane gets the result).
__device__ PartialStats warp_stats(const float* w, int n, float* stage, int lane) {
  PartialStats s;
  for (int i = lane; i < n; i += 32) {
    const float v = w[i];
    if (stage) stage[i] = v;
    s.absmax = fmaxf(s.absmax, fabsf(v));
    s.min = fminf(s.min, v);
    s.max = fmaxf(s.max, v);
    s.abs_sum += fabs(double(v));
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    s.absmax = fmaxf(s.absmax, __shfl_xor_sync(0xffffffffu, s.absmax, offset));
    s.min = fminf(s.min, __shfl_xor_sync(0xffffffffu, s.min, offset));
    s.max = fmaxf(s.max, __shfl_xor_sync(0xffffffffu, s.max, offset));
    s.abs_sum += __shfl_xor_sync(0xffffffffu, s.abs_sum, offset);
  }
  return s;
}

// The candidate with the least sum, ties to the lower index (the larger ratio), over the warp.
__device__ int best_candidate(const CandidateSums& s, int lane) {
  double best = s.sum[0];
  int index = lane;
  for (int k = 1; k < 3; ++k)
    if (lane + 32 * k < kCandidates && s.sum[k] < best) best = s.sum[k], index = lane + 32 * k;
  for (int offset = 16; offset > 0; offset /= 2) {
    const double other = __shfl_xor_sync(0xffffffffu, best, offset);
    const int other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (other < best || (other == best && other_index < index)) best = other, index = other_index;
  }
  return index;
}

// Groups of at most kChunk weights: one warp per group, statistics, search and the scale.
__global__ void __launch_bounds__(kThreads)
    int_scales_small_kernel(const float* w, int64_t groups, int64_t cols, int64_t group,
                            int64_t groups_per_row, int bits, bool asymmetric, bool clip_search,
                            float* scales, uint8_t* zeros) {
  __shared__ float stage[kWarps][kChunk];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t g = int64_t(blockIdx.x) * kWarps + warp; g < groups; g += int64_t(gridDim.x) * kWarps) {
    const GroupSpan span = group_span(g, cols, group, groups_per_row);
    const int n = static_cast<int>(span.count);
    const PartialStats p = warp_stats(w + span.start, n, clip_search ? stage[warp] : nullptr, lane);
    const GroupStats stats{p.absmax, p.min, p.max, p.abs_sum, span.count};
    float ratio = 1.0f;
    if (clip_search) {
      __syncwarp();
      ratio = clip_ratio(best_candidate(candidate_sums(stage[warp], n, stats, bits, asymmetric, lane), lane));
      __syncwarp();  // the stage is overwritten by the next group
    }
    if (lane == 0) {
      const IntParams best = int_params(stats, bits, asymmetric, ratio);
      scales[g] = best.scale;
      if (asymmetric) zeros[g] = static_cast<uint8_t>(best.zero);
    }
  }
}

// Large groups: per group, max|w|, max(w, 0) and max(−w, 0) as float bits (non-negative floats order
// like their bit patterns), and Σ|w|.
struct LargeStats {
  unsigned* absmax;
  unsigned* max;
  unsigned* neg_min;
  double* abs_sum;
};

// −0 would have the sign bit set and compare above every positive float.
__device__ unsigned positive_bits(float v) { return v > 0.0f ? __float_as_uint(v) : 0u; }

__device__ GroupStats large_stats_read(const LargeStats& l, int64_t g, int64_t count) {
  return {__uint_as_float(l.absmax[g]), 0.0f - __uint_as_float(l.neg_min[g]), __uint_as_float(l.max[g]),
          l.abs_sum[g], count};
}

__global__ void __launch_bounds__(kThreads)
    int_stats_large_kernel(const float* w, int64_t tasks, int64_t chunks_per_group, int64_t cols,
                           int64_t group, int64_t groups_per_row, LargeStats out) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t t = int64_t(blockIdx.x) * kWarps + warp; t < tasks; t += int64_t(gridDim.x) * kWarps) {
    const int64_t g = t / chunks_per_group, first = (t - g * chunks_per_group) * kChunk;
    const GroupSpan span = group_span(g, cols, group, groups_per_row);
    if (first >= span.count) continue;
    const int n = static_cast<int>(min(int64_t(kChunk), span.count - first));
    const PartialStats p = warp_stats(w + span.start + first, n, nullptr, lane);
    if (lane == 0) {
      atomicMax(&out.absmax[g], positive_bits(p.absmax));
      atomicMax(&out.max[g], positive_bits(p.max));
      atomicMax(&out.neg_min[g], positive_bits(-p.min));
      atomicAdd(&out.abs_sum[g], p.abs_sum);
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    int_search_large_kernel(const float* w, int64_t tasks, int64_t chunks_per_group, int64_t cols,
                            int64_t group, int64_t groups_per_row, int bits, bool asymmetric,
                            LargeStats stats, double* sums) {
  __shared__ float stage[kWarps][kChunk];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int64_t t = int64_t(blockIdx.x) * kWarps + warp; t < tasks; t += int64_t(gridDim.x) * kWarps) {
    const int64_t g = t / chunks_per_group, first = (t - g * chunks_per_group) * kChunk;
    const GroupSpan span = group_span(g, cols, group, groups_per_row);
    if (first >= span.count) continue;
    const int n = static_cast<int>(min(int64_t(kChunk), span.count - first));
    for (int i = lane; i < n; i += 32) stage[warp][i] = w[span.start + first + i];
    __syncwarp();
    const CandidateSums s =
        candidate_sums(stage[warp], n, large_stats_read(stats, g, span.count), bits, asymmetric, lane);
    for (int k = 0; k < 3; ++k)
      if (lane + 32 * k < kCandidates) atomicAdd(&sums[g * kCandidates + lane + 32 * k], s.sum[k]);
    __syncwarp();
  }
}

__global__ void int_scales_large_kernel(int64_t groups, int64_t cols, int64_t group, int64_t groups_per_row,
                                        int bits, bool asymmetric, LargeStats stats, const double* sums,
                                        float* scales, uint8_t* zeros) {
  for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups;
       g += int64_t(gridDim.x) * blockDim.x) {
    const GroupStats s = large_stats_read(stats, g, group_span(g, cols, group, groups_per_row).count);
    int best = 0;
    if (sums)
      for (int c = 1; c < kCandidates; ++c)
        if (sums[g * kCandidates + c] < sums[g * kCandidates + best]) best = c;
    const IntParams p = int_params(s, bits, asymmetric, clip_ratio(best));
    scales[g] = p.scale;
    if (asymmetric) zeros[g] = static_cast<uint8_t>(p.zero);
  }
}

__global__ void int_quantize_kernel(const float* w, int64_t rows, int64_t cols, int64_t group,
                                    int64_t groups_per_row, int bits, bool asymmetric, const float* scales,
                                    const uint8_t* zeros, uint8_t* codes, float* dequant) {
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y)
    for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < cols;
         c += int64_t(gridDim.x) * blockDim.x) {
      const int64_t i = r * cols + c, g = r * groups_per_row + c / group;
      const IntParams p{scales[g], asymmetric ? int(zeros[g]) : 0};
      uint8_t code;
      dequant[i] = int_encode(w[i], p, bits, asymmetric, code);
      codes[i] = code;
    }
}

unsigned grid_of(int64_t blocks) {
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, int64_t(1) << 20));
}

}  // namespace

void int_scales_cuda(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                     bool clip_search, float* scales, uint8_t* zeros) {
  const int64_t groups_per_row = int_groups_per_row(cols, group);
  const int64_t groups = rows * groups_per_row;
  if (groups == 0) return;
  const int64_t longest = std::min(group, cols);
  if (longest <= kChunk) {
    int_scales_small_kernel<<<grid_of((groups + kWarps - 1) / kWarps), kThreads>>>(
        w, groups, cols, group, groups_per_row, bits, asymmetric, clip_search, scales, zeros);
    QS_CUDA_CHECK_LAUNCH();
    return;
  }
  const int64_t chunks_per_group = (longest + kChunk - 1) / kChunk;
  const int64_t tasks = groups * chunks_per_group;
  DeviceBuffer<unsigned> bits_buffer(3 * groups);
  DeviceBuffer<double> abs_sum(groups);
  QS_CUDA_CHECK(cudaMemsetAsync(bits_buffer.get(), 0, 3 * groups * sizeof(unsigned), 0));
  QS_CUDA_CHECK(cudaMemsetAsync(abs_sum.get(), 0, groups * sizeof(double), 0));
  const LargeStats stats{bits_buffer.get(), bits_buffer.get() + groups, bits_buffer.get() + 2 * groups,
                         abs_sum.get()};
  int_stats_large_kernel<<<grid_of((tasks + kWarps - 1) / kWarps), kThreads>>>(
      w, tasks, chunks_per_group, cols, group, groups_per_row, stats);
  QS_CUDA_CHECK_LAUNCH();
  DeviceBuffer<double> sums(clip_search ? groups * kCandidates : 0);
  if (clip_search) {
    QS_CUDA_CHECK(cudaMemsetAsync(sums.get(), 0, groups * kCandidates * sizeof(double), 0));
    int_search_large_kernel<<<grid_of((tasks + kWarps - 1) / kWarps), kThreads>>>(
        w, tasks, chunks_per_group, cols, group, groups_per_row, bits, asymmetric, stats, sums.get());
    QS_CUDA_CHECK_LAUNCH();
  }
  int_scales_large_kernel<<<grid_of((groups + kThreads - 1) / kThreads), kThreads>>>(
      groups, cols, group, groups_per_row, bits, asymmetric, stats, sums.get(), scales, zeros);
  QS_CUDA_CHECK_LAUNCH();
}

void int_quantize_cuda(const float* w, int64_t rows, int64_t cols, int64_t group, int bits, bool asymmetric,
                       const float* scales, const uint8_t* zeros, uint8_t* codes, float* dequant) {
  const int64_t groups_per_row = int_groups_per_row(cols, group);
  if (rows <= 0 || cols <= 0) return;
  const dim3 grid(grid_of(std::min<int64_t>((cols + kThreads - 1) / kThreads, 4096)),
                  static_cast<unsigned>(std::min<int64_t>(rows, 65535)));
  int_quantize_kernel<<<grid, kThreads>>>(w, rows, cols, group, groups_per_row, bits, asymmetric, scales,
                                          zeros, codes, dequant);
  QS_CUDA_CHECK_LAUNCH();
}

}  // namespace qs::kernels
