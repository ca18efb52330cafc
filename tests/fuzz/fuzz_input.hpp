// What every harness shares: the input written to a file where the reader expects one (the readers
// map or open files, as they do for a user), and the rule that a reader given any bytes either
// succeeds or throws qs::Error with a one-line message. Anything else (another exception, a crash, a
// sanitizer report, a leak) is a bug the harness makes fatal so that libFuzzer keeps the input.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "quantscope/error.hpp"
#include "quantscope/model.hpp"

namespace qs::fuzz {

// A folder of this process's own under the temporary folder, made on first use and removed at exit;
// each input overwrites the files it names.
class ScratchDir {
 public:
  ScratchDir() : path_(std::filesystem::temp_directory_path() / ("quantscope-fuzz-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const std::filesystem::path& scratch_dir() {
  static const ScratchDir dir;
  return dir.path();
}

inline std::filesystem::path file_put(const std::string& name, std::string_view bytes) {
  const std::filesystem::path path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out.flush()) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

inline std::string_view bytes_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `read`; a qs::Error with a non-empty one-line message is an accepted refusal.
template <typename Read>
void expect_clean(Read&& read) {
  try {
    read();
  } catch (const qs::Error& e) {
    const std::string_view message = e.what();
    if (message.empty() || message.find('\n') != std::string_view::npos) {
      std::fprintf(stderr, "fuzz harness: qs::Error message is not one line: \"%s\"\n", e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz harness: escaped as std::exception, not qs::Error: %s\n", e.what());
    std::abort();
  }
}

// A model that opened has every tensor read as float32, which runs the decoding of packed, GGUF and
// converted tensors over whatever the file held; models too large to read in one iteration stop at
// their layer list.
inline void model_touch(const qs::Model& model) {
  model.linear_layers();
  if (model.parameter_count() > (int64_t(1) << 22)) return;
  for (const std::string& name : model.tensor_names()) model.tensor_values(name);
}

}  // namespace qs::fuzz
