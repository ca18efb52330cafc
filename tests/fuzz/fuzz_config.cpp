// libFuzzer harness: an HF config.json as the model readers parse it.
#include "fuzz_input.hpp"
#include "quantscope/model_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qs::fuzz::expect_clean([&] { qs::config_parse(std::string(qs::fuzz::bytes_of(data, size)), "config.json"); });
  return 0;
}
