#!/bin/bash
# corpus_make.sh CLI: writes the seed corpus of every harness into tests/fuzz/corpus/, from tiny models
# (tiny_model.py) and what the CLI itself writes of them (GGUF, packed checkpoints, run and results
# files), plus the repository's own plans, experiments, tasks and training configurations. Seeds are
# small (libFuzzer's default input limit follows the largest seed) and reproducible.
set -euo pipefail
cli=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$corpus"
for name in safetensors config hf_checkpoint llama2c gguf sentencepiece plan experiment tasks train_config run_file results; do
  mkdir -p "$corpus/$name"
done
# Joins files the way fuzz_hf_checkpoint.cpp splits its input.
join_parts() {
  local out=$1 first=1
  shift
  : > "$out"
  for part in "$@"; do
    [ $first = 1 ] || printf '\0QSFUZZ\0' >> "$out"
    cat "$part" >> "$out"
    first=0
  done
}

cd "$work"
python3 "$here/tiny_model.py" hf
python3 "$here/tiny_model.py" "$corpus/llama2c/tiny.bin"
cp hf/tokenizer.model "$corpus/sentencepiece/tiny.model"
for format in q4_0 q8_0; do "$cli" export hf --format $format --to gguf --out "$corpus/gguf/$format.gguf" > /dev/null; done
"$cli" export hf --to gguf --float-dtype f16 --out "$corpus/gguf/f16.gguf" > /dev/null
for format in kmeans2 int4:g32 quest2:h32 kmeans1:channel; do
  "$cli" export hf --format $format --to quantscope --out "packed-${format//:/-}" > /dev/null
done

cp hf/model.safetensors "$corpus/safetensors/hf.safetensors"
cp packed-kmeans2/model.safetensors "$corpus/safetensors/packed-kmeans2.safetensors"
cp hf/config.json "$corpus/config/hf.json"
cp packed-kmeans2/config.json "$corpus/config/packed-kmeans2.json"
cp "$root/resources/models/demo/config.json" "$corpus/config/demo.json"
join_parts "$corpus/hf_checkpoint/hf" hf/config.json hf/model.safetensors
for p in packed-*; do join_parts "$corpus/hf_checkpoint/$p" $p/config.json $p/model.safetensors; done
python3 - hf/model.safetensors > index.json <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    names = [k for k in json.loads(f.read(n)) if k != "__metadata__"]
print(json.dumps({"metadata": {"total_size": 0}, "weight_map": {k: "shard-1.safetensors" for k in names}}))
PY
join_parts "$corpus/hf_checkpoint/sharded" hf/config.json index.json hf/model.safetensors

# The plan of docs/plans.md, and one per family.
sed -n '/^```json/,/^```/p' "$root/docs/plans.md" | sed '1d;$d' | awk 'BEGIN{n=0} /^```/{n++; next} {print > ("plan" n ".json")}'
for f in plan*.json; do cp "$f" "$corpus/plan/docs-$f"; done
printf '{"version": 1, "default": {"weight": "kmeans2:b64"}, "layers": {"*.down_proj": {"weight": "quest4", "act": "quest8"}}}\n' > "$corpus/plan/families.json"
cp "$root/resources/experiments/demo-analysis.json" "$corpus/experiment/"
cp "$root/resources/experiments/kmeans-vs-int/kmeans2.json" "$corpus/experiment/kmeans-vs-int-kmeans2.json"
head -c 4000 "$root/resources/tasks/demo-choice.jsonl" | sed '$d' > "$corpus/tasks/choice.jsonl"
head -c 4000 "$root/resources/tasks/demo-cloze.jsonl" | sed '$d' > "$corpus/tasks/cloze.jsonl"
cp "$root/resources/models/demo/train.json" "$corpus/train_config/demo.json"

# A run file (two QAT steps) and a results file (an experiment over the tiny model).
head -c 3000 "$root/resources/models/demo/heldout-sample.txt" | tr 'A-Z' 'a-z' > text.txt
"$cli" qat hf --format kmeans2 --text text.txt --steps 2 --batch 2 --ctx 8 --log-every 1 --final-eval-tokens 16 \
  --out qat > /dev/null
cp qat/run.h5 "$corpus/run_file/qat.h5"
cat > experiment.json <<JSON
{"title": "fuzz seed", "model": "$work/hf", "evaluation": {"text": "$work/text.txt", "ctx": 8, "max_tokens": 64},
 "sweep": {"families": ["int"], "bits": [2, 4]}}
JSON
"$cli" run experiment.json --out results > /dev/null
cp results/results.h5 "$corpus/results/sweep.h5"
du -sh "$corpus"/* | sort -k2
