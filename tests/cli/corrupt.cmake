# Corrupt and unsupported checkpoints are each rejected with exit status 1 and one line on stderr
# that names the file, and the input is left as it was (same bytes, no stray files beside it).
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(bin "${DATA}/models/stories260K/stories260K.bin")
set(tokenizer "${DATA}/models/stories260K/tok512.model")
data_require("${bin}" "${tokenizer}")

set(config_json [=[{"model_type": "llama", "vocab_size": 8, "hidden_size": 4, "intermediate_size": 8,
 "num_hidden_layers": 1, "num_attention_heads": 1, "max_position_embeddings": 16}]=])

# safetensors_write(<dir> <u64 header length, or "" for the real one> <header JSON> <data bytes>):
# a model.safetensors with a config.json beside it.
function(safetensors_write dir length header data_bytes)
  file(MAKE_DIRECTORY "${dir}")
  file(WRITE "${dir}/config.json" "${config_json}")
  string(LENGTH "${header}" header_length)
  if(length STREQUAL "")
    set(length ${header_length})
  endif()
  u64_hex(length_hex ${length})
  string(HEX "${header}" header_hex)
  string(REPEAT "00" ${data_bytes} data_hex)
  bytes_write("${dir}/model.safetensors" "${length_hex}${header_hex}${data_hex}")
endfunction()

# reject(<file named in the error> <model argument> [more args]): exit 1, one line naming the file,
# and nothing in the model's folder changed.
function(reject file model)
  if(IS_DIRECTORY "${model}")
    set(folder "${model}")
  else()
    get_filename_component(folder "${model}" DIRECTORY)
  endif()
  file(GLOB_RECURSE before LIST_DIRECTORIES true "${folder}/*")
  set(hashes "")
  foreach(f ${before})
    if(NOT IS_DIRECTORY "${f}")
      file(SHA256 "${f}" h)
      list(APPEND hashes "${h}")
    endif()
  endforeach()

  cli_expect(r 1 info "${model}" ${ARGN})
  get_filename_component(name "${file}" NAME)
  string(REPLACE "." "\\." name "${name}")
  expect_match(r err "^quantscope-cli: [^\n]*${name}[^\n]*\n$")
  if(NOT "${r_out}" STREQUAL "")
    cli_fail(r "a rejected model printed on stdout")
  endif()

  file(GLOB_RECURSE after LIST_DIRECTORIES true "${folder}/*")
  set(hashes_after "")
  foreach(f ${after})
    if(NOT IS_DIRECTORY "${f}")
      file(SHA256 "${f}" h)
      list(APPEND hashes_after "${h}")
    endif()
  endforeach()
  if(NOT before STREQUAL after OR NOT hashes STREQUAL hashes_after)
    message(FATAL_ERROR "${model}: the folder changed while rejecting it\n  before: ${before}\n  after: ${after}")
  endif()
  set(r_err "${r_err}" PARENT_SCOPE)
endfunction()

# llama2.c checkpoints cut short: inside the weights, and right after the header.
file(MAKE_DIRECTORY "${WORK}/bin")
execute_process(COMMAND head -c 100000 "${bin}" OUTPUT_FILE "${WORK}/bin/truncated.bin")
reject("${WORK}/bin/truncated.bin" "${WORK}/bin/truncated.bin" --tokenizer "${tokenizer}")
execute_process(COMMAND head -c 28 "${bin}" OUTPUT_FILE "${WORK}/bin/header-only.bin")
reject("${WORK}/bin/header-only.bin" "${WORK}/bin/header-only.bin" --tokenizer "${tokenizer}")
# A header with zero dimensions (7 int32: dim 0, ...).
bytes_write("${WORK}/bin/zero-dim.bin" "00000000ac0000000500000008000000040000000002000000020000")
reject("${WORK}/bin/zero-dim.bin" "${WORK}/bin/zero-dim.bin" --tokenizer "${tokenizer}")

# safetensors: header length beyond the file, and over the 100 MB limit.
safetensors_write("${WORK}/long-header" 4294967295 "{}" 8)
reject("${WORK}/long-header/model.safetensors" "${WORK}/long-header/model.safetensors")
safetensors_write("${WORK}/huge-header" 200000000 "{}" 8)
reject("${WORK}/huge-header/model.safetensors" "${WORK}/huge-header")
# Header that is not JSON.
safetensors_write("${WORK}/bad-json" "" "{\"model.norm.weight\": {\"dtype\": \"F32\", " 16)
reject("${WORK}/bad-json/model.safetensors" "${WORK}/bad-json/model.safetensors")
# Unknown dtype.
safetensors_write("${WORK}/bad-dtype" ""
  "{\"model.norm.weight\": {\"dtype\": \"Q7\", \"shape\": [4], \"data_offsets\": [0, 16]}}" 16)
reject("${WORK}/bad-dtype/model.safetensors" "${WORK}/bad-dtype/model.safetensors")
# Offsets past the end of the data buffer (16 bytes claimed, 8 present).
safetensors_write("${WORK}/bad-offsets" ""
  "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}" 8)
reject("${WORK}/bad-offsets/model.safetensors" "${WORK}/bad-offsets")
# Byte range that disagrees with shape x element size.
safetensors_write("${WORK}/bad-size" ""
  "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 12]}}" 16)
reject("${WORK}/bad-size/model.safetensors" "${WORK}/bad-size/model.safetensors")

# An HF directory of an architecture Quantscope does not handle: the error names config.json and
# lists what is supported.
safetensors_write("${WORK}/gpt2" "" "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}" 16)
file(WRITE "${WORK}/gpt2/config.json" [=[{"model_type": "gpt2", "vocab_size": 8, "n_embd": 4, "n_layer": 1, "n_head": 1}]=])
reject("${WORK}/gpt2/config.json" "${WORK}/gpt2")
expect_match(r err "gpt2")
expect_match(r err "llama")

# Counts too large for any real model: refused naming config.json before anything is sized by them
# (the unfixed reader allocated gigabytes and died in std::bad_alloc).
safetensors_write("${WORK}/layers" "" "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}" 16)
string(REPLACE "\"num_hidden_layers\": 1" "\"num_hidden_layers\": 60000000" huge_config "${config_json}")
file(WRITE "${WORK}/layers/config.json" "${huge_config}")
reject("${WORK}/layers/config.json" "${WORK}/layers")
expect_match(r err "num_hidden_layers 60000000 exceeds the limit")
# A folder named as a config file.
cli_expect(r 1 train --config "${WORK}/layers")
expect_match(r err "^quantscope-cli: [^\n]*layers: is a directory, not a file\n$")

# A path that does not exist.
reject("${WORK}/absent.bin" "${WORK}/absent.bin" --tokenizer "${tokenizer}")
