# `eval --packed` and `generate --packed` without --format or --plan: the layers a GGUF or a packed
# checkpoint stores in a format the decode kernels take are held as their stored codes, report
# packed_layers, and evaluate close to the model read the usual way, on the CPU and, where CUDA is
# available, on the GPU: within 3e-3 for the GGUF (llama.cpp's fp16 scales become bf16 in the records,
# up to 2⁻⁸ each: its q8_0 layers move perplexity by about 5e-4), within 1e-5 for the packed
# checkpoint (its formats differ only by float32 rounding; q4_0 of a bf16 model has bf16 scales). A
# model that stores none has nothing to pack.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)

set(text "${SOURCE}/resources/models/demo/heldout-sample.txt")
# q4_k on attention, q6_k on gate and up (256 inputs), q8_0 on down (640: not a k-quant super-block).
file(WRITE "${WORK}/gguf.json" [[{
  "default": {"weight": "q8_0"},
  "layers": {"model.layers.*.self_attn.*": "q4_k", "model.layers.*.mlp.gate_proj": "q6_k",
             "model.layers.*.mlp.up_proj": "q6_k"}
}
]])
cli_expect(r 0 export demo --plan "${WORK}/gguf.json" --to gguf --out "${WORK}/demo.gguf")
# Every family PackedLinear holds, and nf4 on the 3 mlp layers of block 3, which stays decoded.
file(WRITE "${WORK}/packed.json" [[{
  "default": {"weight": "int4:g64"},
  "layers": {"model.layers.0.*": "kmeans2", "model.layers.1.self_attn.*": "quest3",
             "model.layers.1.mlp.*": "int3:g128:asym", "model.layers.2.*": "q4_0", "model.layers.3.mlp.*": "nf4"}
}
]])
cli_expect(r 0 export demo --plan "${WORK}/packed.json" --to quantscope --out "${WORK}/packed")

foreach(stored "demo.gguf:28:3000" "packed:25:10")
  string(REPLACE ":" ";" stored "${stored}")
  list(GET stored 0 name)
  list(GET stored 1 want_layers)
  list(GET stored 2 ppm)
  cli_expect(r 0 eval "${WORK}/${name}" --text "${text}" --max-tokens 300 --json)
  json_get(plain "${r_out}" perplexity)
  cli_expect(r 0 eval "${WORK}/${name}" --text "${text}" --max-tokens 300 --packed --json)
  json_get(packed "${r_out}" perplexity)
  json_get(layers "${r_out}" packed_layers)
  json_get(bytes "${r_out}" packed_bytes)
  expect_near("${name} --packed perplexity" "${packed}" "${plain}" ${ppm})
  set(plain_${want_layers} "${plain}")
  if(NOT layers EQUAL want_layers OR bytes LESS 1)
    cli_fail(r "${name} --packed holds ${layers} layers packed in ${bytes} bytes, expected ${want_layers} layers")
  endif()
endforeach()
cli_expect(r 0 eval "${WORK}/demo.gguf" --text "${text}" --max-tokens 300 --packed)
expect_match(r out "packed +28 stored tensors held as codes, ")
cli_expect(r 0 generate "${WORK}/demo.gguf" --packed --prompt "The whale" --max-new 8 --temperature 0)

cli_expect(r 2 eval demo --text "${text}" --max-tokens 50 --packed)
expect_match(r err "--packed: [^\n]* stores no layer in a format held as codes")

cli_expect(r 0 --version)
if(NOT r_out MATCHES "CUDA: available")
  message(STATUS "the --device cuda part needs CUDA, which is not available here")
  return()
endif()
cli_expect(r 0 eval "${WORK}/demo.gguf" --text "${text}" --max-tokens 300 --packed --device cuda --json)
json_get(cuda "${r_out}" perplexity)
expect_near("demo.gguf --packed --device cuda perplexity" "${cuda}" "${plain_28}" 3000)
cli_expect(r 0 generate "${WORK}/demo.gguf" --packed --device cuda --prompt "The whale" --max-new 8 --temperature 0)
