// ErrorMap and error_map_compute: the weight and its dequantized copy held as tensors on their device
// and pooled there by the error_pool kernels (on the CPU the references, threaded over rows, tile
// rows or column ranges; on CUDA the kernels, with only the pooled values copied back).
#include <torch/torch.h>

#include <algorithm>
#include <limits>

#include "error_pool.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"
#include "quantscope/error_map.hpp"
#include "quantscope/job.hpp"
#include "base/rows_parallel.hpp"

namespace qs {

struct ErrorMap::Impl {
  torch::Tensor w, wq;  // float32 [out, in], contiguous, on one device
  std::vector<float> row_absmax, col_absmax;
  float eps = 0;
};

namespace {

using kernels::ErrorPoolSpec;

// A window of the weight pair: its first element in w and wq, rows `ld` floats apart.
struct Block {
  const float* w;
  const float* wq;
  int64_t ld, rows, cols;
  bool cuda;
};

Block block_of(const ErrorMap::Impl& m, const ErrorMapWindow& window) {
  const int64_t ld = m.w.size(1), offset = window.row * ld + window.col;
  return {m.w.data_ptr<float>() + offset, m.wq.data_ptr<float>() + offset, ld, window.rows, window.cols, m.w.is_cuda()};
}

// What a pass pools the block into: the tile grid, one value per row, or one per column.
struct Pooled {
  enum { Tiles, Rows, Columns } what;
  int64_t tile_rows = 0, tile_cols = 0;
  int64_t count(const Block& b) const { return what == Tiles ? tile_rows * tile_cols : what == Rows ? b.rows : b.cols; }
};

std::vector<float> pool_run(const Block& b, const Pooled& p, const ErrorPoolSpec& spec) {
  const int64_t n = p.count(b);
#ifdef QS_WITH_CUDA
  if (b.cuda) {
    torch::Tensor out = torch::empty({n}, torch::TensorOptions().device(torch::kCUDA));
    float* o = out.data_ptr<float>();
    switch (p.what) {
      case Pooled::Tiles:
        kernels::error_tiles_cuda(b.w, b.wq, b.ld, b.rows, b.cols, p.tile_rows, p.tile_cols, spec, o);
        break;
      case Pooled::Rows: kernels::error_rows_cuda(b.w, b.wq, b.ld, b.rows, b.cols, spec, o); break;
      case Pooled::Columns: kernels::error_columns_cuda(b.w, b.wq, b.ld, b.rows, b.cols, spec, o); break;
    }
    out = out.cpu();
    return {out.data_ptr<float>(), out.data_ptr<float>() + n};
  }
#endif
  std::vector<float> out(size_t(n), 0.0f);
  float* o = out.data();
  switch (p.what) {
    case Pooled::Tiles: {
      const int64_t weights_per_tile_row = (b.rows + p.tile_rows - 1) / p.tile_rows * b.cols;
      rows_parallel(p.tile_rows, weights_per_tile_row, false, [&](int64_t begin, int64_t end) {
        kernels::error_tiles_cpu(b.w, b.wq, b.ld, b.rows, b.cols, p.tile_rows, p.tile_cols, spec, begin, end, o);
      });
      break;
    }
    case Pooled::Rows:
      rows_parallel(b.rows, b.cols, false, [&](int64_t begin, int64_t end) {
        kernels::error_rows_cpu(b.w + begin * b.ld, b.wq + begin * b.ld, b.ld, end - begin, b.cols, spec, o + begin);
      });
      break;
    case Pooled::Columns:
      chunks_parallel(b.cols, false, [&](int64_t, int64_t begin, int64_t end) {
        kernels::error_columns_cpu(b.w + begin, b.wq + begin, b.ld, b.rows, end - begin, spec, o + begin);
      });
      break;
  }
  return out;
}

// The kernels compute where the tensors lie; a build without CUDA kernels keeps them on the CPU.
torch::Tensor kernel_ready(const torch::Tensor& t) {
#ifdef QS_WITH_CUDA
  return t.to(torch::kFloat32).contiguous();
#else
  return t.to(torch::kCPU, torch::kFloat32).contiguous();
#endif
}

std::shared_ptr<const ErrorMap::Impl> impl_make(const torch::Tensor& w, const torch::Tensor& wq) {
  auto m = std::make_shared<ErrorMap::Impl>();
  m->w = kernel_ready(w);
  m->wq = kernel_ready(wq);
  const ErrorMapWindow all{0, 0, m->w.size(0), m->w.size(1)};
  const ErrorPoolSpec absmax{kernels::ErrorValue::Weight, kernels::ErrorPool::Max, 0.0f};
  m->row_absmax = pool_run(block_of(*m, all), {Pooled::Rows}, absmax);
  m->col_absmax = pool_run(block_of(*m, all), {Pooled::Columns}, absmax);
  const float top = *std::max_element(m->row_absmax.begin(), m->row_absmax.end());
  m->eps = std::max(1e-3f * top, std::numeric_limits<float>::min());
  return m;
}

std::string window_text(const ErrorMapWindow& w) {
  return "rows [" + std::to_string(w.row) + ", " + std::to_string(w.row + w.rows) + ") x columns [" +
         std::to_string(w.col) + ", " + std::to_string(w.col + w.cols) + ")";
}

}  // namespace

ErrorMap::ErrorMap(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

ErrorMap::ErrorMap(std::span<const float> w, std::span<const float> wq, int64_t out, int64_t in, Device device) {
  if (out <= 0 || in <= 0 || w.size() != size_t(out * in) || wq.size() != w.size())
    throw Error(ErrorKind::Invalid, "error map: " + std::to_string(w.size()) + " weights and " +
                                        std::to_string(wq.size()) + " dequantized values do not form a [" +
                                        std::to_string(out) + ", " + std::to_string(in) + "] weight");
  if (device == Device::Cuda && !cuda_available())
    throw Error(ErrorKind::Invalid, "error map: CUDA is not available in this build or on this machine");
  const torch::Device where = device == Device::Cuda ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  // Copied: the map outlives the caller's vectors.
  auto tensor = [&](std::span<const float> v) {
    return torch::from_blob(const_cast<float*>(v.data()), {out, in}, torch::kFloat32)
        .to(where, torch::kFloat32, false, true);
  };
  impl_ = impl_make(tensor(w), tensor(wq));
}

int64_t ErrorMap::out() const { return impl_->w.size(0); }
int64_t ErrorMap::in() const { return impl_->w.size(1); }
Device ErrorMap::device() const { return impl_->w.is_cuda() ? Device::Cuda : Device::Cpu; }
const std::vector<float>& ErrorMap::row_absmax() const { return impl_->row_absmax; }
const std::vector<float>& ErrorMap::col_absmax() const { return impl_->col_absmax; }
float ErrorMap::relative_eps() const { return impl_->eps; }

ErrorMapTiles ErrorMap::window_pool(const ErrorMapWindow& window, int64_t tile_rows, int64_t tile_cols,
                                    ErrorMapValue value, ErrorMapPool pool) const {
  if (window.rows <= 0 || window.cols <= 0)
    throw Error(ErrorKind::Invalid, "error map: the window " + window_text(window) + " is empty");
  if (window.row < 0 || window.col < 0 || window.row + window.rows > out() || window.col + window.cols > in())
    throw Error(ErrorKind::Invalid, "error map: the window " + window_text(window) + " is outside the [" +
                                        std::to_string(out()) + ", " + std::to_string(in()) + "] weight");
  if (tile_rows < 1 || tile_rows > window.rows || tile_cols < 1 || tile_cols > window.cols)
    throw Error(ErrorKind::Invalid, "error map: " + std::to_string(tile_rows) + " x " + std::to_string(tile_cols) +
                                        " tiles do not fit the window " + window_text(window) +
                                        " (1 to its rows by 1 to its columns)");
  constexpr kernels::ErrorValue kValues[] = {kernels::ErrorValue::Abs, kernels::ErrorValue::Relative,
                                             kernels::ErrorValue::Signed};
  const ErrorPoolSpec spec{kValues[int(value)],
                           pool == ErrorMapPool::Max ? kernels::ErrorPool::Max : kernels::ErrorPool::Mean, impl_->eps};
  const Block block = block_of(*impl_, window);
  ErrorMapTiles t;
  t.window = window;
  t.tile_rows = tile_rows;
  t.tile_cols = tile_cols;
  t.values = pool_run(block, {Pooled::Tiles, tile_rows, tile_cols}, spec);
  t.row_marginal = pool_run(block, {Pooled::Rows}, spec);
  t.col_marginal = pool_run(block, {Pooled::Columns}, spec);
  const auto [lo, hi] = std::minmax_element(t.values.begin(), t.values.end());
  t.min = *lo;
  t.max = *hi;
  return t;
}

ErrorMap error_map_compute(const Model& model, const std::string& layer, const FormatSpec& spec,
                           const QuantizeOptions& options) {
  const QuantizerInput input = layer_quantizer_input(model, layer, options);
  QuantizerOutput q = quantizer_run(spec, input);
  if (options.job) options.job->check_cancelled();
  return ErrorMap(impl_make(input.weight, q.dequant));
}

}  // namespace qs
