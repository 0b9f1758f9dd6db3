/* Reliable reset (preview) over QMux/TLS:
 * - ReliableResetEnabled on both ends: each side sees RELIABLE_RESET_NEGOTIATED with
 *   IsNegotiated before CONNECTED; with the server's setting off, the client sees
 *   IsNegotiated = 0, the server no event, and STREAM_RELIABLE_OFFSET cannot be set;
 * - STREAM_RELIABLE_OFFSET: probing, INVALID_STATE while unset, INVALID_PARAMETER for a bad
 *   length, INVALID_STATE above the bytes queued, then set and read back;
 * - an ABORT_SEND after it, on a stream whose data the server's small stream window holds
 *   back: the server still receives every byte up to the offset, intact, then
 *   PEER_SEND_ABORTED with the code, and STREAM_RELIABLE_OFFSET_RECV gives the offset (a
 *   plain RESET_STREAM would have cut the data at the window);
 * - after the reset, the offset can no longer be changed;
 * - the reply to the peer's STOP_SENDING is decided after PEER_RECEIVE_ABORTED, as in MsQuic:
 *   an offset set inside that event makes it RESET_STREAM_AT with NO_ERROR (the stopping
 *   peer sees PEER_SEND_ABORTED 0 and the offset); a plain RESET_STREAM (here the
 *   application's own INLINE abort) raises no PEER_SEND_ABORTED on the stopping peer. */
#include "support/qmux_test.h"

#ifndef QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV
#define QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV 0x88000000
#endif

#define TOTAL 65536u
#define RELIABLE 50000u
#define WINDOW 8192u
#define CODE 0x2Au

static const QUIC_API_TABLE* api;
static HQUIC server_on, server_off;

static uint8_t pattern(uint32_t i) { return (uint8_t)(i * 7 + 3); }

/* What one connection saw. */
typedef struct {
    Counter connected;
    Counter negotiated_events;
    int seq;
    int negotiated_seq;
    int connected_seq;
    int is_negotiated;
} ConnRec;

static void conn_rec_init(ConnRec* r) {
    memset(r, 0, sizeof(*r));
    counter_init(&r->connected);
    counter_init(&r->negotiated_events);
}

static void conn_event(ConnRec* r, const QUIC_CONNECTION_EVENT* ev) {
    if (ev->Type == QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED) {
        r->negotiated_seq = ++r->seq;
        r->is_negotiated = ev->RELIABLE_RESET_NEGOTIATED.IsNegotiated;
        counter_add(&r->negotiated_events, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        r->connected_seq = ++r->seq;
        counter_add(&r->connected, 1);
    }
}

/* The server's stream: checks the bytes, records the abort. */
static struct {
    uint32_t received;
    int bad_bytes;
    int fin;
    Counter aborted;
    uint64_t abort_code;
    uint32_t received_at_abort;
    QUIC_STATUS recv_offset_status;
    uint64_t recv_offset;
    QUIC_STATUS own_offset_status;
    Counter done;
} srv;

static ConnRec server_rec[2];
static int server_conns = 0;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t b = 0; b < ev->RECEIVE.BufferCount; b++) {
            const QUIC_BUFFER* buf = &ev->RECEIVE.Buffers[b];
            for (uint32_t i = 0; i < buf->Length; i++) {
                if (buf->Buffer[i] != pattern(srv.received + i)) srv.bad_bytes++;
            }
            srv.received += buf->Length;
        }
        if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) srv.fin = 1;
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED: {
        srv.abort_code = ev->PEER_SEND_ABORTED.ErrorCode;
        srv.received_at_abort = srv.received;
        uint64_t v = 0;
        uint32_t len = 0;
        CHECK(api->GetParam(stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV, &len, NULL) ==
              QUIC_STATUS_BUFFER_TOO_SMALL);
        CHECK(len == sizeof(uint64_t));
        srv.recv_offset_status =
            api->GetParam(stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV, &len, &v);
        srv.recv_offset = v;
        len = sizeof(v);
        srv.own_offset_status = api->GetParam(stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, &len, &v);
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        counter_add(&srv.aborted, 1);
        break;
    }
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        counter_add(&srv.done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* The server's later streams: stop the client's sending at the first data and end their own
 * sending half; record how the client's reply (RESET_STREAM / RESET_STREAM_AT) arrived. */
static struct {
    int send_aborted;   /* PEER_SEND_ABORTED events */
    uint64_t code;      /* their code */
    uint64_t recv_offset; /* STREAM_RELIABLE_OFFSET_RECV at that event */
    Counter done;
} stopper;

static QUIC_STATUS QUIC_API StoppingStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && ev->RECEIVE.TotalBufferLength > 0) {
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE, 3);
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_ABORTED) {
        stopper.send_aborted++;
        stopper.code = ev->PEER_SEND_ABORTED.ErrorCode;
        uint64_t v = 0;
        uint32_t len = sizeof(v);
        if (api->GetParam(stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV, &len, &v) ==
            QUIC_STATUS_SUCCESS)
            stopper.recv_offset = v;
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
        counter_add(&stopper.done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static int server_streams = 0;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    ConnRec* r = ctx;
    conn_event(r, ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        void* handler = server_streams++ == 0 ? (void*)ServerStream : (void*)StoppingStream;
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, handler, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    ConnRec* r = &server_rec[server_conns++];
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, r);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, (HQUIC)ctx);
}

