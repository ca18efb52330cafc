// libFuzzer harness: a task file (JSON lines of cloze and choice items).
#include "fuzz_input.hpp"
#include "quantscope/tasks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qs::fuzz::file_put("tasks.jsonl", qs::fuzz::bytes_of(data, size));
  qs::fuzz::expect_clean([&] { qs::task_file_load(path); });
  return 0;
}
