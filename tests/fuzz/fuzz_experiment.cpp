// libFuzzer harness: an experiment file, with what experiment_load checks of it.
#include "fuzz_input.hpp"
#include "quantscope/experiment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("experiment.json", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] { qs::experiment_load(path); });
  return 0;
}
