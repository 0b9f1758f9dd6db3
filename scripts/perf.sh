#!/usr/bin/env bash
# This library against Microsoft's MsQuic, over loopback, with perf/perf.c (one program written
# on the MsQuic API, run over both libraries) and perf/tcp_baseline.c (plain TCP, the ceiling).
# Development only, not run in CI. Figures go in BENCHMARKS.md.
#
# Builds the release library (cargo build --release --lib), MsQuic 2.5.1 (the cached Release
# build of scripts/differential.sh), perf and tcp_baseline (gcc -O2), an RSA-2048 and a P-256
# certificate; then, for ROUNDS rounds, runs every setting on every implementation, one after
# the other (msquic, qmux-tls, qmux-tcp, and plain TCP for upload and download), each run a
# server process and a client process on 127.0.0.1 (a fresh port each time). Prints one line
# per run, then per setting the medians of the per-round ratios and of the absolute figures.
# Raw JSON lines (one per run, with "round" and "setting" added): target/perf/results.jsonl;
# the summary also goes to target/perf/summary.txt, the logs of each run to target/perf/logs.
#
# Environment:
#   ROUNDS=3                 rounds (ratios are taken per round, then the median)
#   SCENARIOS="upload download rr1 rr100 hps idle"
#   BUFFERED="1 0"           send buffering for upload, download and rr (hps and idle: 1)
#   BYTES=1GiB               upload/download size (KiB, MiB, GiB suffixes)
#   SECONDS=10               duration of rr and hps runs
#   CONNECTIONS=1000         idle connections
#   HPS_PARALLEL=32          connections in flight for hps
#   IMPLS="msquic qmux-tls qmux-tcp"   (plain TCP is added for upload and download; TCP=0 drops it)
#   MSQUIC_LIB=dir           a directory holding MsQuic's libmsquic.so.2 (default: built/cached)
#   PERF_OUT=target/perf     where binaries, certificates, logs and results go
#   PORT_BASE=24000          first port used
# A quick run (about a minute):
#   ROUNDS=1 BYTES=64MiB SECONDS=2 scripts/perf.sh
set -euo pipefail

# SECONDS is bash's own counter (seconds since the shell started); it is exported only when it
# came from the environment, so this reads what the caller set (plus the ~0 s elapsed so far).
run_seconds=$(printenv SECONDS || echo 10)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${PERF_OUT:-$ROOT/target/perf}
ROUNDS=${ROUNDS:-3}
SCENARIOS=${SCENARIOS:-upload download rr1 rr100 hps idle}
BUFFERED=${BUFFERED:-1 0}
BYTES=${BYTES:-1GiB}
CONNECTIONS=${CONNECTIONS:-1000}
HPS_PARALLEL=${HPS_PARALLEL:-32}
IMPLS=${IMPLS:-msquic qmux-tls qmux-tcp}
TCP=${TCP:-1}
port=${PORT_BASE:-24000}

say() { printf '== %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------
cd "$ROOT"
mkdir -p "$OUT/lib"
say "building the release library"
nice cargo build --release --lib >&2
ln -sf "$ROOT/target/release/libmsquic.so" "$OUT/lib/libmsquic.so"
ln -sf "$ROOT/target/release/libmsquic.so" "$OUT/lib/libmsquic.so.2"
if [ -z "${MSQUIC_LIB:-}" ]; then
    say "MsQuic 2.5.1 (cached build of scripts/differential.sh)"
    MSQUIC_LIB=$("$ROOT/scripts/differential.sh" --build-only)
fi
[ -e "$MSQUIC_LIB/libmsquic.so.2" ] || { say "no libmsquic.so.2 in $MSQUIC_LIB"; exit 1; }
say "building perf and tcp_baseline"
nice gcc -std=c11 -O2 -Wall -pthread -Iinclude -DQUIC_API_ENABLE_PREVIEW_FEATURES perf/perf.c \
    -o "$OUT/perf" -L "$OUT/lib" -lmsquic
nice gcc -std=c11 -O2 -Wall -pthread perf/tcp_baseline.c -o "$OUT/tcp_baseline"
if [ ! -e "$OUT/rsa-cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
        -keyout "$OUT/rsa-key.pem" -out "$OUT/rsa-cert.pem" 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj /CN=localhost -keyout "$OUT/ec-key.pem" -out "$OUT/ec-cert.pem" 2>/dev/null
fi

# ---------------------------------------------------------------------------------------------
# One run: a server process, a client process, the client's JSON line appended to the results.
# ---------------------------------------------------------------------------------------------
RESULTS="$OUT/results.jsonl"
LOGS="$OUT/logs"
mkdir -p "$LOGS"
: >"$RESULTS"
failures=0
server_pid=""
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; }
trap cleanup EXIT

# impl_env IMPL: the environment (env arguments) selecting an implementation.
impl_env() {
    case "$1" in
    msquic) echo "LD_LIBRARY_PATH=$MSQUIC_LIB" ;;
    qmux-tls) echo "LD_LIBRARY_PATH=$OUT/lib MSQUIC_QMUX_TRANSPORT=tls" ;;
    qmux-tcp) echo "LD_LIBRARY_PATH=$OUT/lib MSQUIC_QMUX_TRANSPORT=tcp" ;;
    tcp) echo "TCP_BASELINE=1" ;;
    esac
}

