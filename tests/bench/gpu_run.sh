#!/bin/bash
# gpu_run.sh STAGE... : the build, tests and benchmarks of a GPU machine, from the repository root, so
# that every GPU number in docs/performance.md can be reproduced. Stages, in the order given:
#   build   configure the cuda preset against the machine's Python LibTorch and build the CLI and the
#           synthetic-checkpoint writer (incremental when build/cuda exists)
#   test    build the test binary and run the tests that exercise CUDA: quantizer, forward and packed
#           decode kernels against the CPU, streamed against resident evaluation on the GPU, and the
#           CLI's eval/generate on --device cuda (QS_GPU_TEST_FILTER: another gtest filter)
#   large   tests/bench/large_model_bench.sh for the Llama-3-8B shape (QS_GPU_PRESET) with --device
#           cuda (without `info` and `info --stats`, which read on the CPU whatever the device; more
#           skipped with QS_BENCH_SKIP), then the same model streamed to the GPU under a memory budget
#           far below its size (QS_GPU_STREAM_BUDGET, 4G)
#   decode  quantscope-bench --decode: the packed decode kernels beside cuBLAS bf16, a copy and a
#           read-only pass, per layer and for an 8B decode step (decode.log, decode.json, and
#           decode-tables.md: the tables docs/performance.md quotes)
#   quantize  quantscope-bench --device cuda: every quantizer family on two layer shapes, the stages of a
#           k-means fit, and all 224 linear weights of the Llama-3-8B shape (quantize.log, quantize.json)
#   generate  `generate` on a synthetic Llama-3.2-1B shape (with a 32,000-token vocabulary) on the GPU: bf16, kmeans2 dequantized to bf16, and
#           kmeans2 kept packed (--packed, the decode kernels): tokens per second and GPU memory held and at
#           peak (generate.log, generate-*.json)
#   qat     the step cost of quantization-aware training on the demo model (60 steps) and a synthetic
#           Llama-3.2-1B shape (30 steps), batch 16 × 256 tokens, bf16 compute: a full-precision fine-tune
#           (`train`), then weight-only kmeans2, W4A4 and W1A1 QuEST with the trust estimator, each through
#           the generic fake quantization and the fused kernels; tokens per second is the median of the
#           logs after step 10, with the run's peak GPU memory (qat.log, qat-*.json; QS_QAT_MODELS="demo 1b", QS_QAT_FORMATS="kmeans2
#           w4a4 w1a1" and QS_QAT_PATHS="generic fused" choose a subset)
#   errormap  quantscope-bench --error-map: pooling a 4096 x 14336 layer to the screen, on the GPU beside
#           the CPU reference
# Environment: QS_GPU_DEPS, a folder of Debian packages from `packaging/deps-offline.sh download`
# (unpacked when the machine lacks HDF5/SentencePiece/GoogleTest); QS_DATA, the data folder
# (../shared/data by default); QS_WORK, where checkpoints go (/tmp/qs-gpu); OUT, where logs go.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${OUT:-/tmp/qs-gpu-out} work=${QS_WORK:-/tmp/qs-gpu}
data=$(cd "${QS_DATA:-$root/../shared/data}" && pwd)
mkdir -p "$out" "$work"

if ! pkg-config --exists sentencepiece 2>/dev/null; then
  : "${QS_GPU_DEPS:?this machine lacks the build dependencies: set QS_GPU_DEPS to a folder from packaging/deps-offline.sh download}"
  packaging/deps-offline.sh unpack "$QS_GPU_DEPS" "$work/deps" > "$work/deps.env"
  source "$work/deps.env"
fi

stage_build() {
  local torch
  torch=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    nproc; python3 -c 'import torch; print("torch", torch.__version__)'; nvcc --version | tail -1; } | tee "$out/machine.txt"
  [ -f build/cuda/CMakeCache.txt ] ||
    cmake --preset cuda -DCMAKE_PREFIX_PATH="$torch;${CMAKE_PREFIX_PATH:-}" -DQS_DATA_DIR="$data" > "$out/configure.log" 2>&1 ||
    { tail -40 "$out/configure.log"; exit 1; }
  targets_build quantscope_cli quantscope_synth
}

