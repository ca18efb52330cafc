// sensitivity_scans_from_results: the scans behind a results file's sensitivity tables, so that the
// workbench's budget and frontier come from a batch run's results.h5 as from a scan made in the window.
#include <cmath>

#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/sensitivity.hpp"

namespace qs {
namespace {

constexpr const char* kPrefix = "sensitivity_";

const std::vector<double>* numbers_find(const ResultTable& table, const std::string& name) {
  for (const ResultColumn& c : table.columns)
    if (c.name == name && !c.is_text()) return &c.numbers();
  return nullptr;
}

const std::vector<std::string>* texts_find(const ResultTable& table, const std::string& name) {
  for (const ResultColumn& c : table.columns)
    if (c.name == name && c.is_text()) return &c.texts();
  return nullptr;
}

[[noreturn]] void missing(const ResultTable& table, const std::string& what) {
  throw Error(ErrorKind::Format, "results table " + table.name + ": " + what);
}

}  // namespace

std::vector<SensitivityScan> sensitivity_scans_from_results(const ResultSet& results) {
  const ResultTable* correlation = results.table_find("proxy_correlation");
  const std::vector<std::string>* correlation_formats = correlation ? texts_find(*correlation, "format") : nullptr;
  std::vector<SensitivityScan> scans;
  for (const ResultTable& table : results.tables) {
    if (table.name.rfind(kPrefix, 0) != 0) continue;
    const auto* layers = texts_find(table, "layer");
    const auto* parameters = numbers_find(table, "parameters");
    const auto* bits_per_weight = numbers_find(table, "bits_per_weight");
    const auto* delta_kl = numbers_find(table, "delta_kl");
    if (!layers || !parameters || !bits_per_weight || !delta_kl)
      missing(table, "a sensitivity table needs the columns layer, parameters, bits_per_weight and delta_kl");
    SensitivityScan scan;
    std::string format_text;
    if (const auto* formats = texts_find(table, "format"); formats && !formats->empty()) {
      format_text = formats->front();
    } else if (correlation_formats && scans.size() < correlation_formats->size()) {
      format_text = (*correlation_formats)[scans.size()];
    } else {
      missing(table, "no format column, and no proxy_correlation row names its format");
    }
    try {
      scan.format = format_parse(format_text);
    } catch (const Error& error) {
      missing(table, std::string("format: ") + error.what());
    }
    const auto* storage_bits = numbers_find(table, "storage_bits");
    const auto optional_number = [&](const char* name, size_t row) {
      const auto* column = numbers_find(table, name);
      return column ? (*column)[row] : std::nan("");
    };
    for (size_t i = 0; i < table.rows(); ++i) {
      LayerSensitivity l;
      l.name = (*layers)[i];
      if (!(std::isfinite((*parameters)[i]) && (*parameters)[i] > 0))
        missing(table, "row " + std::to_string(i) + " (" + l.name + "): parameters is not a positive number");
      l.parameters = int64_t((*parameters)[i]);
      l.bits_per_weight = (*bits_per_weight)[i];
      const double bits = storage_bits ? (*storage_bits)[i] : l.bits_per_weight * double(l.parameters);
      if (!(std::isfinite(bits) && bits > 0))
        missing(table, "row " + std::to_string(i) + " (" + l.name + "): the storage bits are not a positive number");
      l.storage_bits = uint64_t(std::llround(bits));
      l.delta_kl = (*delta_kl)[i];
      l.kl_p99 = optional_number("kl_p99", i);
      l.top1_agreement = optional_number("top1_agreement", i);
      l.proxies.weight_sqnr_db = optional_number("weight_sqnr", i);
      l.proxies.input_sqnr_db = optional_number("input_sqnr", i);
      l.proxies.fisher_sqnr_db = optional_number("fisher_sqnr", i);
      l.proxies.fisher_loss = optional_number("fisher_loss", i);
      scan.layers.push_back(std::move(l));
    }
    scan.spearman_weight = scan.spearman_input = scan.spearman_fisher = scan.spearman_fisher_loss = std::nan("");
    if (correlation_formats)
      for (size_t r = 0; r < correlation_formats->size(); ++r) {
        if ((*correlation_formats)[r] != format_print(scan.format)) continue;
        const auto number = [&](const char* name) {
          const auto* column = numbers_find(*correlation, name);
          return column ? (*column)[r] : std::nan("");
        };
        scan.spearman_weight = number("spearman_weight_sqnr");
        scan.spearman_input = number("spearman_input_sqnr");
        scan.spearman_fisher = number("spearman_fisher_sqnr");
        scan.spearman_fisher_loss = number("spearman_fisher_loss");
      }
    scans.push_back(std::move(scan));
  }
  return scans;
}

}  // namespace qs
