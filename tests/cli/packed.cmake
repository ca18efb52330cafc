# Import: a packed Quantscope checkpoint of a mixed plan opens in info and eval with each layer's stored
# format and evaluates exactly as the plan applied on the fly; its dequantized weights, written out by
# the C++ reader, equal bit for bit what the numpy reference reader (docs/quantscope_packed_reader.py)
# decodes from the documented layout; and a GGUF opens in info, eval and quantize like any model, and
# info --reference shows what its types did to the model it was made from.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

set(text "${SOURCE}/resources/models/demo/heldout-sample.txt")
set(plan "${WORK}/mixed.json")
file(WRITE "${plan}" [[{
  "default": {"weight": "int4:g64"},
  "layers": {
    "model.layers.0.*": "kmeans2",
    "model.layers.1.self_attn.*": "quest3",
    "model.layers.1.mlp.*": "int3:g100:asym",
    "model.layers.2.*": "q8_0",
    "model.layers.3.mlp.*": "nf4",
    "model.layers.3.self_attn.q_proj": "kmeans3:channel",
    "model.layers.3.self_attn.k_proj": "bf16",
    "model.layers.3.self_attn.v_proj": "int1",
    "model.layers.3.self_attn.o_proj": "kmeans2:h128"
  }
}
]])
cli_expect(r 0 export demo --plan "${plan}" --to quantscope --out "${WORK}/packed")
expect_match(r out "^wrote [^\n]*packed: [0-9.]+ MiB \\([0-9.]+ % of 7\\.25 MiB in bf16\\)")
cli_expect(r 0 info "${WORK}/packed" --json)
json_get(format "${r_out}" format)
json_get(first "${r_out}" stored_formats 0)
if(NOT format STREQUAL "quantscope" OR NOT first STREQUAL "kmeans2")
  cli_fail(r "format ${format}, first stored format ${first}")
endif()
cli_expect(r 0 info "${WORK}/packed")
expect_match(r out "Quantscope packed checkpoint")
expect_match(r out "model\\.layers\\.1\\.mlp\\.up_proj +[0-9 x]+ +[0-9,]+ +int3:g100:asym\n")

cli_expect(r 0 eval "${WORK}/packed" --text "${text}" --max-tokens 300 --json)
json_get(reopened "${r_out}" perplexity)
cli_expect(r 0 eval demo --plan "${plan}" --text "${text}" --max-tokens 300 --json)
json_get(fly "${r_out}" perplexity)
if(NOT reopened STREQUAL fly)
  cli_fail(r "the packed checkpoint's perplexity ${reopened} differs from on-the-fly ${fly}")
endif()

# The reference reader against the C++ reader's decode (f32 keeps every value).
cli_expect(r 0 export "${WORK}/packed" --format f32 --to hf --out "${WORK}/decoded")
if(NOT PYTHON)
  message("SKIPPED: no python3 to run the reference reader")
  return()
endif()
execute_process(COMMAND "${PYTHON}" -c "import numpy" RESULT_VARIABLE numpy_missing OUTPUT_QUIET ERROR_QUIET)
if(numpy_missing)
  message("SKIPPED: ${PYTHON} has no numpy (packaging/install-deps.sh installs python3-numpy)")
  return()
endif()
set(reader_args "${WORK}/packed" --compare "${WORK}/decoded")
if(EXISTS "${LLAMA_DIR}/gguf-py/gguf/quants.py")
  list(APPEND reader_args --gguf-py "${LLAMA_DIR}/gguf-py")
else()
  # Without llama.cpp's gguf-py (installed by packaging/install-test-clients.sh) its q8_0 layers are
  # left to the C++ tests: the reader checks the plan with int8 in their place.
  message("llama.cpp's gguf-py is absent: the reference reader checks the plan without q8_0")
  file(READ "${plan}" plan_text)
  string(REPLACE "\"q8_0\"" "\"int8\"" plan_text "${plan_text}")
  file(WRITE "${WORK}/no-gguf.json" "${plan_text}")
  cli_expect(r 0 export demo --plan "${WORK}/no-gguf.json" --to quantscope --out "${WORK}/packed-no-gguf")
  cli_expect(r 0 export "${WORK}/packed-no-gguf" --format f32 --to hf --out "${WORK}/decoded-no-gguf")
  set(reader_args "${WORK}/packed-no-gguf" --compare "${WORK}/decoded-no-gguf")
endif()
execute_process(COMMAND "${PYTHON}" "${SOURCE}/docs/quantscope_packed_reader.py" ${reader_args}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the reference reader disagrees with the C++ reader (${status}):\n${out}\n${err}")
endif()
if(NOT out MATCHES "([0-9]+) of ([0-9]+) tensors equal bit for bit")
  message(FATAL_ERROR "unexpected reader output:\n${out}")
endif()

# An output that cannot be made is a clear error, and leaves nothing.
file(WRITE "${WORK}/a-file" "")
cli_expect(r 1 export demo --format int4 --to quantscope --out "${WORK}/a-file/packed")
expect_match(r err "a-file")

# GGUF: info, eval and quantize take it.
cli_expect(r 0 export demo --format q4_0 --to gguf --out "${WORK}/demo-q4_0.gguf")
cli_expect(r 0 info "${WORK}/demo-q4_0.gguf")
expect_match(r out "GGUF \\(llama\\.cpp\\)")
expect_match(r out "stored as +q4_0 \\+ ")
cli_expect(r 0 eval "${WORK}/demo-q4_0.gguf" --text "${text}" --max-tokens 300 --json)
json_get(gguf "${r_out}" perplexity)
cli_expect(r 0 eval demo --format q4_0 --text "${text}" --max-tokens 300 --json)
json_get(q4 "${r_out}" perplexity)
if(NOT gguf STREQUAL q4)
  cli_fail(r "the GGUF's perplexity ${gguf} differs from the plan's ${q4}")
endif()
cli_expect(r 0 quantize "${WORK}/demo-q4_0.gguf" --format int4:g32)
# What the file's types did, layer by layer, against the model it was made from.
cli_expect(r 0 info "${WORK}/demo-q4_0.gguf" --reference demo)
expect_match(r out "stored +rel\\. MSE +SQNR dB +cosine\n")
cli_expect(r 0 info "${WORK}/demo-q4_0.gguf" --reference demo --json)
json_get(sqnr "${r_out}" linear_layers 0 against_reference sqnr_db)
expect_range("q4_0's SQNR on the demo model's first layer" "${sqnr}" 15 30)
if(EXISTS "${DATA}/models/stories260K/stories260K.bin")
  cli_expect(r 1 info "${WORK}/demo-q4_0.gguf" --reference "${DATA}/models/stories260K/stories260K.bin")
  expect_match(r err "has no layer model\\.layers\\.0\\.self_attn\\.q_proj of shape 256 x 256 to compare with")
endif()
