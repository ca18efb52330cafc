// The error map: every pooling against a naive double-precision reference written here, on odd shapes
// and a sub-window; CUDA against the CPU (skipped where this build or machine has no CUDA); the
// arguments it refuses; and a model's layer, whose largest error is the quantizer's max_abs_error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/tiny_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/error_map.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

// A weight with a few exact zeros and outliers (Relative's floor, the strips) and its copy with
// Gaussian noise of a tenth of its scale.
struct Pair {
  int64_t out, in;
  std::vector<float> w, wq;
};

Pair pair_make(int64_t out, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  Pair p{out, in, std::vector<float>(size_t(out * in)), std::vector<float>(size_t(out * in))};
  for (size_t i = 0; i < p.w.size(); ++i) {
    p.w[i] = i % 17 == 3 ? 0.0f : (i % 101 == 7 ? 8.0f : 1.0f) * normal(rng);
    p.wq[i] = p.w[i] + 0.1f * normal(rng);
  }
  return p;
}

// The reference, written independently of the kernels: every tile, row and column visited weight by
// weight, in double.
struct Reference {
  std::vector<double> tiles, rows, cols;
};

double value_of(ErrorMapValue value, double w, double wq, double eps) {
  switch (value) {
    case ErrorMapValue::Abs: return std::abs(wq - w);
    case ErrorMapValue::Relative: return std::abs(wq - w) / std::max(std::abs(w), eps);
    case ErrorMapValue::Signed: return wq - w;
  }
  return 0;
}

// Pools the weights (r, c) of [r0, r1) x [c0, c1) of the pair.
double pool_of(const Pair& p, ErrorMapValue value, ErrorMapPool pool, double eps, int64_t r0, int64_t r1, int64_t c0,
               int64_t c1) {
  double best = 0, sum = 0;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) {
      const double v = value_of(value, p.w[r * p.in + c], p.wq[r * p.in + c], eps);
      sum += v;
      if (std::abs(v) > std::abs(best) || (std::abs(v) == std::abs(best) && v > best)) best = v;
    }
  return pool == ErrorMapPool::Max ? best : sum / double((r1 - r0) * (c1 - c0));
}

Reference reference_pool(const Pair& p, const ErrorMapWindow& win, int64_t tile_rows, int64_t tile_cols,
                         ErrorMapValue value, ErrorMapPool pool, double eps) {
  Reference ref;
  for (int64_t i = 0; i < tile_rows; ++i)
    for (int64_t j = 0; j < tile_cols; ++j)
      ref.tiles.push_back(pool_of(p, value, pool, eps, win.row + i * win.rows / tile_rows,
                                  win.row + (i + 1) * win.rows / tile_rows, win.col + j * win.cols / tile_cols,
                                  win.col + (j + 1) * win.cols / tile_cols));
  for (int64_t r = win.row; r < win.row + win.rows; ++r)
    ref.rows.push_back(pool_of(p, value, pool, eps, r, r + 1, win.col, win.col + win.cols));
  for (int64_t c = win.col; c < win.col + win.cols; ++c)
    ref.cols.push_back(pool_of(p, value, pool, eps, win.row, win.row + win.rows, c, c + 1));
  return ref;
}

// Float values computed in float (ŵ − w, the division) against the double reference.
void expect_close(const std::vector<float>& actual, const std::vector<double>& expected, const char* what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i], 1e-6 * std::abs(expected[i]) + 1e-7) << what << " " << i;
}

struct Case {
  ErrorMapWindow window;
  int64_t tile_rows, tile_cols;
};

constexpr ErrorMapValue kValues[] = {ErrorMapValue::Abs, ErrorMapValue::Relative, ErrorMapValue::Signed};
constexpr ErrorMapPool kPools[] = {ErrorMapPool::Max, ErrorMapPool::Mean};

