/* A stream handle standing for its connection, over QMux/TLS. As in MsQuic, ConnectionStart,
 * ConnectionShutdown, ConnectionSetConfiguration, ConnectionSendResumptionTicket, StreamOpen,
 * ConnectionResumptionTicketValidationComplete and ConnectionCertificateValidationComplete
 * given a stream act on (and answer as for) the stream's connection; ConnectionClose and
 * DatagramSend refuse a stream.
 * 1. ConnectionStart through a stream opened before the start starts the connection; the
 *    mapped calls answer through a stream exactly as through the connection; StreamOpen through
 *    a stream opens a stream of the same connection;
 * 2. ConnectionClose(stream) and DatagramSend(stream) do nothing to the connection;
 * 3. ConnectionShutdown(stream) from that stream's SHUTDOWN_COMPLETE shuts the connection down
 *    (the server hears the error code), so the program's ConnectionClose on SHUTDOWN_COMPLETE
 *    runs and RegistrationClose returns; afterwards StreamOpen gets INVALID_STATE on the
 *    client (shut down on its side) and ABORTED on the server (closed by the peer), as MsQuic;
 * 4. ConnectionShutdown through a stream of a connection never started ends it, and
 *    ConnectionStart then gets INVALID_STATE through the connection or the stream. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

#define SHUTDOWN_CODE 0x42

/* ---- server: echoes, closes what ends, notes the peer's shutdown code ---- */

static Counter server_peer_shutdown;
static uint64_t server_peer_code = 0;
static QUIC_STATUS server_open_after_peer_close = 0;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER) {
        server_peer_code = ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
        /* Closed by the peer: no new stream (MsQuic's ClosedRemotely). */
        HQUIC s = NULL;
        server_open_after_peer_close =
            api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE,
                            (QUIC_STREAM_CALLBACK_HANDLER)ServerStream, NULL, &s);
        counter_add(&server_peer_shutdown, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

/* ---- client ---- */

static Counter connected, client_complete, first_start, second_start, echo_done;
static int shutdown_from_stream = 0;
static QUIC_STATUS client_open_after_shutdown = 0;

static QUIC_STATUS QUIC_API FirstStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev);

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        /* Shut down on this side: no new stream (MsQuic's ClosedLocally). */
        HQUIC s = NULL;
        client_open_after_shutdown = api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE,
                                                     (QUIC_STREAM_CALLBACK_HANDLER)FirstStream,
                                                     NULL, &s);
        api->ConnectionClose(conn);
        counter_add(&client_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* The stream opened before the connection started: it stands for the connection in the
 * mapped calls and is closed by the test. */
static QUIC_STATUS QUIC_API FirstStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)stream;
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_START_COMPLETE) counter_add(&first_start, 1);
    return QUIC_STATUS_SUCCESS;
}

/* The stream opened through the first one: it sends, gets the echo, and from its
 * SHUTDOWN_COMPLETE shuts the connection down through its own handle. */
