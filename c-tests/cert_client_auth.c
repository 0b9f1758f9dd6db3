/* A server's say over the client's certificate, over QMux/TLS with the harness's certificate
 * (the client presents the same self-signed certificate the server has):
 * 1. REQUIRE_CLIENT_AUTHENTICATION | INDICATE | DEFER | PORTABLE, the certificate not trusted:
 *    PEER_CERTIFICATE_RECEIVED on the server before its CONNECTED, with the leaf in DER, the
 *    chain as a PKCS#7 SignedData holding the leaf, and DeferredStatus CERT_UNTRUSTED_ROOT;
 *    accepted, both connect; rejected, the client is closed with BAD_CERTIFICATE; PENDING then
 *    ConnectionCertificateValidationComplete(FALSE, unknown_ca): TLS_ALERT(48); PENDING then
 *    TRUE: the server connects. A client without a certificate: the event has no certificate
 *    and CERT_NO_CERT; accepted, both connect; rejected, certificate_required (116).
 * 2. REQUIRE | NO_CERTIFICATE_VALIDATION | INDICATE | PORTABLE: any client certificate, or
 *    none, is accepted with SUCCESS.
 * 3. REQUIRE alone (the certificate trusted) and a client without a certificate: the
 *    handshake fails with certificate_required on both sides, the server never connects.
 * 4. A client with INDICATE | PORTABLE: the server's chain comes as a PKCS#7 too. */
#include "support/qmux_test.h"

#define ALPN "client-auth"

static const QUIC_API_TABLE* api;

typedef struct {
    QUIC_STATUS answer; /* what PEER_CERTIFICATE_RECEIVED returns */
    Counter events, connected, done;
    int event_before_connected;
    QUIC_STATUS deferred;
    uint32_t error_flags;
    int has_cert, has_chain;
    uint32_t leaf_len;
    int chain_count, chain_first_is_leaf, chain_ok;
    QUIC_STATUS transport_status;
    HQUIC conn;
} Side;

static Side server_side, client_side;
static HQUIC server_config; /* the configuration the listener gives new connections */

/* One DER element at *p (before end): its tag, content and length; *p moves past it. */
static int der_next(const uint8_t** p, const uint8_t* end, uint8_t* tag, const uint8_t** body,
                    size_t* len) {
    if (end - *p < 2) return 0;
    *tag = (*p)[0];
    size_t n = (*p)[1];
    const uint8_t* q = *p + 2;
    if (n & 0x80) {
        size_t k = n & 0x7f;
        if (k == 0 || k > 3 || (size_t)(end - q) < k) return 0;
        n = 0;
        for (size_t i = 0; i < k; i++) n = (n << 8) | q[i];
        q += k;
    }
    if ((size_t)(end - q) < n) return 0;
    *body = q;
    *len = n;
    *p = q + n;
    return 1;
}

/* Walks a PKCS#7 ContentInfo as MsQuic's OpenSSL build writes it (signedData, version 1, no
 * digest algorithms, empty data content, the certificates, no signer infos); records how
 * many certificates it holds and whether the first is `leaf`. */
static void walk_pkcs7(Side* s, const uint8_t* der, size_t der_len, const QUIC_BUFFER* leaf) {
    static const uint8_t signed_data[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                          0xf7, 0x0d, 0x01, 0x07, 0x02};
    static const uint8_t signed_head[] = {0x02, 0x01, 0x01, 0x31, 0x00};
    static const uint8_t data_info[] = {0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                        0x0d, 0x01, 0x07, 0x01, 0xa0, 0x02, 0x04, 0x00};
    const uint8_t *p = der, *end = der + der_len, *body;
    size_t len;
    uint8_t tag;
    s->chain_ok = 0;
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x30 || p != end) return;
    p = body;
    end = body + len;
    if ((size_t)(end - p) < sizeof(signed_data) ||
        memcmp(p, signed_data, sizeof(signed_data)) != 0)
        return;
    p += sizeof(signed_data);
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0xa0 || p != end) return;
    p = body;
    end = body + len;
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0x30 || p != end) return;
    p = body;
    end = body + len;
    if ((size_t)(end - p) < sizeof(signed_head) + sizeof(data_info) ||
        memcmp(p, signed_head, sizeof(signed_head)) != 0 ||
        memcmp(p + sizeof(signed_head), data_info, sizeof(data_info)) != 0)
        return;
    p += sizeof(signed_head) + sizeof(data_info);
    if (!der_next(&p, end, &tag, &body, &len) || tag != 0xa0) return;
    const uint8_t* cert = body;
    const uint8_t* certs_end = body + len;
    while (cert < certs_end) {
        const uint8_t* start = cert;
        const uint8_t* inner;
        size_t inner_len;
        if (!der_next(&cert, certs_end, &tag, &inner, &inner_len) || tag != 0x30) return;
        if (s->chain_count == 0 && leaf != NULL && (size_t)(cert - start) == leaf->Length &&
            memcmp(start, leaf->Buffer, leaf->Length) == 0)
            s->chain_first_is_leaf = 1;
        s->chain_count++;
    }
    static const uint8_t no_signers[] = {0x31, 0x00};
    if ((size_t)(end - p) != sizeof(no_signers) || memcmp(p, no_signers, 2) != 0) return;
    s->chain_ok = 1;
}

