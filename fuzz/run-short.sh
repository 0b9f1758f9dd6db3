#!/usr/bin/env bash
# Short, coverage-guided runs of every target on the stable toolchain (no cargo-fuzz needed).
# Usage: fuzz/run-short.sh [seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
target="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# The flags cargo-fuzz passes, minus the nightly-only sanitizer; --target keeps them off build
# scripts.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions"
cargo build --release --target "$target"
for t in record_frames transport_params engine_input; do
    mkdir -p "corpus/$t"
    "$CARGO_TARGET_DIR/$target/release/$t" -max_total_time="$secs" -max_len=4096 \
        "corpus/$t" "seeds/$t"
done
