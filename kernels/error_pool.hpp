// The error map's pooling: a block of a weight w and its dequantized copy wq (row-major, rows `ld`
// floats apart) reduced to a grid of tiles, to one value per row and to one value per column, so
// that a 4096 x 14336 layer reaches the screen as a few hundred thousand numbers. CPU references and
// CUDA versions share these raw-pointer interfaces; the CUDA ones take device pointers, outputs too.
#pragma once
#include <cstdint>

namespace qs::kernels {

// What each weight contributes: |wq − w|, |wq − w| / max(|w|, eps), wq − w, or |w| itself (the
// outlier strips; wq is not read).
enum class ErrorValue { Abs, Relative, Signed, Weight };
// Max: the value of largest magnitude with its sign (ties go to the positive one); Mean: the
// average, summed in double.
enum class ErrorPool { Max, Mean };

struct ErrorPoolSpec {
  ErrorValue value = ErrorValue::Abs;
  ErrorPool pool = ErrorPool::Max;
  float eps = 0;  // Relative's floor on |w|
};

// Tile (i, j) of a [tile_rows, tile_cols] grid over a rows x cols block covers the rows
// [⌊i·rows/tile_rows⌋, ⌊(i+1)·rows/tile_rows⌋) and the columns likewise: with 1 ≤ tile_rows ≤ rows and
// 1 ≤ tile_cols ≤ cols no tile is empty. The CPU version fills the tile rows [tile_row_begin,
// tile_row_end) of tiles[tile_rows · tile_cols], so that threads can share a grid.
void error_tiles_cpu(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols, int64_t tile_rows,
                     int64_t tile_cols, const ErrorPoolSpec& spec, int64_t tile_row_begin, int64_t tile_row_end,
                     float* tiles);
// out[rows]: each row of the block pooled over its columns.
void error_rows_cpu(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols, const ErrorPoolSpec& spec,
                    float* out);
// out[cols]: each column of the block pooled over its rows.
void error_columns_cpu(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols,
                       const ErrorPoolSpec& spec, float* out);

#ifdef QS_WITH_CUDA
// The whole grid: one warp per tile.
void error_tiles_cuda(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols, int64_t tile_rows,
                      int64_t tile_cols, const ErrorPoolSpec& spec, float* tiles);
void error_rows_cuda(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols,
                     const ErrorPoolSpec& spec, float* out);
void error_columns_cuda(const float* w, const float* wq, int64_t ld, int64_t rows, int64_t cols,
                        const ErrorPoolSpec& spec, float* out);
#endif

}  // namespace qs::kernels
