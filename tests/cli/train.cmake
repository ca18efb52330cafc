# `train` on a small text: a fresh tiny model's held-out loss falls, the log has one line per logged
# step, the final checkpoint opens with the other commands, and a used output folder is refused.
include(${CMAKE_CURRENT_LIST_DIR}/lib/cli_run.cmake)
set(tokenizer "${DATA}/models/stories260K/tok512.model")
set(text "${DATA}/text/tinystories-valid-subset/tinystories_valid_first.txt")
data_require("${tokenizer}" "${text}")

file(READ "${text}" stories LIMIT 200000)
file(WRITE "${WORK}/train.txt" "${stories}")
file(WRITE "${WORK}/train.json" [=[{
  "shape": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
            "max_position_embeddings": 128},
  "tokenizer": "]=] "${tokenizer}" [=[",
  "train_files": ["train.txt"],
  "steps": 40, "batch_size": 8, "ctx": 64, "lr": 0.003, "warmup_steps": 5,
  "eval_every": 20, "eval_batches": 2, "checkpoint_every": 0, "log_every": 10,
  "out_dir": "run"
}]=])

cli_expect(r 0 train --config "${WORK}/train.json" --json)
json_get(steps "${r_out}" steps)
json_get(before "${r_out}" initial_heldout_loss)
json_get(after "${r_out}" final_heldout_loss)
json_get(final "${r_out}" final_checkpoint)
json_get(log "${r_out}" log)
string(JSON entries LENGTH "${log}")
if(NOT steps EQUAL 40 OR NOT entries EQUAL 5)
  cli_fail(r "${steps} steps and ${entries} log entries; expected 40 and 5 (step 0 and every 10 steps)")
endif()
json_get(last_step "${log}" 4 step)
json_get(last_loss "${log}" 4 loss)
json_get(last_lr "${log}" 4 lr)
if(NOT last_step EQUAL 40)
  cli_fail(r "the last log entry is step ${last_step}")
endif()
expect_range("learning rate at the end (cosine to 0.1 x 0.003)" "${last_lr}" 0.00029 0.0005)
expect_range("final train loss" "${last_loss}" 0.5 7)
if(NOT after LESS before)
  cli_fail(r "held-out loss did not fall: ${before} -> ${after}")
endif()
if(NOT EXISTS "${final}/config.json" OR NOT EXISTS "${final}/model.safetensors")
  message(FATAL_ERROR "final checkpoint ${final} is not an HF directory")
endif()

cli_expect(r 0 info "${final}" --json)
json_get(layers "${r_out}" config num_hidden_layers)
json_get(parameters "${r_out}" parameters)
if(NOT layers EQUAL 2)
  cli_fail(r "the trained model has ${layers} layers")
endif()
# The same checkpoint named by its .safetensors file (config.json beside it).
cli_expect(r 0 info "${final}/model.safetensors" --json)
json_get(format "${r_out}" format)
json_get(file_parameters "${r_out}" parameters)
if(NOT format STREQUAL "hf" OR NOT file_parameters EQUAL parameters)
  cli_fail(r "the .safetensors form reads as ${format} with ${file_parameters} parameters, not hf with ${parameters}")
endif()
cli_expect(r 0 generate "${final}" --max-new 8 --temperature 0)

# The same output folder again, without "resume": refused, naming the folder.
cli_expect(r 1 train --config "${WORK}/train.json")
expect_match(r err "^quantscope-cli: [^\n]*run[^\n]*\n$")

# Fine-tuning a model that lies in the run's own checkpoint folder (ft/final, copied there by the
# user with a README): refused, and the folder is left as it was (the unfixed trainer deleted it).
file(COPY "${final}/" DESTINATION "${WORK}/ft/final" PATTERN ".quantscope" EXCLUDE)
file(WRITE "${WORK}/ft/final/README" "my model\n")
file(SHA256 "${WORK}/ft/final/model.safetensors" weights_before)
file(WRITE "${WORK}/ft.json" [=[{"init_model": "ft/final", "train_files": ["train.txt"], "steps": 2,
  "batch_size": 2, "ctx": 32, "eval_batches": 1, "out_dir": "ft"}]=])
cli_expect(r 1 train --config "${WORK}/ft.json")
expect_match(r err "^quantscope-cli: [^\n]*init_model [^\n]*ft/final[^\n]*out_dir[^\n]*\n$")
file(SHA256 "${WORK}/ft/final/model.safetensors" weights_after)
if(NOT EXISTS "${WORK}/ft/final/README" OR NOT weights_before STREQUAL weights_after)
  message(FATAL_ERROR "the refused fine-tune changed ft/final")
endif()
# An out_dir that holds the user's files: refused as well, the files left alone.
file(WRITE "${WORK}/user/notes.txt" "mine\n")
file(WRITE "${WORK}/ft2.json" [=[{"init_model": "ft/final", "train_files": ["train.txt"], "steps": 2,
  "batch_size": 2, "ctx": 32, "eval_batches": 1, "out_dir": "user"}]=])
cli_expect(r 1 train --config "${WORK}/ft2.json")
expect_match(r err "user: exists, is not empty and was not made by Quantscope")
file(GLOB user_files RELATIVE "${WORK}/user" "${WORK}/user/*")
if(NOT user_files STREQUAL "notes.txt")
  message(FATAL_ERROR "the refused run wrote into the user's folder: ${user_files}")
endif()

# The text form: a header, then one line per logged step.
file(WRITE "${WORK}/short.json" [=[{
  "shape": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 1,
            "max_position_embeddings": 64},
  "tokenizer": "]=] "${tokenizer}" [=[", "train_files": ["train.txt"],
  "steps": 4, "batch_size": 2, "ctx": 32, "warmup_steps": 1, "eval_every": 0, "eval_batches": 1,
  "log_every": 2, "out_dir": "short"
}]=])
cli_expect(r 0 train --config "${WORK}/short.json")
expect_match(r out "\n *step +loss +lr +grad norm +tokens/s +heldout\n +0 +[0-9]+\\.[0-9]+\n")
expect_match(r out "\n 2/4 +[0-9]+\\.[0-9]+ +[0-9.]+e-0[0-9] +[0-9]+\\.[0-9]+ +[0-9,]+\n")
expect_match(r out "\n 4/4 +[0-9]+\\.[0-9]+ +[0-9.]+e-0[0-9] +[0-9]+\\.[0-9]+ +[0-9,]+ +[0-9]+\\.[0-9]+\n")
expect_match(r out "\nheldout loss +[0-9]+\\.[0-9]+ -> [0-9]+\\.[0-9]+\n")
