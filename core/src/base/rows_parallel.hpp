// Runs a row-range function over [0, rows): on one thread for the scalar reference, else split
// across LibTorch's intra-op threads. The kernels' CPU functions are written per row range, so the
// threaded CPU path is the vectorised path (or, for what has none, the reference itself), chunked.
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

namespace qs {

template <class F>
void rows_parallel(int64_t rows, int64_t cols, bool reference, const F& fn) {
  if (reference || rows <= 1) {
    fn(int64_t{0}, rows);
    return;
  }
  // About 64K weights per task keeps the scheduling cost negligible.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(cols, 1));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) { fn(begin, end); });
}

// For reductions: splits [0, rows) into at most one chunk per thread (one chunk for the reference)
// and calls fn(chunk, begin, end) for each, so that each chunk can fill its own partial result.
// Returns the number of chunks.
template <class F>
int64_t chunks_parallel(int64_t rows, bool reference, const F& fn) {
  const int64_t chunks = reference ? 1 : std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), rows));
  at::parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) fn(c, rows * c / chunks, rows * (c + 1) / chunks);
  });
  return chunks;
}

}  // namespace qs
