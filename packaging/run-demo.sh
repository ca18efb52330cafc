#!/usr/bin/env bash
# The README's first command after the install and build: opens the embedded demo model in the GUI
# when a display is available. Without one it shows what Quantscope is for, headless: six formats from
# the three families (integer, Hadamard/QuEST, k-means) at 2 and 4 bits on every decoder layer of the
# demo model, each measured against the model as stored (bits/weight, model bytes, perplexity, KL,
# top-1 agreement, a multiple-choice task score), with the rate–distortion plot it names. Results go to
# $QS_DEMO_OUT (default: $TMPDIR/quantscope-demo); a rerun takes what is measured from there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/release/app"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$bin/gui/quantscope" ]; then
  exec "$bin/gui/quantscope"
fi
cli="$bin/cli/quantscope-cli"
out="${QS_DEMO_OUT:-${TMPDIR:-/tmp}/quantscope-demo}"
tasks="$(mktemp -d)"
trap 'rm -rf "$tasks"' EXIT
# The first 80 of the 200 bundled questions keep the run under a minute on 2 cores (standard error
# about ±5.5 points instead of ±3.5).
head -n 80 "$root/resources/tasks/demo-choice.jsonl" > "$tasks/demo-choice.jsonl"
"$cli" sweep demo --text "$root/resources/models/demo/heldout-sample.txt" --max-tokens 2048 \
  --families int,quest,kmeans --bits 2,4 --options int=g64 --tasks "$tasks/demo-choice.jsonl" --out "$out"
echo
echo "plot: $out/plots/sweep_kl.png (KL against bits per weight, one line per family)"
echo "The same in the window: build/release/app/gui/quantscope; plans per layer: docs/gui.md"
