# `sensitivity`, `allocate`, `sweep` and `run` on the demo model: the allocation fits its budget and
# its plan evaluates as reported, a rerun into the same folder measures nothing again, the result
# files are written, and bad experiment files or arguments fail with one line.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(text "${SOURCE}/resources/models/demo/heldout-sample.txt")
set(calib "${SOURCE}/resources/models/demo/calibration-sample.txt")
set(inputs --text "${text}" --calib "${calib}" --ctx 128 --max-tokens 512)

cli_expect(a 0 allocate demo --candidates int2:g64,int4:g64 --bits 3 ${inputs} --out "${WORK}/alloc" --json)
expect_match(a err "measured 60, taken from")  # reference, 2 × 28 layers, 2 uniform, 1 allocated
json_get(kind "${a_out}" tables allocation 2 kind)
json_get(bits "${a_out}" tables allocation 2 bits_per_weight)
json_get(kl_alloc "${a_out}" tables allocation 2 kl_mean)
json_get(kl_int2 "${a_out}" tables allocation 0 kl_mean)
json_get(pred_alloc "${a_out}" tables allocation 2 predicted_kl)
json_get(pred_int2 "${a_out}" tables allocation 0 predicted_kl)
if(NOT kind STREQUAL "allocated")
  message(FATAL_ERROR "row 2 of the allocation table is not the allocated plan: ${a_out}")
endif()
expect_range("allocated bits per weight (budget 3)" "${bits}" 2.25 3.0)
if(NOT pred_alloc LESS pred_int2 OR NOT kl_alloc LESS kl_int2)
  message(FATAL_ERROR "the allocation at 3 bits is not better than uniform int2:g64: ${a_out}")
endif()
foreach(file results.h5 summary.json csv/allocation.csv csv/sensitivity_int2_g64.csv plans/3_bits_weight.json)
  if(NOT EXISTS "${WORK}/alloc/${file}")
    message(FATAL_ERROR "allocate did not write ${file}")
  endif()
endforeach()

# The emitted plan reproduces the measured KL through `eval --plan`.
cli_expect(e 0 eval demo --plan "${WORK}/alloc/plans/3_bits_weight.json" --text "${text}" --ctx 128 --max-tokens 512 --json)
json_get(kl_eval "${e_out}" kl mean)
if(NOT kl_eval STREQUAL kl_alloc)
  string(SUBSTRING "${kl_eval}" 0 8 a8)
  string(SUBSTRING "${kl_alloc}" 0 8 b8)
  if(NOT a8 STREQUAL b8)
    message(FATAL_ERROR "eval --plan gives KL ${kl_eval}, the allocation reported ${kl_alloc}")
  endif()
endif()

# Again into the same folder: everything comes from the cache, the tables are the same.
cli_expect(b 0 allocate demo --candidates int2:g64,int4:g64 --bits 3 ${inputs} --out "${WORK}/alloc" --json)
expect_match(b err "measured 0, taken from .*: 60")
json_get(kl_again "${b_out}" tables allocation 2 kl_mean)
if(NOT kl_again STREQUAL kl_alloc)
  message(FATAL_ERROR "the cached allocation differs: ${kl_again} against ${kl_alloc}")
endif()

# A sensitivity scan of one more format reuses nothing it should not and prints the proxies.
cli_expect(s 0 sensitivity demo --format int3:g64 ${inputs} --out "${WORK}/sens")
expect_match(s out "proxy_correlation")
expect_match(s out "model\\.layers\\.3\\.mlp\\.down_proj")

# A scan of a :fisher format runs the calibration text once: the statistics' pass gives the importance
# too (the unfixed run collected it again in a pass of its own).
cli_expect(f 0 sensitivity demo --format kmeans2:fisher ${inputs} --out "${WORK}/fisher" --no-plots)
expect_match(f err "collecting calibration statistics")
if(f_err MATCHES "collecting calibration importance")
  cli_fail(f "the calibration text was run twice")
endif()

# An experiment file: a named plan and a sweep, with relative paths resolved against the file's folder.
file(COPY "${text}" DESTINATION "${WORK}/exp")
file(WRITE "${WORK}/exp/e.json" [[{"model": "demo", "evaluation": {"text": "heldout-sample.txt", "ctx": 128, "max_tokens": 512},
  "plans": {"mlp-low": {"default": {"weight": "int4:g64"}, "layers": {"model.layers.*.mlp.*": "int3:g64"}}},
  "sweep": {"families": ["int"], "bits": [3, 4], "options": {"int": ["g64"]}}}]])
