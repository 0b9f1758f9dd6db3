#!/usr/bin/env bash
# Differential harness (development only, not run in CI).
#
# Builds Microsoft's MsQuic (the source of the crates.io `msquic` crate) as a shared library in a
# cache directory outside the repository, then builds every C test in c-tests/ that is not
# specific to QMux twice (the same include/msquic.h for both) and runs each once against
# MsQuic and once against this library, with QMUX_TEST_TRANSCRIPT set so the tests write one
# line per event. It prints the exit status on each library and a diff of the transcripts.
#
# Usage: scripts/differential.sh [--build-only] [test-name ...]
# Environment:
#   MSQUIC_SRC        MsQuic source tree (default: the msquic-2.5.1-beta crate in ~/.cargo)
#   MSQUIC_CACHE      where MsQuic is built (default: ~/.cache/msquic-qmux/msquic-2.5.1)
#   QMUX_LIB          our libmsquic.so (default: target/release/libmsquic.so, built if missing)
#   DIFF_OUT          where binaries, transcripts and logs go (default: target/differential)
#   DIFF_JOBS         make -j for the MsQuic build (default: 2)
#   DIFF_RUNS         runs per library and test, to spot transcripts that vary (default: 2)
#   DIFF_TIMEOUT      seconds per run (default: 60)
#   DIFF_IGNORE       extended regex: transcript lines to leave out of the comparison, e.g.
#                     'IDEAL_PROCESSOR_CHANGED|peer_acked' to hide known differences
#   DIFF_LINES        transcript diff lines shown per test (default: 60)
#   DIFF_VARY_LINES   lines shown of a transcript that varies between runs (default: 8)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MSQUIC_SRC=${MSQUIC_SRC:-$(ls -d "$HOME"/.cargo/registry/src/*/msquic-2.5.1-beta 2>/dev/null | head -n1)}
MSQUIC_CACHE=${MSQUIC_CACHE:-$HOME/.cache/msquic-qmux/msquic-2.5.1}
DIFF_OUT=${DIFF_OUT:-$ROOT/target/differential}
DIFF_JOBS=${DIFF_JOBS:-2}

say() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Build dependencies and MsQuic.
# ---------------------------------------------------------------------------------------------
ensure_build_deps() {
    local missing=()
    command -v cmake >/dev/null || missing+=(cmake)
    command -v make >/dev/null || missing+=(make)
    command -v cc >/dev/null || missing+=(gcc)
    command -v perl >/dev/null || missing+=(perl)
    command -v openssl >/dev/null || missing+=(openssl)
    [ -e /usr/include/numa.h ] || missing+=(libnuma-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing build dependencies: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get install -y --no-install-recommends "${missing[@]}" ||
            { $sudo apt-get update && $sudo apt-get install -y --no-install-recommends "${missing[@]}"; }
    fi
}

build_msquic() {
    local lib="$MSQUIC_CACHE/lib/libmsquic.so.2"
    if [ -e "$lib" ]; then
        echo "$MSQUIC_CACHE/lib"
        return
    fi
    [ -n "$MSQUIC_SRC" ] && [ -e "$MSQUIC_SRC/CMakeLists.txt" ] || {
        say "MsQuic source not found; fetch it with: cargo fetch (crate msquic 2.5.1-beta) or set MSQUIC_SRC"
        exit 1
    }
    ensure_build_deps
    say "building MsQuic from $MSQUIC_SRC into $MSQUIC_CACHE (takes a while)"
    mkdir -p "$MSQUIC_CACHE/build"
    nice cmake -S "$MSQUIC_SRC" -B "$MSQUIC_CACHE/build" \
        -DCMAKE_BUILD_TYPE=Release \
        -DQUIC_TLS_LIB=quictls \
        -DQUIC_BUILD_SHARED=ON \
        -DQUIC_BUILD_TEST=OFF -DQUIC_BUILD_TOOLS=OFF -DQUIC_BUILD_PERF=OFF \
        -DQUIC_ENABLE_LOGGING=OFF -DQUIC_EMBED_GIT_HASH=OFF \
        -DQUIC_OUTPUT_DIR="$MSQUIC_CACHE/out" >&2
    # quictls' own make honours MAKEFLAGS; keep both builds at DIFF_JOBS.
    MAKEFLAGS=-j"$DIFF_JOBS" nice cmake --build "$MSQUIC_CACHE/build" --target msquic -j "$DIFF_JOBS" >&2
    local built
    built=$(find "$MSQUIC_CACHE/out" "$MSQUIC_CACHE/build" -name 'libmsquic.so.2*' -type f | head -n1)
    [ -n "$built" ] || { say "MsQuic build produced no libmsquic.so.2"; exit 1; }
    mkdir -p "$MSQUIC_CACHE/lib"
    cp "$built" "$MSQUIC_CACHE/lib/libmsquic.so.2"
    ln -sf libmsquic.so.2 "$MSQUIC_CACHE/lib/libmsquic.so"
    echo "$MSQUIC_CACHE/lib"
}


# ---------------------------------------------------------------------------------------------
# Which tests take part.
# ---------------------------------------------------------------------------------------------
# Tests that check something only this library has, or that MsQuic 2.5.1 cannot run from a
# binary built against the 2.7 header. Each with the reason.
declare -A EXCLUDED=(
    [abi_layout]="type layout of the 2.7 header, and calls slots 37-38 that 2.5.1's table lacks"
    [abi_layout_nopreview]="type layout of the 2.7 header"
    [bad_args]="calls RegistrationClose2 and ConnectionExportKeyingMaterial (not in 2.5.1's table)"
    [open_close]="reads all 39 slots of the 2.7 table; 2.5.1's has 37"
    [registration_threads]="calls RegistrationClose2 (not in 2.5.1's table) and RegistrationClose from a callback (MsQuic forbids it); its other rounds pass on MsQuic"
    [loopback_tcp]="QMux over plain TCP (QUIC_PARAM_REGISTRATION_TRANSPORT)"
    [listener_reject]="its second round runs over QMux/TCP"
    [disconnect_timeout]="its peer is a raw TCP server speaking QMux records"
    [handshake_timeout]="its peers are raw TCP sockets (a TLS listener fed no ClientHello)"
    [memory_scale]="heap accounting of this library's caches"
    [end_releases]="its peers talk through a TCP proxy (and some over QMux/TCP)"
    [execution_poll]="ExecutionCreate arguments 2.5.1 does not validate (it crashes), and 2.5.1's ExecutionDelete after closing everything never returns; the application's loop itself gives the same events"
    [execution_threads]="2.5.1 does not return from the teardown after closing everything; the loops give the same events"
)
# cert_chain reads the certificate chain tests/c_suite.rs writes (target/tmp/cert-chain):
# export its QMUX_CHAIN_* variables to include it.
[ -n "${QMUX_CHAIN_CERT:-}" ] ||
    EXCLUDED[cert_chain]="needs the QMUX_CHAIN_* certificates tests/c_suite.rs writes"

# ---------------------------------------------------------------------------------------------
# Test certificate (as tests/c_suite.rs makes one: self-signed, localhost and 127.0.0.1, P-256,
# no basic constraints).
# ---------------------------------------------------------------------------------------------
make_certificate() {
    local dir="$DIFF_OUT/cert"
    if [ ! -e "$dir/cert.pem" ]; then
        mkdir -p "$dir"
        cat >"$dir/req.cnf" <<'CNF'
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = rcgen self signed cert
[ext]
subjectAltName = DNS:localhost, IP:127.0.0.1
CNF
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
            -config "$dir/req.cnf" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
    fi
    export MSQUIC_TEST_CERT="$dir/cert.pem" MSQUIC_TEST_KEY="$dir/key.pem"
}

# ---------------------------------------------------------------------------------------------
# Building and running one test.
# ---------------------------------------------------------------------------------------------
compile_test() {
    local name=$1 exe=$2
    local args=(-std=c11 -g -O1 -Wall -Wextra -Werror -pthread -I "$ROOT/include")
    [[ $name == *nopreview* ]] || args+=(-DQUIC_API_ENABLE_PREVIEW_FEATURES)
    args+=("$ROOT/c-tests/$name.c" -o "$exe")
    if [[ $name == dlopen* ]]; then
        args+=(-ldl)
    else
        # Both libraries have the soname libmsquic.so.2: LD_LIBRARY_PATH picks one at run time.
        args+=(-L "$MSQUIC_LIB" -lmsquic)
    fi
    gcc "${args[@]}"
}

# The transcript grouped by role (stable: order within a role is kept), a run of RECEIVE lines
# of one role folded into one (how bytes are cut into events is the transport's business),
# then repeated lines folded.
normalize() {
    { grep -v -E "${DIFF_IGNORE:-^$}" "$1" || true; } | LC_ALL=C sort -s -k1,1 | awk '
        function flush() {
            if (role != "") print role " RECEIVE" (rtt ? " 0RTT" : "") (fin ? " FIN" : "")
            role = ""; rtt = 0; fin = 0
        }
        $2 == "RECEIVE" {
            if ($1 != role) flush()
            role = $1
            for (i = 3; i <= NF; i++) { if ($i == "FIN") fin = 1; if ($i == "0RTT") rtt = 1 }
            next
        }
        { flush(); print }
        END { flush() }' | uniq
}

# run_test NAME EXE LIBDIR TAG: runs once, leaves TAG.txt (normalized transcript), TAG.out,
# TAG.err and TAG.rc in the test's directory.
run_test() {
    local name=$1 exe=$2 libdir=$3 tag=$4 dir="$DIFF_OUT/$1"
    rm -f "$dir/$tag.raw"
    local rc=0
    QMUX_TEST_TRANSCRIPT="$dir/$tag.raw" LD_LIBRARY_PATH="$libdir" \
        timeout "${DIFF_TIMEOUT:-60}" "$exe" >"$dir/$tag.out" 2>"$dir/$tag.err" || rc=$?
    echo "$rc" >"$dir/$tag.rc"
    touch "$dir/$tag.raw"
    normalize "$dir/$tag.raw" >"$dir/$tag.txt"
}

describe_rc() {
    case $1 in
        0) echo "exit 0" ;;
        124) echo "TIMEOUT" ;;
        *) if [ "$1" -gt 128 ]; then echo "signal $(($1 - 128))"; else echo "exit $1"; fi ;;
    esac
}

