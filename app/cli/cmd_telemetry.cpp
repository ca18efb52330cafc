// `quantscope-cli telemetry RUN`: what a training run's telemetry file (run.h5) holds, so that a run
// in progress, a cancelled one or a finished one can be inspected without the GUI.
#include <cmath>
#include <filesystem>
#include <iostream>

#include "command.hpp"
#include "json_print.hpp"
#include "quantscope/run_file.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

// NaN marks "no value" in the run file (a step without evaluation, a layer without a codebook).
nlohmann::ordered_json value_or_null(double value) {
  return std::isnan(value) ? nlohmann::ordered_json() : nlohmann::ordered_json(value);
}

nlohmann::ordered_json values_or_null(const std::vector<double>& values) {
  auto out = nlohmann::ordered_json::array();
  for (const double value : values) out.push_back(value_or_null(value));
  return out;
}

nlohmann::ordered_json json_or_null(const std::string& text) {
  return text.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json::parse(text);
}

void telemetry_json_print(const std::filesystem::path& path, const RunTelemetry& run) {
  nlohmann::ordered_json out;
  out["run"] = path.string();
  out["status"] = run.status;
  out["config"] = json_or_null(run.config_json);
  out["plan"] = json_or_null(run.plan_json);
  out["layers"] = run.layers;
  auto& steps = out["steps"] = nlohmann::ordered_json::array();
  for (const auto& s : run.steps) {
    nlohmann::ordered_json entry = {{"step", s.step},           {"loss", s.loss},
                                    {"lr", s.lr},               {"grad_norm", s.grad_norm},
                                    {"tokens_per_second", s.tokens_per_second}};
    if (!std::isnan(s.heldout_loss)) entry["heldout_loss"] = s.heldout_loss;
    steps.push_back(entry);
  }
  auto& samples = out["layer_samples"] = nlohmann::ordered_json::array();
  for (const auto& s : run.samples) {
    samples.push_back({{"step", s.step},
                       {"weight_masked", values_or_null(s.weight_masked)},
                       {"act_masked", values_or_null(s.act_masked)},
                       {"weight_error", values_or_null(s.weight_error)},
                       {"codebook_drift", values_or_null(s.codebook_drift)}});
  }
  const RunFinal& f = run.final;
  out["final"] = !f.done ? nlohmann::ordered_json()
                         : nlohmann::ordered_json{{"perplexity", f.perplexity},
                                                  {"latent_perplexity", f.latent_perplexity},
                                                  {"kl_mean", f.kl_mean},
                                                  {"top1_agreement", f.top1_agreement},
                                                  {"tokens", f.tokens},
                                                  {"reference", f.reference},
                                                  {"heldout_text", f.heldout_text},
                                                  {"command", f.command}};
  json_print(out);
}

void telemetry_text_print(const std::filesystem::path& path, const RunTelemetry& run) {
  TextTable summary({{}, {}});
  summary.row({"run", path.string()});
  summary.row({"status", run.status});
  summary.row({"steps logged", count_format(int64_t(run.steps.size()))});
  if (!run.steps.empty()) {
    const RunStep& last = run.steps.back();
    summary.row({"last step", count_format(last.step)});
    summary.row({"last loss", number_format(last.loss, 4)});
  }
  for (auto s = run.steps.rbegin(); s != run.steps.rend(); ++s) {
    if (std::isnan(s->heldout_loss)) continue;
    summary.row({"last held-out loss", number_format(s->heldout_loss, 4) + " (step " + count_format(s->step) + ")"});
    break;
  }
  summary.row({"quantized layers", run.layers.empty() ? "none" : count_format(int64_t(run.layers.size()))});
  summary.row({"layer samples", count_format(int64_t(run.samples.size()))});
  std::cout << summary.render();

  const RunFinal& f = run.final;
  if (!f.done) return;
  const size_t key_width = std::string("latent perplexity").size();  // the two blocks share one key column
  TextTable numbers({{.min_width = key_width}, {"", TextTable::Align::Right}, {}});
  numbers.row({"perplexity", number_format(f.perplexity, 4), "quantized"});
  numbers.row({"latent perplexity", number_format(f.latent_perplexity, 4), "latent weights"});
  numbers.row({"KL mean", number_format(f.kl_mean, 6), "nats/token, KL(reference || quantized)"});
  numbers.row({"top-1 agreement", number_format(100 * f.top1_agreement, 2) + " %"});
  numbers.row({"tokens", count_format(f.tokens)});
  TextTable about({{.min_width = key_width}, {}});
  about.row({"reference", f.reference});
  about.row({"held-out text", f.heldout_text});
  about.row({"reproduce", f.command});
  std::cout << "\nfinal evaluation\n" << numbers.render(2) << about.render(2);
}

// The last sample only: the GUI plots the history, a terminal shows where the run stands.
void telemetry_layers_print(const RunTelemetry& run) {
  if (run.layers.empty()) {
    std::cout << "\nno quantized layers\n";
    return;
  }
  if (run.samples.empty()) {
    std::cout << "\nno layer samples yet\n";
    return;
  }
  const RunLayerSample& last = run.samples.back();
  const auto percent = [](double value) { return std::isnan(value) ? std::string("-") : number_format(100 * value, 2) + " %"; };
  const auto scientific = [](double value) { return std::isnan(value) ? std::string("-") : number_scientific_format(value, 3); };
  TextTable table({{"name"},
                   {"weight masked", TextTable::Align::Right},
                   {"act masked", TextTable::Align::Right},
                   {"weight error", TextTable::Align::Right},
                   {"codebook drift", TextTable::Align::Right}});
  for (size_t i = 0; i < run.layers.size(); ++i) {
    table.row({run.layers[i], percent(last.weight_masked[i]), percent(last.act_masked[i]),
               scientific(last.weight_error[i]), scientific(last.codebook_drift[i])});
  }
  std::cout << "\nlayers at step " << count_format(last.step) << "\n" << table.render(2);
}

class TelemetryCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("telemetry",
                 "Show a training run's telemetry file (run.h5, see docs/run-file.md): its status, the last "
                 "logged losses, the quantized layers and, once finished, the final evaluation and the command "
                 "that reproduces it.");
    spec.positional({"RUN", "a run.h5 file, or a run's output folder holding one"});
    spec.option({.name = "layers", .type = ArgType::Flag,
                 .help = "also show each quantized layer's masked gradients, weight error and codebook drift at the "
                         "last logged sample"});
    spec.option(json_option());
    spec.example("telemetry runs/qat-w2");
    spec.example("telemetry runs/qat-w2/run.h5 --layers");
    return spec;
  }

  int run(const Args& args) const override {
    std::filesystem::path path = args.positional(0);
    if (std::filesystem::is_directory(path)) path /= "run.h5";
    const RunTelemetry run = run_file_read(path);
    if (args.flag("json")) {
      telemetry_json_print(path, run);
      return 0;
    }
    telemetry_text_print(path, run);
    if (args.flag("layers")) telemetry_layers_print(run);
    return 0;
  }
};

const CommandRegistration<TelemetryCommand> registration;

}  // namespace
}  // namespace qs::cli
