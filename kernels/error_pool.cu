// CUDA versions of error_pool.hpp, each a pass over the block at memory speed with no atomics, so
// that the results do not depend on scheduling (max pooling is bit-identical to the CPU reference;
// means differ only by the order of their double sums):
//   tiles    one warp per tile; a tile narrower than a warp is read several rows at a time so that
//            few lanes idle (a screen-sized grid over a 4096 x 14336 layer has tiles of 7 x 14);
//   rows     one block per row, the row split across its warps, reduced through shared memory;
//   columns  one thread per column over a chunk of rows, enough chunks to fill the GPU, the chunks'
//            partial states then combined in order by a second kernel.
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda_host.cuh"
#include "error_pool.hpp"
#include "error_pool_ops.hpp"

namespace qs::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

template <class Pool>
__device__ typename Pool::State warp_combine(typename Pool::State s) {
  for (int offset = 16; offset > 0; offset /= 2) s = Pool::combine(s, __shfl_down_sync(0xffffffffu, s, offset));
  return s;
}

template <ErrorValue V, ErrorPool P>
__global__ void tiles_kernel(const float* __restrict__ w, const float* __restrict__ wq, int64_t ld, int64_t rows,
                             int64_t cols, int64_t tile_rows, int64_t tile_cols, float eps, float* __restrict__ out) {
  using Pool = ErrorPooling<P>;
  const int64_t tile = (int64_t(blockIdx.x) * kThreads + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (tile >= tile_rows * tile_cols) return;  // whole warps: the tile is the warp's
  const int64_t i = tile / tile_cols, j = tile % tile_cols;
  const int64_t r0 = tile_edge(i, rows, tile_rows), r1 = tile_edge(i + 1, rows, tile_rows);
  const int64_t c0 = tile_edge(j, cols, tile_cols), c1 = tile_edge(j + 1, cols, tile_cols);
  const int64_t width = c1 - c0;
  typename Pool::State s{};
  if (width >= 32) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c0 + lane; c < c1; c += 32)
        s = Pool::combine(s, error_value<V>(w[r * ld + c], wq[r * ld + c], eps));
  } else {
    // 32 / width rows per step, lane by lane along them.
    const int step = 32 / int(width), row = lane / int(width);
    const int64_t c = c0 + lane % int(width);
    if (row < step)
      for (int64_t r = r0 + row; r < r1; r += step)
        s = Pool::combine(s, error_value<V>(w[r * ld + c], wq[r * ld + c], eps));
  }
  s = warp_combine<Pool>(s);
  if (lane == 0) out[tile] = Pool::result(s, (r1 - r0) * width);
}

template <ErrorValue V, ErrorPool P>
__global__ void rows_kernel(const float* __restrict__ w, const float* __restrict__ wq, int64_t ld, int64_t cols,
                            float eps, float* __restrict__ out) {
  using Pool = ErrorPooling<P>;
  const int64_t r = blockIdx.x;
  typename Pool::State s{};
  for (int64_t c = threadIdx.x; c < cols; c += kThreads)
    s = Pool::combine(s, error_value<V>(w[r * ld + c], wq[r * ld + c], eps));
  __shared__ typename Pool::State warps[kWarps];
  s = warp_combine<Pool>(s);
  if (threadIdx.x % 32 == 0) warps[threadIdx.x / 32] = s;
  __syncthreads();
  if (threadIdx.x < 32) {
    s = warp_combine<Pool>(threadIdx.x < kWarps ? warps[threadIdx.x] : typename Pool::State{});
    if (threadIdx.x == 0) out[r] = Pool::result(s, cols);
  }
}

// partial[chunk · cols + c]: column c pooled over the rows of chunk blockIdx.y.
template <ErrorValue V, ErrorPool P>
__global__ void columns_kernel(const float* __restrict__ w, const float* __restrict__ wq, int64_t ld, int64_t rows,
                               int64_t cols, float eps, typename ErrorPooling<P>::State* __restrict__ partial) {
  using Pool = ErrorPooling<P>;
  const int64_t c = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (c >= cols) return;
  const int64_t r1 = tile_edge(blockIdx.y + 1, rows, gridDim.y);
  typename Pool::State s{};
  for (int64_t r = tile_edge(blockIdx.y, rows, gridDim.y); r < r1; ++r)
    s = Pool::combine(s, error_value<V>(w[r * ld + c], wq[r * ld + c], eps));
  partial[int64_t(blockIdx.y) * cols + c] = s;
}

template <ErrorPool P>
__global__ void columns_finish_kernel(const typename ErrorPooling<P>::State* __restrict__ partial, int chunks,
                                      int64_t rows, int64_t cols, float* __restrict__ out) {
  using Pool = ErrorPooling<P>;
  const int64_t c = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  if (c >= cols) return;
  typename Pool::State s{};
  for (int k = 0; k < chunks; ++k) s = Pool::combine(s, partial[k * cols + c]);
  out[c] = Pool::result(s, rows);
}

int blocks_for(int64_t threads) { return static_cast<int>((threads + kThreads - 1) / kThreads); }

}  // namespace

void error_tiles_cuda(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols, int64_t tile_rows,
                      int64_t tile_cols, const ErrorPoolSpec& spec, float* tiles) {
  error_pool_dispatch(spec, [&](auto value, auto pool) {
    tiles_kernel<decltype(value)::value, decltype(pool)::value>
        <<<blocks_for(tile_rows * tile_cols * 32), kThreads>>>(w, wq, ld, rows, cols, tile_rows, tile_cols, spec.eps,
                                                                tiles);
    QS_CUDA_CHECK_LAUNCH();
  });
}

void error_rows_cuda(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols,
                     const ErrorPoolSpec& spec, float* out) {
  error_pool_dispatch(spec, [&](auto value, auto pool) {
    rows_kernel<decltype(value)::value, decltype(pool)::value>
        <<<static_cast<unsigned>(rows), kThreads>>>(w, wq, ld, cols, spec.eps, out);
    QS_CUDA_CHECK_LAUNCH();
  });
}

void error_columns_cuda(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols,
                        const ErrorPoolSpec& spec, float* out) {
  int device = 0, sms = 0;
  QS_CUDA_CHECK(cudaGetDevice(&device));
  QS_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  // About 16 blocks per multiprocessor in all; a chunk is at least one row (grid.y ≤ 65535).
  const int across = blocks_for(cols);
  const int chunks = static_cast<int>(std::clamp<int64_t>((int64_t(sms) * 16 + across - 1) / across, 1,
                                                          std::min<int64_t>(rows, 65535)));
  error_pool_dispatch(spec, [&](auto value, auto pool) {
    using State = typename ErrorPooling<decltype(pool)::value>::State;
    DeviceBuffer<State> partial(size_t(chunks) * size_t(cols));
    columns_kernel<decltype(value)::value, decltype(pool)::value>
        <<<dim3(across, chunks), kThreads>>>(w, wq, ld, rows, cols, spec.eps, partial.get());
    QS_CUDA_CHECK_LAUNCH();
    columns_finish_kernel<decltype(pool)::value><<<across, kThreads>>>(partial.get(), chunks, rows, cols, out);
    QS_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace qs::kernels
