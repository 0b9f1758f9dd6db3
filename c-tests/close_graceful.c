/* Closing right after a graceful shutdown, and closing without one, over QMux/TLS and QMux/TCP:
 * 1. ConnectionShutdown(graceful, code) then at once ConnectionClose, from the client and from
 *    the server, many times: the peer always sees SHUTDOWN_INITIATED_BY_PEER with the code
 *    (never a transport status), and the closing side has its SHUTDOWN_COMPLETE before
 *    ConnectionClose returns. The same with large sends still
 *    queued on both sides when the shutdown comes.
 * 2. ConnectionClose without a shutdown (MsQuic's silent close): the peer sees
 *    SHUTDOWN_INITIATED_BY_TRANSPORT with QUIC_STATUS_CONNECTION_IDLE and error code 1, what a
 *    MsQuic peer of a silently closed connection sees (here at once, as TCP shows the socket
 *    closing), and no SHUTDOWN_INITIATED_BY_PEER. */
#include "support/qmux_test.h"

#define ROUNDS 25
#define BIG (4 * 1024 * 1024)

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static uint8_t* big;

typedef struct {
    Counter connected;
    Counter done;
    HQUIC conn;
    int app_closes; /* the main thread closes this connection */
    int by_peer;
    uint64_t peer_code;
    int by_transport;
    QUIC_STATUS transport_status;
    uint64_t transport_code;
    int completes;
    int complete_in_close;
} Side;

static Side client_side, server_side;

static void side_reset(Side* s) {
    memset(s, 0, sizeof(*s));
    counter_init(&s->connected);
    counter_init(&s->done);
}

static void side_destroy(Side* s) {
    counter_destroy(&s->connected);
    counter_destroy(&s->done);
}

static QUIC_STATUS QUIC_API StreamCallback(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(stream);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ConnCallback(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Side* s = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&s->connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)StreamCallback, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        s->by_peer++;
        s->peer_code = ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        s->by_transport++;
        s->transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        s->transport_code = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        s->completes++;
        s->complete_in_close = ev->SHUTDOWN_COMPLETE.AppCloseInProgress;
        if (!s->app_closes) api->ConnectionClose(conn);
        counter_add(&s->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) server_side.conn = ev->NEW_CONNECTION.Connection;
    return accept_connection(api, ev, (void*)ConnCallback, &server_side, server_config);
}

typedef enum { CLIENT_GRACEFUL, SERVER_GRACEFUL, CLIENT_SILENT, SERVER_SILENT } Case;

/* Starts a stream on `conn` and queues BIG bytes on it (buffered: copied at the call). */
static void queue_big_send(HQUIC conn) {
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    /* The connection may be closing already (the peer's side): a failed start still ends
     * with SHUTDOWN_COMPLETE, where the stream is closed. */
    CHECK(QUIC_SUCCEEDED(api->StreamStart(
        stream, QUIC_STREAM_START_FLAG_IMMEDIATE | QUIC_STREAM_START_FLAG_SHUTDOWN_ON_FAIL)));
    QUIC_BUFFER b = {BIG, big};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &b, 1, QUIC_SEND_FLAG_NONE, NULL)));
}

static void run_case(HQUIC reg, HQUIC client_config, uint16_t port, Case c, int round,
                     int with_data) {
    side_reset(&client_side);
    side_reset(&server_side);
    Side* closer = (c == CLIENT_GRACEFUL || c == CLIENT_SILENT) ? &client_side : &server_side;
    Side* peer = closer == &client_side ? &server_side : &client_side;
    closer->app_closes = 1;
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_side, &conn) == QUIC_STATUS_SUCCESS);
    client_side.conn = conn;
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_side.connected, 1, 10000));
    CHECK(counter_wait(&server_side.connected, 1, 10000));
    uint64_t code = 0x1000 + (uint64_t)round;
    if (with_data) {
        queue_big_send(peer->conn);
        queue_big_send(closer->conn);
    }
    if (c == CLIENT_GRACEFUL || c == SERVER_GRACEFUL)
        api->ConnectionShutdown(closer->conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, code);
    api->ConnectionClose(closer->conn);
    /* ConnectionClose returns once SHUTDOWN_COMPLETE was delivered (during the call, unless
     * the peer's answer to the CONNECTION_CLOSE ended the connection first). */
    if (closer->completes != 1 || (c != CLIENT_GRACEFUL && c != SERVER_GRACEFUL &&
                                   !closer->complete_in_close))
        fprintf(stderr, "case %d round %d: closer completes=%d in_close=%d\n", (int)c, round,
                closer->completes, closer->complete_in_close);
    CHECK(closer->completes == 1);
    if (c == CLIENT_SILENT || c == SERVER_SILENT) CHECK(closer->complete_in_close);
    CHECK(closer->by_peer == 0 && closer->by_transport == 0);
    CHECK(counter_wait(&peer->done, 1, 10000));
    CHECK(peer->completes == 1);
    if (c == CLIENT_GRACEFUL || c == SERVER_GRACEFUL) {
        if (peer->by_peer != 1 || peer->peer_code != code || peer->by_transport != 0) {
            fprintf(stderr, "case %d round %d: by_peer=%d code=%#llx by_transport=%d status=%#x\n",
                    (int)c, round, peer->by_peer, (unsigned long long)peer->peer_code,
                    peer->by_transport, peer->transport_status);
            CHECK(0);
        }
    } else {
        if (peer->by_transport != 1 || peer->transport_status != QUIC_STATUS_CONNECTION_IDLE ||
            peer->transport_code != 1 || peer->by_peer != 0) {
            fprintf(stderr, "case %d round %d: by_peer=%d by_transport=%d status=%#x code=%#llx\n",
                    (int)c, round, peer->by_peer, peer->by_transport, peer->transport_status,
                    (unsigned long long)peer->transport_code);
            CHECK(0);
        }
    }
    side_destroy(&client_side);
    side_destroy(&server_side);
}

static HQUIC tcp_configuration(HQUIC reg, int server) {
    QUIC_BUFFER alpn = {2, (uint8_t*)"cg"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    if (server) {
        s.IsSet.PeerBidiStreamCount = TRUE;
        s.PeerBidiStreamCount = 4;
    }
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static void run_transport(int tcp) {
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC client_config;
    if (tcp) {
        uint32_t transport = QUIC_TRANSPORT_QMUX_TCP;
        CHECK(api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport),
                            &transport) == QUIC_STATUS_SUCCESS);
        server_config = tcp_configuration(reg, 1);
        client_config = tcp_configuration(reg, 0);
    } else {
        server_config = server_configuration(api, reg, "cg", 4, 0);
        client_config = client_configuration(api, reg, "cg", 0);
    }
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "cg");
    int before = failures;
    for (int round = 0; round < ROUNDS; round++) {
        run_case(reg, client_config, port, CLIENT_GRACEFUL, round, round % 5 == 4);
        run_case(reg, client_config, port, SERVER_GRACEFUL, round, round % 5 == 4);
    }
    for (int round = 0; round < 3; round++) {
        run_case(reg, client_config, port, CLIENT_SILENT, round, 0);
        run_case(reg, client_config, port, SERVER_SILENT, round, 0);
    }
    printf("%s: %d failures\n", tcp ? "tcp" : "tls", failures - before);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
}

int main(void) {
    if (!have_test_cert()) return 1;
    big = calloc(1, BIG);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    run_transport(0);
    run_transport(1);
    MsQuicClose(api);
    free(big);
    return finish("close_graceful");
}
