/* Certificates MsQuic on Linux (OpenSSL) accepts are accepted, as server certificates and in
 * a CA file with validation on, over QMux/TLS; the harness writes them (QMUX_CERT_<NAME>,
 * QMUX_KEY_<NAME>):
 * 1. X.509 v1, self-signed, name only in the common name, trusted as its own CA file.
 * 2. The version field 3 ("Unknown (3)" to OpenSSL) that MsQuic's test-certificate generator
 *    writes, self-signed, name in the common name; also with NO_CERTIFICATE_VALIDATION.
 * 3. The same generator with a CA: a leaf issued by a CA certificate (both version 3), the
 *    CA file holding the CA.
 * 4. A v3 certificate with the name only in the common name.
 * 5. A self-signed end-entity certificate marked as a CA, trusted as its own CA file.
 * 6. A v1 client certificate on a server requiring client authentication.
 * 7. Loading still checks that the key is the certificate's: a v1 certificate with another
 *    key is TLS_ERROR, as SSL_CTX_check_private_key makes it in MsQuic.
 * Still refused: a name that is not the certificate's (v1, common-name only, v3 SAN), a
 * certificate the CA file does not hold, a leaf whose CA is not the file's. */
#include "support/qmux_test.h"

#define ALPN "certs"

static const QUIC_API_TABLE* api;
static HQUIC current_server_config; /* what the listener gives the next connection */

typedef struct {
    Counter connected, done;
    QUIC_STATUS status;
} Run;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, current_server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Run* r = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&r->connected, 1);
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        r->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&r->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static const char* cert_of(const char* name) {
    char var[64];
    snprintf(var, sizeof(var), "QMUX_CERT_%s", name);
    const char* path = getenv(var);
    if (path == NULL) fprintf(stderr, "%s is not set\n", var);
    return path;
}

static const char* key_of(const char* name) {
    char var[64];
    snprintf(var, sizeof(var), "QMUX_KEY_%s", name);
    const char* path = getenv(var);
    if (path == NULL) fprintf(stderr, "%s is not set\n", var);
    return path;
}

/* A configuration with certificate `name` (NULL: none), `flags`, and CA file `ca` (NULL:
 * none); NULL if the credential does not load. */
static HQUIC config_with(HQUIC reg, const char* name, QUIC_CREDENTIAL_FLAGS flags,
                         const char* ca) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files;
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Flags = flags;
    if (name != NULL) {
        files.PrivateKeyFile = key_of(name);
        files.CertificateFile = cert_of(name);
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
    } else {
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    }
    if (ca != NULL) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = cert_of(ca);
    }
    QUIC_STATUS status = api->ConfigurationLoadCredential(cfg, &cred);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "loading %s (ca %s): 0x%x\n", name ? name : "-", ca ? ca : "-", status);
        api->ConfigurationClose(cfg);
        return NULL;
    }
    return cfg;
}

/* Connects to 127.0.0.1:`port` naming the server `server_name`, the server using
 * `server_cfg`; returns whether CONNECTED came, and the transport's status in `status`. */
static int connect_once(HQUIC reg, HQUIC server_cfg, HQUIC client_cfg, uint16_t port,
                        const char* server_name, QUIC_STATUS* status) {
    if (server_cfg == NULL || client_cfg == NULL) return 0;
    Run r;
    memset(&r, 0, sizeof(r));
    counter_init(&r.connected);
    counter_init(&r.done);
    current_server_config = server_cfg;
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &r, &conn) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    addr.Ipv4.sin_addr.s_addr = htonl(0x7f000001);
    QuicAddrSetPort(&addr, port);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(addr), &addr) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_cfg, QUIC_ADDRESS_FAMILY_INET, server_name, port)));
    CHECK(counter_wait(&r.done, 1, 10000));
    api->ConnectionClose(conn);
    if (status != NULL) *status = r.status;
    return counter_get(&r.connected) == 1;
}

/* Server with certificate `server`, client trusting CA file `ca` (validation on). */
static int accepted(HQUIC reg, uint16_t port, const char* server, const char* ca,
                    const char* server_name) {
    HQUIC s = config_with(reg, server, 0, NULL);
    HQUIC c = config_with(reg, NULL, QUIC_CREDENTIAL_FLAG_CLIENT, ca);
    CHECK(s != NULL && c != NULL);
    if (s == NULL || c == NULL) return 0;
    QUIC_STATUS status = 0;
    int ok = connect_once(reg, s, c, port, server_name, &status);
    if (!ok) fprintf(stderr, "%s with CA %s as %s: refused 0x%x\n", server, ca, server_name, status);
    if (!ok) CHECK(status != QUIC_STATUS_SUCCESS);
    api->ConfigurationClose(s);
    api->ConfigurationClose(c);
    return ok;
}

int main(void) {
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);

    /* 1–5: accepted. */
    CHECK(accepted(reg, port, "V1", "V1", "localhost"));
    CHECK(accepted(reg, port, "V4", "V4", "localhost"));
    CHECK(accepted(reg, port, "LEAF4", "CA4", "localhost"));
    CHECK(accepted(reg, port, "CN_ONLY", "CN_ONLY", "localhost"));
    CHECK(accepted(reg, port, "CA_EE", "CA_EE", "localhost"));
    CHECK(accepted(reg, port, "V4", "V4", "LocalHost"));

    /* 2. Without validation, the odd certificate's key still signs the handshake. */
    HQUIC s = config_with(reg, "V4", 0, NULL);
    HQUIC c = config_with(reg, NULL,
                          QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION,
                          NULL);
    CHECK(s != NULL && c != NULL);
    CHECK(connect_once(reg, s, c, port, "anything", NULL));
    api->ConfigurationClose(c);

    /* 6. A v1 client certificate, trusted by the server's CA file. */
    HQUIC mtls = config_with(reg, "V4", QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION, "V1");
    HQUIC client_v1 = config_with(reg, "V1", QUIC_CREDENTIAL_FLAG_CLIENT, "V4");
    CHECK(mtls != NULL && client_v1 != NULL);
    CHECK(connect_once(reg, mtls, client_v1, port, "localhost", NULL));
    HQUIC client_other = config_with(reg, "V4", QUIC_CREDENTIAL_FLAG_CLIENT, "V4");
    CHECK(client_other != NULL);
    CHECK(!connect_once(reg, mtls, client_other, port, "localhost", NULL));
    api->ConfigurationClose(client_other);
    api->ConfigurationClose(client_v1);
    api->ConfigurationClose(mtls);
    api->ConfigurationClose(s);

    /* 7. The key must be the certificate's. */
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC mismatched = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &mismatched) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {key_of("V4"), cert_of("V1")};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    CHECK(api->ConfigurationLoadCredential(mismatched, &cred) == QUIC_STATUS_TLS_ERROR);
    api->ConfigurationClose(mismatched);

    /* Still refused. */
    CHECK(!accepted(reg, port, "V1", "V1", "wrong.example"));
    CHECK(!accepted(reg, port, "CN_ONLY", "CN_ONLY", "wrong.example"));
    CHECK(!accepted(reg, port, "CA_EE", "CA_EE", "wrong.example"));
    CHECK(!accepted(reg, port, "V4", "OTHER", "localhost"));
    CHECK(!accepted(reg, port, "LEAF4", "V4", "localhost"));
    CHECK(!accepted(reg, port, "V4", "V4", "127.0.0.1")); /* an IP needs an IP SAN */

    api->ListenerClose(listener);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("cert_accept");
}
