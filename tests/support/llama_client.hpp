// llama.cpp itself as the client of the GGUF export tests: v0.4.0's prebuilt CPU libraries, installed
// by packaging/install-test-clients.sh, opened with dlopen (so that the test binary runs without them)
// and driven through llama.h: load a GGUF, decode token ids with an F32 KV cache and no flash
// attention, read every position's logits, or continue greedily and detokenize; and quantize a GGUF
// with llama.cpp's own tool (llama-quantize's function) into a file recipe such as Q4_K_M. Compiled only where
// the headers were found at configure time (QS_LLAMA_LIB_DIR); error() says why it cannot run.
#pragma once
#if defined(QS_LLAMA_LIB_DIR) && __has_include(<llama.h>)
#include <dlfcn.h>
#include <ggml-backend.h>
#include <llama.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#define QS_HAVE_LLAMA_CLIENT 1

namespace qs::test {

class LlamaClient {
 public:
  static const LlamaClient& get() {
    static const LlamaClient client;
    return client;
  }
  const std::string& error() const { return error_; }

  // Logits of every position, [tokens.size()][vocab].
  std::vector<std::vector<float>> logits(const std::filesystem::path& gguf, const std::vector<int>& tokens) const {
    Session s(*this, gguf, int(tokens.size()));
    llama_batch batch = f_.batch_init(int32_t(tokens.size()), 0, 1);
    for (size_t i = 0; i < tokens.size(); ++i) {
      batch.token[i] = tokens[i];
      batch.pos[i] = llama_pos(i);
      batch.n_seq_id[i] = 1;
      batch.seq_id[i][0] = 0;
      batch.logits[i] = 1;
    }
    batch.n_tokens = int32_t(tokens.size());
    const int32_t status = f_.decode(s.context, batch);
    std::vector<std::vector<float>> out;
    if (status == 0)
      for (size_t i = 0; i < tokens.size(); ++i) {
        const float* l = f_.get_logits_ith(s.context, int32_t(i));
        out.emplace_back(l, l + s.vocab_size);
      }
    f_.batch_free(batch);
    if (status != 0) throw std::runtime_error("llama_decode failed with " + std::to_string(status));
    return out;
  }

  // `count` tokens after `prompt`, each the argmax of llama.cpp's logits, and their text.
  std::string greedy(const std::filesystem::path& gguf, const std::vector<int>& prompt, int count) const {
    std::vector<int> tokens = prompt;
    std::string text;
    for (int i = 0; i < count; ++i) {
      const std::vector<float> last = logits(gguf, tokens).back();
      const int next = int(std::max_element(last.begin(), last.end()) - last.begin());
      tokens.push_back(next);
      text += piece(gguf, next);
    }
    return text;
  }

  // llama_model_quantize: `in` to `out` in the recipe `ftype` (LLAMA_FTYPE_MOSTLY_Q4_K_M, ...).
  void quantize(const std::filesystem::path& in, const std::filesystem::path& out, llama_ftype ftype) const {
    llama_model_quantize_params p = f_.quantize_default_params();
    p.ftype = ftype;
    p.nthread = 2;
    if (f_.model_quantize(in.c_str(), out.c_str(), &p) != 0)
      throw std::runtime_error("llama_model_quantize failed on " + in.string());
  }

 private:
  struct Functions {
    decltype(&llama_model_quantize_default_params) quantize_default_params;
    decltype(&llama_model_quantize) model_quantize;
    decltype(&llama_backend_init) backend_init;
    decltype(&llama_log_set) log_set;
    decltype(&llama_model_default_params) model_default_params;
    decltype(&llama_model_load_from_file) model_load_from_file;
    decltype(&llama_model_free) model_free;
    decltype(&llama_context_default_params) context_default_params;
    decltype(&llama_init_from_model) init_from_model;
    decltype(&llama_free) free;
    decltype(&llama_batch_init) batch_init;
    decltype(&llama_batch_free) batch_free;
    decltype(&llama_decode) decode;
    decltype(&llama_get_logits_ith) get_logits_ith;
    decltype(&llama_model_get_vocab) model_get_vocab;
    decltype(&llama_vocab_n_tokens) vocab_n_tokens;
    decltype(&llama_token_to_piece) token_to_piece;
  };