static QUIC_STATUS on_event(Side* s, HQUIC conn, QUIC_CONNECTION_EVENT* ev, int server) {
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED: {
        s->conn = conn;
        s->event_before_connected = counter_get(&s->connected) == 0;
        s->deferred = ev->PEER_CERTIFICATE_RECEIVED.DeferredStatus;
        s->error_flags = ev->PEER_CERTIFICATE_RECEIVED.DeferredErrorFlags;
        const QUIC_BUFFER* leaf = (const QUIC_BUFFER*)ev->PEER_CERTIFICATE_RECEIVED.Certificate;
        const QUIC_BUFFER* chain = (const QUIC_BUFFER*)ev->PEER_CERTIFICATE_RECEIVED.Chain;
        s->has_cert = leaf != NULL;
        s->has_chain = chain != NULL;
        if (leaf != NULL) s->leaf_len = leaf->Length;
        if (chain != NULL && chain->Buffer != NULL)
            walk_pkcs7(s, chain->Buffer, chain->Length, leaf);
        counter_add(&s->events, 1);
        return s->answer;
    }
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&s->connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        s->transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        if (server) api->ConnectionClose(conn);
        counter_add(&s->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    return on_event(ctx, conn, ev, 1);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    return on_event(ctx, conn, ev, 0);
}

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) server_side.conn = ev->NEW_CONNECTION.Connection;
    return accept_connection(api, ev, (void*)ServerConnection, &server_side, server_config);
}

static HQUIC open_config(HQUIC reg) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    return cfg;
}

/* A server configuration with the harness's certificate and `flags`; `trust` adds the
 * harness's certificate as a CA. */