static ConnRec client_rec[2];
static Counter client_done;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    conn_event(ctx, ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static struct {
    Counter send_complete;
    Counter send_shutdown;
    int send_shutdown_graceful;
    Counter done;
} cli;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)stream;
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        counter_add(&cli.send_complete, 1);
        break;
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE:
        cli.send_shutdown_graceful = ev->SEND_SHUTDOWN_COMPLETE.Graceful;
        counter_add(&cli.send_shutdown, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&cli.done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* The client's later streams: inside PEER_RECEIVE_ABORTED, set a reliable offset (the
 * reply becomes RESET_STREAM_AT, with NO_ERROR) or, with `abort_inline`, abort the sending
 * half itself (INLINE, so before MsQuic's own reply). */
static struct {
    Counter stopped;
    QUIC_STATUS set_status;
    int abort_inline;
    Counter done;
} cli3;
static QUIC_STATUS QUIC_API ClientStream3(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED) {
        if (cli3.abort_inline) {
            cli3.set_status = api->StreamShutdown(
                stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND | QUIC_STREAM_SHUTDOWN_FLAG_INLINE,
                0x77);
        } else {
            uint64_t v = 4;
            cli3.set_status =
                api->SetParam(stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, sizeof(v), &v);
        }
        counter_add(&cli3.stopped, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&cli3.done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC configuration(HQUIC reg, const char* alpn, int server, int reliable) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    if (reliable) {
        s.IsSet.ReliableResetEnabled = TRUE;
        s.ReliableResetEnabled = TRUE;
    }
    if (server) {
        s.IsSet.PeerBidiStreamCount = TRUE;
        s.PeerBidiStreamCount = 4;
        s.IsSet.StreamRecvWindowBidiRemoteDefault = TRUE;
        s.StreamRecvWindowBidiRemoteDefault = WINDOW;
    }
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    if (server) {
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
    } else {
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = test_cert();
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static HQUIC connect_to(HQUIC reg, HQUIC cfg, uint16_t port, ConnRec* r) {
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, r, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&r->connected, 1, 10000));
    return conn;
}

static QUIC_STATUS set_offset(HQUIC stream, uint64_t v) {
    return api->SetParam(stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, sizeof(v), &v);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    memset(&srv, 0, sizeof(srv));
    counter_init(&srv.aborted);
    counter_init(&srv.done);
    memset(&cli, 0, sizeof(cli));
    counter_init(&cli.send_complete);
    counter_init(&cli.send_shutdown);
    counter_init(&cli.done);
    counter_init(&client_done);
    for (int i = 0; i < 2; i++) {
        conn_rec_init(&server_rec[i]);
        conn_rec_init(&client_rec[i]);
    }
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_on = configuration(reg, "rr-on", 1, 1);
    server_off = configuration(reg, "rr-off", 1, 0);
    HQUIC client_on = configuration(reg, "rr-on", 0, 1);
    HQUIC client_to_off = configuration(reg, "rr-off", 0, 1);
    HQUIC l_on = NULL, l_off = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, server_on, &l_on) == QUIC_STATUS_SUCCESS);
    CHECK(api->ListenerOpen(reg, ServerListener, server_off, &l_off) == QUIC_STATUS_SUCCESS);
    uint16_t port_on = start_listener(api, l_on, "rr-on");
    uint16_t port_off = start_listener(api, l_off, "rr-off");

    /* Both ends enabled. */
    HQUIC conn = connect_to(reg, client_on, port_on, &client_rec[0]);
    CHECK(counter_get(&client_rec[0].negotiated_events) == 1);
    CHECK(client_rec[0].is_negotiated == 1);
    CHECK(client_rec[0].negotiated_seq < client_rec[0].connected_seq);
    CHECK(counter_wait(&server_rec[0].connected, 1, 5000));
    CHECK(counter_get(&server_rec[0].negotiated_events) == 1);
    CHECK(server_rec[0].is_negotiated == 1);
    CHECK(server_rec[0].negotiated_seq < server_rec[0].connected_seq);

    HQUIC s = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &s) ==
          QUIC_STATUS_SUCCESS);
    uint64_t v = 0;
    uint32_t len = 0;
    CHECK(api->GetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(uint64_t));
    CHECK(api->GetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->GetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET, &len, &v) ==
          QUIC_STATUS_INVALID_STATE); /* not set yet */
    CHECK(set_offset(s, 1) == QUIC_STATUS_INVALID_STATE); /* nothing queued yet */

    /* The data is queued before the start, with the offset and the abort: the server's
     * 8 KiB stream window holds most of it back when the abort is processed. */
    static uint8_t data[TOTAL];
    for (uint32_t i = 0; i < TOTAL; i++) data[i] = pattern(i);
    QUIC_BUFFER buf = {TOTAL, data};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s, &buf, 1, QUIC_SEND_FLAG_NONE, NULL)));
    CHECK(api->SetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET, 4, &v) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET, sizeof(v), NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(set_offset(s, TOTAL + 1) == QUIC_STATUS_INVALID_STATE);
    CHECK(set_offset(s, 1000) == QUIC_STATUS_SUCCESS);
    CHECK(set_offset(s, RELIABLE) == QUIC_STATUS_SUCCESS);
    len = sizeof(v);
    CHECK(api->GetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET, &len, &v) == QUIC_STATUS_SUCCESS);
    CHECK(v == RELIABLE);
    len = sizeof(v);
    CHECK(api->GetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV, &len, &v) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(api->GetParam(conn, QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV, &len, &v) ==
          QUIC_STATUS_INVALID_PARAMETER); /* a stream parameter */
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(s, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND, CODE)));
    CHECK(QUIC_SUCCEEDED(api->StreamStart(s, QUIC_STREAM_START_FLAG_NONE)));

    CHECK(counter_wait(&srv.aborted, 1, 10000));
    CHECK(srv.abort_code == CODE);
    CHECK(srv.received_at_abort >= RELIABLE);
    CHECK(srv.received_at_abort <= TOTAL);
    CHECK(srv.bad_bytes == 0);
    CHECK(srv.fin == 0);
    CHECK(srv.recv_offset_status == QUIC_STATUS_SUCCESS);
    CHECK(srv.recv_offset == RELIABLE);
    CHECK(srv.own_offset_status == QUIC_STATUS_INVALID_STATE);
    CHECK(counter_wait(&cli.send_shutdown, 1, 5000));
    CHECK(cli.send_shutdown_graceful == 0);
    CHECK(counter_wait(&cli.send_complete, 1, 5000));
    /* The reset went out: the offset is fixed now. */
    CHECK(set_offset(s, 100) == QUIC_STATUS_INVALID_STATE);
    CHECK(counter_wait(&cli.done, 1, 5000));
    CHECK(counter_wait(&srv.done, 1, 5000));
    api->StreamClose(s);

    /* The server stops the next stream: the client's reply is decided after
     * PEER_RECEIVE_ABORTED, so an offset set there is taken (the reply is RESET_STREAM_AT with
     * NO_ERROR, which raises PEER_SEND_ABORTED even though the server stopped receiving). */
    counter_init(&cli3.stopped);
    counter_init(&cli3.done);
    counter_init(&stopper.done);
    HQUIC s3 = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream3, NULL, &s3) ==
          QUIC_STATUS_SUCCESS);
    QUIC_BUFFER some = {16, data};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s3, &some, 1, QUIC_SEND_FLAG_START, NULL)));
    CHECK(counter_wait(&cli3.stopped, 1, 5000));
    CHECK(cli3.set_status == QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&cli3.done, 1, 5000));
    CHECK(counter_wait(&stopper.done, 1, 5000));
    CHECK(stopper.send_aborted == 1);
    CHECK(stopper.code == 0);
    CHECK(stopper.recv_offset == 4);
    /* The reset went out: the offset is fixed now. */
    CHECK(set_offset(s3, 2) == QUIC_STATUS_INVALID_STATE);
    api->StreamClose(s3);

    /* Again, the client aborting inside the event: its plain RESET_STREAM raises no
     * PEER_SEND_ABORTED on the server, which stopped receiving. */
    counter_init(&cli3.stopped);
    counter_init(&cli3.done);
    counter_init(&stopper.done);
    stopper.send_aborted = 0;
    cli3.abort_inline = 1;
    HQUIC s4 = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream3, NULL, &s4) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s4, &some, 1, QUIC_SEND_FLAG_START, NULL)));
    CHECK(counter_wait(&cli3.stopped, 1, 5000));
    CHECK(cli3.set_status == QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&cli3.done, 1, 5000));
    CHECK(counter_wait(&stopper.done, 1, 5000));
    CHECK(stopper.send_aborted == 0);
    api->StreamClose(s4);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 1, 5000));
    api->ConnectionClose(conn);

    /* The server has it off: IsNegotiated = 0 on the client, no event on the server, and no
     * reliable offset. */
    HQUIC conn2 = connect_to(reg, client_to_off, port_off, &client_rec[1]);
    CHECK(counter_get(&client_rec[1].negotiated_events) == 1);
    CHECK(client_rec[1].is_negotiated == 0);
    CHECK(counter_wait(&server_rec[1].connected, 1, 5000));
    CHECK(counter_get(&server_rec[1].negotiated_events) == 0);
    HQUIC s2 = NULL;
    CHECK(api->StreamOpen(conn2, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &s2) ==
          QUIC_STATUS_SUCCESS);
    QUIC_BUFFER small = {16, data};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s2, &small, 1, QUIC_SEND_FLAG_NONE, NULL)));
    CHECK(set_offset(s2, 8) == QUIC_STATUS_INVALID_STATE);
    api->StreamClose(s2);
    api->ConnectionShutdown(conn2, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 2, 5000));
    api->ConnectionClose(conn2);

    api->ListenerClose(l_on);
    api->ListenerClose(l_off);
    api->ConfigurationClose(client_on);
    api->ConfigurationClose(client_to_off);
    api->ConfigurationClose(server_on);
    api->ConfigurationClose(server_off);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("reliable_reset");
}
