// The SIGKILL tests of the exporters: a model whose export takes long enough to be caught midway,
// and killing a forked child the moment a sign of its writing appears.
#pragma once
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "quantscope/demo_model.hpp"
#include "quantscope/model.hpp"
#include "synthetic_checkpoint.hpp"

namespace qs::test {

// A synthetic Llama of 85M parameters with the demo model's 4096-piece tokenizer, written to `dir`.
inline std::shared_ptr<Model> slow_export_model(const std::filesystem::path& dir) {
  ModelConfig c = synthetic_config("llama-2-7b");
  c.vocab_size = 4096, c.hidden_size = 1024, c.intermediate_size = 2816, c.num_hidden_layers = 6;
  c.num_attention_heads = c.num_key_value_heads = 8;
  c.head_dim = 128;
  SyntheticOptions synthetic;
  synthetic.tokenizer = demo_model_dir() / "tokenizer.model";
  synthetic_checkpoint_write(dir, c, synthetic);
  return model_load(dir);
}

// Polls `seen` for up to 20 s and kills `child` with SIGKILL once it is true (or at the end); reaps it.
// True when it was killed on the sign, with `signalled` saying whether SIGKILL ended it.
inline bool kill_when(pid_t child, const std::function<bool()>& seen, bool* signalled) {
  bool killed = false;
  for (int i = 0; i < 40000 && !killed; ++i) {
    if (seen()) {
      ::kill(child, SIGKILL);
      killed = true;
    } else {
      ::usleep(500);
    }
  }
  if (!killed) ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  *signalled = WIFSIGNALED(status);
  return killed;
}

// Whether a file whose name holds ".tmp-" (an atomic write in progress) is in `folder`.
inline bool temporary_file_in(const std::filesystem::path& folder) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

}  // namespace qs::test
