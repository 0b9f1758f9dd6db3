#!/usr/bin/env bash
# Builds libmsquic.so.2 and runs two unmodified MsQuic C programs against it on loopback:
# an echo server and a client, talking QMux over TLS 1.3 on TCP with a certificate made here.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --lib
out=target/demo
mkdir -p "$out"
ln -sf ../release/libmsquic.so "$out/libmsquic.so"
ln -sf ../release/libmsquic.so "$out/libmsquic.so.2"
for prog in version echo_server echo_client; do
    gcc -std=c11 -Wall -Wextra -Werror -O2 -pthread -Iinclude -DQUIC_API_ENABLE_PREVIEW_FEATURES \
        "examples/$prog.c" -o "$out/$prog" -L "$out" -lmsquic
done
export LD_LIBRARY_PATH="$out"
"$out/version"

# A self-signed end-entity certificate for localhost, which the client trusts as its CA.
cat >"$out/cert.cnf" <<'CNF'
[req]
distinguished_name = dn
x509_extensions = leaf
prompt = no
[dn]
CN = localhost
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
CNF
openssl req -x509 -config "$out/cert.cnf" -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 1 -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null

# Start the server for one connection on a port the system picks, then run the client.
"$out/echo_server" -port 0 -cert "$out/cert.pem" -key "$out/key.pem" -count 1 \
    >"$out/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
# Wait until the server says where it listens (without connecting to it).
port=
for _ in $(seq 200); do
    port=$(sed -n 's/^\[server\] listening on port \([0-9]*\)$/\1/p' "$out/server.log" 2>/dev/null)
    if [ -n "$port" ]; then break; fi
    kill -0 "$server" 2>/dev/null || break
    sleep 0.05
done
if [ -z "$port" ]; then
    cat "$out/server.log" >&2
    echo "demo: the server did not start" >&2
    exit 1
fi
"$out/echo_client" -target localhost -port "$port" -ca "$out/cert.pem" \
    -message "Hello from an unmodified MsQuic client, carried over QMux/TLS/TCP"
wait "$server"
trap - EXIT
cat "$out/server.log"
echo "demo: ok"
