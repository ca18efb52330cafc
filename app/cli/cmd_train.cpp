// `quantscope-cli train --config FILE`: trains or fine-tunes a model as the JSON config describes
// (docs/train-config.md), printing a log line per logged step and writing HF checkpoints.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "quantscope/job.hpp"
#include "quantscope/train.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

// The step column holds "step/steps", and at least the word "step".
int step_column_width(int64_t steps) { return std::max(4, static_cast<int>(2 * std::to_string(steps).size() + 1)); }

// Step 0 carries only the held-out loss before training; later steps the means since the last line.
std::string log_line(const TrainLog& log, int64_t steps) {
  char buffer[160];
  if (log.step == 0) {
    std::snprintf(buffer, sizeof buffer, "%*s  %8s  %9s  %9s  %12s", step_column_width(steps), "0", "", "", "", "");
  } else {
    std::snprintf(buffer, sizeof buffer, "%*s  %8.4f  %9.3e  %9.3f  %12s", step_column_width(steps),
                  (std::to_string(log.step) + '/' + std::to_string(steps)).c_str(), log.loss, log.lr, log.grad_norm,
                  count_format(std::llround(log.tokens_per_second)).c_str());
  }
  std::string line = buffer;
  if (log.heldout_loss) line += "  " + number_format(*log.heldout_loss, 4);
  else line.erase(line.find_last_not_of(' ') + 1);
  return line;
}

std::string log_header(int64_t steps) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "%*s  %8s  %9s  %9s  %12s  %s", step_column_width(steps), "step", "loss", "lr",
                "grad norm", "tokens/s", "heldout");
  return buffer;
}

// The progress bar's message: the latest logged step's numbers, short enough for 80 columns.
std::string log_status(const TrainLog& log) {
  if (log.step == 0) return "held-out loss before training " + number_format(log.heldout_loss.value_or(0), 4);
  return "step " + count_format(log.step) + "  loss " + number_format(log.loss, 3) + "  lr " +
         number_scientific_format(log.lr, 2) + "  " + rate_format(log.tokens_per_second, "tok");
}

nlohmann::ordered_json log_json(const TrainLog& log) {
  nlohmann::ordered_json entry = {{"step", log.step},           {"loss", log.loss},
                                  {"lr", log.lr},               {"grad_norm", log.grad_norm},
                                  {"tokens_per_second", log.tokens_per_second}};
  if (log.heldout_loss) entry["heldout_loss"] = *log.heldout_loss;
  return entry;
}

class TrainCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("train",
                 "Train a new model or fine-tune one as a JSON config file describes (see docs/train-config.md): "
                 "AdamW with warm-up and cosine decay, periodic held-out evaluation, checkpoints as HF "
                 "directories. Ctrl-C stops it; with \"resume\" set it continues from the last checkpoint.");
    spec.option({.name = "config", .type = ArgType::Text, .value_name = "FILE", .help = "the training config",
                 .required = true});
    spec.option(json_option());
    spec.example("train --config train.json");
    return spec;
  }

  int run(const Args& args) const override {
    const std::filesystem::path config_path = args.text("config");
    const TrainConfig config = train_config_load(config_path);
    const bool json = args.flag("json");

    JobRunner jobs;
    // Printed with the first log entry, so that a run refused at the start prints only its error.
    auto header_print = [&] {
      TextTable about({{}, {}});
      about.row({"config", config_path.string()});
      about.row({"start", config.init_model.empty() ? "a new model" : config.init_model.string()});
      about.row({"output", config.out_dir.string()});
      about.row({"steps", count_format(config.steps) + ", each of " + count_format(config.batch_size * config.grad_accum) +
                              " windows of " + count_format(config.ctx) + " tokens"});
      about.row({"device", std::string(device_name(config.device)) + " " + std::string(compute_type_name(config.compute))});
      jobs.stdout_write(about.render() + "\n" + log_header(config.steps) + "\n");
    };

    nlohmann::ordered_json log = nlohmann::ordered_json::array();
    std::mutex status_mutex;
    std::string status;  // the bar shows the latest logged step (the trainer's own messages lack lr, tokens/s)
    TrainResult result;
    const auto work = [&](JobContext& context) {
      result = train_run(config, &context, [&](const TrainLog& entry) {
        {
          std::lock_guard lock(status_mutex);
          status = log_status(entry);
        }
        const bool first = log.empty();
        log.push_back(log_json(entry));  // read once the job has finished
        if (json) return;
        if (first) header_print();
        jobs.stdout_write(log_line(entry, config.steps) + "\n");
      });
    };
    jobs.run("Training", work, {.message = [&] {
               std::lock_guard lock(status_mutex);
               return status;
             }});

    if (json) {
      nlohmann::ordered_json out;
      out["config"] = config_path.string();
      out["steps"] = result.steps;
      out["final_train_loss"] = result.final_train_loss;
      out["initial_heldout_loss"] = result.initial_heldout_loss;
      out["final_heldout_loss"] = result.final_heldout_loss;
      out["final_checkpoint"] = result.final_checkpoint.string();
      out["seconds"] = result.seconds;
      out["log"] = log;
      json_print(out);
      return 0;
    }
    TextTable summary({{}, {}});
    summary.row({"steps", count_format(result.steps)});
    summary.row({"train loss", number_format(result.final_train_loss, 4)});
    summary.row({"heldout loss", number_format(result.initial_heldout_loss, 4) + " -> " +
                                     number_format(result.final_heldout_loss, 4)});
    summary.row({"checkpoint", result.final_checkpoint.string()});
    summary.row({"time", seconds_format(result.seconds)});
    std::cout << '\n' << summary.render();
    return 0;
  }
};

const CommandRegistration<TrainCommand> registration;

}  // namespace
}  // namespace qs::cli
