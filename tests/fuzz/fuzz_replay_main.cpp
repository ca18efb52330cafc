// The harnesses' main where libFuzzer is not linked (the GCC builds the README's test command makes):
// every input file given (or found in a folder given) runs once, then, with --mutate SECONDS, inputs
// made from them by random byte-level mutations run until the time is up. Blind mutation finds less
// than libFuzzer's coverage-guided search (the fuzz preset), but it runs on every CI build, so a
// reader that regresses on the committed corpus, or on inputs close to it, fails the suite.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "quantscope/file_read.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

// Where the input being run is kept, so that a crash can name it (the handler may only write).
char g_last_input[4096];

void crash_report(int signal) {
  const char head[] = "fuzz replay: crashed; the input is in ";
  (void)!::write(2, head, sizeof head - 1);
  (void)!::write(2, g_last_input, std::strlen(g_last_input));
  (void)!::write(2, "\n", 1);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

void input_run(const std::string& bytes, const std::string& keep) {
  if (!keep.empty()) {
    std::ofstream(keep, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
  }
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// One to eight edits of the kinds libFuzzer's mutator starts with: bits flipped, bytes set to values
// that end loops and overflow sizes, ranges erased, repeated or taken from another input, truncation.
std::string mutate(std::string s, const std::vector<std::string>& inputs, std::mt19937_64& rng) {
  static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x20, 0x40};
  auto below = [&](size_t n) { return n == 0 ? size_t(0) : size_t(rng() % n); };
  const int edits = 1 + int(rng() % 8);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 7) {
      case 0:
        if (!s.empty()) s[below(s.size())] ^= char(1u << (rng() % 8));
        break;
      case 1:
        if (!s.empty()) s[below(s.size())] = char(interesting[rng() % sizeof interesting]);
        break;
      case 2:
        if (!s.empty()) {
          const size_t at = below(s.size());
          s.erase(at, 1 + below(std::min<size_t>(s.size() - at, 64)));
        }
        break;
      case 3:
        if (!s.empty()) {
          const size_t at = below(s.size()), n = 1 + below(std::min<size_t>(s.size() - at, 64));
          s.insert(below(s.size() + 1), s.substr(at, n));
        }
        break;
      case 4: {
        const std::string& other = inputs[below(inputs.size())];
        if (!other.empty()) {
          const size_t at = below(other.size()), n = 1 + below(std::min<size_t>(other.size() - at, 256));
          s.insert(below(s.size() + 1), other.substr(at, n));
        }
        break;
      }
      case 5:
        s.resize(below(s.size() + 1));
        break;
      default:
        if (s.size() >= 8) {  // a little-endian 64-bit field made huge or negative
          const size_t at = below(s.size() - 7);
          const uint64_t v = rng() % 2 ? ~uint64_t(0) - (rng() % 4) : uint64_t(1) << (32 + rng() % 31);
          std::memcpy(s.data() + at, &v, 8);
        }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0;
  uint64_t seed = 1;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mutate" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (fs::is_directory(a)) {
      for (const auto& entry : fs::recursive_directory_iterator(a))
        if (entry.is_regular_file()) files.push_back(entry.path());
    } else if (fs::is_regular_file(a)) {
      files.push_back(a);
    } else {
      std::fprintf(stderr, "usage: %s [--mutate SECONDS] [--seed N] FILE|FOLDER...\n  no such file or folder: %s\n",
                   argv[0], a.c_str());
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  std::signal(SIGABRT, crash_report);
  std::signal(SIGSEGV, crash_report);
  std::signal(SIGBUS, crash_report);
  std::signal(SIGFPE, crash_report);

  std::vector<std::string> inputs;
  for (const fs::path& f : files) {
    std::snprintf(g_last_input, sizeof g_last_input, "%s", f.c_str());
    inputs.push_back(qs::file_read(f));
    input_run(inputs.back(), "");
  }
  std::printf("%zu inputs replayed\n", inputs.size());
  if (seconds <= 0 || inputs.empty()) return 0;

  const std::string keep = (fs::temp_directory_path() / ("quantscope-fuzz-input-" + std::to_string(::getpid()))).string();
  std::snprintf(g_last_input, sizeof g_last_input, "%s", keep.c_str());
  std::mt19937_64 rng(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  while (std::chrono::steady_clock::now() < end) {
    input_run(mutate(inputs[rng() % inputs.size()], inputs, rng), keep);
    ++runs;
  }
  fs::remove(keep);
  std::printf("%llu mutated inputs run (seed %llu)\n", static_cast<unsigned long long>(runs),
              static_cast<unsigned long long>(seed));
  return 0;
}