targets_build() {
  local start=$SECONDS
  cmake --build build/cuda --target "$@" >> "$out/build.log" 2>&1 || { tail -50 "$out/build.log"; exit 1; }
  echo "built $* in $((SECONDS - start)) s" | tee -a "$out/build.log"
}

stage_test() {
  targets_build quantscope_tests
  # The GoogleTest cases that skip without CUDA, and the CLI's CUDA tests.
  build/cuda/tests/quantscope_tests --gtest_filter="${QS_GPU_TEST_FILTER:-*Cuda*:Kernels*:LargeModel.*}" 2>&1 | tee "$out/test.log" | tail -30
  for script in cuda packed_stored; do
    mkdir -p "$work/cli_$script"
    cmake -DCLI=build/cuda/app/cli/quantscope-cli -DSOURCE="$root" -DDATA="$data" -DWORK="$work/cli_$script" \
      -P "tests/cli/$script.cmake" 2>&1 | tee -a "$out/test.log" | tail -5
  done
}

stage_errormap() {
  # The error map's pooling of a 4096 x 14336 layer on the GPU beside the CPU reference (issue 13's item).
  targets_build quantscope_bench
  build/cuda/tests/bench/quantscope-bench --error-map --device all --cpu-reps 3 2>&1 | tee "$out/errormap.log"
}

stage_quantize() {
  targets_build quantscope_bench
  build/cuda/tests/bench/quantscope-bench --device cuda --json "$out/quantize.json" 2>&1 | tee "$out/quantize.log"
}

stage_generate() {
  # The Llama-2 tokenizer's 32,000 ids as the vocabulary, so that every generated id decodes (1.04B weights).
  local model=$work/llama-3.2-1b-32k tokenizer=$data/models/llama2-tokenizer-32k/tokenizer.model
  [ -f "$model/config.json" ] ||
    build/cuda/tests/bench/quantscope-synth llama-3.2-1b "$model" --tokenizer "$tokenizer" --vocab 32000
  local cli=build/cuda/app/cli/quantscope-cli common="--device cuda --dtype bf16 --temperature 0 --max-new 256"
  { for run in "bf16:" "kmeans2:--format kmeans2" "kmeans2-packed:--format kmeans2 --packed"; do
      local name=${run%%:*} options=${run#*:}
      echo "== generate $name: $common $options"
      $cli generate "$model" --prompt "Once upon a time" $common $options --json > "$out/generate-$name.json"
      python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); m=r.get("gpu_memory",{}); print("%d tokens, %.1f tokens/s, GPU memory held %.2f GiB, peak %.2f GiB" % (len(r["tokens"]), r["tokens_per_second"], m.get("held_bytes",0)/2**30, m.get("peak_bytes",0)/2**30))' "$out/generate-$name.json"
    done; } 2>&1 | tee "$out/generate.log"
}

