#!/bin/bash
# fuzz_run.sh [RUNS] [HARNESS...]: the fuzz preset's harnesses (build/fuzz) under libFuzzer, each for
# RUNS executions (1,000,000 by default) over a working copy of its committed corpus, one after the
# other. Per harness, in build/fuzz/runs/NAME/: corpus/ (the seeds and what libFuzzer added),
# artifacts/ (crashes, leaks, timeouts, out-of-memory inputs), log.txt. Prints one line per harness:
# executions, seconds, corpus size, artifacts. Limits: 10 s an input, 2 GB resident, 1 GB in one
# allocation (a reader that allocates what a header claims before checking the file is a finding).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=${1:-1000000}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(safetensors config hf_checkpoint llama2c gguf sentencepiece plan experiment
                                        tasks train_config run_file results)
dicts_of() {
  case $1 in
    safetensors) echo safetensors ;;
    hf_checkpoint) echo json safetensors ;;
    config | plan | experiment | tasks | train_config) echo json ;;
    gguf) echo gguf ;;
  esac
}
for name in "${harnesses[@]}"; do
  bin=$root/build/fuzz/tests/fuzz/quantscope_fuzz_$name
  [ -x "$bin" ] || { echo "$name: $bin missing (cmake --preset fuzz && cmake --build --preset fuzz)"; exit 2; }
  dir=$root/build/fuzz/runs/$name
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -n "$here/corpus/$name"/* "$dir/corpus/" 2>/dev/null
  options=(-runs="$runs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1
           -artifact_prefix="$dir/artifacts/")
  dicts=$(dicts_of "$name")
  if [ -n "$dicts" ]; then
    : > "$dir/dict"
    for d in $dicts; do cat "$here/$d.dict" >> "$dir/dict"; done
    options+=(-dict="$dir/dict")
  fi
  start=$SECONDS
  ASAN_OPTIONS=detect_leaks=1 "$bin" "${options[@]}" "$dir/corpus" > "$dir/log.txt" 2>&1
  status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log.txt" | grep -o '[0-9]*$' | tail -1)
  echo "$name: exit $status, ${execs:-?} executions in $((SECONDS - start)) s, corpus $(ls "$dir/corpus" | wc -l)," \
       "artifacts $(ls "$dir/artifacts" | wc -l)"
done
