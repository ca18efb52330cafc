# `export`: a GGUF of the demo model and its size line, the refusal of formats GGUF cannot hold (one
# line, exit 1) and the fallback that stores them, an existing output replaced only with --force, the
# model's own files never written, an output folder that cannot be made, and the dequantized HF folder
# evaluating like the model quantized on the fly.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

cli_expect(r 0 export demo --format q4_0 --to gguf --out "${WORK}/demo-q4_0.gguf")
expect_match(r out "^wrote [^\n]*demo-q4_0\\.gguf: 3\\.58 MiB \\(49\\.31 % of 7\\.25 MiB in bf16\\) in ")
cli_expect(r 0 export demo --format q4_0 --to gguf --out "${WORK}/same.gguf" --json)
json_get(bytes "${r_out}" bytes)
file(SIZE "${WORK}/same.gguf" size)
if(NOT bytes EQUAL size)
  cli_fail(r "reported ${bytes} bytes, wrote ${size}")
endif()

cli_expect(r 1 export demo --format kmeans2 --to gguf --out "${WORK}/k.gguf")
expect_match(r err "^quantscope-cli: gguf cannot hold 28 layers of the plan: kmeans2: k-means codebooks have no GGUF type[^\n]*and 18 more\\); --fallback TYPE stores them as TYPE\n$")
if(EXISTS "${WORK}/k.gguf")
  cli_fail(r "a refused export left ${WORK}/k.gguf")
endif()
cli_expect(r 0 export demo --format kmeans2 --to gguf --fallback q8_0 --out "${WORK}/k.gguf")
expect_match(r out "^28 layers stored as q8_0: model\\.layers\\.0\\.self_attn\\.q_proj, ")

cli_expect(r 1 export demo --format q4_0 --to gguf --out "${WORK}/demo-q4_0.gguf")
expect_match(r err "demo-q4_0\\.gguf: exists; --force replaces it")
cli_expect(r 0 export demo --format q8_0 --to gguf --out "${WORK}/demo-q4_0.gguf" --force)
cli_expect(r 1 export demo --format q4_0 --to gguf --out "${SOURCE}/resources/models/demo/tokenizer.model" --force)
expect_match(r err "refusing to write over a file of the model being exported")
file(WRITE "${WORK}/a-file" "")
cli_expect(r 1 export demo --format q4_0 --to gguf --out "${WORK}/a-file/demo.gguf")
expect_match(r err "a-file: cannot create the folder")
cli_expect(r 2 export demo --format q4_0 --out "${WORK}/x.gguf")
expect_match(r err "give --to TARGET \\(gguf, hf, quantscope, compressed-tensors\\)")
cli_expect(r 2 export demo --format q4_0 --to gguf --fallback kmeans9 --out "${WORK}/x.gguf")
expect_match(r err "--fallback: format 'kmeans9'")

# The dequantized folder evaluates as the model quantized on the fly.
set(text "${SOURCE}/resources/models/demo/heldout-sample.txt")
cli_expect(r 0 export demo --format int4:g32 --to hf --out "${WORK}/demo-int4")
cli_expect(r 0 eval "${WORK}/demo-int4" --text "${text}" --max-tokens 300 --json)
json_get(saved "${r_out}" perplexity)
cli_expect(r 0 eval demo --format int4:g32 --text "${text}" --max-tokens 300 --json)
json_get(fly "${r_out}" perplexity)
if(NOT saved STREQUAL fly)
  cli_fail(r "the exported folder's perplexity ${saved} differs from on-the-fly ${fly}")
endif()