# run ROUND SETTING IMPL BUFFERED CERT TIMEOUT CLIENT-ARGS...
run() {
    local round=$1 setting=$2 impl=$3 buffered=$4 cert=$5 limit=$6
    shift 6
    port=$((port + 1))
    [ "$port" -lt 60000 ] || port=${PORT_BASE:-24000}
    local prog="$OUT/perf" sargs=(-server -port "$port" -cert "$OUT/$cert-cert.pem"
        -key "$OUT/$cert-key.pem" -buffered "$buffered")
    if [ "$impl" = tcp ]; then
        prog="$OUT/tcp_baseline"
        sargs=(-server -port "$port")
    fi
    local envs
    read -r -a envs <<<"$(impl_env "$impl")"
    local tag="r$round-${setting// /_}-$impl"
    env "${envs[@]}" "$prog" "${sargs[@]}" >"$LOGS/$tag.server" 2>&1 &
    server_pid=$!
    local waited=0
    until grep -q listening "$LOGS/$tag.server" 2>/dev/null; do
        if ! kill -0 "$server_pid" 2>/dev/null || [ "$waited" -ge 100 ]; then
            say "server for $setting / $impl did not start: $(cat "$LOGS/$tag.server")"
            failures=$((failures + 1))
            kill "$server_pid" 2>/dev/null || true
            wait "$server_pid" 2>/dev/null || true
            server_pid=""
            return
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
    local rc=0
    timeout "$limit" env "${envs[@]}" "$prog" -client -target 127.0.0.1 -port "$port" \
        -buffered "$buffered" -label "$impl" -json "$@" >"$LOGS/$tag.client" 2>&1 || rc=$?
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    local mode=buffered
    [ "$buffered" = 1 ] || mode=unbuffered
    if [ "$rc" -ne 0 ] || ! grep -q '^{' "$LOGS/$tag.client"; then
        failures=$((failures + 1))
        printf '%-22s %-9s FAILED (exit %s): %s\n' "$setting" "$impl" "$rc" \
            "$(grep -v '^{' "$LOGS/$tag.client" | tail -n 2 | tr '\n' ' ')"
        jq -cn --argjson round "$round" --arg setting "$setting" --arg impl "$impl" \
            --argjson buffered "$buffered" --argjson rc "$rc" \
            '{round:$round,setting:$setting,impl:$impl,buffered:$buffered,failed:true,exit:$rc}' \
            >>"$RESULTS"
        return
    fi
    printf '%-22s %s\n' "$setting" "$(grep -v '^{' "$LOGS/$tag.client" | tail -n 1)"
    grep '^{' "$LOGS/$tag.client" | tail -n 1 |
        jq -c --argjson round "$round" --arg setting "$setting" --arg mode "$mode" \
            '. + {round:$round,setting:$setting,mode:$mode}' >>"$RESULTS"
}

# ---------------------------------------------------------------------------------------------
# Rounds
# ---------------------------------------------------------------------------------------------
bulk_limit=600
say "rounds: $ROUNDS; scenarios: $SCENARIOS; buffered: $BUFFERED; bytes: $BYTES;" \
    "seconds: $run_seconds; idle connections: $CONNECTIONS; implementations: $IMPLS"
