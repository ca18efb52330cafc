# Ctrl-C (SIGINT) cancels the running job cleanly: exit status 130 and a one-line "cancelled" message,
# long before the work would have finished.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(tokenizer "${DATA}/models/stories260K/tok512.model")
set(text "${DATA}/text/tinystories-valid-subset/tinystories_valid_first.txt")
data_require("${tokenizer}" "${text}")
find_program(TIMEOUT timeout)
if(NOT TIMEOUT)
  message(STATUS "SKIPPED: timeout(1) is not installed")
  return()
endif()

file(READ "${text}" stories LIMIT 100000)
file(WRITE "${WORK}/train.txt" "${stories}")
file(WRITE "${WORK}/train.json" [=[{
  "shape": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
            "max_position_embeddings": 128},
  "tokenizer": "]=] "${tokenizer}" [=[", "train_files": ["train.txt"],
  "steps": 1000000, "batch_size": 8, "ctx": 64, "eval_every": 0, "checkpoint_every": 0, "out_dir": "run"
}]=])

string(TIMESTAMP start "%s")
# SIGINT after 5 s; SIGKILL (exit 137, a failure) if the job has not stopped 60 s later.
execute_process(COMMAND "${TIMEOUT}" --preserve-status -k 60 -s INT 5 "${CLI}" train --config "${WORK}/train.json"
                RESULT_VARIABLE r_rc OUTPUT_VARIABLE r_out ERROR_VARIABLE r_err)
string(TIMESTAMP end "%s")
math(EXPR seconds "${end} - ${start}")
if(NOT r_rc EQUAL 130)
  cli_fail(r "expected exit status 130 after SIGINT (took ${seconds} s)")
endif()
expect_match(r err "quantscope-cli: [^\n]*cancelled\n$")
