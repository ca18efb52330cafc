// weight_statistics_compute: two passes over each layer a block of rows at a time (moments, then the
// histogram over the range the first pass found); the second pass finds the block still in the page
// cache. The cache is one JSON file per model identity.
#include "quantscope/weight_statistics.hpp"

#include <torch/torch.h>

#include <cstdlib>
#include <system_error>

#include "io/atomic_file.hpp"
#include "base/fingerprint.hpp"
#include "base/json_strict.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"

namespace qs {
namespace fs = std::filesystem;
namespace {

// Float32 values converted at a time: 64 MiB.
constexpr int64_t kValuesPerBlock = int64_t{1} << 24;
// Bumped when what is cached changes meaning.
constexpr int kCacheVersion = 1;

template <class F>
void blocks_visit(const ModelState& state, const std::string& name, F&& visit) {
  const std::vector<int64_t> shape = state.shape(name);
  const int64_t rows = shape.at(0), cols = shape.size() > 1 ? shape[1] : 1;
  const int64_t step = std::max<int64_t>(1, kValuesPerBlock / std::max<int64_t>(1, cols));
  for (int64_t begin = 0; begin < rows; begin += step) {
    const torch::Tensor block = state.values(name, begin, std::min(step, rows - begin));
    visit(std::span<const float>(block.data_ptr<float>(), size_t(block.numel())));
  }
}

LayerWeightStatistics layer_measure(const ModelState& state, const std::string& layer) {
  const std::string name = layer + ".weight";
  LayerWeightStatistics out;
  out.name = layer;
  StatsAccumulator accumulator;
  blocks_visit(state, name, [&](std::span<const float> values) { accumulator.add(values); });
  double range = 0;
  try {
    out.stats = accumulator.result();
    range = out.stats->absmax;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::Numeric) throw;
    out.error = e.what();
    blocks_visit(state, name, [&](std::span<const float> values) {
      for (const float v : values)
        if (std::isfinite(v)) range = std::max(range, double(std::abs(v)));
    });
  }
  if (range == 0) range = 0.5;  // a zero weight still gets a visible bar
  out.histogram.lo = -range;
  out.histogram.hi = range;
  out.histogram.counts.assign(kWeightHistogramBins, 0.0);
  blocks_visit(state, name, [&](std::span<const float> values) {
    const Histogram part = histogram_compute(values, kWeightHistogramBins, -range, range);
    for (size_t b = 0; b < part.counts.size(); ++b) out.histogram.counts[b] += part.counts[b];
  });
  return out;
}

nlohmann::ordered_json layer_json(const LayerWeightStatistics& l) {
  nlohmann::ordered_json j{{"name", l.name}};
  if (l.stats)
    j["stats"] = {{"count", l.stats->count}, {"mean", l.stats->mean}, {"std", l.stats->std},
                  {"absmax", l.stats->absmax}, {"kurtosis", l.stats->kurtosis}};
  else
    j["error"] = l.error;
  j["histogram"] = {{"lo", l.histogram.lo}, {"hi", l.histogram.hi}, {"counts", l.histogram.counts}};
  return j;
}

LayerWeightStatistics layer_from_json(const nlohmann::ordered_json& j) {
  LayerWeightStatistics l;
  l.name = j.at("name").get<std::string>();
  if (j.contains("stats")) {
    const auto& s = j.at("stats");
    l.stats = TensorStats{s.at("count").get<int64_t>(), s.at("mean").get<double>(), s.at("std").get<double>(),
                          s.at("absmax").get<double>(), s.at("kurtosis").get<double>()};
  } else {
    l.error = j.at("error").get<std::string>();
  }
  const auto& h = j.at("histogram");
  l.histogram.lo = h.at("lo").get<double>();
  l.histogram.hi = h.at("hi").get<double>();
  l.histogram.counts = h.at("counts").get<std::vector<double>>();
  return l;
}

// The cached entry when it exists, is readable and describes exactly this model's layers.
std::optional<WeightStatistics> cache_read(const fs::path& file, const std::string& identity,
                                           const std::vector<LinearLayer>& layers) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  try {
    const auto j = json_parse_strict(file_read(file), file.string());
    if (j.at("version").get<int>() != kCacheVersion || j.at("identity").get<std::string>() != identity)
      return std::nullopt;
    WeightStatistics out;
    for (const auto& entry : j.at("layers")) out.layers.push_back(layer_from_json(entry));
    if (out.layers.size() != layers.size()) return std::nullopt;
    for (size_t i = 0; i < layers.size(); ++i)
      if (out.layers[i].name != layers[i].name ||
          out.layers[i].histogram.counts.size() != size_t(kWeightHistogramBins))
        return std::nullopt;
    out.cached = true;
    return out;
  } catch (const std::exception&) {
    return std::nullopt;  // torn or foreign: measured again and replaced
  }
}

}  // namespace

fs::path weight_statistics_cache_dir() {
  const auto env = [](const char* name) -> fs::path {
    const char* value = std::getenv(name);
    return value && *value ? fs::path(value) : fs::path();
  };
  fs::path root = env("QUANTSCOPE_CACHE_DIR");
  if (root.empty() && !env("XDG_CACHE_HOME").empty()) root = env("XDG_CACHE_HOME") / "quantscope";
  if (root.empty() && !env("HOME").empty()) root = env("HOME") / ".cache" / "quantscope";
  if (root.empty()) root = fs::temp_directory_path() / "quantscope-cache";
  return root / "weight-statistics";
}

WeightStatistics weight_statistics_compute(const Model& model, const fs::path& cache_dir, JobContext* job) {
  const std::vector<LinearLayer> layers = model.linear_layers();
  std::string identity;
  if (!cache_dir.empty() && !model.state().source_identity.empty()) identity = model.identity();
  const fs::path file = identity.empty() ? fs::path() : cache_dir / (text_fingerprint(identity) + ".json");
  if (!file.empty())
    if (auto cached = cache_read(file, identity, layers)) return *cached;

  WeightStatistics out;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (job) {
      job->check_cancelled();
      job->progress(double(i) / layers.size(),
                    "weight statistics " + std::to_string(i + 1) + "/" + std::to_string(layers.size()) + ": " +
                        layers[i].name);
    }
    out.layers.push_back(layer_measure(model.state(), layers[i].name));
  }
  if (!file.empty()) {
    nlohmann::ordered_json j{{"version", kCacheVersion}, {"identity", identity}};
    auto& entries = j["layers"] = nlohmann::ordered_json::array();
    for (const LayerWeightStatistics& l : out.layers) entries.push_back(layer_json(l));
    // A cache that cannot be written (read-only home) costs the next open a recount, nothing more.
    try {
      fs::create_directories(cache_dir);
      file_write_atomic(file, j.dump() + "\n");
    } catch (const std::exception&) {
    }
  }
  if (job) job->progress(1.0, "weight statistics done");
  return out;
}

}  // namespace qs
