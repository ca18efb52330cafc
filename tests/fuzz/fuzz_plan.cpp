// libFuzzer harness: a quantization plan (JSON) as plan_load parses it.
#include "fuzz_input.hpp"
#include "quantscope/plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qs::fuzz::expect_clean([&] { qs::plan_parse(std::string(qs::fuzz::bytes_of(data, size)), "plan.json"); });
  return 0;
}
