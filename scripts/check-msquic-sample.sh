#!/usr/bin/env bash
# Dev-only check (not run by CI or tests): compiles MsQuic's own sample application,
# src/tools/sample/sample.c, against this repository's include/msquic.h, as C and as C++,
# with -Wall -Wextra -Werror, and links it against the built libmsquic.so.
#
# The sample is not part of this repository and must never be committed. The script looks
# for it, in order, at:
#   1. the path given as the first argument, or in $MSQUIC_SAMPLE;
#   2. ~/.cargo/registry/src/*/msquic-*/src/tools/sample/sample.c (some releases of the
#      msquic crate ship the whole source tree);
#   3. a MsQuic checkout named by $MSQUIC_SRC (its src/tools/sample/sample.c).
#
# Usage: scripts/check-msquic-sample.sh [path/to/sample.c]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sample="${1:-${MSQUIC_SAMPLE:-}}"
if [[ -z "$sample" ]]; then
    for candidate in "$HOME"/.cargo/registry/src/*/msquic-*/src/tools/sample/sample.c \
                     "${MSQUIC_SRC:-/nonexistent}/src/tools/sample/sample.c"; do
        if [[ -f "$candidate" ]]; then
            sample="$candidate"
            break
        fi
    done
fi
if [[ -z "$sample" || ! -f "$sample" ]]; then
    echo "MsQuic's sample.c not found: pass its path, or set MSQUIC_SAMPLE or MSQUIC_SRC" >&2
    exit 2
fi
echo "sample: $sample"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
lib_dir="${CARGO_TARGET_DIR:-$root/target}/debug"
if [[ ! -f "$lib_dir/libmsquic.so" ]]; then
    (cd "$root" && cargo build)
fi

warn=(-Wall -Wextra -Werror)
status=0
for preview in "" "-DQUIC_API_ENABLE_PREVIEW_FEATURES"; do
    label="${preview:+ (preview)}"
    if gcc -std=c11 "${warn[@]}" $preview -I"$root/include" "$sample" \
            -o "$out/quicsample" -L"$lib_dir" -lmsquic; then
        echo "ok: C11 compile and link$label"
    else
        echo "FAILED: C11 compile$label" >&2
        status=1
    fi
    # The sample is C: in C++ its `QUIC_SETTINGS Settings = {0};` trips g++'s
    # -Wmissing-field-initializers, exactly as it does with MsQuic's own headers, so that one
    # warning is off for the C++ pass.
    if g++ -std=c++17 "${warn[@]}" -Wno-missing-field-initializers $preview -x c++ \
            -I"$root/include" -fsyntax-only "$sample"; then
        echo "ok: C++17 compile$label"
    else
        echo "FAILED: C++17 compile$label" >&2
        status=1
    fi
done

if [[ $status -eq 0 && -x "$out/quicsample" ]]; then
    ln -sf "$lib_dir/libmsquic.so" "$out/libmsquic.so.2"
    # With no arguments the sample opens the library, opens a registration, prints its usage
    # and closes everything again.
    if LD_LIBRARY_PATH="$out" "$out/quicsample" -help > "$out/run.log" 2>&1; then
        echo "ok: the sample runs (-help) against libmsquic.so"
    else
        echo "FAILED: the sample exited with $? against libmsquic.so:" >&2
        cat "$out/run.log" >&2
        status=1
    fi
fi

if [[ $status -eq 0 ]]; then
    echo "MsQuic's sample builds against include/msquic.h"
fi
exit $status
