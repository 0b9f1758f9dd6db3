/* Small connection parameters on a real connection over QMux/TLS:
 * - CONN_QUIC_VERSION: 0 before start (as MsQuic), QUIC v1 after; read-only;
 * - CONN_IDEAL_PROCESSOR: answered, read-only;
 * - CONN_CLOSE_REASON_PHRASE: NOT_FOUND until set, too long refused, read back with the size
 *   probe; the client's ConnectionShutdown carries it, and the server reads the client's
 *   phrase inside SHUTDOWN_INITIATED_BY_PEER along with the error code;
 * - CONN_SEND_DSCP: 0 by default, 64 refused, 46 (EF) set before start and read back;
 * - CONN_CLOSE_ASYNC: with it set, ConnectionClose of a live connection returns at once and
 *   the server still sees the connection end. */
#include "support/qmux_test.h"

#define ALPN "opts"
#define PHRASE "going away now"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static Counter connected, server_peer_shutdown, server_done;
static uint64_t peer_code;
static char peer_phrase[64];
static QUIC_STATUS peer_phrase_status;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER) {
        peer_code = ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
        uint32_t len = sizeof(peer_phrase);
        peer_phrase_status =
            api->GetParam(conn, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, &len, peer_phrase);
        counter_add(&server_peer_shutdown, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&server_done, 1);
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static Counter client_done;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static HQUIC start_client(HQUIC reg, HQUIC cfg, uint16_t port) {
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    return conn;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&connected);
    counter_init(&server_peer_shutdown);
    counter_init(&server_done);
    counter_init(&client_done);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC cfg = client_configuration(api, reg, ALPN, 0);

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    uint32_t version = 0;
    uint32_t len = sizeof(version);
    version = 0xFFFF;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_QUIC_VERSION, &len, &version) ==
          QUIC_STATUS_SUCCESS);
    CHECK(version == 0);

    /* Reason phrase. */
    char phrase[600];
    len = sizeof(phrase);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, &len, phrase) ==
          QUIC_STATUS_NOT_FOUND);
    memset(phrase, 'a', sizeof(phrase));
    phrase[sizeof(phrase) - 1] = 0;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, sizeof(phrase), phrase) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, sizeof(PHRASE), PHRASE) ==
          QUIC_STATUS_SUCCESS);
    len = 0;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(PHRASE));
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, &len, phrase) ==
          QUIC_STATUS_SUCCESS);
    CHECK(strcmp(phrase, PHRASE) == 0);

    /* DSCP. */
    uint8_t dscp = 0xFF;
    len = sizeof(dscp);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_SEND_DSCP, &len, &dscp) == QUIC_STATUS_SUCCESS);
    CHECK(dscp == 0);
    dscp = 64;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SEND_DSCP, sizeof(dscp), &dscp) ==
          QUIC_STATUS_INVALID_PARAMETER);
    dscp = 46;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SEND_DSCP, sizeof(dscp), &dscp) ==
          QUIC_STATUS_SUCCESS);

    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&connected, 1, 10000));
    len = sizeof(version);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_QUIC_VERSION, &len, &version) ==
          QUIC_STATUS_SUCCESS);
    CHECK(version == 1);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_QUIC_VERSION, sizeof(version), &version) ==
          QUIC_STATUS_INVALID_PARAMETER);
    uint16_t processor = 0xFFFF;
    len = sizeof(processor);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_IDEAL_PROCESSOR, &len, &processor) ==
          QUIC_STATUS_SUCCESS);
    CHECK(processor < 4096);
    dscp = 0;
    len = sizeof(dscp);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_SEND_DSCP, &len, &dscp) == QUIC_STATUS_SUCCESS);
    CHECK(dscp == 46);

    /* The phrase travels with the application's close. */
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 9);
    CHECK(counter_wait(&server_peer_shutdown, 1, 10000));
    CHECK(peer_code == 9);
    CHECK(peer_phrase_status == QUIC_STATUS_SUCCESS);
    CHECK(strcmp(peer_phrase, PHRASE) == 0);
    CHECK(counter_wait(&client_done, 1, 10000));
    api->ConnectionClose(conn);

    /* Asynchronous close of a live connection. */
    HQUIC async = start_client(reg, cfg, port);
    CHECK(counter_wait(&connected, 2, 10000));
    BOOLEAN yes = TRUE;
    CHECK(api->SetParam(async, QUIC_PARAM_CONN_CLOSE_ASYNC, sizeof(yes), &yes) ==
          QUIC_STATUS_SUCCESS);
    BOOLEAN back = FALSE;
    len = sizeof(back);
    CHECK(api->GetParam(async, QUIC_PARAM_CONN_CLOSE_ASYNC, &len, &back) == QUIC_STATUS_SUCCESS);
    CHECK(back == TRUE);
    api->ConnectionClose(async);
    CHECK(counter_wait(&server_done, 2, 10000));

    api->ListenerClose(listener);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("conn_options");
}