say "load before: $(uptime)"
for round in $(seq "$ROUNDS"); do
    say "round $round"
    for scenario in $SCENARIOS; do
        case "$scenario" in
        upload | download)
            for b in $BUFFERED; do
                mode=buffered
                [ "$b" = 1 ] || mode=unbuffered
                impls=$IMPLS
                [ "$TCP" = 0 ] || [ "$b" != 1 ] || impls="$impls tcp"
                for impl in $impls; do
                    run "$round" "$scenario $mode" "$impl" "$b" ec "$bulk_limit" \
                        -scenario "$scenario" -bytes "$BYTES"
                done
            done
            ;;
        rr*)
            k=${scenario#rr}
            k=${k:-1}
            for b in $BUFFERED; do
                mode=buffered
                [ "$b" = 1 ] || mode=unbuffered
                for impl in $IMPLS; do
                    run "$round" "rr $k $mode" "$impl" "$b" ec "$((run_seconds + 120))" \
                        -scenario rr -parallel "$k" -seconds "$run_seconds"
                done
            done
            ;;
        hps)
            for impl in $IMPLS; do
                run "$round" "hps $HPS_PARALLEL" "$impl" 1 rsa "$((run_seconds + 120))" \
                    -scenario hps -parallel "$HPS_PARALLEL" -seconds "$run_seconds"
            done
            ;;
        idle)
            for impl in $IMPLS; do
                run "$round" "idle $CONNECTIONS" "$impl" 1 ec 600 \
                    -scenario idle -connections "$CONNECTIONS"
            done
            ;;
        *) say "unknown scenario $scenario (upload download rrK hps idle)"; exit 2 ;;
        esac
    done
done
say "load after: $(uptime)"

# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------
python3 - "$RESULTS" <<'PY' | tee "$OUT/summary.txt"
import json, statistics, sys
from collections import defaultdict

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
# setting -> round -> impl -> record
runs = defaultdict(lambda: defaultdict(dict))
order = []
for r in rows:
    if r["setting"] not in order:
        order.append(r["setting"])
    runs[r["setting"]][r["round"]][r["impl"]] = r

def metric(setting):
    s = setting.split()[0]
    return {"upload": ("gbps", "GB/s"), "download": ("gbps", "GB/s"), "rr": ("rps", "req/s"),
            "hps": ("hps", "handshakes/s"), "idle": ("idle_bytes_per_conn", "B/conn client")}[s]

def med(v):
    return statistics.median(v) if v else None

def fmt(v, digits=3):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"

impls = ["qmux-tls", "qmux-tcp", "msquic", "tcp"]
pairs = [("qmux-tls", "msquic"), ("qmux-tcp", "msquic"), ("qmux-tls", "tcp"), ("qmux-tcp", "tcp")]
print()
print("Medians over rounds (impl: qmux-tls = this library, QMux over TLS 1.3/TCP; qmux-tcp = this")
print("library, QMux over plain TCP; msquic = MsQuic 2.5.1, QUIC over UDP; tcp = plain TCP socket).")
print("Ratios are medians of per-round ratios; for idle, lower is better (bytes per connection).")
for setting in order:
    key, unit = metric(setting)
    per_impl = defaultdict(list)
    failed = defaultdict(int)
    ratios = defaultdict(list)
    extra = defaultdict(lambda: defaultdict(list))
    for rnd, by_impl in runs[setting].items():
        for impl, r in by_impl.items():
            if r.get("failed"):
                failed[impl] += 1
                continue
            per_impl[impl].append(r[key])
            for k in ("p50_us", "p99_us", "p999_us", "server_idle_bytes_per_conn", "peak_rss"):
                if k in r:
                    extra[impl][k].append(r[k])
        keys = [(key, "")]
        if key == "idle_bytes_per_conn":
            keys.append(("server_idle_bytes_per_conn", " server"))
        for k, suffix in keys:
            for a, b in pairs:
                ra, rb = by_impl.get(a), by_impl.get(b)
                if ra and rb and not ra.get("failed") and not rb.get("failed") and rb[k]:
                    ratios[f"{a}/{b}{suffix}"].append(ra[k] / rb[k])
    print(f"\n{setting} ({unit})")
    for impl in impls:
        if impl not in per_impl and impl not in failed:
            continue
        line = f"  {impl:9s} {fmt(med(per_impl[impl])):>12s}"
        if per_impl[impl]:
            line += "   runs: " + ", ".join(fmt(v) for v in per_impl[impl])
        for k, label in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9"),
                         ("server_idle_bytes_per_conn", "server B/conn")):
            if extra[impl][k]:
                line += f"   {label} {fmt(med(extra[impl][k]), 1)}"
        if failed[impl]:
            line += f"   FAILED in {failed[impl]} round(s)"
        print(line)
    for name, v in ratios.items():
        print(f"  {name:25s} {med(v):.3f}   (per round: {', '.join(f'{x:.3f}' for x in v)})")
PY
if [ "$failures" -ne 0 ]; then
    say "$failures run(s) failed; logs in $LOGS"
    exit 1
fi
