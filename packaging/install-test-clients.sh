#!/usr/bin/env bash
# install-test-clients.sh [DIR]: the real clients that the export tests check Quantscope's files with,
# where Debian 12 does not package them. Today that is llama.cpp v0.4.0 as the npm package
# node-llama-cpp@3.21.1 ships it: its prebuilt CPU libraries (libggml-base, libggml, libllama and the
# CPU backends) from @node-llama-cpp/linux-x64, and the headers and gguf-py from the llama.cpp source
# bundle inside node-llama-cpp. Both tarballs come from the npm registry, pinned by version and
# checked against the registry's sha512; no install script of theirs runs. DIR defaults to
# build/test-clients. Idempotent; on any failure (no network, say) it says why and exits 0, and the
# tests that need a client skip with a message naming this script.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build/test-clients}
llama=$dir/llama-v0.4.0

declare -A tarball=(
  [node-llama-cpp]=https://registry.npmjs.org/node-llama-cpp/-/node-llama-cpp-3.21.1.tgz
  [linux-x64]=https://registry.npmjs.org/@node-llama-cpp/linux-x64/-/linux-x64-3.21.1.tgz)
declare -A sha512=(
  [node-llama-cpp]=E3N0Ev2Va0wzydvXYFwM9Hvyo07PoWjt8T/9GMc43Cvt8YkV/NU/tYUgEMC1grTPv2o9PRjQi0G3Wb5P/awiMg==
  [linux-x64]=Totj6RTDMGo3FoK2yNUaz/oGmZD0olAqTrRluFUWmu0kW2i9TOzHSW0OWCAiGkzRCVX0WsU2CyUQo/W2NYtdPA==)

skip() {
  echo "install-test-clients: $*; the llama.cpp tests will skip" >&2
  rm -rf "$llama.partial"
  exit 0
}

[ -f "$llama/.complete" ] && { echo "install-test-clients: llama.cpp v0.4.0 is in $llama"; exit 0; }
for tool in curl tar git openssl base64; do
  command -v "$tool" > /dev/null || skip "$tool is missing"
done
rm -rf "$llama.partial"
mkdir -p "$llama.partial/download" || skip "cannot create $llama.partial"
for name in node-llama-cpp linux-x64; do
  file=$llama.partial/download/$name.tgz
  curl -fsSL --retry 3 -o "$file" "${tarball[$name]}" || skip "cannot download ${tarball[$name]}"
  sum=$(openssl dgst -sha512 -binary "$file" | base64 -w0)
  [ "$sum" = "${sha512[$name]}" ] || skip "$name's tarball does not match the pinned sha512"
  mkdir -p "$llama.partial/$name" && tar -xzf "$file" -C "$llama.partial/$name" || skip "cannot unpack $name"
done
bins=$llama.partial/linux-x64/package/bins/linux-x64
[ -f "$bins/libggml-base.so" ] || skip "the prebuilt libraries are not where v3.21.1 keeps them"
mv "$bins" "$llama.partial/lib" || skip "cannot move the libraries"
git clone -q "$llama.partial/node-llama-cpp/package/llama/gitRelease.bundle" "$llama.partial/src" 2> /dev/null ||
  skip "cannot clone llama.cpp's source bundle"
mkdir -p "$llama.partial/include" && cp "$llama.partial"/src/include/*.h "$llama.partial"/src/ggml/include/*.h \
  "$llama.partial/include/" || skip "the source bundle has no headers where v0.4.0 keeps them"
mv "$llama.partial/src/gguf-py" "$llama.partial/gguf-py" || skip "the source bundle has no gguf-py"
rm -rf "$llama.partial/download" "$llama.partial/node-llama-cpp" "$llama.partial/linux-x64" "$llama.partial/src"
touch "$llama.partial/.complete" && rm -rf "$llama" && mv "$llama.partial" "$llama" || skip "cannot finish $llama"
echo "install-test-clients: llama.cpp v0.4.0 installed in $llama ($(du -sh "$llama" | cut -f1))"
