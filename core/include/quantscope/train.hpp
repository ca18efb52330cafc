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
#include "quantscope/plan.hpp"
#include "quantscope/run_file.hpp"

namespace qs {

class JobContext;

// How gradients pass a fake-quantized tensor (methods.md §1). All three give no gradient to scales
// or codebooks. Ste: identity. Clip: 1[x within clip_factor × the span of the outermost levels] (QuEST:
// |x| ≤ c·α_b·σ). Trust (QuEST): 1[|q(x) − x| ≤ T × half the local grid step], T = trust_factor;
// for Hadamard formats computed in the rotated space and rotated back.
enum class GradientEstimator { Ste, Clip, Trust };
const char* gradient_estimator_name(GradientEstimator estimator);
GradientEstimator gradient_estimator_parse(const std::string& text, const std::string& source);

struct EstimatorSettings {
  GradientEstimator kind = GradientEstimator::Trust;
  double trust_factor = 1.0;  // T, in half-steps
  double clip_factor = 1.0;   // c
};

// Quantization-aware training: every layer of the plan trains through its fake quantizer (weights,
// and inputs where the plan gives an activation format) while the optimizer updates float32 latent
// weights.
struct QatConfig {
  QuantPlan plan;
  EstimatorSettings estimator;
  // Full precision for this many steps, then every k-means codebook is fitted and fake quantization
  // switches on for weights and inputs (1-Bit Wonder's procedure; it applies to every format, so
  // that formats compare on equal terms). Unset: 1000 for a fresh model with k-means layers, else 0.
  std::optional<int64_t> fp_warmup_steps;
  int64_t kmeans_refit_every = 0;  // refit every k-means codebook every N steps after the first fit (0: never)
  // The final evaluation: the quantized model on the held-out text, at most this many tokens.
  int64_t final_eval_tokens = 16384;
};

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
  std::optional<QatConfig> qat;  // unset: full-precision training
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
  // QAT: mean over the quantized layers of the fraction of weight-gradient entries the estimator
  // zeroed (0 for straight-through), and of the relative weight-quantization error.
  std::optional<double> masked_fraction;
  std::optional<double> weight_error;
};

struct TrainResult {
  int64_t steps = 0;
  double final_train_loss = 0;
  double initial_heldout_loss = 0;
  double final_heldout_loss = 0;
  std::filesystem::path final_checkpoint;  // out_dir/final, an HF directory
  std::filesystem::path run_file;          // out_dir/run.h5, the telemetry
  RunFinal quantized;                      // QAT: the final evaluation of the quantized model
  double seconds = 0;
};

TrainResult train_run(const TrainConfig& config, JobContext* job = nullptr,
                      const std::function<void(const TrainLog&)>& on_log = {});

}  // namespace qs
