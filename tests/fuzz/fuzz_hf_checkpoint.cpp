// libFuzzer harness: a Hugging Face model folder (config.json beside model.safetensors, or beside
// model.safetensors.index.json and its shards), which is also how Quantscope's packed checkpoints are
// stored (their config says how the codes are laid out). The input is the folder's files joined by
// kSeparator: config.json, then model.safetensors, or the index (a part starting with '{') followed by
// shard-1.safetensors, shard-2.safetensors, ...
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "quantscope/model.hpp"

namespace {
constexpr std::string_view kSeparator{"\0QSFUZZ\0", 8};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = qs::fuzz::bytes_of(data, size);
  std::vector<std::string_view> parts;
  for (size_t at = 0;;) {
    const size_t next = input.find(kSeparator, at);
    parts.push_back(input.substr(at, next == std::string_view::npos ? std::string_view::npos : next - at));
    if (next == std::string_view::npos) break;
    at = next + kSeparator.size();
  }
  const std::filesystem::path dir = qs::fuzz::scratch_dir() / "hf";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  qs::fuzz::file_put("hf/config.json", parts[0]);
  if (parts.size() > 1) {
    const bool sharded = !parts[1].empty() && parts[1].front() == '{';
    qs::fuzz::file_put(sharded ? "hf/model.safetensors.index.json" : "hf/model.safetensors", parts[1]);
    for (size_t i = 2; sharded && i < parts.size(); ++i)
      qs::fuzz::file_put("hf/shard-" + std::to_string(i - 1) + ".safetensors", parts[i]);
  }
  qs::fuzz::expect_clean([&] {
    qs::fuzz::model_touch(*qs::model_load(dir));
  });
  return 0;
}
