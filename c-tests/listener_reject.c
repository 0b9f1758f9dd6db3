/* A listener's application refuses a connection by returning a failure from NEW_CONNECTION,
 * over QMux/TLS and over QMux/TCP:
 * - the refused client sees SHUTDOWN_INITIATED_BY_TRANSPORT with QUIC_STATUS_CONNECTION_REFUSED
 *   and SHUTDOWN_COMPLETE, never CONNECTED;
 * - the next client is accepted and connects;
 * - LISTENER_STATS counts one accepted and one rejected connection (and no dropped packets). */
#include "support/qmux_test.h"

#define ALPN "reject"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static int refuse_next;

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
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    if (refuse_next) {
        refuse_next = 0;
        return QUIC_STATUS_CONNECTION_REFUSED;
    }
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
}

static void round_over(uint32_t transport) {
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport), &transport) ==
          QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC cfg = client_configuration(api, reg, ALPN, 0);

    refuse_next = 1;
    QUIC_STATUS refused_status = 0;
    int refused_connected =
        qt_connect_once(api, reg, cfg, NULL, "localhost", port, &refused_status);
    printf("transport %u: refused client ended with status %u\n", transport, refused_status);
    CHECK(!refused_connected);
    CHECK(refused_status == QUIC_STATUS_CONNECTION_REFUSED);
    CHECK(qt_connect_once(api, reg, cfg, NULL, "localhost", port, NULL));

    QUIC_LISTENER_STATISTICS stats;
    uint32_t len = 0;
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_STATS, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(stats));
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_STATS, &len, &stats) == QUIC_STATUS_SUCCESS);
    CHECK(stats.TotalAcceptedConnections == 1);
    CHECK(stats.TotalRejectedConnections == 1);
    CHECK(stats.BindingRecvDroppedPackets == 0);

    api->ListenerClose(listener);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    round_over(QUIC_TRANSPORT_QMUX_TLS);
    round_over(QUIC_TRANSPORT_QMUX_TCP);
    MsQuicClose(api);
    return finish("listener_reject");
}
