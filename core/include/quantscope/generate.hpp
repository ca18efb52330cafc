// Text generation with a KV cache: greedy (temperature 0) or sampled.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qs {

class Model;
class JobContext;

struct GenerateOptions {
  std::string prompt;         // BOS is always prepended
  int64_t max_new = 256;      // stops earlier at EOS or at the model's max positions
  double temperature = 0.8;   // 0: greedy
  int64_t top_k = 0;          // 0: no top-k cut
  double top_p = 1.0;         // nucleus sampling; 1: off
  uint64_t seed = 0;
};

struct GenerateResult {
  std::vector<int> tokens;  // generated tokens only
  std::string text;         // decoded generated text
  double tokens_per_second = 0;
};

// on_text receives each newly decoded piece of text as it is produced (for streaming output).
GenerateResult text_generate(const Model& model, const GenerateOptions& options,
                             const std::function<void(const std::string&)>& on_text = {},
                             JobContext* job = nullptr);

}  // namespace qs
