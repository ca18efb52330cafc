// `quantscope-cli quantize MODEL --format SPEC` (or --plan FILE): quantizes the chosen layers of a model and prints
// per layer the storage and the weight error (bits/weight, MSE, SQNR, cosine), with the model's size
// before and after. `export` writes a quantized model out.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <iostream>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantize_options.hpp"
#include "quantscope/model.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

void report_json_print(const Model& model, const ModelQuantizeReport& report) {
  nlohmann::ordered_json out;
  out["model"] = model.source().string();
  auto& layers = out["layers"] = nlohmann::ordered_json::array();
  for (const LayerReport& l : report.layers) {
    const TensorMetrics& m = l.metrics;
    layers.push_back({{"name", l.name},
                      {"shape", {l.out, l.in}},
                      {"format", format_print(l.format)},
                      {"bits_per_weight", m.bits_per_weight},
                      {"bytes", m.bytes},
                      {"mse", m.mse},
                      {"relative_mse", m.relative_mse},
                      {"sqnr_db", number_json(m.sqnr_db)},
                      {"cosine", m.cosine},
                      {"max_abs_error", m.max_abs_error},
                      {"inertia", l.inertia},
                      {"seconds", l.seconds}});
  }
  out["quantized_parameters"] = report.quantized_parameters;
  out["bytes_before"] = report.bytes_before;
  out["bytes_after"] = report.bytes_after;
  out["seconds"] = report.seconds;
  json_print(out);
}

void report_table_print(const Model& model, const ModelQuantizeReport& report) {
  TextTable table({{"layer"},
                   {"shape", TextTable::Align::Right},
                   {"format"},
                   {"bits/w", TextTable::Align::Right},
                   {"MSE", TextTable::Align::Right},
                   {"SQNR dB", TextTable::Align::Right},
                   {"cosine", TextTable::Align::Right}});
  double bits = 0;
  for (const LayerReport& l : report.layers) {
    const TensorMetrics& m = l.metrics;
    table.row({l.name, std::to_string(l.out) + " x " + std::to_string(l.in), format_print(l.format),
               number_format(m.bits_per_weight, 3), number_scientific_format(m.mse, 3), number_format(m.sqnr_db, 2),
               number_format(m.cosine, 5)});
    bits += m.bits_per_weight * double(l.out * l.in);
  }
  std::cout << table.render() << '\n';
  TextTable totals({{"", TextTable::Align::Left, 22}, {}});
  totals.row({"model", model_describe(model)});
  totals.row({"quantized", count_format(int64_t(report.quantized_parameters)) + " weights in " +
                               std::to_string(report.layers.size()) + " tensors, " +
                               number_format(bits / double(report.quantized_parameters), 3) + " bits/weight"});
  totals.row({"model bytes before", bytes_format(report.bytes_before) + " (as stored)"});
  totals.row({"model bytes after", bytes_format(report.bytes_after) + " (" +
                                       number_format(100.0 * report.bytes_after / report.bytes_before, 1) + " %)"});
  totals.row({"time", seconds_format(report.seconds)});
  std::cout << totals.render();
}

class QuantizeCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("quantize",
                 "Quantize a model's linear layers to a format and report, per layer, the exact storage "
                 "(bits per weight, every scale, zero point and codebook counted) and the weight error (MSE, "
                 "SQNR, cosine). The embedding and lm_head stay as they are unless --layers names them. "
                 "--plan gives each layer its own format (docs/plans.md).");
    spec.positional({"MODEL", kModelHelp});
    quantize_options_declare(spec);
    model_options_declare(spec);
    spec.option(json_option());
    spec.example("quantize demo --format kmeans2");
    spec.example("quantize stories260K.bin --tokenizer tok512.model --format int4:g32:mse --layers '*mlp*'");
    spec.example("quantize demo --format q4_k --layers 'model.layers.*_proj'");
    spec.example("quantize demo --format kmeans2:fisher --calib heldout.txt --json");
    spec.example("quantize demo --plan mixed.json");
    return spec;
  }

  int run(const Args& args) const override {
    quantize_options_check(args, true);  // a bad spec or plan fails before the model loads
    JobRunner jobs;
    const auto model = model_open(jobs, args.positional(0), model_options_get(args));
    ModelQuantizeReport report;
    quantize_from_args(jobs, *model, args, report, ModelQuantizeOptions::Keep::None);
    if (args.flag("json")) {
      report_json_print(*model, report);
    } else {
      report_table_print(*model, report);
    }
    return 0;
  }
};

const CommandRegistration<QuantizeCommand> registration;

}  // namespace
}  // namespace qs::cli
