/* Idle timeout over QMux/TLS: client and server both set IdleTimeoutMs = 300, connect and then
 * do nothing. Each side sees SHUTDOWN_INITIATED_BY_TRANSPORT with QUIC_STATUS_CONNECTION_IDLE
 * and ErrorCode 0x1 (INTERNAL_ERROR, as MsQuic gives a close for a status), then
 * SHUTDOWN_COMPLETE, no earlier than about the idle timeout after CONNECTED. */
#include "support/qmux_test.h"

#define IDLE_MS 300

static const QUIC_API_TABLE* api;
static HQUIC server_config;

/* What one side of the connection saw, in order. */
typedef struct {
    Counter complete;
    int connected;
    long long connected_at;
    long long initiated_at;
    int by_transport;
    int by_peer;
    QUIC_STATUS status;
    uint64_t error_code;
    int complete_after_initiated;
    int peer_acked;
} Side;

static Side client_side, server_side;

static void record(Side* side, const QUIC_CONNECTION_EVENT* ev) {
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        side->connected = 1;
        side->connected_at = now_ms();
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        side->by_transport++;
        side->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        side->error_code = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
        side->initiated_at = now_ms();
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        side->by_peer++;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        side->complete_after_initiated = side->by_transport == 1;
        side->peer_acked = ev->SHUTDOWN_COMPLETE.PeerAcknowledgedShutdown;
        counter_add(&side->complete, 1);
        break;
    default:
        break;
    }
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    record(&server_side, ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    record(&client_side, ev);
    return QUIC_STATUS_SUCCESS;
}

static void check_side(const char* name, Side* side) {
    printf("%s: transport=%d peer=%d status=%u after %lld ms\n", name, side->by_transport,
           side->by_peer, side->status, side->initiated_at - side->connected_at);
    CHECK(side->connected);
    CHECK(side->by_transport == 1);
    CHECK(side->by_peer == 0);
    CHECK(side->status == QUIC_STATUS_CONNECTION_IDLE);
    /* A close for a status carries INTERNAL_ERROR (0x1) as its code, as in MsQuic. */
    CHECK(side->error_code == 0x1);
    CHECK(side->complete_after_initiated);
    /* An idle timeout is a silent close: MsQuic reports PeerAcknowledgedShutdown. */
    CHECK(side->peer_acked);
    /* Not before the idle timeout (a little slack for clock granularity). */
    CHECK(side->initiated_at - side->connected_at >= IDLE_MS - 50);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    counter_init(&client_side.complete);
    counter_init(&server_side.complete);

    server_config = server_configuration(api, reg, "idle", 1, IDLE_MS);
    HQUIC client_config = client_configuration(api, reg, "idle", IDLE_MS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "idle");

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    /* Nothing is sent after the handshake; both sides must time out on their own. */
    CHECK(counter_wait(&client_side.complete, 1, 10000));
    CHECK(counter_wait(&server_side.complete, 1, 10000));
    api->ConnectionClose(conn);

    check_side("client", &client_side);
    check_side("server", &server_side);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&client_side.complete);
    counter_destroy(&server_side.complete);
    return finish("idle_timeout");
}
