// libFuzzer harness: a safetensors file's header and tensor table, then every tensor's bytes read through the views the reader hands out (a view past the mapping would be an ASan report).
#include "fuzz_input.hpp"
#include "quantscope/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("input.safetensors", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] {
    const qs::SafetensorsFile file = qs::SafetensorsFile::open(path);
    volatile unsigned sum = 0;
    for (const qs::TensorInfo& info : file.tensors()) {
      const auto bytes = file.bytes(info);
      if (!bytes.empty()) sum = sum + unsigned(bytes.front()) + unsigned(bytes.back());
    }
  });
  return 0;
}
