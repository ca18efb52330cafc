// ExperimentCache and the JSON form of the measurements it keeps.
#include "experiment/experiment_cache.hpp"

#include <cmath>
#include <limits>

#include "io/atomic_file.hpp"
#include "base/json_strict.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"

namespace qs {
namespace {

using json = nlohmann::json;

// JSON has no NaN or infinity; they are stored as strings and read back.
json number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double number_of(const json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.get<std::string>();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  return std::numeric_limits<double>::quiet_NaN();
}

json perplexity_json(const PerplexityResult& p) {
  return {{"tokens", p.tokens}, {"bytes", p.bytes}, {"windows", p.windows}, {"nll", number(p.nll)},
          {"perplexity", number(p.perplexity)}, {"bits_per_byte", number(p.bits_per_byte)},
          {"nll_standard_error", number(p.nll_standard_error)},
          {"perplexity_standard_error", number(p.perplexity_standard_error)}};
}

PerplexityResult perplexity_from_json(const json& j) {
  PerplexityResult p;
  p.tokens = j.at("tokens");
  p.bytes = j.at("bytes");
  p.windows = j.at("windows");
  p.nll = number_of(j.at("nll"));
  p.perplexity = number_of(j.at("perplexity"));
  p.bits_per_byte = number_of(j.at("bits_per_byte"));
  // Entries cached before the standard error was measured lack it: unknown, not zero.
  p.nll_standard_error = number_of(j.value("nll_standard_error", json("nan")));
  p.perplexity_standard_error = number_of(j.value("perplexity_standard_error", json("nan")));
  return p;
}

}  // namespace

ExperimentCache::ExperimentCache(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw Error(ErrorKind::Io, dir_.string() + ": cannot create the cache folder (" + ec.message() + ")");
}

std::filesystem::path ExperimentCache::path_of(const std::string& key) const {
  return dir_ / (text_fingerprint(key) + ".json");
}

std::optional<json> ExperimentCache::find(const std::string& key) const {
  const std::filesystem::path path = path_of(key);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  try {
    const json entry = json_parse_strict(file_read(path), path.string());
    if (entry.at("key").get<std::string>() != key) return std::nullopt;
    return entry.at("value");
  } catch (const Error&) {
    return std::nullopt;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

void ExperimentCache::store(const std::string& key, const json& value) const {
  file_write_atomic(path_of(key), json{{"key", key}, {"value", value}}.dump(1) + "\n");
}

json plan_metrics_json(const PlanMetrics& m) {
  json tasks = json::array();
  for (const TaskScore& t : m.tasks)
    tasks.push_back({{"name", t.name}, {"kind", task_kind_name(t.kind)}, {"items", t.items}, {"correct", t.correct},
                     {"accuracy", number(t.accuracy)}, {"standard_error", number(t.standard_error)},
                     {"item_correct", t.item_correct}, {"seconds", t.seconds}});
  const KlResult& k = m.kl;
  return {{"quantized_parameters", m.quantized_parameters}, {"bits_per_weight", number(m.bits_per_weight)},
          {"model_bytes", m.model_bytes}, {"seconds", m.seconds},
          {"kl", {{"tokens", k.tokens}, {"mean", number(k.mean)}, {"median", number(k.median)}, {"p99", number(k.p99)},
                  {"max", number(k.max)}, {"top1_agreement", number(k.top1_agreement)},
                  {"histogram", {{"lo", k.histogram.lo}, {"hi", k.histogram.hi}, {"counts", k.histogram.counts}}},
                  {"model", perplexity_json(k.model)}, {"reference", perplexity_json(k.reference)}}},
          {"tasks", tasks}};
}

PlanMetrics plan_metrics_from_json(const json& j) {
  PlanMetrics m;
  m.quantized_parameters = j.at("quantized_parameters");
  m.bits_per_weight = number_of(j.at("bits_per_weight"));
  m.model_bytes = j.at("model_bytes");
  m.seconds = j.at("seconds");
  const json& k = j.at("kl");
  m.kl.tokens = k.at("tokens");
  m.kl.mean = number_of(k.at("mean"));
  m.kl.median = number_of(k.at("median"));
  m.kl.p99 = number_of(k.at("p99"));
  m.kl.max = number_of(k.at("max"));
  m.kl.top1_agreement = number_of(k.at("top1_agreement"));
  m.kl.histogram.lo = k.at("histogram").at("lo");
  m.kl.histogram.hi = k.at("histogram").at("hi");
  m.kl.histogram.counts = k.at("histogram").at("counts").get<std::vector<double>>();
  m.kl.model = perplexity_from_json(k.at("model"));
  m.kl.reference = perplexity_from_json(k.at("reference"));
  for (const json& t : j.at("tasks")) {
    TaskScore s;
    s.name = t.at("name");
    s.kind = t.at("kind").get<std::string>() == task_kind_name(TaskKind::Choice) ? TaskKind::Choice : TaskKind::Generate;
    s.items = t.at("items");
    s.correct = t.at("correct");
    s.accuracy = number_of(t.at("accuracy"));
    s.standard_error = number_of(t.at("standard_error"));
    s.item_correct = t.at("item_correct").get<std::vector<uint8_t>>();
    s.seconds = t.at("seconds");
    m.tasks.push_back(std::move(s));
  }
  return m;
}

json layer_sensitivity_json(const LayerSensitivity& l) {
  return {{"name", l.name}, {"parameters", l.parameters}, {"storage_bits", l.storage_bits},
          {"bits_per_weight", number(l.bits_per_weight)}, {"delta_kl", number(l.delta_kl)}, {"kl_p99", number(l.kl_p99)},
          {"top1_agreement", number(l.top1_agreement)}, {"weight_sqnr_db", number(l.proxies.weight_sqnr_db)},
          {"input_sqnr_db", number(l.proxies.input_sqnr_db)}, {"fisher_sqnr_db", number(l.proxies.fisher_sqnr_db)},
          {"fisher_loss", number(l.proxies.fisher_loss)}};
}

LayerSensitivity layer_sensitivity_from_json(const json& j) {
  LayerSensitivity l;
  l.name = j.at("name");
  l.parameters = j.at("parameters");
  l.storage_bits = j.at("storage_bits");
  l.bits_per_weight = number_of(j.at("bits_per_weight"));
  l.delta_kl = number_of(j.at("delta_kl"));
  l.kl_p99 = number_of(j.at("kl_p99"));
  l.top1_agreement = number_of(j.at("top1_agreement"));
  l.proxies = {number_of(j.at("weight_sqnr_db")), number_of(j.at("input_sqnr_db")), number_of(j.at("fisher_sqnr_db")),
               number_of(j.at("fisher_loss"))};
  return l;
}

}  // namespace qs
