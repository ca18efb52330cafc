# `qat` on the demo model: a short W2 fine-tune beats post-training quantization with the same
# format, the printed reproduce command gives exactly the reported perplexity (and so does the run's
# model exported as a packed checkpoint with its plan), the run file reads
# back through `telemetry`, and a run killed with SIGKILL leaves a readable run file.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(text "${SOURCE}/resources/models/demo/heldout-sample.txt")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")

cli_expect(r 0 qat demo --format int2:g64 --estimator trust --text "${text}" --heldout "${text}" --steps 12
           --batch 4 --ctx 96 --lr 1e-3 --warmup 2 --log-every 4 --final-eval-tokens 1024 --out "${WORK}/int2" --json)
json_get(qat "${r_out}" final perplexity)
json_get(ptq "${r_out}" final ptq_perplexity)
json_get(command "${r_out}" final command)
json_get(masked "${r_out}" log 1 masked_fraction)
expect_range("masked fraction (absmax int2 never clips)" "${masked}" 0 0.01)
if(NOT qat LESS ptq)
  cli_fail(r "QAT perplexity ${qat} is not below post-training quantization's ${ptq}")
endif()

# The reproduce command, as printed, gives the same perplexity to the printed digits.
string(REPLACE "quantscope-cli " "" command "${command}")
separate_arguments(argv UNIX_COMMAND "${command}")
cli_expect(e 0 ${argv} --json)
json_get(again "${e_out}" perplexity)
if(NOT again STREQUAL qat)
  cli_fail(e "eval --plan gives ${again}, the run reported ${qat}")
endif()
cli_expect(x 0 export "${WORK}/int2/final" --plan "${WORK}/int2/final/plan.json" --to quantscope --out "${WORK}/packed")
string(REPLACE "${WORK}/int2/final --plan ${WORK}/int2/final/plan.json" "${WORK}/packed" packed_command "${command}")
separate_arguments(argv UNIX_COMMAND "${packed_command}")
cli_expect(p 0 ${argv} --json)
json_get(packed "${p_out}" perplexity)
if(NOT packed STREQUAL qat)
  cli_fail(p "the exported packed checkpoint gives ${packed}, the run reported ${qat} (${packed_command})")
endif()

cli_expect(t 0 telemetry "${WORK}/int2" --json)
json_get(status "${t_out}" status)
string(JSON samples LENGTH "${t_out}" layer_samples)
if(NOT status STREQUAL "finished" OR NOT samples EQUAL 3)
  cli_fail(t "status ${status} with ${samples} samples; expected finished with 3")
endif()

# Killed mid-run: the run file is as of the last logged step, and readable.
execute_process(COMMAND timeout -s KILL 25 "${CLI}" qat demo --format kmeans2 --text "${text}" --heldout "${text}"
                        --steps 100000 --batch 2 --ctx 32 --log-every 1 --out "${WORK}/killed"
                RESULT_VARIABLE killed OUTPUT_QUIET ERROR_QUIET)
if(killed EQUAL 0)
  message(FATAL_ERROR "the run to be killed finished by itself")
endif()
cli_expect(k 0 telemetry "${WORK}/killed" --json)
json_get(status "${k_out}" status)
string(JSON steps LENGTH "${k_out}" steps)
if(NOT status STREQUAL "running" OR steps LESS 2)
  cli_fail(k "status ${status} with ${steps} logged steps; expected a running run with at least 2")
endif()
