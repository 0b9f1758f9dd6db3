#!/usr/bin/env bash
# One-connection throughput through the library on loopback (QMux over TCP and over TLS),
# with the release build. Figures go in BENCHMARKS.md. RUNS=n repeats each setting n times
# (take medians: the machine is shared); MIB sets the transfer size. BASE_LIB=dir (a directory
# holding an earlier build's libmsquic.so.2) alternates every run between that library and
# this build, so that both see the same load.
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${MIB:-1024}
runs=${RUNS:-1}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --lib
out="$target/bench"
mkdir -p "$out"
ln -sf ../release/libmsquic.so "$out/libmsquic.so"
ln -sf ../release/libmsquic.so "$out/libmsquic.so.2"
gcc -std=c11 -O2 -pthread -Iinclude -DQUIC_API_ENABLE_PREVIEW_FEATURES examples/throughput.c \
    -o "$out/throughput" -L "$out" -lmsquic
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
libs=("$out")
if [ -n "${BASE_LIB:-}" ]; then
    libs=("$BASE_LIB" "$out")
fi
for _ in $(seq "$runs"); do
    for lib in "${libs[@]}"; do
        for args in "-tcp" "-cert $out/cert.pem -key $out/key.pem" \
            "-cert $out/cert.pem -key $out/key.pem -window 16777216"; do
            # shellcheck disable=SC2086 # the arguments are split on purpose
            printf '%s: %s\n' "$lib" "$(LD_LIBRARY_PATH="$lib" "$out/throughput" -mib "$mib" $args)"
        done
    done
done
