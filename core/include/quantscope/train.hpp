// Full-precision training and fine-tuning of a Llama-family model: tokens from text files, random
// windows, AdamW with warm-up and cosine decay, gradient clipping, held-out evaluation, checkpoints
// as HF directories, resume. The QAT work builds on this.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "quantscope/device.hpp"
#include "quantscope/dtype.hpp"
#include "quantscope/model_config.hpp"

namespace qs {

class JobContext;

struct TrainConfig {
  // Either start from a model (fine-tune) or from a fresh one of `shape` (vocab_size 0: the
  // tokenizer's; BOS and EOS ids always come from the tokenizer).
  std::filesystem::path init_model;
  std::optional<ModelConfig> shape;
  std::filesystem::path tokenizer;  // required with `shape`; taken from the model otherwise
  std::vector<std::filesystem::path> train_files;
  std::filesystem::path heldout_file;  // optional; else the last heldout_fraction of the tokens
  double heldout_fraction = 0.02;

  int64_t steps = 1000;
  int64_t batch_size = 16;
  int64_t grad_accum = 1;
  int64_t ctx = 256;
  double lr = 1e-3;
  double min_lr_ratio = 0.1;  // cosine decays to lr * min_lr_ratio
  int64_t warmup_steps = 100;
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double grad_clip = 1.0;
  int64_t eval_every = 100;
  int64_t eval_batches = 8;
  int64_t checkpoint_every = 500;
  int64_t log_every = 10;
  uint64_t seed = 0;
  Device device = Device::Cpu;
  ComputeType compute = ComputeType::F32;
  std::filesystem::path out_dir;
  bool resume = false;  // continue from out_dir/last when it exists
  // Weights of out_dir/final (F32, BF16 or F16); checkpoints stay F32 so that resuming is exact.
  DType final_dtype = DType::F32;
};

// Reads the JSON config (format in docs/train-config.md); relative paths resolve against the file's
// folder. Unknown keys are errors naming the key.
TrainConfig train_config_load(const std::filesystem::path& path);

// Step 0 reports the held-out loss before training (only heldout_loss is set); later entries the
// means over the steps since the previous entry.
struct TrainLog {
  int64_t step = 0;
  double loss = 0;
  double lr = 0;
  double grad_norm = 0;
  double tokens_per_second = 0;
  std::optional<double> heldout_loss;  // set on evaluation steps
};

struct TrainResult {
  int64_t steps = 0;
  double final_train_loss = 0;
  double initial_heldout_loss = 0;
  double final_heldout_loss = 0;
  std::filesystem::path final_checkpoint;  // out_dir/final, an HF directory
  double seconds = 0;
};

TrainResult train_run(const TrainConfig& config, JobContext* job = nullptr,
                      const std::function<void(const TrainLog&)>& on_log = {});

}  // namespace qs
