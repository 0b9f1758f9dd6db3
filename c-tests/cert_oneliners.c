/* Certificates made with the usual openssl one-liners, as a server's certificate, with each
 * usual client choice: no validation, the certificate as the client's CA file, and the system
 * store. The program makes the certificates itself (openssl on PATH), each in a directory of
 * its own, with README.md's commands (tests/c_suite.rs checks README.md holds these two
 * strings verbatim):
 *   throwaway: THROWAWAY_CMD (RSA, name only in the common name, marked as a CA by openssl's
 *              defaults)
 *   san:       SERVER_CERT_CMD (P-256, subject alternative names localhost and 127.0.0.1)
 * and two variants: ec (THROWAWAY_CMD with a P-256 key) and other (a name that is not the
 * server's, /CN=other.example).
 * Expected, as MsQuic on Linux: every certificate loads; without validation every one is
 * accepted; with the certificate as the CA file it is accepted when it names the server
 * (a common name counts when there are no DNS names; an IP address needs an IP subject
 * alternative name), otherwise BAD_CERTIFICATE (TLS alert 42, 0xbebc32a); the system store
 * does not hold it: UNKNOWN_CA (TLS alert 48, 0xbebc330). MsQuic 2.5.1 does not check the
 * server name at all (it accepts the name mismatches); later MsQuic releases do, as here. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <stdlib.h>

#define ALPN "oneliner"
#include "support/cert_harness.h"

static char dir[64];

static void path_of(char* out, size_t n, const char* name, const char* what) {
    snprintf(out, n, "%s/%s/%s.pem", dir, name, what);
}

#define THROWAWAY_CMD \
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 365 " \
    "-subj /CN=localhost"
#define SERVER_CERT_CMD \
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes " \
    "-keyout key.pem -out cert.pem -days 365 -subj /CN=localhost " \
    "-addext subjectAltName=DNS:localhost,IP:127.0.0.1"

/* Runs `command` (writing key.pem and cert.pem) in directory `name`. */
static int make(const char* name, const char* command) {
    char cmd[768];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/%s && cd %s/%s && %s >/dev/null 2>&1", dir, name,
             dir, name, command);
    return system(cmd) == 0;
}

/* A configuration with the certificate in directory `name` (NULL: none), `flags`, and the
 * certificate in directory `ca` as CA file (NULL: none); NULL if it does not load. */
static HQUIC config_with(HQUIC reg, const char* name, QUIC_CREDENTIAL_FLAGS flags,
                         const char* ca) {
    char cert[128], key[128], ca_path[128], label[64];
    if (name != NULL) {
        path_of(cert, sizeof(cert), name, "cert");
        path_of(key, sizeof(key), name, "key");
    }
    if (ca != NULL) path_of(ca_path, sizeof(ca_path), ca, "cert");
    snprintf(label, sizeof(label), "%s (ca %s)", name ? name : "-", ca ? ca : "-");
    return cert_config(reg, label, name ? cert : NULL, name ? key : NULL, flags,
                       ca ? ca_path : NULL);
}

enum { NO_VALIDATION, CA_FILE, SYSTEM_STORE };
static const char* mode_names[] = {"no validation", "CA file", "system store"};

/* Server with certificate `name`; client in `mode` naming the server `server_name`. Returns
 * QUIC_STATUS_SUCCESS when connected, else the client's transport status. */
static QUIC_STATUS outcome(HQUIC reg, uint16_t port, const char* name, int mode,
                           const char* server_name) {
    HQUIC s = config_with(reg, name, 0, NULL);
    QUIC_CREDENTIAL_FLAGS flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    if (mode == NO_VALIDATION) flags |= QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    HQUIC c = config_with(reg, NULL, flags, mode == CA_FILE ? name : NULL);
    CHECK(s != NULL && c != NULL);
    if (s == NULL || c == NULL) return QUIC_STATUS_INTERNAL_ERROR;
    QUIC_STATUS status = QUIC_STATUS_SUCCESS;
    int connected = connect_once(reg, s, c, port, server_name, &status);
    api->ConfigurationClose(s);
    api->ConfigurationClose(c);
    QUIC_STATUS result = connected ? QUIC_STATUS_SUCCESS : status;
    printf("%-9s %-13s as %-13s: 0x%x\n", name, mode_names[mode], server_name, result);
    return result;
}

static void expect(HQUIC reg, uint16_t port, const char* name, int mode, const char* server_name,
                   QUIC_STATUS want) {
    QUIC_STATUS got = outcome(reg, port, name, mode, server_name);
    if (got != want) {
        fprintf(stderr, "%s, %s, as %s: 0x%x, expected 0x%x\n", name, mode_names[mode],
                server_name, got, want);
        failures++;
    }
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/qmux-oneliners-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(make("throwaway", THROWAWAY_CMD));
    CHECK(make("san", SERVER_CERT_CMD));
    CHECK(make("ec", "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                     "-keyout key.pem -out cert.pem -days 365 -subj /CN=localhost"));
    CHECK(make("other", "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                        "-nodes -keyout key.pem -out cert.pem -days 365 -subj /CN=other.example"));

    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);

    const QUIC_STATUS ok = QUIC_STATUS_SUCCESS;
    const QUIC_STATUS bad = QUIC_STATUS_BAD_CERTIFICATE; /* TLS alert 42 */
    const QUIC_STATUS unknown_ca = QUIC_STATUS_TLS_ALERT(48);
    const char* names[] = {"throwaway", "ec", "san", "other"};
    const char* targets[] = {"localhost", "127.0.0.1"};
    for (int n = 0; n < 4; n++) {
        for (int t = 0; t < 2; t++) {
            expect(reg, port, names[n], NO_VALIDATION, targets[t], ok);
            expect(reg, port, names[n], SYSTEM_STORE, targets[t], unknown_ca);
        }
    }
    expect(reg, port, "throwaway", CA_FILE, "localhost", ok);
    expect(reg, port, "ec", CA_FILE, "localhost", ok);
    expect(reg, port, "san", CA_FILE, "localhost", ok);
    expect(reg, port, "san", CA_FILE, "127.0.0.1", ok);
    expect(reg, port, "san", CA_FILE, "LOCALHOST", ok);
    /* Names the certificates do not hold. */
    expect(reg, port, "throwaway", CA_FILE, "127.0.0.1", bad);
    expect(reg, port, "ec", CA_FILE, "127.0.0.1", bad);
    expect(reg, port, "san", CA_FILE, "other.example", bad);
    expect(reg, port, "other", CA_FILE, "localhost", bad);

    api->ListenerClose(listener);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return finish("cert_oneliners");
}
