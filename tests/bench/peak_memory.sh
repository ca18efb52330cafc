#!/bin/bash
# peak_memory.sh COMMAND...: runs COMMAND and prints its wall time and peak memory on stderr:
# anonymous (heap, converted tensors; RssAnon sampled every 20 ms), file-backed (mapped checkpoint
# pages, RssFile) and the kernel's high-water mark of both together (VmHWM). The large-model
# benchmarks in docs/performance.md count anonymous memory: the kernel pages a mapped file in and out
# as it likes. Where nvidia-smi answers, the GPU's memory in use is sampled every 100 ms too (the
# whole device, CUDA context included; the figure before COMMAND started is printed beside it).
# Exits with COMMAND's status.
set -u
gpu_log=
if gpu_idle=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 2>/dev/null); then
  gpu_log=$(mktemp)
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i 0 -lms 100 >"$gpu_log" 2>/dev/null &
  gpu_sampler=$!
fi
start=$(date +%s.%N)
"$@" &
pid=$!
anon=0 file=0 hwm=0
while kill -0 "$pid" 2>/dev/null; do
  if status=$(cat "/proc/$pid/status" 2>/dev/null); then
    a=$(awk '/^RssAnon:/{print $2}' <<<"$status"); f=$(awk '/^RssFile:/{print $2}' <<<"$status")
    h=$(awk '/^VmHWM:/{print $2}' <<<"$status")
    (( ${a:-0} > anon )) && anon=$a
    (( ${f:-0} > file )) && file=$f
    (( ${h:-0} > hwm )) && hwm=$h
  fi
  sleep 0.02
done
wait "$pid"
rc=$?
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v a="$anon" -v f="$file" -v h="$hwm" -v rc="$rc" 'BEGIN {
  printf "peak_memory: %.2f s, anonymous %.0f MiB, file-backed %.0f MiB, high-water %.0f MiB, exit %d\n",
         e - s, a / 1024, f / 1024, h / 1024, rc }' >&2
if [ -n "$gpu_log" ]; then
  kill "$gpu_sampler" 2>/dev/null; wait "$gpu_sampler" 2>/dev/null
  awk -v idle="$gpu_idle" '{ if ($1 + 0 > peak) peak = $1 + 0 } END {
    printf "peak_memory: GPU in use %d MiB at most (%d MiB before)\n", peak, idle }' "$gpu_log" >&2
  rm -f "$gpu_log"
fi
exit "$rc"
