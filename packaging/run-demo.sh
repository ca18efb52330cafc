#!/usr/bin/env bash
# The README's first command after the install and build: opens the embedded demo model in the GUI
# when a display is available, otherwise runs a headless evaluation that prints a result table.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/build/release/app"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$bin/gui/quantscope" ]; then
  exec "$bin/gui/quantscope"
fi
cli="$bin/cli/quantscope-cli"
"$cli" info demo
"$cli" eval demo --text "$root/resources/models/demo/heldout-sample.txt"
"$cli" generate demo --prompt "Call me" --max-new 60 --temperature 0
