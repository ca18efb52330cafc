#!/usr/bin/env bash
# Runs the configs of one experiment folder (docs/experiments.md) with quantscope-cli train and prints
# one line per run: final held-out loss and perplexity, the quantized model's final evaluation, the
# loss curve at quarter points, wall time. Results (one JSON per run) go to build/experiments/<name>/.
#   resources/experiments/run.sh build/cuda/app/cli/quantscope-cli resources/experiments/kmeans-vs-int [RUN...]
# The text comes from resources/models/demo/assemble-corpus.sh (.corpus/); runs need a CUDA build.
set -euo pipefail
cli=$(realpath "$1")
folder=$2
shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
name=$(basename "$folder")
results="$root/build/experiments/$name"
mkdir -p "$results"
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=($(cd "$folder" && ls *.json | sed 's/\.json$//'))
for run in "${configs[@]}"; do
  rm -rf "${results:?}/$run"
  start=$(date +%s)
  "$cli" train --config "$folder/$run.json" --json > "$results/$run.json"
  echo "$run: $(( $(date +%s) - start )) s" >&2
done
python3 - "$results" "${configs[@]}" <<'PY'
import json, math, sys
results, runs = sys.argv[1], sys.argv[2:]
print(f"{'run':26} {'heldout loss':>12} {'ppl':>8} {'final ppl':>9} {'loss@25%':>9} {'@50%':>7} {'@75%':>7} {'seconds':>8}")
for run in runs:
    r = json.load(open(f"{results}/{run}.json"))
    log = [e for e in r["log"] if e["step"] > 0]
    at = lambda q: min(log, key=lambda e: abs(e["step"] - q * r["steps"]))["loss"]
    final = r.get("final", {}).get("perplexity")
    final = f"{final:9.3f}" if final else f"{'':9}"
    print(f"{run:26} {r['final_heldout_loss']:12.4f} {math.exp(r['final_heldout_loss']):8.3f} {final} "
          f"{at(.25):9.3f} {at(.5):7.3f} {at(.75):7.3f} {r['seconds']:8.1f}")
PY
