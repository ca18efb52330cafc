// Trainer checkpoints: an HF directory written by model_save (float32 weights, so a resumed run starts
// from exactly the saved values) plus, for a resumable checkpoint, the optimizer state
// (optimizer.pt, torch::save) and the step, sampler generator and run facts (trainer_state.json).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "model/model_state.hpp"
#include "quantscope/train.hpp"

namespace qs {

// What a resumed run needs besides weights and optimizer, and what it must agree with.
struct TrainProgress {
  int64_t step = 0;
  std::string sampler_state;
  double initial_heldout_loss = 0;
  int64_t train_tokens = 0;
  int64_t heldout_tokens = 0;
  std::string qat_state;  // QAT: QatLayers::state_save(), JSON; empty otherwise
};

// Writes `dir` whole: into a sibling "<dir>.partial" first, which then replaces `dir`, so a crash
// leaves the previous checkpoint or the new one. `weights` holds float32 tensors (detached masters).
// With `optimizer` null only the HF directory is written, its weights in `dtype` (a snapshot or the
// final model); a resumable checkpoint is always float32.
void train_checkpoint_write(const std::filesystem::path& dir, const ModelState& weights,
                            const torch::optim::Optimizer* optimizer, const TrainProgress& progress,
                            const TrainConfig& config, DType dtype = DType::F32);

// Reads trainer_state.json and optimizer.pt of a checkpoint written above into `optimizer` (whose
// parameters must be the ones of the loaded weights, in the same order), moving optimizer tensors to
// `device`. Throws Invalid when the checkpoint was made with a different ctx, batch, accumulation,
// seed or data, which would make the continuation differ from an uninterrupted run.
TrainProgress train_checkpoint_read(const std::filesystem::path& dir, torch::optim::Optimizer& optimizer,
                                    const TrainConfig& config, const TrainProgress& expected,
                                    torch::Device device);

}  // namespace qs
