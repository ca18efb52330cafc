// The shared half of the analysis commands: options, the job, the result files and the printout.
#include "analysis_session.hpp"

#include <cmath>
#include <iostream>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantscope/error.hpp"
#include "quantscope/output_dir.hpp"
#include "results_output.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

// A cell for people: bytes as sizes, fractions as percentages, decibels with two decimals.
std::string cell_format(const ResultColumn& column, double v) {
  if (std::isnan(v)) return "-";
  if (column.unit == "bytes") return bytes_format(static_cast<uint64_t>(v));
  if (column.unit == "dB") return number_format(v, 2);
  if (column.unit == "bits") return number_format(v, 3);
  if (starts_with(column.name, "task_") || starts_with(column.name, "top1") || column.name == "accuracy")
    return number_format(100 * v, 1) + " %";
  if (column.name == "parameters" || column.name == "items" || column.name == "storage_bits")
    return count_format(static_cast<int64_t>(v));
  return number_compact_format(v);
}

void table_print(const ResultTable& table) {
  std::vector<const ResultColumn*> shown;
  for (const ResultColumn& column : table.columns) {
    // A task's standard error is printed with its accuracy; timings stay in the files.
    if (column.name == "seconds" || (starts_with(column.name, "task_") && column.name.ends_with("_se"))) continue;
    shown.push_back(&column);
  }
  std::vector<TextTable::Column> header;
  for (const ResultColumn* column : shown)
    header.push_back({column->name + (column->unit.empty() || column->unit == "bytes" ? "" : ", " + column->unit),
                      column->is_text() ? TextTable::Align::Left : TextTable::Align::Right});
  TextTable text(header);
  for (size_t row = 0; row < table.rows(); ++row) {
    std::vector<std::string> cells;
    for (const ResultColumn* column : shown) {
      if (column->is_text()) {
        cells.push_back(column->texts()[row]);
        continue;
      }
      std::string cell = cell_format(*column, column->numbers()[row]);
      if (starts_with(column->name, "task_")) {
        for (const ResultColumn& se : table.columns)
          if (se.name == column->name + "_se" && !std::isnan(se.numbers()[row]))
            cell = number_format(100 * column->numbers()[row], 1) + " ± " + number_format(100 * se.numbers()[row], 1) + " %";
      }
      cells.push_back(cell);
    }
    text.row(cells);
  }
  std::cout << table.name << ": " << table.description << "\n" << text.render(2) << "\n";
}

nlohmann::ordered_json table_json(const ResultTable& table) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (size_t row = 0; row < table.rows(); ++row) {
    nlohmann::ordered_json r;
    for (const ResultColumn& column : table.columns) {
      if (column.is_text()) r[column.name] = column.texts()[row];
      else if (std::isfinite(column.numbers()[row])) r[column.name] = column.numbers()[row];
      else r[column.name] = nullptr;
    }
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

void analysis_output_declare(ArgSpec& spec) {
  spec.option({.name = "out", .type = ArgType::Text, .value_name = "DIR",
               .help = "results folder: results.h5, csv/, plots/, summary.json, plans/, and cache/ (a rerun with the "
                       "same DIR redoes nothing already measured)",
               .required = true});
  spec.option({.name = "no-plots", .type = ArgType::Flag, .help = "do not render PNG/PDF plots"});
  spec.option(json_option());
}

void analysis_inputs_declare(ArgSpec& spec) {
  spec.positional({"MODEL", kModelHelp});
  spec.option({.name = "text", .type = ArgType::Text, .value_name = "FILE",
               .help = "evaluation text: perplexity and KL of every plan", .required = true});
  spec.option({.name = "calib", .type = ArgType::Text, .value_name = "FILE",
               .help = "calibration text for sensitivity, proxies and :fisher formats; absent: --text"});
  spec.option({.name = "ctx", .type = ArgType::Integer, .value_name = "N",
               .help = "window length in tokens on both texts; absent: min(512, max positions)", .min = 2});
  spec.option({.name = "max-tokens", .type = ArgType::Integer, .value_name = "N",
               .help = "use only the first N tokens of each text", .default_value = "4096", .min = 2});
  spec.option({.name = "tasks", .type = ArgType::Text, .value_name = "FILES",
               .help = "task files (JSONL, comma-separated) scored for every plan"});
  spec.option({.name = "seed", .type = ArgType::Integer, .value_name = "N", .help = "seed of the k-means fits",
               .default_value = "0", .min = 0});
  model_options_declare(spec);
}

std::vector<std::string> list_option(const Args& args, const std::string& name) {
  std::vector<std::string> items;
  if (!args.has(name)) return items;
  const std::string& text = args.text(name);
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty()) throw UsageError("--" + name + ": an empty entry in \"" + text + "\"");
    items.push_back(item);
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

Experiment analysis_inputs_get(const Args& args) {
  Experiment e;
  const LoadOptions load = model_options_get(args);
  e.file = args.positional(0);
  e.title = args.positional(0);
  e.model = model_path_resolve(args.positional(0));
  e.tokenizer = load.tokenizer;
  e.device = load.device;
  e.seed = static_cast<uint64_t>(args.integer("seed"));
  e.evaluation.file = args.text("text");
  e.evaluation.max_tokens = args.integer("max-tokens");
  if (args.has("ctx")) e.evaluation.ctx = args.integer("ctx");
  e.calibration = e.evaluation;
  if (args.has("calib")) e.calibration.file = args.text("calib");
  for (const std::string& file : list_option(args, "tasks")) e.tasks.push_back({.file = file});
  return e;
}

int analysis_run(const Experiment& experiment, const Args& args, const std::vector<std::string>& tables,
                 ExperimentSource source) {
  const std::filesystem::path out = args.text("out");
  usage_check("--out: ", [&] { output_dir_claim(out, OutputKind::Results); });
  JobRunner jobs;
  LoadOptions load = model_options_get(args);
  load.tokenizer = experiment.tokenizer;
  load.device = experiment.device;
  const std::shared_ptr<Model> model = model_open(jobs, experiment.model.string(), load);
  if (source == ExperimentSource::Options) usage_check("", [&] { experiment_check(experiment, *model); });
  ResultSet results;
  ExperimentCounts counts;
  // The steps' lines are the progress: one per finished measurement, on stderr.
  jobs.run(
      "Running " + experiment.title,
      [&](JobContext& context) {
        results = experiment_run(experiment, out, &context, [](const std::string& line) { std::cerr << line << std::endl; },
                                 &counts, model);
      },
      JobDisplay{.bar = false});
  results_output_write(results, out, !args.flag("no-plots"));
  std::cerr << "measured " << counts.computed << ", taken from " << (out / "cache").string() << ": " << counts.cached
            << std::endl;

  if (args.flag("json")) {
    nlohmann::ordered_json j;
    j["title"] = results.title;
    j["out"] = out.string();
    j["computed"] = counts.computed;
    j["cached"] = counts.cached;
    for (const ResultTable& table : results.tables) j["tables"][table.name] = table_json(table);
    json_print(j);
    return 0;
  }
  for (const ResultTable& table : results.tables)
    for (const std::string& prefix : tables)
      if (starts_with(table.name, prefix)) {
        table_print(table);
        break;
      }
  return 0;
}

}  // namespace qs::cli
