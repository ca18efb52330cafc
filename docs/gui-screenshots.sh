#!/bin/sh
# docs/gui-screenshots.sh [BUILD]: regenerates the pictures of docs/gui.md from the offscreen GUI test
# UserGuide.ASessionOnTheDemoModel (BUILD defaults to build/release), then copies them to docs/images/.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
cmake --build "$build" --target quantscope_gui_tests
out=$build/tests/gui
QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME=$(mktemp -d) "$out/quantscope_gui_tests" --gtest_filter='UserGuide.*'
cp "$out"/user-guide/gui-*.png "$root/docs/images/"
ls -l "$root"/docs/images/gui-*.png
