// One layer's quantization error as a map over its [out, in] weight, pooled to screen resolution:
// the GUI draws the tiles as a colour map with the row and column marginals beside it and the
// per-row / per-column absmax of the weight as outlier strips, and never loops over the weights
// itself. The weight and its dequantized copy stay on the model's device (CPU or CUDA) inside core;
// every pooling is a pass there.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "quantscope/device.hpp"
#include "quantscope/format.hpp"
#include "quantscope/quantize.hpp"

namespace qs {

class Model;

// What each weight shows: |ŵ − w|, |ŵ − w| / max(|w|, relative_eps()), or ŵ − w.
enum class ErrorMapValue { Abs, Relative, Signed };
// Max: per tile the value of largest magnitude, its sign kept for Signed (ties go to the positive
// one); Mean: the tile's average, summed in double.
enum class ErrorMapPool { Max, Mean };

// Rows [row, row + rows) and columns [col, col + cols) of the weight.
struct ErrorMapWindow {
  int64_t row = 0, col = 0, rows = 0, cols = 0;
};

struct ErrorMapTiles {
  ErrorMapWindow window;
  // Tile (i, j) covers the window's rows [⌊i·rows/tile_rows⌋, ⌊(i+1)·rows/tile_rows⌋) and its columns
  // likewise (offsets from window.row and window.col).
  int64_t tile_rows = 0, tile_cols = 0;
  std::vector<float> values;        // [tile_rows, tile_cols], row-major
  std::vector<float> row_marginal;  // [window.rows]: each row pooled over the window's columns
  std::vector<float> col_marginal;  // [window.cols]: each column pooled over the window's rows
  float min = 0, max = 0;           // of values: the colour scale
};

class ErrorMap {
 public:
  // w and wq: [out, in] row-major, copied to `device`. Throws Invalid for a size that is not out·in,
  // and for CUDA where this build or machine has none.
  ErrorMap(std::span<const float> w, std::span<const float> wq, int64_t out, int64_t in, Device device = Device::Cpu);

  int64_t out() const;
  int64_t in() const;
  Device device() const;
  // Pools the window into tile_rows x tile_cols tiles. Throws Invalid for an empty window, one
  // outside the weight, or a tile count of 0 or more than the window's rows (columns).
  ErrorMapTiles window_pool(const ErrorMapWindow& window, int64_t tile_rows, int64_t tile_cols, ErrorMapValue value,
                            ErrorMapPool pool) const;
  // max |w| of each row [out] and of each column [in] over the whole weight, computed when the map is
  // made.
  const std::vector<float>& row_absmax() const;
  const std::vector<float>& col_absmax() const;
  // The floor of |w| in Relative errors: 1e-3 of the weight's absmax (a fixed fraction, so zooming
  // does not change values). A weight under it is far below any grid step a format can give it
  // (int8 per tensor steps by absmax/127), so its relative error would say nothing but "near zero";
  // the floor keeps those from drowning the map. The smallest normal float for an all-zero weight.
  float relative_eps() const;

  struct Impl;  // core-internal (LibTorch)
  explicit ErrorMap(std::shared_ptr<const Impl> impl);

 private:
  std::shared_ptr<const Impl> impl_;
};

// The error map of a loaded model's linear layer quantized in `spec` where the model lies (its
// device; options.device is not used), as layer_quantize quantizes it: the same options give the
// same dequantized weight. options.job makes it cancellable (Error(Cancelled)). Throws Invalid for an
// unknown layer and what layer_quantize throws.
ErrorMap error_map_compute(const Model& model, const std::string& layer, const FormatSpec& spec,
                           const QuantizeOptions& options = {});

}  // namespace qs
