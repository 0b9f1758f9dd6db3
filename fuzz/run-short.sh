#!/usr/bin/env bash
# Short, coverage-guided runs of the targets (no cargo-fuzz needed).
# Usage: fuzz/run-short.sh [seconds per target, default 60] [target ...]   (default: all)
# FUZZ_ASAN=1 builds with the nightly toolchain and AddressSanitizer, as cargo-fuzz does.
# FUZZ_ARGS adds libFuzzer options (e.g. -len_control=0 for the slow targets, whose inputs are
# operation lists that need some length from the start).
# New inputs go to corpus/<target>; seeds/<target> is read too.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(record_frames transport_params engine_input client_hello tls_records api_ops)
fi
target="$(rustc -vV | sed -n 's/^host: //p')"
toolchain=()
asan=""
if [ "${FUZZ_ASAN:-0}" = 1 ]; then
    toolchain=(+nightly)
    asan="-Zsanitizer=address"
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-asan}"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
# The flags cargo-fuzz passes (the sanitizer only on nightly); --target keeps them off build
# scripts.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions $asan"
cargo "${toolchain[@]}" build --release --target "$target" --bins
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    "$CARGO_TARGET_DIR/$target/release/$t" -max_total_time="$secs" -max_len=4096 -timeout=60 \
        -print_final_stats=1 ${FUZZ_ARGS:-} "corpus/$t" "seeds/$t"
done
