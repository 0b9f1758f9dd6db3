/* Connection shutdown over QMux/TLS, each case on a connection with one open stream (the
 * client started it and sent a byte without FIN, so both sides hold it open):
 * 1. the client shuts down gracefully with an application code: the server sees
 *    SHUTDOWN_INITIATED_BY_PEER with that code; the client sees no SHUTDOWN_INITIATED_*;
 * 2. the same from the server: the client sees SHUTDOWN_INITIATED_BY_PEER with the code;
 * 3. the client shuts down with QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT: the server sees
 *    SHUTDOWN_INITIATED_BY_TRANSPORT with a failure status; the client sees only
 *    SHUTDOWN_COMPLETE;
 * 4. the client calls ConnectionClose without shutting down (abortive): the server's
 *    connection ends;
 * 5. and 6. the silent shutdown and the abortive close from the server: the client sees its
 *    connection end with a failure status (and the server, for the silent one, only
 *    SHUTDOWN_COMPLETE).
 * In every case each side's open stream gets SHUTDOWN_COMPLETE with ConnectionShutdown set
 * before its connection's SHUTDOWN_COMPLETE, with MsQuic's ConnectionCloseStatus:
 * INTERNAL_ERROR for these application codes, ABORTED (code 0x1) after ConnectionClose. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

/* What one side of one connection saw. `seq` orders events on the connection. */
typedef struct {
    HQUIC conn;
    Counter connected;
    Counter received;
    Counter complete;
    int seq;
    int by_peer;
    uint64_t peer_code;
    int by_transport;
    QUIC_STATUS transport_status;
    int conn_complete_seq;
    int stream_complete_seq;
    int stream_conn_shutdown;
    int stream_by_app;
    int stream_remotely;
    uint64_t stream_error_code;
    QUIC_STATUS stream_close_status;
    int stream_completes;
} Record;

static void record_init(Record* r) {
    memset(r, 0, sizeof(*r));
    counter_init(&r->connected);
    counter_init(&r->received);
    counter_init(&r->complete);
}

static void record_destroy(Record* r) {
    counter_destroy(&r->connected);
    counter_destroy(&r->received);
    counter_destroy(&r->complete);
}

static Record server_rec;

static void on_conn_event(Record* r, const QUIC_CONNECTION_EVENT* ev) {
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&r->connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        r->by_peer++;
        r->peer_code = ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        r->by_transport++;
        r->transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        r->conn_complete_seq = ++r->seq;
        break;
    default:
        break;
    }
}

static QUIC_STATUS QUIC_API StreamCallback(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    Record* r = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && ev->RECEIVE.TotalBufferLength > 0) {
        counter_add(&r->received, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        r->stream_completes++;
        r->stream_complete_seq = ++r->seq;
        r->stream_conn_shutdown = ev->SHUTDOWN_COMPLETE.ConnectionShutdown;
        r->stream_by_app = ev->SHUTDOWN_COMPLETE.ConnectionShutdownByApp;
        r->stream_remotely = ev->SHUTDOWN_COMPLETE.ConnectionClosedRemotely;
        r->stream_error_code = ev->SHUTDOWN_COMPLETE.ConnectionErrorCode;
        r->stream_close_status = ev->SHUTDOWN_COMPLETE.ConnectionCloseStatus;
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Record* r = ctx;
    on_conn_event(r, ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)StreamCallback, r);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(conn);
        /* Last: the main thread may reuse the record as soon as it sees this. */
        counter_add(&r->complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    server_rec.conn = ev->NEW_CONNECTION.Connection;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, &server_rec);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    Record* r = ctx;
    on_conn_event(r, ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&r->complete, 1);
    return QUIC_STATUS_SUCCESS;
}

typedef enum {
    CLIENT_GRACEFUL,
    SERVER_GRACEFUL,
    CLIENT_SILENT,
    CLIENT_ABORTIVE_CLOSE,
    SERVER_SILENT,
    SERVER_ABORTIVE_CLOSE,
} Case;

static void check_stream_order(const char* side, Record* r) {
    printf("  %s: stream completes %d (seq %d, ConnectionShutdown %d), connection seq %d\n", side,
           r->stream_completes, r->stream_complete_seq, r->stream_conn_shutdown,
           r->conn_complete_seq);
    CHECK(r->stream_completes == 1);
    CHECK(r->stream_conn_shutdown == 1);
    CHECK(r->stream_complete_seq != 0 && r->stream_complete_seq < r->conn_complete_seq);
}

