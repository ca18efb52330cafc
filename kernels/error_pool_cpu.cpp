// Scalar CPU references for error_pool.hpp. Each reads its block row by row, so the threaded path in
// core (error_map.cpp) is these functions on row, tile-row or column ranges.
#include <algorithm>
#include <vector>

#include "error_pool.hpp"
#include "error_pool_ops.hpp"

namespace qs::kernels {

void error_tiles_cpu(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols, int64_t tile_rows,
                     int64_t tile_cols, const ErrorPoolSpec& spec, int64_t tile_row_begin, int64_t tile_row_end,
                     float* tiles) {
  std::vector<int64_t> edges(size_t(tile_cols) + 1);
  for (int64_t j = 0; j <= tile_cols; ++j) edges[j] = tile_edge(j, cols, tile_cols);
  error_pool_dispatch(spec, [&](auto value, auto pool) {
    using Pool = ErrorPooling<decltype(pool)::value>;
    std::vector<typename Pool::State> acc(static_cast<size_t>(tile_cols));
    for (int64_t i = tile_row_begin; i < tile_row_end; ++i) {
      const int64_t r0 = tile_edge(i, rows, tile_rows), r1 = tile_edge(i + 1, rows, tile_rows);
      std::fill(acc.begin(), acc.end(), typename Pool::State{});
      for (int64_t r = r0; r < r1; ++r) {
        const float* wr = w + r * ld;
        const float* qr = wq + r * ld;
        for (int64_t j = 0; j < tile_cols; ++j) {
          typename Pool::State s = acc[j];
          for (int64_t c = edges[j]; c < edges[j + 1]; ++c)
            s = Pool::combine(s, error_value<decltype(value)::value>(wr[c], qr[c], spec.eps));
          acc[j] = s;
        }
      }
      for (int64_t j = 0; j < tile_cols; ++j)
        tiles[i * tile_cols + j] = Pool::result(acc[j], (r1 - r0) * (edges[j + 1] - edges[j]));
    }
  });
}

void error_rows_cpu(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols, const ErrorPoolSpec& spec,
                    float* out) {
  error_pool_dispatch(spec, [&](auto value, auto pool) {
    using Pool = ErrorPooling<decltype(pool)::value>;
    for (int64_t r = 0; r < rows; ++r) {
      typename Pool::State s{};
      for (int64_t c = 0; c < cols; ++c)
        s = Pool::combine(s, error_value<decltype(value)::value>(w[r * ld + c], wq[r * ld + c], spec.eps));
      out[r] = Pool::result(s, cols);
    }
  });
}

void error_columns_cpu(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols,
                       const ErrorPoolSpec& spec, float* out) {
  error_pool_dispatch(spec, [&](auto value, auto pool) {
    using Pool = ErrorPooling<decltype(pool)::value>;
    std::vector<typename Pool::State> acc(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        acc[c] = Pool::combine(acc[c], error_value<decltype(value)::value>(w[r * ld + c], wq[r * ld + c], spec.eps));
    for (int64_t c = 0; c < cols; ++c) out[c] = Pool::result(acc[c], rows);
  });
}

}  // namespace qs::kernels
