#!/bin/bash
# large_model_bench.sh PRESET WORK [BUILD]: the large-model benchmark of docs/performance.md. Writes a
# synthetic checkpoint of PRESET's shape (quantscope-synth; see tests/support/synthetic_checkpoint.hpp)
# to WORK/PRESET unless it is there, then times `info`, `info --stats`, `quantize` (int4:g128 and
# kmeans2 over the decoder's linear layers, report only), `export --to hf` (bf16, so that the scratch
# file of the quantized weights and the output are the model's size) and `eval` of 512 tokens, each under
# peak_memory.sh (wall time; peak anonymous, file-backed and total resident memory). Extra options for
# every command (e.g. "--device cuda") come from $QS_BENCH_OPTIONS; commands to skip from $QS_BENCH_SKIP
# (names: info stats int4 kmeans2 save eval). BUILD defaults to build/release.
set -euo pipefail
preset=$1 work=$2 build=${3:-build/release}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cli=$build/app/cli/quantscope-cli synth=$build/tests/bench/quantscope-synth
data=${QS_DATA:-$root/../shared/data}
text=$data/text/tinystories-valid-subset/tinystories_valid_first.txt
tokenizer=$data/models/llama2-tokenizer-32k/tokenizer.model
model=$work/$preset
mkdir -p "$work"
if [ ! -f "$model/config.json" ]; then
  echo "== writing $model" >&2
  "$here/peak_memory.sh" "$synth" "$preset" "$model" --tokenizer "$tokenizer"
fi
du -sh "$model" >&2
export QUANTSCOPE_CACHE_DIR=$work/cache-$preset
rm -rf "$QUANTSCOPE_CACHE_DIR" "$work/saved-$preset"
options=${QS_BENCH_OPTIONS:-}
skip=" ${QS_BENCH_SKIP:-} "
run() {
  local name=$1; shift
  [[ $skip == *" $name "* ]] && return 0
  echo "== $name: quantscope-cli $*" >&2
  "$here/peak_memory.sh" "$cli" "$@" > "$work/$preset-$name.out"
}
run info info "$model" $options
run stats info "$model" --stats $options
run int4 quantize "$model" --format int4:g128 $options
run kmeans2 quantize "$model" --format kmeans2 $options
run save export "$model" --format int4:g128 --to hf --out "$work/saved-$preset" --float-dtype bf16 --dtype bf16 $options
run eval eval "$model" --text "$text" --max-tokens 512 --ctx 512 --dtype bf16 $options
rm -rf "$work/saved-$preset"
