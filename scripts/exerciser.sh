#!/usr/bin/env bash
# Long runs of the randomized API exerciser (c-tests/api_exerciser.c) under AddressSanitizer and
# UndefinedBehaviorSanitizer, against a debug build of this library. Development only: CI runs
# four short seeds through `cargo test`.
#
#   scripts/exerciser.sh [SEEDS [SECONDS [THREADS]]]
#
# SEEDS is a comma-separated list (default 1,2,3,4,5), each run for SECONDS (default 120) with
# THREADS threads (default 4), one after another. A failing seed is named in the output and
# can be replayed alone. Leaks are reported at exit (LeakSanitizer).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seeds="${1:-1,2,3,4,5}"
seconds="${2:-120}"
threads="${3:-4}"
out="$root/target/exerciser"
mkdir -p "$out"

(cd "$root" && cargo build --locked --lib)
lib="$root/target/debug"
ln -sf libmsquic.so "$lib/libmsquic.so.2"

if [ ! -f "$out/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
fi

gcc -std=c11 -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -pthread \
    -DQUIC_API_ENABLE_PREVIEW_FEATURES -I "$root/include" \
    "$root/c-tests/api_exerciser.c" -o "$out/api_exerciser" -L "$lib" -lmsquic

status=0
IFS=, read -ra list <<<"$seeds"
for seed in "${list[@]}"; do
    echo "seed $seed: ${seconds}s, $threads threads"
    if ! MSQUIC_TEST_CERT="$out/cert.pem" MSQUIC_TEST_KEY="$out/key.pem" \
        LD_LIBRARY_PATH="$lib" \
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87 \
        "$out/api_exerciser" "$seed" "$seconds" "$threads"; then
        echo "seed $seed FAILED"
        status=1
    fi
done
exit $status
