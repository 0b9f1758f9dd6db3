/* QMux over TLS 1.3 on loopback through the MsQuic API, with a certificate made by the test
 * harness (paths in MSQUIC_TEST_CERT / MSQUIC_TEST_KEY):
 * - a client trusting the certificate as its CA connects; the server's NEW_CONNECTION sees the
 *   SNI and the client's ALPN list in both forms ("echoqx", "echo"); both sides see ALPN
 *   "echo" in CONNECTED; a message is echoed back;
 * - a client with the system roots only fails the handshake on the untrusted certificate;
 * - a client offering another ALPN fails with ALPN_NEG_FAILURE;
 * - a client allowing only a cipher suite the server does not allow fails with
 *   HANDSHAKE_FAILURE (the handshake_failure alert). */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static char seen_sni[256];
static int seen_alpn_forms = 0;
static Counter server_done;           /* server connections' SHUTDOWN_COMPLETE */
static int server_peer_acked = -1;    /* the last one's PeerAcknowledgedShutdown */
static int server_acked_count = 0;    /* how many had PeerAcknowledgedShutdown set */
static const char* message = "hello over QMux and TLS";

/* What one client run observed. */
typedef struct {
    Counter done;
    int connected;
    int peer_acked; /* SHUTDOWN_COMPLETE's PeerAcknowledgedShutdown */
    char alpn[256];
    QUIC_STATUS transport_status;
    char echoed[256];
    size_t echoed_len;
} Run;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        CHECK(ev->CONNECTED.NegotiatedAlpnLength == 4 &&
              memcmp(ev->CONNECTED.NegotiatedAlpn, "echo", 4) == 0);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        server_peer_acked = ev->SHUTDOWN_COMPLETE.PeerAcknowledgedShutdown;
        server_acked_count += server_peer_acked;
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(conn);
        counter_add(&server_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    const QUIC_NEW_CONNECTION_INFO* info = ev->NEW_CONNECTION.Info;
    if (info->ServerNameLength > 0 && info->ServerNameLength < sizeof(seen_sni)) {
        memcpy(seen_sni, info->ServerName, info->ServerNameLength);
        seen_sni[info->ServerNameLength] = 0;
    }
    /* The client's list as its application configured it: "echo" once (the "echoqx" form
     * this library's client also offers is not shown), as MsQuic's listener shows it. */
    seen_alpn_forms = info->ClientAlpnListLength == 5 ? 4 : 0;
    for (uint16_t at = 0; at < info->ClientAlpnListLength;) {
        uint8_t n = info->ClientAlpnList[at];
        const uint8_t* t = info->ClientAlpnList + at + 1;
        if (n == 6 && memcmp(t, "echoqx", 6) == 0) seen_alpn_forms |= 1;
        if (n == 4 && memcmp(t, "echo", 4) == 0) seen_alpn_forms |= 2;
        at = (uint16_t)(at + 1 + n);
    }
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    Run* run = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (run->echoed_len + b->Length < sizeof(run->echoed)) {
                memcpy(run->echoed + run->echoed_len, b->Buffer, b->Length);
            }
            run->echoed_len += b->Length;
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Run* run = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        run->connected = 1;
        memcpy(run->alpn, ev->CONNECTED.NegotiatedAlpn, ev->CONNECTED.NegotiatedAlpnLength);
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, run, &stream) ==
              QUIC_STATUS_SUCCESS);
        static QUIC_BUFFER buf;
        buf.Length = (uint32_t)strlen(message);
        buf.Buffer = (uint8_t*)message;
        api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL);
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        run->transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        run->peer_acked = ev->SHUTDOWN_COMPLETE.PeerAcknowledgedShutdown;
        counter_add(&run->done, 1);
        break;
    default:
        break;
    }
    /* After the echo, close with an application code. */
    if (run->echoed_len == strlen(message) && ev->Type != QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 7);
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC client_config_suites(HQUIC reg, const char* alpn, const char* ca,
                                  QUIC_ALLOWED_CIPHER_SUITE_FLAGS suites) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.IdleTimeoutMs = TRUE;
    s.IdleTimeoutMs = 3000;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    if (ca != NULL) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = ca;
    }
    if (suites != QUIC_ALLOWED_CIPHER_SUITE_NONE) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES;
        cred.AllowedCipherSuites = suites;
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static HQUIC client_config(HQUIC reg, const char* alpn, const char* ca) {
    return client_config_suites(reg, alpn, ca, QUIC_ALLOWED_CIPHER_SUITE_NONE);
}

