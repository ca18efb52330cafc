// The statistics of every linear layer's weight (mean, std, absmax, excess kurtosis, a histogram),
// computed a block of rows at a time so memory holds a few MiB whatever the model's size, and cached
// per model file so that a second open shows them at once.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "quantscope/stats.hpp"

namespace qs {

class JobContext;
class Model;

struct LayerWeightStatistics {
  std::string name;                  // the linear layer, e.g. "model.layers.0.mlp.up_proj"
  std::optional<TensorStats> stats;  // absent when the weight holds NaN or Inf
  std::string error;                 // then: how many values are not finite
  Histogram histogram;               // kWeightHistogramBins bins over [-absmax, absmax] of the finite values
};

constexpr int kWeightHistogramBins = 128;

struct WeightStatistics {
  std::vector<LayerWeightStatistics> layers;  // in Model::linear_layers() order
  bool cached = false;                        // read from the cache rather than computed
};

// Where statistics are cached: $QUANTSCOPE_CACHE_DIR, else $XDG_CACHE_HOME/quantscope, else
// ~/.cache/quantscope; with "/weight-statistics" appended.
std::filesystem::path weight_statistics_cache_dir();

// Statistics of the weights as stored in the file (or as held, for a quantized or trained model), a
// layer at a time with progress and cancellation. With a non-empty `cache_dir` and a model read from
// files, the result is cached there under the model's identity (Model::identity), so a rewritten
// file is measured afresh; an unreadable cache entry is measured again and replaced.
WeightStatistics weight_statistics_compute(const Model& model, const std::filesystem::path& cache_dir,
                                           JobContext* job = nullptr);

}  // namespace qs
