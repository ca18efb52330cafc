// The resume store of experiment runs: every finished measurement is written to OUT/cache as one
// small JSON file named by a hash of its full description (model, texts, settings, plan), and a
// rerun takes it from there. The description is stored beside the value and compared on lookup, so
// a hash collision or a changed setting is a miss, never a wrong number.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "base/fingerprint.hpp"
#include "quantscope/plan_evaluate.hpp"
#include "quantscope/sensitivity.hpp"

namespace qs {

class ExperimentCache {
 public:
  explicit ExperimentCache(std::filesystem::path dir);
  // An unreadable or damaged entry is a miss (it is measured again and rewritten).
  std::optional<nlohmann::json> find(const std::string& key) const;
  void store(const std::string& key, const nlohmann::json& value) const;  // atomic

 private:
  std::filesystem::path path_of(const std::string& key) const;
  std::filesystem::path dir_;
};

nlohmann::json plan_metrics_json(const PlanMetrics& metrics);
PlanMetrics plan_metrics_from_json(const nlohmann::json& json);
nlohmann::json layer_sensitivity_json(const LayerSensitivity& layer);
LayerSensitivity layer_sensitivity_from_json(const nlohmann::json& json);

}  // namespace qs