TEST(ErrorMap, PoolingMatchesANaiveReference) {
  const Pair p = pair_make(37, 53, 1);
  const ErrorMap map(p.w, p.wq, p.out, p.in);
  // The whole weight, a sub-window, one tile, and one tile per weight.
  const Case cases[] = {
      {{0, 0, 37, 53}, 5, 7}, {{3, 10, 20, 31}, 6, 9}, {{5, 2, 11, 13}, 1, 1}, {{30, 40, 7, 13}, 7, 13}};
  for (const Case& k : cases)
    for (const ErrorMapValue value : kValues)
      for (const ErrorMapPool pool : kPools) {
        SCOPED_TRACE(testing::Message() << "window at " << k.window.row << "," << k.window.col << " value "
                                        << int(value) << " pool " << int(pool));
        const ErrorMapTiles t = map.window_pool(k.window, k.tile_rows, k.tile_cols, value, pool);
        const Reference ref = reference_pool(p, k.window, k.tile_rows, k.tile_cols, value, pool, map.relative_eps());
        EXPECT_EQ(t.tile_rows, k.tile_rows);
        EXPECT_EQ(t.tile_cols, k.tile_cols);
        EXPECT_EQ(t.window.row, k.window.row);
        expect_close(t.values, ref.tiles, "tile");
        expect_close(t.row_marginal, ref.rows, "row");
        expect_close(t.col_marginal, ref.cols, "column");
        EXPECT_EQ(t.min, *std::min_element(t.values.begin(), t.values.end()));
        EXPECT_EQ(t.max, *std::max_element(t.values.begin(), t.values.end()));
      }
}

TEST(ErrorMap, OutlierStripsAndRelativeFloorComeFromTheWholeWeight) {
  const Pair p = pair_make(37, 53, 2);
  const ErrorMap map(p.w, p.wq, p.out, p.in);
  std::vector<float> rows(size_t(p.out), 0.0f), cols(size_t(p.in), 0.0f);
  for (int64_t r = 0; r < p.out; ++r)
    for (int64_t c = 0; c < p.in; ++c) {
      rows[r] = std::max(rows[r], std::abs(p.w[r * p.in + c]));
      cols[c] = std::max(cols[c], std::abs(p.w[r * p.in + c]));
    }
  EXPECT_EQ(map.row_absmax(), rows);  // a max of exact values: exact
  EXPECT_EQ(map.col_absmax(), cols);
  EXPECT_EQ(map.out(), 37);
  EXPECT_EQ(map.in(), 53);
  EXPECT_FLOAT_EQ(map.relative_eps(), 1e-3f * *std::max_element(rows.begin(), rows.end()));
  const std::vector<float> zeros(size_t(p.out * p.in), 0.0f);
  EXPECT_GT(ErrorMap(zeros, zeros, p.out, p.in).relative_eps(), 0.0f);
}

TEST(ErrorMap, RefusesEmptyOutsideAndOverfullWindows) {
  const Pair p = pair_make(37, 53, 3);
  const ErrorMap map(p.w, p.wq, p.out, p.in);
  const auto kind_of = [&](const ErrorMapWindow& window, int64_t tile_rows, int64_t tile_cols) {
    try {
      map.window_pool(window, tile_rows, tile_cols, ErrorMapValue::Abs, ErrorMapPool::Max);
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      return e.kind();
    }
    return ErrorKind::Io;  // nothing thrown
  };
  EXPECT_EQ(kind_of({0, 0, 0, 53}, 1, 1), ErrorKind::Invalid);    // empty
  EXPECT_EQ(kind_of({0, 0, 37, 0}, 1, 1), ErrorKind::Invalid);
  EXPECT_EQ(kind_of({30, 0, 8, 53}, 1, 1), ErrorKind::Invalid);   // past the last row
  EXPECT_EQ(kind_of({0, 50, 37, 4}, 1, 1), ErrorKind::Invalid);   // past the last column
  EXPECT_EQ(kind_of({-1, 0, 10, 10}, 1, 1), ErrorKind::Invalid);
  EXPECT_EQ(kind_of({0, 0, 37, 53}, 0, 7), ErrorKind::Invalid);   // no tiles
  EXPECT_EQ(kind_of({0, 0, 37, 53}, 5, 0), ErrorKind::Invalid);
  EXPECT_EQ(kind_of({0, 0, 10, 53}, 11, 7), ErrorKind::Invalid);  // more tile rows than rows
  EXPECT_EQ(kind_of({0, 0, 37, 6}, 5, 7), ErrorKind::Invalid);
  EXPECT_THROW(ErrorMap(p.w, p.wq, 36, 53), Error);
}

