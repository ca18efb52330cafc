# `eval` on stories260K over the first 2000 tokens of TinyStories: a perplexity in the range the model
# is known for, and a model compared with itself shows no divergence.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(model "${DATA}/models/stories260K/stories260K.bin")
set(tokenizer "${DATA}/models/stories260K/tok512.model")
set(text "${DATA}/text/tinystories-valid-subset/tinystories_valid_first.txt")
data_require("${model}" "${tokenizer}" "${text}")

cli_expect(r 0 eval "${model}" --tokenizer "${tokenizer}" --text "${text}" --max-tokens 2000 --json)
json_get(tokens "${r_out}" tokens)
json_get(bytes "${r_out}" bytes)
json_get(ppl "${r_out}" perplexity)
json_get(bpb "${r_out}" bits_per_byte)
expect_range("tokens" "${tokens}" 1990 2000)
expect_range("bytes" "${bytes}" 2000 20000)
# stories260K's published validation loss is about 1.3 nats (perplexity about 3.7).
expect_range("perplexity" "${ppl}" 2 8)
expect_range("bits per byte" "${bpb}" 0.1 2)
set(perplexity "${ppl}")

# The forms below use fewer tokens: they check the layout and the comparison, not the numbers.
cli_expect(r 0 eval "${model}" --tokenizer "${tokenizer}" --text "${text}" --max-tokens 300)
expect_match(r out "\nperplexity +[0-9]+\\.[0-9]+\n")
expect_match(r out "\nbits per byte +[0-9]+\\.[0-9]+\n")
expect_match(r out "\ntokens +[0-9,]+ in [0-9]+ windows")

# Short overlapping windows: 127 tokens scored by the first, 64 new ones by each further window.
cli_expect(r 0 eval "${model}" --tokenizer "${tokenizer}" --text "${text}" --max-tokens 600 --ctx 128 --stride 64
           --json)
json_get(windows "${r_out}" windows)
json_get(ppl "${r_out}" perplexity)
expect_range("windows with ctx 128, stride 64 over 600 tokens" "${windows}" 9 9)
expect_range("perplexity with short overlapping windows" "${ppl}" 2 8)

cli_expect(r 0 eval "${model}" --tokenizer "${tokenizer}" --text "${text}" --max-tokens 500 --reference "${model}"
           --json)
json_get(kl_mean "${r_out}" kl mean)
json_get(kl_max "${r_out}" kl max)
json_get(top1 "${r_out}" kl top1_agreement)
json_get(ppl "${r_out}" perplexity)
json_get(ref_ppl "${r_out}" reference perplexity)
expect_range("KL mean against itself" "${kl_mean}" -1e-6 1e-6)
expect_range("KL max against itself" "${kl_max}" -1e-5 1e-5)
expect_range("top-1 agreement against itself" "${top1}" 1 1)
if(NOT ppl STREQUAL ref_ppl)
  message(FATAL_ERROR "perplexity ${ppl} differs from the reference's ${ref_ppl} for the same model")
endif()
cli_expect(r 0 eval "${model}" --tokenizer "${tokenizer}" --text "${text}" --max-tokens 300 --reference "${model}")
expect_match(r out "\n +model +reference\n")
expect_match(r out "\ntop-1 agreement +100\\.00 %\n")

# A window longer than the model's positions is a usage error, found before any evaluation.
cli_expect(r 2 eval "${model}" --tokenizer "${tokenizer}" --text "${text}" --ctx 99999999999)
expect_match(r err "--ctx 99999999999 is outside \\[2, 512\\]")

# A text file that cannot be read is a runtime error naming it.
cli_expect(r 1 eval "${model}" --tokenizer "${tokenizer}" --text "${WORK}/absent.txt")
expect_match(r err "^quantscope-cli: [^\n]*absent\\.txt[^\n]*\n$")
