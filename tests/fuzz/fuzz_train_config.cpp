// libFuzzer harness: a training configuration (train --config).
#include "fuzz_input.hpp"
#include "quantscope/train.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("train.json", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] { qs::train_config_load(path); });
  return 0;
}
