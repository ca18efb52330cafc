// libFuzzer harness: an experiment results file (results.h5, HDF5).
#include "fuzz_input.hpp"
#include "quantscope/results.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("results.h5", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] { qs::results_read(path); });
  return 0;
}