static HQUIC server_with(HQUIC reg, QUIC_CREDENTIAL_FLAGS flags, int trust) {
    HQUIC cfg = open_config(reg);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    cred.Flags = flags;
    if (trust) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = test_cert();
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

/* A client configuration trusting the harness's certificate, presenting it when `with_cert`. */
static HQUIC client_with(HQUIC reg, QUIC_CREDENTIAL_FLAGS flags, int with_cert) {
    HQUIC cfg = open_config(reg);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = with_cert ? QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE : QUIC_CREDENTIAL_TYPE_NONE;
    if (with_cert) cred.CertificateFile = &files;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE | flags;
    cred.CaCertificateFile = test_cert();
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static void reset_side(Side* s, QUIC_STATUS answer) {
    memset(s, 0, sizeof(*s));
    s->answer = answer;
    counter_init(&s->events);
    counter_init(&s->connected);
    counter_init(&s->done);
}

static void start(HQUIC reg, HQUIC client_cfg, uint16_t port, QUIC_STATUS server_answer) {
    reset_side(&server_side, server_answer);
    reset_side(&client_side, QUIC_STATUS_SUCCESS);
    CHECK(api->ConnectionOpen(reg, ClientConnection, &client_side, &client_side.conn) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client_side.conn, client_cfg,
                                              QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
}

/* Both connected: the client ends the connection; both sides finish. */
static void finish_connected(void) {
    CHECK(counter_wait(&client_side.connected, 1, 10000));
    CHECK(counter_wait(&server_side.connected, 1, 10000));
    api->ConnectionShutdown(client_side.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_side.done, 1, 10000));
    CHECK(counter_wait(&server_side.done, 1, 10000));
    api->ConnectionClose(client_side.conn);
}

/* The server refused: both sides end by themselves; the server never connected. */
static void finish_refused(QUIC_STATUS client_status) {
    CHECK(counter_wait(&client_side.done, 1, 10000));
    CHECK(counter_wait(&server_side.done, 1, 10000));
    CHECK(counter_get(&server_side.connected) == 0);
    CHECK(client_side.transport_status == client_status);
    api->ConnectionClose(client_side.conn);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC with_cert = client_with(reg, QUIC_CREDENTIAL_FLAG_NONE, 1);
    HQUIC no_cert = client_with(reg, QUIC_CREDENTIAL_FLAG_NONE, 0);

    /* 1. Deferred validation of an untrusted client certificate. */
    HQUIC deferred = server_with(reg,
                                 QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION |
                                     QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED |
                                     QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION |
                                     QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES,
                                 0);
    server_config = deferred;
    start(reg, with_cert, port, QUIC_STATUS_SUCCESS);
    finish_connected();
    CHECK(counter_get(&server_side.events) == 1);
    CHECK(server_side.event_before_connected);
    CHECK(server_side.deferred == QUIC_STATUS_CERT_UNTRUSTED_ROOT);
    CHECK(server_side.error_flags == 0);
    CHECK(server_side.has_cert && server_side.leaf_len > 100);
    CHECK(server_side.has_chain && server_side.chain_ok);
    CHECK(server_side.chain_count == 1 && server_side.chain_first_is_leaf);
    CHECK(counter_get(&client_side.events) == 0);

    /* Rejected by the callback: bad_certificate. */
    start(reg, with_cert, port, QUIC_STATUS_BAD_CERTIFICATE);
    finish_refused(QUIC_STATUS_BAD_CERTIFICATE);
    CHECK(counter_get(&server_side.events) == 1);

    /* PENDING, then rejected with unknown_ca. */
    start(reg, with_cert, port, QUIC_STATUS_PENDING);
    CHECK(counter_wait(&server_side.events, 1, 10000));
    CHECK(api->ConnectionCertificateValidationComplete(server_side.conn, FALSE,
                                                       QUIC_TLS_ALERT_CODE_UNKNOWN_CA) ==
          QUIC_STATUS_PENDING);
    finish_refused(QUIC_STATUS_TLS_ALERT(48));

    /* PENDING, then accepted: the server connects only then. */
    start(reg, with_cert, port, QUIC_STATUS_PENDING);
    CHECK(counter_wait(&server_side.events, 1, 10000));
    CHECK(!counter_wait(&server_side.connected, 1, 300));
    CHECK(api->ConnectionCertificateValidationComplete(server_side.conn, TRUE,
                                                       QUIC_TLS_ALERT_CODE_SUCCESS) ==
          QUIC_STATUS_PENDING);
    finish_connected();

    /* No client certificate: told with CERT_NO_CERT; accepted. */
    start(reg, no_cert, port, QUIC_STATUS_SUCCESS);
    finish_connected();
    CHECK(counter_get(&server_side.events) == 1);
    CHECK(server_side.deferred == QUIC_STATUS_CERT_NO_CERT);
    CHECK(!server_side.has_cert && !server_side.has_chain);

    /* No client certificate, rejected: certificate_required. */
    start(reg, no_cert, port, QUIC_STATUS_BAD_CERTIFICATE);
    finish_refused(QUIC_STATUS_REQUIRED_CERTIFICATE);
    CHECK(counter_get(&server_side.events) == 1);

    /* 2. No validation: any certificate, or none, with SUCCESS. */
    HQUIC any = server_with(reg,
                            QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION |
                                QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION |
                                QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED |
                                QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES,
                            0);
    server_config = any;
    start(reg, with_cert, port, QUIC_STATUS_SUCCESS);
    finish_connected();
    CHECK(counter_get(&server_side.events) == 1);
    CHECK(server_side.deferred == QUIC_STATUS_SUCCESS);
    CHECK(server_side.has_cert && server_side.chain_ok && server_side.chain_count == 1 &&
          server_side.chain_first_is_leaf);
    start(reg, no_cert, port, QUIC_STATUS_SUCCESS);
    finish_connected();
    CHECK(counter_get(&server_side.events) == 1);
    CHECK(server_side.deferred == QUIC_STATUS_SUCCESS);
    CHECK(!server_side.has_cert && !server_side.has_chain);

    /* 3. Client authentication required, no certificate: the handshake fails. */
    HQUIC required = server_with(reg, QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION, 1);
    server_config = required;
    start(reg, no_cert, port, QUIC_STATUS_SUCCESS);
    finish_refused(QUIC_STATUS_REQUIRED_CERTIFICATE);
    CHECK(server_side.transport_status == QUIC_STATUS_REQUIRED_CERTIFICATE);
    CHECK(counter_get(&server_side.events) == 0);

    /* 4. The client's view of the server's chain. */
    HQUIC indicate = client_with(reg,
                                 QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED |
                                     QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES,
                                 0);
    server_config = any;
    start(reg, indicate, port, QUIC_STATUS_SUCCESS);
    finish_connected();
    CHECK(counter_get(&client_side.events) == 1);
    CHECK(client_side.deferred == QUIC_STATUS_SUCCESS);
    CHECK(client_side.has_cert && client_side.has_chain && client_side.chain_ok);
    CHECK(client_side.chain_count == 1 && client_side.chain_first_is_leaf);

    api->ListenerClose(listener);
    api->ConfigurationClose(with_cert);
    api->ConfigurationClose(no_cert);
    api->ConfigurationClose(indicate);
    api->ConfigurationClose(deferred);
    api->ConfigurationClose(any);
    api->ConfigurationClose(required);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("cert_client_auth");
}
