/* Handshake timeout: a raw TCP server accepts and never answers. A client over QMux/TLS with
 * HandshakeIdleTimeoutMs = 300 sees SHUTDOWN_INITIATED_BY_TRANSPORT with
 * QUIC_STATUS_CONNECTION_IDLE, then SHUTDOWN_COMPLETE, about 300 ms after the start.
 * Server side: with the library-wide HandshakeIdleTimeoutMs = 300 (what a server connection
 * runs on before the application configures it), a TLS listener closes an accepted socket that
 * sends no ClientHello about 300 ms after the connect, without raising NEW_CONNECTION. */
#include "support/qmux_test.h"

#include <poll.h>
#include <unistd.h>

#define HANDSHAKE_MS 300

static const QUIC_API_TABLE* api;
static Counter done;
static int connected, by_transport;
static QUIC_STATUS status;
static long long initiated_at;

static int new_connections;

static QUIC_STATUS QUIC_API SilentListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) new_connections++;
    return QUIC_STATUS_CONNECTION_REFUSED;
}

/* A raw client that connects to a TLS listener and sends nothing: how long until the server
 * closes the socket (ms), or -1 if it stays open for 5 s. */
static long long silent_client(HQUIC reg) {
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.HandshakeIdleTimeoutMs = TRUE;
    s.HandshakeIdleTimeoutMs = HANDSHAKE_MS;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(s), &s) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, SilentListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "hs");
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    sa.sin_port = htons(port);
    long long started_at = now_ms();
    CHECK(connect(fd, (struct sockaddr*)&sa, sizeof(sa)) == 0);
    struct pollfd p = {fd, POLLIN, 0};
    long long closed_after = -1;
    if (poll(&p, 1, 5000) == 1) {
        char byte;
        if (recv(fd, &byte, 1, 0) <= 0) closed_after = now_ms() - started_at;
    }
    close(fd);
    api->ListenerClose(listener);
    return closed_after;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        connected = 1;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        by_transport++;
        status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        initiated_at = now_ms();
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        CHECK(by_transport == 1);
        counter_add(&done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&done);
    /* A TCP server that accepts and says nothing. */
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(srv >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    CHECK(bind(srv, (struct sockaddr*)&sa, sizeof(sa)) == 0);
    CHECK(listen(srv, 4) == 0);
    socklen_t sl = sizeof(sa);
    CHECK(getsockname(srv, (struct sockaddr*)&sa, &sl) == 0);
    uint16_t port = ntohs(sa.sin_port);

    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC cfg = client_configuration(api, reg, "hs", 0);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.HandshakeIdleTimeoutMs = TRUE;
    s.HandshakeIdleTimeoutMs = HANDSHAKE_MS;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(s), &s) == QUIC_STATUS_SUCCESS);
    long long started_at = now_ms();
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    int peer = accept(srv, NULL, NULL);
    CHECK(peer >= 0);

    CHECK(counter_wait(&done, 1, 5000));
    long long elapsed = initiated_at - started_at;
    printf("handshake_timeout: connected=%d transport=%d status=%u after %lld ms\n", connected,
           by_transport, status, elapsed);
    CHECK(!connected);
    CHECK(by_transport == 1);
    CHECK(status == QUIC_STATUS_CONNECTION_IDLE);
    CHECK(elapsed >= HANDSHAKE_MS - 50);
    CHECK(elapsed < 3000);

    api->ConnectionClose(conn);
    api->ConfigurationClose(cfg);

    long long closed_after = silent_client(reg);
    printf("handshake_timeout: silent client closed after %lld ms\n", closed_after);
    CHECK(closed_after >= HANDSHAKE_MS - 50);
    CHECK(closed_after < 3000);
    CHECK(new_connections == 0);

    api->RegistrationClose(reg);
    MsQuicClose(api);
    close(peer);
    close(srv);
    counter_destroy(&done);
    return finish("handshake_timeout");
}
