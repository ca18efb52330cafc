// libFuzzer harness: a GGUF file opened as a model (header, metadata, tensor table, the vocabulary turned into a tokenizer).
#include "fuzz_input.hpp"
#include "quantscope/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("model.gguf", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] { qs::fuzz::model_touch(*qs::model_load(path)); });
  return 0;
}