static void run_case(HQUIC reg, HQUIC client_config, uint16_t port, Case c) {
    static const char* names[] = {"client graceful", "server graceful",      "client silent",
                                  "client abortive close", "server silent", "server abortive close"};
    printf("%s\n", names[c]);
    Record client_rec;
    record_init(&client_rec);
    record_init(&server_rec);

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &client_rec, &conn) == QUIC_STATUS_SUCCESS);
    client_rec.conn = conn;
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&client_rec.connected, 1, 10000));
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, &client_rec,
                          &stream) == QUIC_STATUS_SUCCESS);
    static QUIC_BUFFER one = {1, (uint8_t*)"x"};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &one, 1, QUIC_SEND_FLAG_START, NULL)));
    /* The server holds the stream open too once it has the byte. */
    CHECK(counter_wait(&server_rec.received, 1, 10000));
    CHECK(counter_get(&server_rec.connected) == 1);

    switch (c) {
    case CLIENT_GRACEFUL:
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x1234);
        break;
    case SERVER_GRACEFUL:
        api->ConnectionShutdown(server_rec.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x5678);
        break;
    case CLIENT_SILENT:
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 9);
        break;
    case CLIENT_ABORTIVE_CLOSE:
        api->ConnectionClose(conn);
        conn = NULL;
        break;
    case SERVER_SILENT:
        api->ConnectionShutdown(server_rec.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 9);
        break;
    case SERVER_ABORTIVE_CLOSE:
        api->ConnectionClose(server_rec.conn);
        break;
    }
    CHECK(counter_wait(&server_rec.complete, 1, 10000));
    CHECK(counter_wait(&client_rec.complete, 1, 10000));
    if (conn != NULL) api->ConnectionClose(conn);
    printf("  server: by_peer %d (0x%llx), by_transport %d (status %u)\n", server_rec.by_peer,
           (unsigned long long)server_rec.peer_code, server_rec.by_transport,
           server_rec.transport_status);
    printf("  client: by_peer %d (0x%llx), by_transport %d (status %u)\n", client_rec.by_peer,
           (unsigned long long)client_rec.peer_code, client_rec.by_transport,
           client_rec.transport_status);

    /* The streams' view of an application close: by the app on both sides, remotely on the
     * peer's, with the code. */
    if (c == CLIENT_GRACEFUL || c == SERVER_GRACEFUL) {
        Record* closer = c == CLIENT_GRACEFUL ? &client_rec : &server_rec;
        Record* peer = c == CLIENT_GRACEFUL ? &server_rec : &client_rec;
        uint64_t code = c == CLIENT_GRACEFUL ? 0x1234 : 0x5678;
        CHECK(closer->stream_by_app && !closer->stream_remotely);
        CHECK(peer->stream_by_app && peer->stream_remotely);
        CHECK(closer->stream_error_code == code && peer->stream_error_code == code);
        /* MsQuic's status for an application code goes through its transport table: these
         * codes are INTERNAL_ERROR (0 would be SUCCESS). */
        CHECK(closer->stream_close_status == QUIC_STATUS_INTERNAL_ERROR);
        CHECK(peer->stream_close_status == QUIC_STATUS_INTERNAL_ERROR);
    }
    /* ConnectionClose without a shutdown: ABORTED with INTERNAL_ERROR (0x1) as the code. */
    if (c == CLIENT_ABORTIVE_CLOSE || c == SERVER_ABORTIVE_CLOSE) {
        Record* closer = c == CLIENT_ABORTIVE_CLOSE ? &client_rec : &server_rec;
        CHECK(closer->stream_close_status == QUIC_STATUS_ABORTED);
        CHECK(closer->stream_error_code == 0x1);
    }
    switch (c) {
    case CLIENT_GRACEFUL:
        CHECK(server_rec.by_peer == 1 && server_rec.peer_code == 0x1234);
        CHECK(server_rec.by_transport == 0);
        CHECK(client_rec.by_peer == 0 && client_rec.by_transport == 0);
        break;
    case SERVER_GRACEFUL:
        CHECK(client_rec.by_peer == 1 && client_rec.peer_code == 0x5678);
        CHECK(client_rec.by_transport == 0);
        CHECK(server_rec.by_peer == 0 && server_rec.by_transport == 0);
        break;
    case CLIENT_SILENT:
        CHECK(server_rec.by_transport == 1 && QUIC_FAILED(server_rec.transport_status));
        CHECK(server_rec.by_peer == 0);
        CHECK(client_rec.by_peer == 0 && client_rec.by_transport == 0);
        CHECK(counter_get(&client_rec.complete) == 1);
        break;
    case CLIENT_ABORTIVE_CLOSE:
        CHECK(server_rec.by_transport == 1 && QUIC_FAILED(server_rec.transport_status));
        CHECK(server_rec.by_peer == 0);
        break;
    case SERVER_SILENT:
        CHECK(client_rec.by_transport == 1 && QUIC_FAILED(client_rec.transport_status));
        CHECK(client_rec.by_peer == 0);
        CHECK(server_rec.by_peer == 0 && server_rec.by_transport == 0);
        CHECK(counter_get(&server_rec.complete) == 1);
        break;
    case SERVER_ABORTIVE_CLOSE:
        CHECK(client_rec.by_transport == 1 && QUIC_FAILED(client_rec.transport_status));
        CHECK(client_rec.by_peer == 0);
        break;
    }
    check_stream_order("server", &server_rec);
    check_stream_order("client", &client_rec);
    record_destroy(&client_rec);
    record_destroy(&server_rec);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "codes", 4, 0);
    HQUIC client_config = client_configuration(api, reg, "codes", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "codes");

    run_case(reg, client_config, port, CLIENT_GRACEFUL);
    run_case(reg, client_config, port, SERVER_GRACEFUL);
    run_case(reg, client_config, port, CLIENT_SILENT);
    run_case(reg, client_config, port, CLIENT_ABORTIVE_CLOSE);
    run_case(reg, client_config, port, SERVER_SILENT);
    run_case(reg, client_config, port, SERVER_ABORTIVE_CLOSE);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("shutdown_codes");
}
