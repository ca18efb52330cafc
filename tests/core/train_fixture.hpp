// A tiny training setup shared by the trainer and QAT tests: synthetic documents from a small grammar
// (learnable structure, generated here, so nothing outside the repository is needed), the demo
// model's tokenizer and a small fresh-model config writing into a temporary folder.
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "quantscope/train.hpp"
#include "temp_dir.hpp"

namespace qs::test {

inline const std::filesystem::path kTokenizer = std::filesystem::path(QS_SOURCE_DIR) / "resources/models/demo/tokenizer.model";

inline void file_write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Documents of sentences from a small grammar: learnable structure (articles before nouns, verbs
// after subjects, a full stop after objects) that a tiny model picks up within a hundred steps.
inline std::string synthetic_text(uint32_t seed, int documents) {
  static const std::vector<std::string> adjectives = {"little", "old", "green", "happy", "quiet", "brave"};
  static const std::vector<std::string> nouns = {"cat", "dog", "bird", "king", "river", "garden", "ship", "child"};
  static const std::vector<std::string> verbs = {"sees", "follows", "finds", "loves", "helps", "watches"};
  uint32_t state = seed;
  const auto pick = [&](const std::vector<std::string>& words) {
    state = state * 1664525u + 1013904223u;
    return words[(state >> 16) % words.size()];
  };
  std::string text;
  for (int d = 0; d < documents; ++d) {
    if (d > 0) text += "\n\n\n";
    for (int s = 0; s < 12; ++s) {
      text += "The " + pick(adjectives) + " " + pick(nouns) + " " + pick(verbs) + " the " + pick(nouns) + ". ";
      if (s == 5) text += "\n\n";
    }
  }
  return text;
}

inline qs::TrainConfig train_config_tiny(const qs::test::TempDir& dir) {
  file_write(dir.path() / "train.txt", synthetic_text(1, 60));
  file_write(dir.path() / "heldout.txt", synthetic_text(2, 6));
  qs::TrainConfig c;
  qs::ModelConfig shape;
  shape.hidden_size = 64;
  shape.intermediate_size = 128;
  shape.num_hidden_layers = 2;
  shape.num_attention_heads = 4;
  shape.num_key_value_heads = 2;
  shape.head_dim = 16;
  shape.max_position_embeddings = 64;
  shape.tie_word_embeddings = true;
  c.shape = shape;
  c.tokenizer = kTokenizer;
  c.train_files = {dir.path() / "train.txt"};
  c.heldout_file = dir.path() / "heldout.txt";
  c.ctx = 48;
  c.batch_size = 8;
  c.lr = 1e-2;
  c.warmup_steps = 10;
  c.eval_batches = 2;
  c.log_every = 1;
  c.checkpoint_every = 0;
  c.out_dir = dir.path() / "run";
  return c;
}


// A macro, not a function: GTEST_SKIP must return from the test body itself.
#define skip_without_tokenizer()                                                                   \
  do {                                                                                             \
    if (!std::filesystem::exists(qs::test::kTokenizer))                                            \
      GTEST_SKIP() << "demo tokenizer missing: " << qs::test::kTokenizer;                          \
  } while (0)

}  // namespace qs::test
