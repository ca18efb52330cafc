# `plan`, and `--plan` in `quantize` and `eval`: the resolved table on the demo model agrees with what
# quantizing reports, a uniform plan evaluates exactly like --format, and bad plans fail with one line
# naming the file or the rule.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(text "${SOURCE}/resources/models/demo/heldout-sample.txt")

set(mixed "${WORK}/mixed.json")
file(WRITE "${mixed}" [[{
  "comment": "written by tests/cli/plan.cmake",
  "default": {"weight": "int4:g64"},
  "layers": {
    "model.layers.*.mlp.*": "kmeans2",
    "model.layers.0.self_attn.q_proj": {"weight": "quest4", "act": "quest8"},
    "model.layers.3.self_attn.*": "bf16",
    "model.embed_tokens": "int8"
  }
}
]])

cli_expect(r 0 plan demo --plan "${mixed}" --json)
string(JSON count LENGTH "${r_out}" layers)
expect_range("resolved layers (embedding + 24 linear; block 3's attention stays bf16)" "${count}" 25 25)
json_get(first "${r_out}" layers 0 name)
json_get(first_weight "${r_out}" layers 0 weight)
json_get(q_act "${r_out}" layers 1 act)
json_get(q_weight "${r_out}" layers 1 weight)
json_get(k_bpw "${r_out}" layers 2 bits_per_weight)
json_get(plan_after "${r_out}" bytes_after)
json_get(plan_before "${r_out}" bytes_before)
if(NOT first STREQUAL "model.embed_tokens" OR NOT first_weight STREQUAL "int8" OR NOT q_weight STREQUAL "quest4"
   OR NOT q_act STREQUAL "quest8")
  message(FATAL_ERROR "unexpected resolution: ${r_out}")
endif()
expect_range("int4:g64 bits per weight (4 + a bf16 scale per 64)" "${k_bpw}" 4.25 4.25)
math(EXPR shrink "100 * ${plan_after} / ${plan_before}")
expect_range("size after, % of before" "${shrink}" 20 60)

cli_expect(r 0 plan demo --plan "${mixed}")
expect_match(r out "model\\.layers\\.0\\.self_attn\\.q_proj +256 x 256 +quest4 +quest8 +[0-9.]+ ")
expect_match(r out "model\\.layers\\.1\\.self_attn\\.k_proj +128 x 256 +int4:g64 +- +4\\.250 ")
expect_match(r out "model\\.layers\\.3\\.mlp\\.down_proj +256 x 640 +kmeans2 ")
expect_match(r out "\nmodel bytes after +[0-9.]+ MiB \\([0-9.]+ %")
if(r_out MATCHES "model\\.layers\\.3\\.self_attn")
  cli_fail(r "block 3's attention is bf16 in the plan and must stay out of the table")
endif()

# Quantizing with the plan stores exactly what `plan` predicted, and prints a KL line.
cli_expect(r 0 eval demo --plan "${mixed}" --text "${text}" --max-tokens 256 --json)
json_get(eval_after "${r_out}" bytes_after)
json_get(kl "${r_out}" kl mean)
if(NOT eval_after STREQUAL plan_after)
  message(FATAL_ERROR "eval --plan stores ${eval_after} bytes, plan predicted ${plan_after}")
endif()
expect_range("KL of the mixed plan against the demo model" "${kl}" 0.0001 3)
cli_expect(r 0 eval demo --plan "${mixed}" --text "${text}" --max-tokens 256)
expect_match(r out "\nKL mean +[0-9.]+ +nats/token")
expect_match(r out "\nplan +[^\n]*mixed\\.json on 25 tensors")

# A uniform plan is --format.
file(WRITE "${WORK}/quest3.json" "{\"default\": \"quest3\"}\n")
cli_expect(r 0 eval demo --plan "${WORK}/quest3.json" --text "${text}" --max-tokens 256 --json)
json_get(plan_ppl "${r_out}" perplexity)
cli_expect(r 0 eval demo --format quest3 --text "${text}" --max-tokens 256 --json)
json_get(format_ppl "${r_out}" perplexity)
if(NOT plan_ppl STREQUAL format_ppl)
  message(FATAL_ERROR "a quest3 plan gives perplexity ${plan_ppl}, --format quest3 gives ${format_ppl}")
endif()
cli_expect(r 0 plan demo --format quest3 --json)
string(JSON count LENGTH "${r_out}" layers)
expect_range("layers of the uniform plan" "${count}" 28 28)
cli_expect(r 0 quantize demo --plan "${WORK}/quest3.json")
expect_match(r out "model\\.layers\\.3\\.mlp\\.down_proj +256 x 640 +quest3 ")

# Usage errors: exit 2 before the model loads.
foreach(command plan quantize "eval --text ${text}")
  separate_arguments(args UNIX_COMMAND "${command}")
  list(GET args 0 name)
  cli_expect(r 2 ${args} demo --format int4 --plan "${mixed}")
  expect_match(r err "^quantscope-cli ${name}: give --format or --plan, not both\n")
endforeach()
cli_expect(r 2 quantize demo --plan "${mixed}" --layers "*mlp*")
expect_match(r err "--layers")
cli_expect(r 2 plan demo)
expect_match(r err "give --format SPEC or --plan FILE")

# Bad plans: exit 1, one line naming the file and the rule or layer.
file(WRITE "${WORK}/bad.json" "{\"layers\": {\"model.layers.*.mlp.*\": {\"weight\": \"int9\"}}}\n")
foreach(command "plan demo" "eval demo --text ${text}")
  separate_arguments(args UNIX_COMMAND "${command}")
  cli_expect(r 1 ${args} --plan "${WORK}/bad.json")
  expect_match(r err "^quantscope-cli: [^\n]*bad\\.json: layers\\['model\\.layers\\.\\*\\.mlp\\.\\*'\\]\\.weight: format 'int9'[^\n]*\n$")
endforeach()
file(WRITE "${WORK}/unknown.json" "{\"default\": \"int4\", \"layer\": {}}\n")
cli_expect(r 1 plan demo --plan "${WORK}/unknown.json")
expect_match(r err "^quantscope-cli: [^\n]*unknown\\.json: unknown key \"layer\"[^\n]*\n$")
file(WRITE "${WORK}/nothing.json" "{\"layers\": {\"model.layer.*\": \"int4\"}}\n")
cli_expect(r 1 plan demo --plan "${WORK}/nothing.json")
expect_match(r err "^quantscope-cli: plan rule 'model\\.layer\\.\\*' matches no layer[^\n]*\n$")
file(WRITE "${WORK}/head.json" "{\"layers\": {\"lm_head\": \"int4\"}}\n")
cli_expect(r 1 quantize demo --plan "${WORK}/head.json")
expect_match(r err "^quantscope-cli: lm_head is tied to model\\.embed_tokens in this model; name model\\.embed_tokens instead")
cli_expect(r 1 plan demo --plan "${WORK}/absent.json")
expect_match(r err "^quantscope-cli: [^\n]*absent\\.json[^\n]*\n$")
