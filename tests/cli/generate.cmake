# Greedy generation from BOS on stories260K reproduces llama2.c's known story, streamed to stdout;
# --json carries the same text; a prompt is echoed and continued; sampling with a seed repeats.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(model "${DATA}/models/stories260K/stories260K.bin")
set(tokenizer "${DATA}/models/stories260K/tok512.model")
data_require("${model}" "${tokenizer}")
set(story "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.")

cli_expect(r 0 generate "${model}" --tokenizer "${tokenizer}" --max-new 200 --temperature 0)
string(FIND "${r_out}" "${story}" at)
if(NOT at EQUAL 0)
  cli_fail(r "greedy text does not start with the reference story")
endif()
set(greedy "${r_out}")

cli_expect(r 0 generate "${model}" --tokenizer "${tokenizer}" --max-new 200 --temperature 0 --json)
json_get(text "${r_out}" text)
json_get(tokens "${r_out}" tokens)
string(JSON count LENGTH "${tokens}")
if(NOT "${text}\n" STREQUAL "${greedy}" OR count LESS 20 OR count GREATER 200)
  cli_fail(r "--json text differs from the streamed text or has ${count} tokens")
endif()

cli_expect(r 0 generate "${model}" --tokenizer "${tokenizer}" --prompt "Once upon a time, there was a dog" --max-new 30
           --temperature 0)
expect_match(r out "^Once upon a time, there was a dog[^\n]")

cli_expect(a 0 generate "${model}" --tokenizer "${tokenizer}" --max-new 60 --temperature 1 --top-k 40 --seed 7)
cli_expect(b 0 generate "${model}" --tokenizer "${tokenizer}" --max-new 60 --temperature 1 --top-k 40 --seed 7)
if(NOT a_out STREQUAL b_out OR a_out STREQUAL greedy)
  cli_fail(a "sampling with one seed is not repeatable, or equals the greedy text")
endif()
