/* The two ends use different transports (QUIC_PARAM_REGISTRATION_TRANSPORT on two
 * registrations in one process):
 * - a QMux-over-TLS client meeting a plain QMux server: both connections end with
 *   SHUTDOWN_INITIATED_BY_TRANSPORT and QUIC_STATUS_VER_NEG_ERROR (the client sees a plain
 *   QMux record where a TLS record belongs; the server sees a ClientHello), never CONNECTED;
 * - a plain QMux client meeting a QMux-over-TLS server: the client ends with
 *   QUIC_STATUS_VER_NEG_ERROR (the server answers its plain record with a TLS alert); the
 *   server refuses the connection before NEW_CONNECTION (its log says why).
 * Each side then runs a good connection over its own transport, unharmed. */
#include "support/qmux_test.h"

#define ALPN "mismatch"

static const QUIC_API_TABLE* api;

typedef struct {
    Counter done;
    int connected;
    QUIC_STATUS status;
} Side;

static Side server_side;
static Counter new_connections;
static HQUIC server_config;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Side* s = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        s->connected = 1;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        s->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
        counter_add(&s->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    counter_add(&new_connections, 1);
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection,
                            &server_side);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
}

static HQUIC registration(uint32_t transport) {
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport), &transport) ==
          QUIC_STATUS_SUCCESS);
    return reg;
}

static void round_over(uint32_t client_transport, uint32_t server_transport) {
    printf("client transport %u, server transport %u\n", client_transport, server_transport);
    HQUIC server_reg = registration(server_transport);
    HQUIC client_reg = registration(client_transport);
    server_config = server_configuration(api, server_reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(server_reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC cfg = client_configuration(api, client_reg, ALPN, 0);

    memset(&server_side, 0, sizeof(server_side));
    counter_init(&server_side.done);
    counter_init(&new_connections);
    QUIC_STATUS client_status = 0;
    int connected = qt_connect_once(api, client_reg, cfg, NULL, "localhost", port, &client_status);
    printf("  client status %u\n", client_status);
    CHECK(!connected);
    CHECK(client_status == QUIC_STATUS_VER_NEG_ERROR);
    if (server_transport == QUIC_TRANSPORT_QMUX_TCP) {
        /* The plain server accepted a socket whose peer speaks TLS. */
        CHECK(counter_wait(&server_side.done, 1, 10000));
        printf("  server status %u\n", server_side.status);
        CHECK(!server_side.connected);
        CHECK(server_side.status == QUIC_STATUS_VER_NEG_ERROR);
    } else {
        /* The TLS server never saw a ClientHello: no connection. */
        CHECK(counter_get(&new_connections) == 0);
    }
    counter_destroy(&new_connections);
    counter_destroy(&server_side.done);

    /* The same ends over matching transports still work. */
    HQUIC good_cfg = client_configuration(api, server_reg, ALPN, 0);
    memset(&server_side, 0, sizeof(server_side));
    counter_init(&server_side.done);
    counter_init(&new_connections);
    CHECK(qt_connect_once(api, server_reg, good_cfg, NULL, "localhost", port, NULL));
    CHECK(counter_wait(&server_side.done, 1, 10000));
    CHECK(server_side.connected);
    counter_destroy(&new_connections);
    counter_destroy(&server_side.done);

    api->ListenerClose(listener);
    api->ConfigurationClose(good_cfg);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(client_reg);
    api->RegistrationClose(server_reg);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    round_over(QUIC_TRANSPORT_QMUX_TLS, QUIC_TRANSPORT_QMUX_TCP);
    round_over(QUIC_TRANSPORT_QMUX_TCP, QUIC_TRANSPORT_QMUX_TLS);
    MsQuicClose(api);
    return finish("transport_mismatch");
}
