// The trainer's tokens: text files cut into documents and tokenized once into one stream per split,
// the seeded sampler of random training windows (its state is saved with each checkpoint so a resumed
// run draws the same windows), and the fixed held-out windows every evaluation reuses.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "quantscope/train.hpp"

namespace qs {

class Tokenizer;

// Each document becomes BOS, its tokens, EOS (when the tokenizer has one). A document break is a run
// of two or more empty lines, so paragraphs (one empty line) stay inside their document.
struct TrainTokens {
  std::vector<int32_t> train, heldout;
  std::string heldout_source;  // the held-out file, or "the last N% of the training tokens"
};

// The held-out stream is config.heldout_file's, else the last heldout_fraction of the training
// stream. Throws Io for unreadable files and Invalid when a split is too short for one window.
TrainTokens train_tokens_build(const TrainConfig& config, const Tokenizer& tokenizer, JobContext* job);

// Every window is BOS followed by ctx tokens of the stream, ctx + 1 ids in all: the model reads the
// first ctx and predicts the last ctx, so position 0 always holds BOS as in evaluation.
class WindowSampler {
 public:
  WindowSampler(const std::vector<int32_t>& tokens, int64_t ctx, int bos, uint64_t seed);
  // [batch, ctx + 1] int64 on the CPU.
  torch::Tensor next(int64_t batch);
  // The generator's full state as text (std::mt19937_64's portable stream format).
  std::string state() const;
  void restore(const std::string& state);

 private:
  const std::vector<int32_t>& tokens_;
  int64_t ctx_;
  int bos_;
  std::mt19937_64 generator_;
};

// `count` windows at evenly spaced starts over the held-out stream, [count, ctx + 1] int64 on the CPU.
torch::Tensor heldout_windows_build(const std::vector<int32_t>& tokens, int64_t ctx, int bos, int64_t count);

}  // namespace qs
