// quantscope-synth: writes a synthetic checkpoint of a real model's shape (see
// tests/support/synthetic_checkpoint.hpp) for the large-model benchmarks in docs/performance.md.
#include <iostream>
#include <string>

#include "quantscope/error.hpp"
#include "synthetic_checkpoint.hpp"

namespace {

int usage() {
  std::cerr << "usage: quantscope-synth PRESET DIR [--dtype bf16|f16|f32] [--layers N] [--vocab N] [--seed N] [--tokenizer FILE]\n"
               "presets:";
  for (const std::string& name : qs::test::synthetic_presets()) std::cerr << ' ' << name;
  std::cerr << '\n';
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || (argc - 3) % 2 != 0) return usage();
  try {
    qs::ModelConfig config = qs::test::synthetic_config(argv[1]);
    qs::test::SyntheticOptions options;
    for (int i = 3; i + 1 < argc; i += 2) {
      const std::string a = argv[i], v = argv[i + 1];
      if (a == "--dtype") {
        options.dtype = v == "bf16" ? qs::DType::BF16 : v == "f16" ? qs::DType::F16 : v == "f32" ? qs::DType::F32 : qs::DType::U8;
        if (options.dtype == qs::DType::U8) return usage();
      } else if (a == "--layers") {
        config.num_hidden_layers = std::stoll(v);
      } else if (a == "--vocab") {  // to match a tokenizer, so that generated ids decode
        config.vocab_size = std::stoll(v);
      } else if (a == "--seed") {
        options.seed = std::stoull(v);
      } else if (a == "--tokenizer") {
        options.tokenizer = v;
      } else {
        return usage();
      }
    }
    qs::test::synthetic_checkpoint_write(argv[2], config, options);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "quantscope-synth: " << e.what() << '\n';
    return 1;
  }
}
