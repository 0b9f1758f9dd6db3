#!/usr/bin/env bash
# Runs a subset of the C suite under valgrind memcheck against the library, built without
# sanitizers (the C suite itself builds with AddressSanitizer, which valgrind cannot run).
# Any memcheck error or definite/indirect leak fails the run.
# Usage: scripts/valgrind.sh [program ...]   (default: the list below)
# VALGRIND_TIMEOUT (seconds per program, default 300) bounds each run.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# Connections, streams, send and receive modes, close paths (also from inside callbacks),
# TLS, datagrams. Not here: stream_shutdown_flags (it forks, and its 10 s connect wait is too
# tight under valgrind on a loaded machine).
programs=(
    loopback_tls
    tls_secrets
    cert_events
    send_flags
    receive_modes
    close_graceful
    close_in_callbacks
    handle_lifetime
    registration_close
    datagrams
)
if (($# > 0)); then
    programs=("$@")
fi

cargo build --locked --lib
lib="$root/target/debug/libmsquic.so"
out="$root/target/valgrind"
mkdir -p "$out/lib"
ln -sf "$lib" "$out/lib/libmsquic.so"
ln -sf "$lib" "$out/lib/libmsquic.so.2"

# A self-signed certificate for localhost and 127.0.0.1, as the C suite's harness makes.
if [ ! -f "$out/cert.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$out/key.pem" -out "$out/cert.pem" -days 30 -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
fi
export MSQUIC_TEST_CERT="$out/cert.pem" MSQUIC_TEST_KEY="$out/key.pem"
export LD_LIBRARY_PATH="$out/lib"

failed=()
for p in "${programs[@]}"; do
    exe="$out/$p"
    gcc -std=c11 -g -O1 -Wall -Wextra -Werror -pthread -I include \
        -DQUIC_API_ENABLE_PREVIEW_FEATURES "c-tests/$p.c" -o "$exe" -L "$out/lib" -lmsquic
    start=$(date +%s)
    if timeout "${VALGRIND_TIMEOUT:-300}" valgrind --tool=memcheck --error-exitcode=99 \
        --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --track-fds=no \
        --suppressions="$root/scripts/valgrind.supp" --log-file="$out/$p.log" \
        "$exe" >"$out/$p.out" 2>&1; then
        echo "valgrind $p: clean ($(($(date +%s) - start)) s)"
    else
        echo "valgrind $p: FAILED ($(($(date +%s) - start)) s), see $out/$p.log and $out/$p.out"
        failed+=("$p")
    fi
done
# The PKCS#12 reader calls AWS-LC's C API directly: its unit tests run under valgrind too
# (only with the default program list).
if (($# == 0)); then
    tests_exe="$(cargo test --locked --lib --no-run 2>&1 |
        sed -n 's/.*Executable unittests src\/lib.rs (\(.*\))/\1/p')"
    start=$(date +%s)
    if timeout "${VALGRIND_TIMEOUT:-300}" valgrind --tool=memcheck --error-exitcode=99 \
        --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect \
        --suppressions="$root/scripts/valgrind.supp" --log-file="$out/pkcs12-tests.log" \
        "$tests_exe" runtime::tls::tests::pkcs12:: --test-threads=2 \
        >"$out/pkcs12-tests.out" 2>&1; then
        echo "valgrind pkcs12 unit tests: clean ($(($(date +%s) - start)) s)"
    else
        echo "valgrind pkcs12 unit tests: FAILED, see $out/pkcs12-tests.log"
        failed+=(pkcs12-tests)
    fi
fi
if ((${#failed[@]})); then
    echo "valgrind: ${#failed[@]} failing: ${failed[*]}"
    exit 1
fi