static QUIC_STATUS QUIC_API SecondStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_START_COMPLETE) {
        CHECK(QUIC_SUCCEEDED(ev->START_COMPLETE.Status));
        counter_add(&second_start, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        if (!ev->SHUTDOWN_COMPLETE.ConnectionShutdown) {
            shutdown_from_stream = 1;
            api->ConnectionShutdown(stream, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, SHUTDOWN_CODE);
        }
        api->StreamClose(stream);
        counter_add(&echo_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* A connection that is shut down before it starts. */
static Counter idle_complete;
static int idle_peer_acked = -1;

static QUIC_STATUS QUIC_API IdleConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        idle_peer_acked = ev->SHUTDOWN_COMPLETE.PeerAcknowledgedShutdown;
        counter_add(&idle_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&server_peer_shutdown);
    counter_init(&connected);
    counter_init(&client_complete);
    counter_init(&first_start);
    counter_init(&second_start);
    counter_init(&echo_done);
    counter_init(&idle_complete);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "hk", 8, 0);
    HQUIC client_config = client_configuration(api, reg, "hk", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "hk");

    /* 1. ConnectionStart through a stream. */
    static int conn_ctx, first_ctx;
    HQUIC conn = NULL, first = NULL, second = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &conn_ctx, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, FirstStream, &first_ctx, &first) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->ConnectionStart(first, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost",
                               port) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&connected, 1, 10000));

    /* The mapped calls answer through the stream as through the connection. */
    QUIC_STATUS by_conn, by_stream;
    by_conn = api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port);
    by_stream =
        api->ConnectionStart(first, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port);
    printf("1: ConnectionStart again: connection 0x%x, stream 0x%x\n", by_conn, by_stream);
    CHECK(by_conn == QUIC_STATUS_INVALID_STATE && by_stream == by_conn);
    by_conn = api->ConnectionSetConfiguration(conn, client_config);
    by_stream = api->ConnectionSetConfiguration(first, client_config);
    /* A client: INVALID_PARAMETER for the server-side calls, as in MsQuic. */
    printf("1: ConnectionSetConfiguration (client): connection 0x%x, stream 0x%x\n", by_conn,
           by_stream);
    CHECK(by_conn == QUIC_STATUS_INVALID_PARAMETER && by_stream == by_conn);
    by_conn = api->ConnectionSendResumptionTicket(conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
    by_stream = api->ConnectionSendResumptionTicket(first, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
    printf("1: ConnectionSendResumptionTicket: connection 0x%x, stream 0x%x\n", by_conn,
           by_stream);
    CHECK(by_conn == QUIC_STATUS_INVALID_PARAMETER && by_stream == by_conn);
    by_conn = api->ConnectionResumptionTicketValidationComplete(conn, TRUE);
    by_stream = api->ConnectionResumptionTicketValidationComplete(first, TRUE);
    printf("1: ConnectionResumptionTicketValidationComplete: connection 0x%x, stream 0x%x\n",
           by_conn, by_stream);
    CHECK(by_conn == QUIC_STATUS_INVALID_PARAMETER && by_stream == by_conn);
    by_conn = api->ConnectionCertificateValidationComplete(conn, TRUE, QUIC_TLS_ALERT_CODE_SUCCESS);
    by_stream =
        api->ConnectionCertificateValidationComplete(first, TRUE, QUIC_TLS_ALERT_CODE_SUCCESS);
    printf("1: ConnectionCertificateValidationComplete: connection 0x%x, stream 0x%x\n", by_conn,
           by_stream);
    CHECK(by_stream == by_conn);

    /* StreamOpen through a stream: a stream of the same connection, which works. */
    CHECK(api->StreamOpen(first, QUIC_STREAM_OPEN_FLAG_NONE, SecondStream, NULL, &second) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->StreamStart(second, QUIC_STREAM_START_FLAG_NONE) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&second_start, 1, 10000));

    /* 2. ConnectionClose and DatagramSend refuse a stream. */
    api->ConnectionClose(first);
    CHECK(api->GetContext(first) == &first_ctx);
    CHECK(api->GetContext(conn) == &conn_ctx);
    CHECK(counter_get(&client_complete) == 0);
    static uint8_t byte = 1;
    QUIC_BUFFER one = {1, &byte};
    CHECK(api->DatagramSend(first, &one, 1, QUIC_SEND_FLAG_NONE, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->StreamStart(first, QUIC_STREAM_START_FLAG_NONE) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&first_start, 1, 10000));
    api->StreamClose(first);

    /* 3. The echo ends the second stream; its SHUTDOWN_COMPLETE shuts the connection down
     * through the stream handle. */
    static QUIC_BUFFER msg = {5, (uint8_t*)"kinds"};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(second, &msg, 1, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&echo_done, 1, 10000));
    int complete = counter_wait(&client_complete, 1, 10000);
    CHECK(complete);
    CHECK(shutdown_from_stream);
    CHECK(counter_wait(&server_peer_shutdown, 1, 10000));
    printf("3: connection shut down through its stream: %d; server heard code 0x%llx\n", complete,
           (unsigned long long)server_peer_code);
    CHECK(server_peer_code == SHUTDOWN_CODE);
    printf("3: StreamOpen after the shutdown: client 0x%x, server (closed by peer) 0x%x\n",
           client_open_after_shutdown, server_open_after_peer_close);
    CHECK(client_open_after_shutdown == QUIC_STATUS_INVALID_STATE);
    CHECK(server_open_after_peer_close == QUIC_STATUS_ABORTED);

    /* 4. A connection shut down before it started cannot be started (ClosedLocally), through
     * itself or a stream. */
    HQUIC idle = NULL, idle_stream = NULL;
    CHECK(api->ConnectionOpen(reg, IdleConnection, NULL, &idle) == QUIC_STATUS_SUCCESS);
    CHECK(api->StreamOpen(idle, QUIC_STREAM_OPEN_FLAG_NONE, FirstStream, NULL, &idle_stream) ==
          QUIC_STATUS_SUCCESS);
    api->ConnectionShutdown(idle_stream, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&idle_complete, 1, 10000));
    /* MsQuic closes a client never started silently: PeerAcknowledgedShutdown. */
    CHECK(idle_peer_acked == 1);
    by_conn = api->ConnectionStart(idle, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port);
    by_stream =
        api->ConnectionStart(idle_stream, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port);
    printf("4: ConnectionStart after shutdown: connection 0x%x, stream 0x%x\n", by_conn, by_stream);
    CHECK(by_conn == QUIC_STATUS_INVALID_STATE && by_stream == by_conn);
    api->StreamClose(idle_stream);
    api->ConnectionClose(idle);
    if (!complete) api->ConnectionClose(conn); /* else RegistrationClose would wait forever */

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("handle_kinds");
}
