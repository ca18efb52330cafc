// libFuzzer harness: a sentencepiece model (tokenizer.model): the vocabulary parse core does itself, then the tokenizer opened through the sentencepiece shim and used.
#include "fuzz_input.hpp"
#include "io/sentencepiece_model.hpp"
#include "quantscope/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(qs::fuzz::bytes_of(data, size));
  const auto path = qs::fuzz::file_put("tokenizer.model", bytes);
  qs::fuzz::expect_clean([&] { qs::sentencepiece_vocab_parse(bytes, path); });
  qs::fuzz::expect_clean([&] {
    const auto tokenizer = qs::Tokenizer::open(path);
    tokenizer->decode(tokenizer->encode("Once upon a time, 42 ünïcode"));
  });
  return 0;
}