  // A loaded model and its context, freed together.
  struct Session {
    Session(const LlamaClient& c, const std::filesystem::path& gguf, int tokens) : f(c.f_) {
      llama_model_params mp = f.model_default_params();
      mp.n_gpu_layers = 0;
      model = f.model_load_from_file(gguf.c_str(), mp);
      if (!model) throw std::runtime_error("llama.cpp could not load " + gguf.string());
      llama_context_params cp = f.context_default_params();
      cp.n_ctx = uint32_t(std::max(tokens, 16));
      cp.n_batch = cp.n_ubatch = uint32_t(std::max(tokens, 16));
      cp.n_threads = cp.n_threads_batch = 2;
      cp.type_k = cp.type_v = GGML_TYPE_F32;
      cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
      context = f.init_from_model(model, cp);
      if (!context) {
        f.model_free(model);
        throw std::runtime_error("llama.cpp could not make a context for " + gguf.string());
      }
      vocab_size = f.vocab_n_tokens(f.model_get_vocab(model));
    }
    ~Session() {
      f.free(context);
      f.model_free(model);
    }
    const Functions& f;
    llama_model* model = nullptr;
    llama_context* context = nullptr;
    int vocab_size = 0;
  };

  std::string piece(const std::filesystem::path& gguf, int token) const {
    Session s(*this, gguf, 1);
    char buffer[256];
    const int32_t n = f_.token_to_piece(f_.model_get_vocab(s.model), token, buffer, sizeof buffer, 0, false);
    return n > 0 ? std::string(buffer, size_t(n)) : std::string();
  }

  LlamaClient() {
    const std::string dir = QS_LLAMA_LIB_DIR;
    void* ggml = dlopen((dir + "/libggml.v0.4.0.so").c_str(), RTLD_NOW | RTLD_GLOBAL);
    void* llama = ggml ? dlopen((dir + "/libllama.v0.4.0.so").c_str(), RTLD_NOW | RTLD_GLOBAL) : nullptr;
    if (!llama) {
      error_ = std::string("cannot open llama.cpp's libraries in ") + dir + ": " + dlerror();
      return;
    }
    const auto load_all = reinterpret_cast<decltype(&ggml_backend_load_all_from_path)>(
        dlsym(ggml, "ggml_backend_load_all_from_path"));
    const auto sym = [&](const char* name) {
      void* p = dlsym(llama, name);
      if (!p && error_.empty()) error_ = std::string("libllama lacks ") + name;
      return p;
    };
    f_.quantize_default_params =
        reinterpret_cast<decltype(f_.quantize_default_params)>(sym("llama_model_quantize_default_params"));
    f_.model_quantize = reinterpret_cast<decltype(f_.model_quantize)>(sym("llama_model_quantize"));
    f_.backend_init = reinterpret_cast<decltype(f_.backend_init)>(sym("llama_backend_init"));
    f_.log_set = reinterpret_cast<decltype(f_.log_set)>(sym("llama_log_set"));
    f_.model_default_params = reinterpret_cast<decltype(f_.model_default_params)>(sym("llama_model_default_params"));
    f_.model_load_from_file = reinterpret_cast<decltype(f_.model_load_from_file)>(sym("llama_model_load_from_file"));
    f_.model_free = reinterpret_cast<decltype(f_.model_free)>(sym("llama_model_free"));
    f_.context_default_params =
        reinterpret_cast<decltype(f_.context_default_params)>(sym("llama_context_default_params"));
    f_.init_from_model = reinterpret_cast<decltype(f_.init_from_model)>(sym("llama_init_from_model"));
    f_.free = reinterpret_cast<decltype(f_.free)>(sym("llama_free"));
    f_.batch_init = reinterpret_cast<decltype(f_.batch_init)>(sym("llama_batch_init"));
    f_.batch_free = reinterpret_cast<decltype(f_.batch_free)>(sym("llama_batch_free"));
    f_.decode = reinterpret_cast<decltype(f_.decode)>(sym("llama_decode"));
    f_.get_logits_ith = reinterpret_cast<decltype(f_.get_logits_ith)>(sym("llama_get_logits_ith"));
    f_.model_get_vocab = reinterpret_cast<decltype(f_.model_get_vocab)>(sym("llama_model_get_vocab"));
    f_.vocab_n_tokens = reinterpret_cast<decltype(f_.vocab_n_tokens)>(sym("llama_vocab_n_tokens"));
    f_.token_to_piece = reinterpret_cast<decltype(f_.token_to_piece)>(sym("llama_token_to_piece"));
    if (!load_all) error_ = "libggml lacks ggml_backend_load_all_from_path";
    if (!error_.empty()) return;
    load_all(dir.c_str());  // the CPU backend is a variant chosen for this processor
    f_.log_set([](ggml_log_level level, const char* text, void*) {
      if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
    }, nullptr);
    f_.backend_init();
  }

  Functions f_{};
  std::string error_;
};

}  // namespace qs::test
#endif
