// Trainer checkpoints: weights through model_save, optimizer through torch::save, the rest as JSON.
#include "qat/train_checkpoint.hpp"

#include <nlohmann/json.hpp>
#include <system_error>

#include "io/atomic_file.hpp"
#include "io/directory_remove.hpp"
#include "base/json_strict.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/output_dir.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kStateFile = "trainer_state.json";
constexpr const char* kOptimizerFile = "optimizer.pt";

// c10 messages span several lines; ours are one.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void io_check(const std::error_code& ec, const fs::path& path, const char* what) {
  if (ec) throw Error(ErrorKind::Io, path.string() + ": cannot " + what + " (" + ec.message() + ")");
}

// Removes a checkpoint folder this trainer wrote earlier; refuses anything else at that path.
void checkpoint_remove(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return;
  if (!output_dir_owned(dir, OutputKind::Model))
    throw Error(ErrorKind::Invalid, dir.string() + ": exists and was not written by Quantscope; refusing to replace "
                                                   "it (move it away or choose another out_dir)");
  directory_remove(dir, ec);
  io_check(ec, dir, "remove the previous checkpoint");
}

}  // namespace

void train_checkpoint_write(const fs::path& dir, const ModelState& weights, const torch::optim::Optimizer* optimizer,
                            const TrainProgress& progress, const TrainConfig& config, DType dtype) {
  fs::path partial = dir;
  partial += ".partial";
  checkpoint_remove(partial);

  const Model model(std::make_shared<ModelState>(weights));
  model_save(model, partial, optimizer ? DType::F32 : dtype);
  if (optimizer) {
    file_write_atomic(partial / kOptimizerFile, [&](const ByteSink& sink) {
      torch::save(*optimizer, [&](const void* data, size_t size) {
        sink(data, size);
        return size;
      });
    });
    const json state = {
        {"step", progress.step},
        {"sampler", progress.sampler_state},
        {"initial_heldout_loss", progress.initial_heldout_loss},
        {"train_tokens", progress.train_tokens},
        {"heldout_tokens", progress.heldout_tokens},
        {"ctx", config.ctx},
        {"batch_size", config.batch_size},
        {"grad_accum", config.grad_accum},
        {"seed", config.seed},
    };
    json full = state;
    if (!progress.qat_state.empty()) full["qat"] = json::parse(progress.qat_state);
    file_write_atomic(partial / kStateFile, full.dump(2) + "\n");
  }
  // A directory cannot be renamed over a non-empty one: the old checkpoint goes first. A crash in
  // between leaves the complete .partial, and the step-N snapshots.
  checkpoint_remove(dir);
  std::error_code ec;
  fs::rename(partial, dir, ec);
  io_check(ec, dir, "rename the new checkpoint into place");
}

TrainProgress train_checkpoint_read(const fs::path& dir, torch::optim::Optimizer& optimizer, const TrainConfig& config,
                                    const TrainProgress& expected, torch::Device device) {
  const fs::path state_path = dir / kStateFile;
  const nlohmann::ordered_json j = json_parse_strict(file_read(state_path), state_path.string());
  TrainProgress p;
  try {
    p.step = j.at("step").get<int64_t>();
    p.sampler_state = j.at("sampler").get<std::string>();
    p.initial_heldout_loss = j.at("initial_heldout_loss").get<double>();
    p.train_tokens = j.at("train_tokens").get<int64_t>();
    p.heldout_tokens = j.at("heldout_tokens").get<int64_t>();
    if (j.contains("qat")) p.qat_state = j.at("qat").dump();
    // The settings that decide which windows each step draws and how many make one step.
    const std::pair<const char*, int64_t> same[] = {
        {"ctx", config.ctx}, {"batch_size", config.batch_size}, {"grad_accum", config.grad_accum}};
    for (const auto& [key, value] : same)
      if (j.at(key).get<int64_t>() != value)
        throw Error(ErrorKind::Invalid, state_path.string() + ": the run was made with " + key + " " +
                                            std::to_string(j.at(key).get<int64_t>()) + ", the config says " +
                                            std::to_string(value) + "; resuming needs the same value");
    if (j.at("seed").get<uint64_t>() != config.seed)
      throw Error(ErrorKind::Invalid, state_path.string() + ": the run was made with another seed; resuming needs the same");
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Format, state_path.string() + ": missing or mistyped field (" + e.what() + ")");
  }
  if (p.train_tokens != expected.train_tokens || p.heldout_tokens != expected.heldout_tokens)
    throw Error(ErrorKind::Invalid, state_path.string() + ": the run was made on " + std::to_string(p.train_tokens) +
                                        " training and " + std::to_string(p.heldout_tokens) +
                                        " held-out tokens, the config's text gives " +
                                        std::to_string(expected.train_tokens) + " and " +
                                        std::to_string(expected.heldout_tokens) + "; resuming needs the same text");
  if (p.step < 0) throw Error(ErrorKind::Format, state_path.string() + ": negative step");

  const fs::path optimizer_path = dir / kOptimizerFile;
  const std::string bytes = file_read(optimizer_path);
  try {
    torch::load(optimizer, bytes.data(), bytes.size(), device);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Format, optimizer_path.string() + ": not an optimizer state for this model (" +
                                       first_line(e.what_without_backtrace()) + ")");
  }
  return p;
}

}  // namespace qs
