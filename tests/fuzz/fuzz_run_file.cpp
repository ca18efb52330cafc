// libFuzzer harness: a training run file (run.h5, HDF5) as resume and the GUI read it.
#include "fuzz_input.hpp"
#include "quantscope/run_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("run.h5", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] { qs::run_file_read(path); });
  return 0;
}
