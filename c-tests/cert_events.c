/* The client's say over the server's certificate (PEER_CERTIFICATE_RECEIVED and
 * ConnectionCertificateValidationComplete), over QMux/TLS with the harness's certificate:
 * 1. INDICATE | PORTABLE with the certificate trusted: the event comes before CONNECTED with
 *    DeferredStatus SUCCESS and the leaf in DER; accepted, the connection connects.
 * 2. DEFER (with INDICATE, which it needs) with only the system roots: the handshake goes on, the event says
 *    CERT_UNTRUSTED_ROOT, and accepting it connects anyway.
 * 3. DEFER, rejected by the callback: the connection ends with BAD_CERTIFICATE, never CONNECTED.
 * 4. DEFER, PENDING: CONNECTED waits until ConnectionCertificateValidationComplete(TRUE).
 * 5. DEFER, PENDING, then rejected with unknown_ca: TLS_ALERT(48).
 * 6. No flag: no event. Bad arguments to ConnectionCertificateValidationComplete.
 * 7. A server with REQUIRE_CLIENT_AUTHENTICATION | INDICATE | PORTABLE: the event comes on the
 *    server connection before its CONNECTED, with the client's certificate; accepted, both
 *    connect; rejected, the server never connects and the client is closed with
 *    BAD_CERTIFICATE. */
#include "support/qmux_test.h"

#define ALPN "certs"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

typedef struct {
    QUIC_STATUS answer; /* what the callback returns */
    Counter events, connected, done, decided;
    int event_before_connected;
    QUIC_STATUS deferred;
    uint32_t leaf_len;
    uint8_t leaf_first;
    QUIC_STATUS transport_status;
    HQUIC conn;
    int stay; /* do not shut down on CONNECTED: wait for the peer */
} Run;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

/* The mutual-TLS server: what its connections saw, and how it answers. */
static HQUIC mtls_config;
static QUIC_STATUS mtls_answer;
static Counter mtls_events, mtls_connected;
static int mtls_event_before_connected;
static uint32_t mtls_leaf_len;

static QUIC_STATUS QUIC_API MtlsConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED) {
        mtls_event_before_connected = counter_get(&mtls_connected) == 0;
        const QUIC_BUFFER* leaf = (const QUIC_BUFFER*)ev->PEER_CERTIFICATE_RECEIVED.Certificate;
        mtls_leaf_len = leaf != NULL ? leaf->Length : 0;
        CHECK(ev->PEER_CERTIFICATE_RECEIVED.DeferredStatus == QUIC_STATUS_SUCCESS);
        counter_add(&mtls_events, 1);
        return mtls_answer;
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&mtls_connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API MtlsListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)MtlsConnection, NULL, mtls_config);
}

static int client_portable; /* whether the client's credential has USE_PORTABLE_CERTIFICATES */

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    Run* r = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED: {
        r->event_before_connected = counter_get(&r->connected) == 0;
        r->deferred = ev->PEER_CERTIFICATE_RECEIVED.DeferredStatus;
        const QUIC_BUFFER* leaf = (const QUIC_BUFFER*)ev->PEER_CERTIFICATE_RECEIVED.Certificate;
        if (leaf != NULL && !client_portable) {
            /* Not portable: an object of the TLS library (MsQuic's OpenSSL build: an X509*);
             * this library has none to give (NULL). Not a QUIC_BUFFER: not read. */
            r->leaf_len = 1;
        } else if (leaf != NULL) {
            r->leaf_len = leaf->Length;
            r->leaf_first = leaf->Length > 0 ? leaf->Buffer[0] : 0;
        }
        counter_add(&r->events, 1);
        return r->answer;
    }
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&r->connected, 1);
        if (!r->stay) api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        r->transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&r->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC client_config_with(HQUIC reg, QUIC_CREDENTIAL_FLAGS flags, int trust_test_ca) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | flags;
    if (trust_test_ca) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = test_cert();
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static int stay_next; /* the next run's `stay` */