compare_test() {
    local name=$1 dir="$DIFF_OUT/$1" runs=${DIFF_RUNS:-2}
    mkdir -p "$dir"
    local exe="$dir/$name"
    if ! compile_test "$name" "$exe" 2>"$dir/compile.err"; then
        echo "### $name: does not compile"
        sed 's/^/    /' "$dir/compile.err" | head -20 || true
        return
    fi
    local i
    for i in $(seq 1 "$runs"); do
        run_test "$name" "$exe" "$MSQUIC_LIB" "msquic.$i"
        run_test "$name" "$exe" "$QMUX_LIB_DIR" "qmux.$i"
    done
    local rc_m rc_q
    rc_m=$(cat "$dir/msquic.1.rc")
    rc_q=$(cat "$dir/qmux.1.rc")
    local same=1
    cmp -s "$dir/msquic.1.txt" "$dir/qmux.1.txt" || same=0
    [ "$rc_m" = "$rc_q" ] || same=0
    local flaky=""
    for i in $(seq 2 "$runs"); do
        cmp -s "$dir/msquic.1.txt" "$dir/msquic.$i.txt" || flaky+=" msquic"
        cmp -s "$dir/qmux.1.txt" "$dir/qmux.$i.txt" || flaky+=" qmux"
    done
    # Lines that change between runs on one library are not differences between libraries.
    show_varying() {
        local lib=$1 i
        for i in $(seq 2 "$runs"); do
            if ! cmp -s "$dir/$lib.1.txt" "$dir/$lib.$i.txt"; then
                echo "  varies on $lib (run 1 vs $i):"
                diff "$dir/$lib.1.txt" "$dir/$lib.$i.txt" | grep '^[<>]' | head -"${DIFF_VARY_LINES:-8}" | sed 's/^/    /' || true
                break
            fi
        done
    }
    if [ $same = 1 ]; then
        echo "### $name: same ($(describe_rc "$rc_m"), $(wc -l <"$dir/msquic.1.txt") transcript lines)${flaky:+ [transcript varies between runs on:$flaky]}"
        return
    fi
    echo "### $name: DIFFERENT (msquic: $(describe_rc "$rc_m"), qmux: $(describe_rc "$rc_q"))${flaky:+ [transcript varies between runs on:$flaky]}"
    if [ "$rc_m" != 0 ]; then
        echo "  on MsQuic:"
        { grep -h "CHECK failed\|failures\|Assertion\|rror" "$dir/msquic.1.err" || true; } | head -30 | sed 's/^/    /' || true
    fi
    if [ "$rc_q" != 0 ]; then
        echo "  on QMux:"
        { grep -h "CHECK failed\|failures\|Assertion\|rror" "$dir/qmux.1.err" || true; } | head -30 | sed 's/^/    /' || true
    fi
    [[ $flaky == *msquic* ]] && show_varying msquic
    [[ $flaky == *qmux* ]] && show_varying qmux
    if ! cmp -s "$dir/msquic.1.txt" "$dir/qmux.1.txt"; then
        echo "  transcript (- MsQuic, + QMux):"
        diff -U1 "$dir/msquic.1.txt" "$dir/qmux.1.txt" | tail -n +3 | head -"${DIFF_LINES:-60}" | sed 's/^/    /' || true
    fi
}

