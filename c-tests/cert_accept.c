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
#define ALPN "certs"
#include "support/cert_harness.h"

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
    char label[64];
    snprintf(label, sizeof(label), "%s (ca %s)", name ? name : "-", ca ? ca : "-");
    return cert_config(reg, label, name ? cert_of(name) : NULL, name ? key_of(name) : NULL,
                       flags, ca ? cert_of(ca) : NULL);
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
