#!/bin/bash
# deps-offline.sh: the Debian build dependencies for a machine that cannot install packages (the GPU
# machines the benchmarks run on have CMake, nvcc and a CUDA LibTorch but no apt access and none of
# HDF5, nlohmann-json, SentencePiece or GoogleTest).
#   deps-offline.sh download DIR   where apt works (Debian 12, amd64): fetch the .deb files into DIR
#   deps-offline.sh unpack DIR PREFIX
#                                   on the other machine: unpack them under PREFIX (never /) and print
#                                   the shell lines that point CMake, pkg-config and the loader there
set -euo pipefail
packages=(libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libsz2 libaec0 nlohmann-json3-dev
          libsentencepiece-dev libsentencepiece0 libgtest-dev pkgconf pkgconf-bin libpkgconf3)
case ${1:-} in
  download)
    mkdir -p "$2"
    cd "$2" && apt-get download "${packages[@]}"
    ;;
  unpack)
    debs=$(cd "$2" && pwd) prefix=$3
    mkdir -p "$prefix"
    prefix=$(cd "$prefix" && pwd)
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$prefix"; done
    lib=$prefix/usr/lib/x86_64-linux-gnu
    # pkgconf reads .pc files that say prefix=/usr; the sysroot moves their -I and -L under PREFIX.
    cat <<EOF
export PATH="$prefix/usr/bin:\$PATH"
export LD_LIBRARY_PATH="$lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$prefix"
export CMAKE_PREFIX_PATH="$prefix/usr\${CMAKE_PREFIX_PATH:+;\$CMAKE_PREFIX_PATH}"
export HDF5_ROOT="$lib/hdf5/serial"
EOF
    ;;
  *)
    echo "usage: deps-offline.sh download DIR | unpack DIR PREFIX" >&2
    exit 2
    ;;
esac