TEST(ErrorMap, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device in this build or on this machine";
  // Tiles wider and narrower than a warp, rows longer than a block.
  const Pair p = pair_make(1000, 3001, 4);
  const ErrorMap cpu(p.w, p.wq, p.out, p.in);
  const ErrorMap cuda(p.w, p.wq, p.out, p.in, Device::Cuda);
  ASSERT_EQ(cuda.device(), Device::Cuda);
  EXPECT_EQ(cuda.row_absmax(), cpu.row_absmax());
  EXPECT_EQ(cuda.col_absmax(), cpu.col_absmax());
  EXPECT_EQ(cuda.relative_eps(), cpu.relative_eps());
  const Case cases[] = {{{0, 0, 1000, 3001}, 150, 250}, {{17, 33, 901, 2777}, 60, 40}, {{0, 0, 1000, 3001}, 1, 1},
                        {{500, 1000, 31, 45}, 31, 45}};
  for (const Case& k : cases)
    for (const ErrorMapValue value : kValues)
      for (const ErrorMapPool pool : kPools) {
        SCOPED_TRACE(testing::Message() << k.tile_rows << "x" << k.tile_cols << " value " << int(value) << " pool "
                                        << int(pool));
        const ErrorMapTiles a = cpu.window_pool(k.window, k.tile_rows, k.tile_cols, value, pool);
        const ErrorMapTiles b = cuda.window_pool(k.window, k.tile_rows, k.tile_cols, value, pool);
        if (pool == ErrorMapPool::Max) {  // the same floats, chosen the same way
          EXPECT_EQ(b.values, a.values);
          EXPECT_EQ(b.row_marginal, a.row_marginal);
          EXPECT_EQ(b.col_marginal, a.col_marginal);
        } else {  // double sums in another order
          const auto close = [](const std::vector<float>& x, const std::vector<float>& y) {
            ASSERT_EQ(x.size(), y.size());
            for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], 1e-6 * std::abs(y[i]) + 1e-9) << i;
          };
          close(b.values, a.values);
          close(b.row_marginal, a.row_marginal);
          close(b.col_marginal, a.col_marginal);
        }
      }
}

TEST(ErrorMap, AModelLayerMapsTheErrorLayerQuantizeMeasures) {
  const Model model(test::tiny_state(test::tiny_config(false, false), 7));
  const std::string layer = "model.layers.1.mlp.up_proj";
  for (const std::string spec : {"int3:g16", "kmeans2", "nf4"}) {
    SCOPED_TRACE(spec);
    const ErrorMap map = error_map_compute(model, layer, format_parse(spec));
    const QuantizedTensor q = layer_quantize(model, layer, format_parse(spec));
    ASSERT_EQ(map.out(), q.out);
    ASSERT_EQ(map.in(), q.in);
    const ErrorMapTiles all =
        map.window_pool({0, 0, map.out(), map.in()}, 1, 1, ErrorMapValue::Abs, ErrorMapPool::Max);
    EXPECT_FLOAT_EQ(all.values[0], float(q.metrics.max_abs_error));
    // Per weight, the map holds the layer's values and what layer_quantize dequantizes them to.
    const Pair p{q.out, q.in, model.tensor_values(layer + ".weight"), q.dequantized};
    const ErrorMapWindow window{0, 0, q.out, q.in};
    const ErrorMapTiles each = map.window_pool(window, q.out, q.in, ErrorMapValue::Signed, ErrorMapPool::Mean);
    expect_close(each.values,
                 reference_pool(p, window, q.out, q.in, ErrorMapValue::Signed, ErrorMapPool::Mean, 0).tiles, "weight");
  }
  EXPECT_THROW(error_map_compute(model, "model.layers.9.mlp.up_proj", format_parse("int4")), Error);
}

TEST(ErrorMap, ACancelledJobStopsTheBuild) {
  const Model model(test::tiny_state(test::tiny_config(false, false), 7));
  std::unique_ptr<Job> job;
  job = std::make_unique<Job>("", "error map", [&](JobContext& context) {
    job->cancel();
    error_map_compute(model, "model.layers.0.mlp.down_proj", format_parse("int4:g16"), {.job = &context});
  }, Job::Listener{});
  job->execute();
  EXPECT_EQ(job->state(), JobState::Cancelled);
}

}  // namespace
}  // namespace qs
