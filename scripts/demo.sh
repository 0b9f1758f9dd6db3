#!/usr/bin/env bash
# Builds libmsquic.so.2 and runs the demo program in examples/ against it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --lib
out=target/demo
mkdir -p "$out"
ln -sf ../release/libmsquic.so "$out/libmsquic.so"
ln -sf ../release/libmsquic.so "$out/libmsquic.so.2"
gcc -std=c11 -Wall -Wextra -Werror -O2 -Iinclude -DQUIC_API_ENABLE_PREVIEW_FEATURES \
    examples/version.c -o "$out/version" -L "$out" -lmsquic
LD_LIBRARY_PATH="$out" "$out/version"