static void run_client(HQUIC reg, HQUIC cfg, uint16_t port, Run* run) {
    memset(run, 0, sizeof(*run));
    counter_init(&run->done);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, run, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                               port)));
    CHECK(counter_wait(&run->done, 1, 30000));
    api->ConnectionClose(conn);
    counter_destroy(&run->done);
}

int main(void) {
    if (!have_test_cert()) return 1;
    const char* cert = test_cert();
    const char* key = test_key();
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&server_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);

    QUIC_BUFFER alpn = {4, (uint8_t*)"echo"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = 2;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &server_config) ==
          QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {key, cert};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    /* The server allows the two AES suites only (case 4 offers ChaCha20 alone). */
    cred.Flags = QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES;
    cred.AllowedCipherSuites =
        QUIC_ALLOWED_CIPHER_SUITE_AES_128_GCM_SHA256 | QUIC_ALLOWED_CIPHER_SUITE_AES_256_GCM_SHA384;
    CHECK(api->ConfigurationLoadCredential(server_config, &cred) == QUIC_STATUS_SUCCESS);

    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    CHECK(api->ListenerStart(listener, &alpn, 1, &addr) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = QuicAddrGetPort(&local);

    Run run;
    /* 1. Trusted: the handshake completes and the echo comes back. */
    HQUIC trusted = client_config(reg, "echo", cert);
    run_client(reg, trusted, port, &run);
    CHECK(run.connected);
    CHECK(strcmp(run.alpn, "echo") == 0);
    CHECK(run.echoed_len == strlen(message) && memcmp(run.echoed, message, run.echoed_len) == 0);
    CHECK(strcmp(seen_sni, "localhost") == 0);
    CHECK(seen_alpn_forms == 6);
    /* As MsQuic sets PeerAcknowledgedShutdown: the client closed first and the server's end
     * answered (1); the server, closed by its peer, would drain until its timer (0). */
    CHECK(run.peer_acked == 1);
    CHECK(counter_wait(&server_done, 1, 10000));
    CHECK(server_peer_acked == 0);

    /* 2. Untrusted: the system roots do not know the test certificate. */
    HQUIC untrusted = client_config(reg, "echo", NULL);
    run_client(reg, untrusted, port, &run);
    CHECK(!run.connected);
    CHECK(QUIC_FAILED(run.transport_status));
    /* As MsQuic maps a local certificate rejection: the alert it sends, unknown_ca. */
    CHECK(run.transport_status == QUIC_STATUS_TLS_ALERT(48));
    CHECK(run.peer_acked == 1); /* the server answers the client's alert */
    printf("untrusted certificate: status 0x%x\n", run.transport_status);

    /* 3. No common ALPN. */
    HQUIC other = client_config(reg, "other", cert);
    run_client(reg, other, port, &run);
    CHECK(!run.connected);
    CHECK(run.transport_status == QUIC_STATUS_ALPN_NEG_FAILURE);
    CHECK(run.peer_acked == 1); /* a client refused before CONNECTED leaves at once */

    /* 4. No common cipher suite. */
    HQUIC chacha = client_config_suites(reg, "echo", cert,
                                        QUIC_ALLOWED_CIPHER_SUITE_CHACHA20_POLY1305_SHA256);
    run_client(reg, chacha, port, &run);
    CHECK(!run.connected);
    CHECK(run.transport_status == QUIC_STATUS_HANDSHAKE_FAILURE);
    /* The server connections of cases 1, 2 and 4 (3 has none: the listener refuses it): none
     * acknowledged. Case 4's server closed first, but its client, not connected yet, leaves
     * silently, as MsQuic's does, so nothing answers. */
    CHECK(counter_wait(&server_done, 3, 10000));
    CHECK(server_acked_count == 0);
    api->ConfigurationClose(chacha);

    api->ListenerClose(listener);
    api->ConfigurationClose(trusted);
    api->ConfigurationClose(untrusted);
    api->ConfigurationClose(other);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("loopback_tls");
}
