/* Failures whose reasons the library's log (MSQUIC_QMUX_LOG, checked by tests/c_suite.rs)
 * must give: the program makes each one happen and checks the statuses the application sees.
 * - ConfigurationLoadCredential with certificate files that do not exist: TLS_ERROR;
 * - a client whose ALPN the listener does not take: ALPN_NEG_FAILURE;
 * - a server configuration without a credential: ConnectionSetConfiguration answers
 *   INVALID_PARAMETER, the NEW_CONNECTION callback returns it, the client sees
 *   CONNECTION_REFUSED;
 * - a client refusing the server's certificate: unknown issuer (no CA given), and a name
 *   mismatch (the server name is not the certificate's);
 * - a graceful exchange: one echoed stream, then the client's ConnectionShutdown with 0;
 *   another that ends at the idle timeout. */
#include <arpa/inet.h>

#include "support/qmux_test.h"

#define ALPN "reasons"

static const QUIC_API_TABLE* api;

typedef struct {
    Counter done;
    int connected;
    QUIC_STATUS status;
    int echoed;
    Counter stream_done;
} Client;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    Client* c = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        c->echoed += (int)ev->RECEIVE.TotalBufferLength;
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
        counter_add(&c->stream_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_BUFFER hello = {5, (uint8_t*)"hello"};

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Client* c = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        c->connected = 1;
        HQUIC s = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, c, &s) ==
              QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->StreamStart(s, QUIC_STREAM_START_FLAG_NONE)));
        CHECK(QUIC_SUCCEEDED(api->StreamSend(s, &hello, 1, QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->StreamClose(ev->PEER_STREAM_STARTED.Stream);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        c->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&c->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Runs a client of `reg` with `cfg` against `port`, reaching it as `server_name` at
 * 127.0.0.1. */
static void run_client(HQUIC reg, HQUIC cfg, uint16_t port, const char* server_name,
                       Client* c) {
    memset(c, 0, sizeof(*c));
    counter_init(&c->done);
    counter_init(&c->stream_done);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, c, &conn) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR remote;
    memset(&remote, 0, sizeof(remote));
    QuicAddrSetFamily(&remote, QUIC_ADDRESS_FAMILY_INET);
    remote.Ipv4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QuicAddrSetPort(&remote, port);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(remote), &remote) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, server_name, port)));
    CHECK(counter_wait(&c->done, 1, 10000));
    api->ConnectionClose(conn);
    counter_destroy(&c->done);
    counter_destroy(&c->stream_done);
}

static HQUIC client_config(HQUIC reg, const char* alpn, int trust_test_cert) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    if (trust_test_cert) {
        cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = test_cert();
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static void missing_files(HQUIC reg) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {"/nonexistent/qmux-test/key.pem",
                                   "/nonexistent/qmux-test/cert.pem"};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_TLS_ERROR);
    api->ConfigurationClose(cfg);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);

    missing_files(reg);

    /* A server with a credential, echoing. */
    TestServer server = {api, server_configuration(api, reg, ALPN, 4, 0), NULL};
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, test_server_listener, &server, &listener) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    Client c;

    /* No common ALPN. */
    HQUIC other_alpn = client_config(reg, "other-alpn", 1);
    run_client(reg, other_alpn, port, "localhost", &c);
    CHECK(!c.connected);
    CHECK(c.status == QUIC_STATUS_ALPN_NEG_FAILURE);
    api->ConfigurationClose(other_alpn);

    /* The client does not trust the certificate, then the name is not the certificate's. */
    HQUIC untrusting = client_config(reg, ALPN, 0);
    run_client(reg, untrusting, port, "localhost", &c);
    CHECK(!c.connected);
    CHECK(c.status != QUIC_STATUS_SUCCESS);
    api->ConfigurationClose(untrusting);
    HQUIC trusting = client_config(reg, ALPN, 1);
    run_client(reg, trusting, port, "wrong.example", &c);
    CHECK(!c.connected);
    CHECK(c.status != QUIC_STATUS_SUCCESS);

    /* A graceful exchange: one echoed stream, then ConnectionShutdown(0). */
    memset(&c, 0, sizeof(c));
    counter_init(&c.done);
    counter_init(&c.stream_done);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &c, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, trusting, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&c.stream_done, 1, 10000));
    CHECK(c.connected);
    CHECK(c.echoed == 5);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&c.done, 1, 10000));
    CHECK(c.status == QUIC_STATUS_SUCCESS);
    api->ConnectionClose(conn);
    counter_destroy(&c.done);
    counter_destroy(&c.stream_done);

    /* A graceful end by the idle timeout (300 ms) after one echoed stream. */
    HQUIC idle = client_configuration(api, reg, ALPN, 300);
    run_client(reg, idle, port, "localhost", &c);
    CHECK(c.connected);
    CHECK(c.status == QUIC_STATUS_CONNECTION_IDLE);
    api->ConfigurationClose(idle);
    api->ListenerClose(listener);
    api->ConfigurationClose(server.config);

    /* A server configuration without a credential refuses every connection. */
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC bare = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &bare) == QUIC_STATUS_SUCCESS);
    TestServer bare_server = {api, bare, NULL};
    CHECK(api->ListenerOpen(reg, test_server_listener, &bare_server, &listener) ==
          QUIC_STATUS_SUCCESS);
    port = start_listener(api, listener, ALPN);
    run_client(reg, trusting, port, "localhost", &c);
    CHECK(!c.connected);
    CHECK(c.status == QUIC_STATUS_CONNECTION_REFUSED);
    api->ListenerClose(listener);
    api->ConfigurationClose(bare);
    api->ConfigurationClose(trusting);

    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("log_reasons");
}
