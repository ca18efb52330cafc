#!/usr/bin/env bash
# Installs every Debian 12 package Quantscope builds, tests and runs with. Idempotent and
# non-interactive; works as root or through sudo. Packages already present are left alone.
# --fuzz adds clang 14 and its libFuzzer and sanitizer runtimes, for the fuzz preset (tests/fuzz).
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libhdf5-dev nlohmann-json3-dev libgtest-dev
  libsentencepiece-dev sentencepiece
  qt6-base-dev libqt6svg6 libqcustomplot-dev libgl-dev
  xvfb xauth
  python3-numpy
)
if [ "${1:-}" = --fuzz ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