# ---------------------------------------------------------------------------------------------
# Main.
# ---------------------------------------------------------------------------------------------
if [ "${1:-}" = "--build-only" ]; then
    build_msquic
    exit 0
fi

MSQUIC_LIB=$(build_msquic)
if [ -z "${QMUX_LIB:-}" ]; then
    say "building this library (cargo build --lib)"
    (cd "$ROOT" && nice cargo build --locked --lib >&2)
    QMUX_LIB="$ROOT/target/debug/libmsquic.so"
fi
QMUX_LIB_DIR="$DIFF_OUT/qmux-lib"
mkdir -p "$QMUX_LIB_DIR"
# A copy, so that rebuilding the library while the harness runs does not change it mid-run.
rm -f "$QMUX_LIB_DIR/libmsquic.so.2" "$QMUX_LIB_DIR/libmsquic.so"
cp "$QMUX_LIB" "$QMUX_LIB_DIR/libmsquic.so.2"
ln -sf libmsquic.so.2 "$QMUX_LIB_DIR/libmsquic.so"
make_certificate
rm -f "$DIFF_OUT/report.txt"

if [ $# -gt 0 ]; then
    TESTS=("$@")
else
    TESTS=()
    for src in "$ROOT"/c-tests/*.c; do
        name=$(basename "$src" .c)
        if [ -n "${EXCLUDED[$name]:-}" ]; then
            say "skipping $name: ${EXCLUDED[$name]}"
            continue
        fi
        TESTS+=("$name")
    done
fi

say "MsQuic: $MSQUIC_LIB/libmsquic.so.2; QMux: $QMUX_LIB; output in $DIFF_OUT"
for name in "${TESTS[@]}"; do
    compare_test "$name" | tee -a "$DIFF_OUT/report.txt"
done
echo "== $(grep -c '^### .*: same' "$DIFF_OUT/report.txt" || true) same, $(grep -c '^### .*: DIFFERENT' "$DIFF_OUT/report.txt" || true) different; report in $DIFF_OUT/report.txt"