stage_qat() {
  # Each model: a full-precision fine-tune (`train`), then every QAT format through the generic LibTorch
  # fake quantization (QUANTSCOPE_FAKE_QUANT=generic) and through the fused kernels. QS_QAT_MODELS,
  # QS_QAT_FORMATS and QS_QAT_PATHS choose a subset.
  local text=$data/text/tinystories-valid-subset/tinystories_valid_first.txt cli=build/cuda/app/cli/quantscope-cli
  local tokenizer=$data/models/llama2-tokenizer-32k/tokenizer.model big=$work/llama-3.2-1b batch=16 ctx=256
  local rate='import json,statistics,sys; r=json.load(open(sys.argv[1])); t=[l["tokens_per_second"] for l in r["log"] if l["step"]>10]; m=r.get("gpu_memory",{}); print("%.0f tokens/s (median of %d logs), GPU memory peak %.2f GiB" % (statistics.median(t), len(t), m.get("peak_bytes",0)/2**30))'
  { for tag in ${QS_QAT_MODELS:-demo 1b}; do
      local init=$root/resources/models/demo model=demo steps=60 every=10
      if [ "$tag" = 1b ]; then
        [ -f "$big/config.json" ] || build/cuda/tests/bench/quantscope-synth llama-3.2-1b "$big" --tokenizer "$tokenizer"
        init=$big model=$big steps=30 every=5
      fi
      rm -rf "${work:?}/qat-$tag"-*
      cat > "$work/qat-$tag-bf16.json" <<EOF
{"init_model": "$init", "train_files": ["$text"], "steps": $steps, "batch_size": $batch,
 "ctx": $ctx, "lr": 1e-4, "warmup_steps": 10, "weight_decay": 0, "eval_every": 0, "checkpoint_every": 0,
 "log_every": $every, "device": "cuda", "compute": "bf16", "out_dir": "$work/qat-$tag-bf16"}
EOF
      echo "== $tag: bf16 fine-tune (train)"
      $cli train --config "$work/qat-$tag-bf16.json" --json > "$out/qat-$tag-bf16.json" &&
        python3 -c "$rate" "$out/qat-$tag-bf16.json"
      for run in "kmeans2:--format kmeans2 --estimator ste" "w4a4:--format quest4 --act-format quest4 --estimator trust" \
                 "w1a1:--format quest1 --act-format quest1 --estimator trust"; do
        local name=${run%%:*} options=${run#*:}
        [[ " ${QS_QAT_FORMATS:-kmeans2 w4a4 w1a1} " == *" $name "* ]] || continue
        for path in ${QS_QAT_PATHS:-generic fused}; do
          echo "== $tag qat $name ($path): $options"
          QUANTSCOPE_FAKE_QUANT=$path $cli qat "$model" $options --text "$text" --steps "$steps" --batch $batch \
            --ctx $ctx --warmup 10 --log-every "$every" --final-eval-tokens 512 --device cuda --dtype bf16 \
            --out "$work/qat-$tag-$name-$path" --json > "$out/qat-$tag-$name-$path.json" &&
            python3 -c "$rate" "$out/qat-$tag-$name-$path.json"
          rm -rf "$work/qat-$tag-$name-$path"
        done
      done
    done; } 2>&1 | tee -a "$out/qat.log"
}

stage_decode() {
  targets_build quantscope_bench
  build/cuda/tests/bench/quantscope-bench --decode --json "$out/decode.json" 2>&1 | tee "$out/decode.log"
  tests/bench/decode_tables.py "$out/decode.json" > "$out/decode-tables.md"
}

stage_large() {
  local preset=${QS_GPU_PRESET:-llama-3-8b} budget=${QS_GPU_STREAM_BUDGET:-4G}
  local model=$work/$preset
  QS_BENCH_OPTIONS="--device cuda" QS_BENCH_SKIP="${QS_BENCH_SKIP:-info stats}" QS_DATA="$data" \
    tests/bench/large_model_bench.sh "$preset" "$work" build/cuda 2>&1 | tee "$out/large.log"
  # The bench's eval is resident; the 8B model's 15 GiB under a 4 GiB budget stream a tensor at a time.
  local text=$data/text/tinystories-valid-subset/tinystories_valid_first.txt
  { echo "== streamed: eval --device cuda --dtype bf16 --memory-budget $budget"
    tests/bench/peak_memory.sh build/cuda/app/cli/quantscope-cli eval "$model" --text "$text" --max-tokens 512 \
      --ctx 512 --dtype bf16 --device cuda --memory-budget "$budget"
    echo "== streamed: quantize --format int4:g128 --device cuda --memory-budget $budget"
    tests/bench/peak_memory.sh build/cuda/app/cli/quantscope-cli quantize "$model" --format int4:g128 --device cuda \
      --memory-budget "$budget" | tail -3; } 2>&1 | tee "$out/streamed.log"
  # What each command printed, in one file ($OUT brings back few files).
  for f in "$work/$preset"-*.out; do echo "== $f"; cat "$f"; done > "$out/large-outputs.txt"
}

for stage in "$@"; do
  echo "=== $stage" >&2
  "stage_$stage"
done