cli_expect(r 0 run "${WORK}/exp/e.json" --out "${WORK}/exp/out" --no-plots)
expect_match(r out "int3:g64")
expect_match(r out "mlp-low")
expect_match(r err "measured 4, taken from")

# A sweep with a short QAT of its format: a "qat" row next to the post-training one.
cli_expect(q 0 sweep demo --formats int3:g64 --qat-text "${calib}" --qat-steps 2 --text "${text}" --ctx 128
           --max-tokens 256 --out "${WORK}/qat" --no-plots)
expect_match(q out "int \\(QAT\\) +int3:g64 +qat")
if(NOT EXISTS "${WORK}/qat/qat/int3_g64/final/plan.json")
  message(FATAL_ERROR "the QAT run's plan was not exported")
endif()

# Bad input: one line naming the file and the problem, exit 1; bad arguments, exit 2.
file(WRITE "${WORK}/bad.json" [[{"model": "demo", "evaluation": {"text": "nowhere.txt"}}]])
cli_expect(x 1 run "${WORK}/bad.json" --out "${WORK}/bad")
expect_match(x err "bad\\.json: evaluation\\.text: .*nowhere\\.txt does not exist")
file(WRITE "${WORK}/typo.json" [[{"model": "demo", "evaluation": {"text": "x"}, "sensitivty": {}}]])
cli_expect(y 1 run "${WORK}/typo.json" --out "${WORK}/typo")
expect_match(y err "unknown key \"sensitivty\"")
cli_expect(z 2 allocate demo --candidates int2:g64 ${inputs} --out "${WORK}/z")
expect_match(z err "give --bits, --bytes or --frontier")
# Arguments that cannot apply are usage errors found before anything is measured.
cli_expect(w 2 allocate demo --candidates int2:g64,int4:g64 --bits 1 ${inputs} --out "${WORK}/impossible")
expect_match(w err "below the smallest allocation \\(2\\.25 bits/weight")
if(w_err MATCHES "measured" OR EXISTS "${WORK}/impossible/cache")
  cli_fail(w "an impossible budget was found only after measuring")
endif()
cli_expect(v 2 sweep demo --families bogus ${inputs} --out "${WORK}/v")
expect_match(v err "unknown family \"bogus\"")
cli_expect(v 2 sweep demo --families int --bits 9 ${inputs} --out "${WORK}/v")
expect_match(v err "bit width 9 is outside 1\\.\\.8")
cli_expect(v 2 sweep demo --formats quest4:h1024 ${inputs} --out "${WORK}/v")
expect_match(v err "multiple of its Hadamard block 1024")
file(WRITE "${WORK}/a-file" "")
cli_expect(v 2 sweep demo --formats int4 ${inputs} --out "${WORK}/a-file")
expect_match(v err "^quantscope-cli sweep: --out: [^\n]*a-file: exists and is not a folder\n")

# A model rewritten at the same path is another model: nothing measured on the old one is reused
# (the unfixed cache keyed the model by path, size and parameter count, and printed int8's numbers).
set(sweep_args --formats int4 --text "${text}" --ctx 128 --max-tokens 256 --out "${WORK}/rewritten" --no-plots --json)
cli_expect(m 0 export demo --format int8 --to hf --out "${WORK}/m")
cli_expect(s1 0 sweep "${WORK}/m" ${sweep_args})
json_get(ppl_int8 "${s1_out}" tables sweep 0 perplexity)
cli_expect(m 0 export demo --format int2 --to hf --out "${WORK}/m" --force)
cli_expect(s2 0 sweep "${WORK}/m" ${sweep_args})
expect_match(s2 err "measured 2, taken from")
json_get(ppl_int2 "${s2_out}" tables sweep 0 perplexity)
if(ppl_int2 STREQUAL ppl_int8)
  cli_fail(s2 "the rewritten model reports the old model's perplexity ${ppl_int8}")
endif()
cli_expect(s3 0 sweep "${WORK}/m" ${sweep_args})
expect_match(s3 err "measured 0, taken from .*: 2")
