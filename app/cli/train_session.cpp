// train_session_run: the output of `train` and `qat`.
#include "train_session.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "job_run.hpp"
#include "json_print.hpp"
#include "quantscope/device.hpp"
#include "quantscope/job.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

// The step column holds "step/steps", and at least the word "step".
int step_column_width(int64_t steps) { return std::max(4, static_cast<int>(2 * std::to_string(steps).size() + 1)); }

// Step 0 carries only the held-out loss before training; later steps the means since the last line.
std::string log_line(const TrainLog& log, int64_t steps, bool qat) {
  char buffer[200];
  if (log.step == 0) {
    std::snprintf(buffer, sizeof buffer, "%*s  %8s  %9s  %9s  %12s", step_column_width(steps), "0", "", "", "", "");
  } else {
    std::snprintf(buffer, sizeof buffer, "%*s  %8.4f  %9.3e  %9.3f  %12s", step_column_width(steps),
                  (std::to_string(log.step) + '/' + std::to_string(steps)).c_str(), log.loss, log.lr, log.grad_norm,
                  count_format(std::llround(log.tokens_per_second)).c_str());
  }
  std::string line = buffer;
  if (qat) {
    std::snprintf(buffer, sizeof buffer, "  %8s  %9s",
                  log.masked_fraction ? (number_format(100 * *log.masked_fraction, 2) + "%").c_str() : "",
                  log.weight_error ? number_scientific_format(*log.weight_error, 2).c_str() : "");
    line += buffer;
  }
  if (log.heldout_loss) line += "  " + number_format(*log.heldout_loss, 4);
  else line.erase(line.find_last_not_of(' ') + 1);
  return line;
}

std::string log_header(int64_t steps, bool qat) {
  char buffer[200];
  std::snprintf(buffer, sizeof buffer, "%*s  %8s  %9s  %9s  %12s", step_column_width(steps), "step", "loss", "lr",
                "grad norm", "tokens/s");
  std::string line = buffer;
  if (qat) {
    std::snprintf(buffer, sizeof buffer, "  %8s  %9s", "masked", "w error");
    line += buffer;
  }
  return line + "  heldout";
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
  if (log.masked_fraction) entry["masked_fraction"] = *log.masked_fraction;
  if (log.weight_error) entry["weight_error"] = *log.weight_error;
  return entry;
}

nlohmann::ordered_json final_json(const RunFinal& f) {
  return {{"perplexity", f.perplexity},
          {"kl_mean", f.kl_mean},
          {"top1_agreement", f.top1_agreement},
          {"latent_perplexity", f.latent_perplexity},
          {"reference_perplexity", f.reference_perplexity},
          {"ptq_perplexity", number_json(f.ptq_perplexity)},
          {"ptq_kl_mean", number_json(f.ptq_kl_mean)},
          {"tokens", f.tokens},
          {"reference", f.reference},
          {"text", f.heldout_text},
          {"command", f.command}};
}

void final_print(const RunFinal& f) {
  TextTable table({{"final evaluation"},
                   {"perplexity", TextTable::Align::Right},
                   {"KL vs reference", TextTable::Align::Right},
                   {"same top token", TextTable::Align::Right}});
  table.row({"reference (" + f.reference + ")", number_format(f.reference_perplexity, 3), "", ""});
  if (std::isfinite(f.ptq_perplexity))
    table.row({"post-training quantization", number_format(f.ptq_perplexity, 3), number_format(f.ptq_kl_mean, 4), ""});
  table.row({"QAT latent weights", number_format(f.latent_perplexity, 3), "", ""});
  table.row({"QAT quantized", number_format(f.perplexity, 3), number_format(f.kl_mean, 4),
             number_format(100 * f.top1_agreement, 1) + " %"});
  std::cout << '\n' << table.render();
  std::cout << "on " << count_format(f.tokens) << " tokens of " << f.heldout_text << "; reproduce with:\n  "
            << f.command << '\n';
}

}  // namespace

int train_session_run(const TrainConfig& config, const std::vector<std::pair<std::string, std::string>>& about,
                      bool json) {
  const bool qat = config.qat.has_value();
  JobRunner jobs;
  // Printed with the first log entry, so that a run refused at the start prints only its error.
  auto header_print = [&] {
    TextTable table({{}, {}});
    for (const auto& [key, value] : about) table.row({key, value});
    table.row({"steps", count_format(config.steps) + ", each of " + count_format(config.batch_size * config.grad_accum) +
                            " windows of " + count_format(config.ctx) + " tokens"});
    table.row({"device", std::string(device_name(config.device)) + " " + std::string(compute_type_name(config.compute))});
    jobs.stdout_write(table.render() + "\n" + log_header(config.steps, qat) + "\n");
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
      jobs.stdout_write(log_line(entry, config.steps, qat) + "\n");
    });
  };
  const bool on_gpu = config.device == Device::Cuda;
  if (on_gpu) cuda_memory_peak_reset();
  jobs.run(qat ? "Quantization-aware training" : "Training", work, {.message = [&] {
             std::lock_guard lock(status_mutex);
             return status;
           }});

  if (json) {
    nlohmann::ordered_json out;
    for (const auto& [key, value] : about) out[key] = value;
    out["steps"] = result.steps;
    out["final_train_loss"] = result.final_train_loss;
    out["initial_heldout_loss"] = result.initial_heldout_loss;
    out["final_heldout_loss"] = result.final_heldout_loss;
    out["final_checkpoint"] = result.final_checkpoint.string();
    out["run_file"] = result.run_file.string();
    if (qat) out["final"] = final_json(result.quantized);
    out["seconds"] = result.seconds;
    // The peak covers the training steps and the evaluations between them: what a step needs.
    if (on_gpu) {
      const DeviceMemory memory = cuda_memory();
      out["gpu_memory"] = {{"held_bytes", memory.allocated}, {"peak_bytes", memory.peak}};
    }
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
  summary.row({"telemetry", result.run_file.string()});
  summary.row({"time", seconds_format(result.seconds)});
  std::cout << '\n' << summary.render();
  if (qat) final_print(result.quantized);
  return 0;
}

}  // namespace qs::cli
