# The word "demo" names the embedded demo model (resources/models/demo): it opens as an HF directory
# whose dimensions suit Hadamard-128 quantizers, and it generates text.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
if(NOT EXISTS "${SOURCE}/resources/models/demo/config.json")
  message(STATUS "SKIPPED: the demo model has not been committed yet (resources/models/demo/config.json)")
  return()
endif()

cli_expect(r 0 info demo --json)
json_get(format "${r_out}" format)
json_get(hidden "${r_out}" config hidden_size)
json_get(tokenizer "${r_out}" tokenizer)
math(EXPR remainder "${hidden} % 128")
if(NOT format STREQUAL "hf" OR NOT remainder EQUAL 0 OR tokenizer STREQUAL "")
  cli_fail(r "demo: format ${format}, hidden size ${hidden}, tokenizer '${tokenizer}'")
endif()

cli_expect(r 0 generate demo --prompt "The" --max-new 16 --temperature 0)
expect_match(r out "^The.")
