// Synthetic Llama-family checkpoints of real sizes (Llama-3.2-1B, Llama-3-8B, a 70B layer stack) for
// the large-model tests and benchmarks: Hugging Face directories with random weights, written a block
// at a time so that a 16 GB checkpoint needs a few MiB of memory to make.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "quantscope/dtype.hpp"
#include "quantscope/model_config.hpp"

namespace qs::test {

// "llama-3.2-1b" (1.24B, tied), "llama-3-8b" (8.03B), "llama-2-70b-8layers" (70B's blocks, 8 of them);
// throws Invalid for another name.
ModelConfig synthetic_config(const std::string& preset);
std::vector<std::string> synthetic_presets();

struct SyntheticOptions {
  DType dtype = DType::BF16;                 // BF16, F16 or F32
  uint64_t seed = 0;
  uint64_t shard_bytes = uint64_t{5} << 30;  // HF's shard size; one file when everything fits
  std::filesystem::path tokenizer;           // copied in as tokenizer.model when given
};

// Writes config.json and model.safetensors, or model-0000i-of-0000n.safetensors shards with
// model.safetensors.index.json. Weights ~ N(0, 0.02²) (an Irwin-Hall approximation, deterministic in
// the seed and the tensor's name), norms 1. Refuses a non-empty `dir`.
void synthetic_checkpoint_write(const std::filesystem::path& dir, const ModelConfig& config,
                                const SyntheticOptions& options);

}  // namespace qs::test
