#!/usr/bin/env bash
# One-connection throughput through the library on loopback (QMux over TCP and over TLS),
# with the release build. Figures go in BENCHMARKS.md. RUNS=n repeats each setting n times
# (take medians: the machine is shared); MIB sets the transfer size.
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
export LD_LIBRARY_PATH="$out"
for _ in $(seq "$runs"); do
    "$out/throughput" -mib "$mib" -tcp
    "$out/throughput" -mib "$mib" -cert "$out/cert.pem" -key "$out/key.pem"
    "$out/throughput" -mib "$mib" -cert "$out/cert.pem" -key "$out/key.pem" -window 16777216
done