static void start(HQUIC reg, HQUIC cfg, uint16_t port, Run* r, QUIC_STATUS answer) {
    memset(r, 0, sizeof(*r));
    r->answer = answer;
    r->stay = stay_next;
    counter_init(&r->events);
    counter_init(&r->connected);
    counter_init(&r->done);
    CHECK(api->ConnectionOpen(reg, ClientConnection, r, &r->conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(r->conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
}

static void finish_run(Run* r) {
    CHECK(counter_wait(&r->done, 1, 10000));
    api->ConnectionClose(r->conn);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    Run r;

    /* 1. Trusted, indicated, portable. */
    HQUIC indicate = client_config_with(
        reg,
        QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED |
            QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES,
        1);
    client_portable = 1;
    start(reg, indicate, port, &r, QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&r.connected, 1, 10000));
    CHECK(counter_get(&r.events) == 1);
    CHECK(r.event_before_connected);
    CHECK(r.deferred == QUIC_STATUS_SUCCESS);
    CHECK(r.leaf_len > 100 && r.leaf_first == 0x30); /* a DER SEQUENCE */
    finish_run(&r);

    /* 2. Deferred, untrusted, accepted anyway. DEFER needs INDICATE, as in MsQuic: alone,
     * ConfigurationLoadCredential refuses it. */
    {
        QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
        HQUIC cfg = NULL;
        CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
        QUIC_CREDENTIAL_CONFIG cred;
        memset(&cred, 0, sizeof(cred));
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION;
        CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_INVALID_PARAMETER);
        api->ConfigurationClose(cfg);
    }
    HQUIC defer = client_config_with(reg,
                                     QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION |
                                         QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED,
                                     0);
    client_portable = 0;
    start(reg, defer, port, &r, QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&r.connected, 1, 10000));
    CHECK(counter_get(&r.events) == 1);
    CHECK(r.deferred == QUIC_STATUS_CERT_UNTRUSTED_ROOT);
    CHECK(r.leaf_len == 0); /* not portable: no certificate object to give */
    finish_run(&r);

    /* 3. Deferred, rejected by the callback. */
    start(reg, defer, port, &r, QUIC_STATUS_BAD_CERTIFICATE);
    finish_run(&r);
    CHECK(counter_get(&r.connected) == 0);
    CHECK(r.transport_status == QUIC_STATUS_BAD_CERTIFICATE);

    /* 4. Pending, then accepted. */
    start(reg, defer, port, &r, QUIC_STATUS_PENDING);
    CHECK(counter_wait(&r.events, 1, 10000));
    CHECK(!counter_wait(&r.connected, 1, 300)); /* waits for the application */
    CHECK(api->ConnectionCertificateValidationComplete(r.conn, TRUE,
                                                       QUIC_TLS_ALERT_CODE_SUCCESS) ==
          QUIC_STATUS_PENDING);
    CHECK(counter_wait(&r.connected, 1, 10000));
    finish_run(&r);

    /* 5. Pending, then rejected with unknown_ca; a bad alert first. */
    start(reg, defer, port, &r, QUIC_STATUS_PENDING);
    CHECK(counter_wait(&r.events, 1, 10000));
    CHECK(api->ConnectionCertificateValidationComplete(r.conn, FALSE, 300) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionCertificateValidationComplete(r.conn, FALSE,
                                                       QUIC_TLS_ALERT_CODE_UNKNOWN_CA) ==
          QUIC_STATUS_PENDING);
    finish_run(&r);
    CHECK(counter_get(&r.connected) == 0);
    CHECK(r.transport_status == QUIC_STATUS_TLS_ALERT(48));

    /* 6. No flag: no event. */
    HQUIC plain = client_config_with(reg, QUIC_CREDENTIAL_FLAG_NONE, 1);
    start(reg, plain, port, &r, QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&r.connected, 1, 10000));
    CHECK(counter_get(&r.events) == 0);
    finish_run(&r);
    CHECK(api->ConnectionCertificateValidationComplete(NULL, TRUE, QUIC_TLS_ALERT_CODE_SUCCESS) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* 7. Mutual TLS: the server hears of the client's certificate. */
    counter_init(&mtls_events);
    counter_init(&mtls_connected);
    QUIC_BUFFER mtls_alpn = {11, (uint8_t*)"certs-mtls"};
    mtls_alpn.Length = (uint32_t)strlen("certs-mtls");
    CHECK(api->ConfigurationOpen(reg, &mtls_alpn, 1, NULL, 0, NULL, &mtls_config) ==
          QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    cred.Flags = QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION |
                 QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE |
                 QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED |
                 QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES;
    cred.CaCertificateFile = test_cert();
    CHECK(api->ConfigurationLoadCredential(mtls_config, &cred) == QUIC_STATUS_SUCCESS);
    HQUIC mtls_listener = NULL;
    CHECK(api->ListenerOpen(reg, MtlsListener, NULL, &mtls_listener) == QUIC_STATUS_SUCCESS);
    uint16_t mtls_port = start_listener(api, mtls_listener, "certs-mtls");
    HQUIC mtls_client = NULL;
    CHECK(api->ConfigurationOpen(reg, &mtls_alpn, 1, NULL, 0, NULL, &mtls_client) ==
          QUIC_STATUS_SUCCESS);
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    cred.CaCertificateFile = test_cert();
    CHECK(api->ConfigurationLoadCredential(mtls_client, &cred) == QUIC_STATUS_SUCCESS);

    mtls_answer = QUIC_STATUS_SUCCESS;
    start(reg, mtls_client, mtls_port, &r, QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&r.connected, 1, 10000));
    CHECK(counter_wait(&mtls_connected, 1, 10000));
    CHECK(counter_get(&mtls_events) == 1);
    CHECK(mtls_event_before_connected);
    CHECK(mtls_leaf_len > 100);
    finish_run(&r);

    /* Rejected: the client's handshake was done already (its CONNECTED may come, as in
     * MsQuic), then the server closes with bad_certificate and never raises CONNECTED. */
    mtls_answer = QUIC_STATUS_BAD_CERTIFICATE;
    stay_next = 1;
    start(reg, mtls_client, mtls_port, &r, QUIC_STATUS_SUCCESS);
    finish_run(&r);
    CHECK(counter_get(&mtls_events) == 2);
    CHECK(counter_get(&mtls_connected) == 1);
    CHECK(r.transport_status == QUIC_STATUS_BAD_CERTIFICATE);
    api->ListenerClose(mtls_listener);
    api->ConfigurationClose(mtls_client);
    api->ConfigurationClose(mtls_config);

    api->ListenerClose(listener);
    api->ConfigurationClose(indicate);
    api->ConfigurationClose(defer);
    api->ConfigurationClose(plain);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("cert_events");
}
