// libFuzzer harness: a llama2.c checkpoint (.bin) opened as a model.
#include "fuzz_input.hpp"
#include "quantscope/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("model.bin", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] { qs::fuzz::model_touch(*qs::model_load(path)); });
  return 0;
}
