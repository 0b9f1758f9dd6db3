/* App-owned receive buffers (StreamProvideReceiveBuffers) over QMux/TLS.
 *  0. Argument checks: NULL or non-stream handles, NULL buffers, zero count and zero-length
 *     buffers give INVALID_PARAMETER; a stream not in app-owned mode gives INVALID_STATE.
 *  A. A client stream opened with QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS and a stream window
 *     of WINDOW bytes receives DATA_LEN bytes: RECEIVE points into the application's memory
 *     at the stream offset, the peer can send only as far as the buffers provided (the window
 *     follows them: with WINDOW provided and consumed nothing more arrives until the main
 *     thread provides more), and RECEIVE_BUFFER_NEEDED never comes.
 *  B. A server provides SMALL bytes inline in PEER_STREAM_STARTED, less than its window:
 *     what does not fit raises RECEIVE_BUFFER_NEEDED, answered inline with exactly
 *     BufferLengthNeeded more bytes; the data arrives intact.
 *  C. The same without an answer: the connection is closed with FLOW_CONTROL_ERROR (status
 *     INTERNAL_ERROR, as MsQuic maps that code).
 *  D. The same, answered by shutting receiving down inline: the client sees
 *     PEER_RECEIVE_ABORTED and the connection lives on.
 *  E. With multi-receive on for the connection, an app-owned stream still has one RECEIVE
 *     outstanding at a time (as in MsQuic, app-owned mode overrides multi-receive): after a
 *     PENDING, more data arrives but no RECEIVE until the main thread completes it. */
#include "msquic.h"

#include "support/qmux_test.h"

#define DATA_LEN (256 * 1024)
#define WINDOW 8192
#define SMALL 1024
#define UPLOAD (48 * 1024)

static const QUIC_API_TABLE* api;
static HQUIC server_cfg;
static uint8_t pattern[DATA_LEN];
enum { SCENARIO_A, SCENARIO_B, SCENARIO_C, SCENARIO_D, SCENARIO_E };
#define E_FIRST 1000
#define E_LEN 8192
static volatile int scenario;

/* ---- server ---- */
static uint8_t srvmem[UPLOAD];
static uint64_t srv_provided, srv_consumed;
static int srv_needed_events, srv_fin;
static Counter srv_done, srv_conn_transport, srv_conn_done;
static uint64_t srv_transport_code;
static HQUIC srv_stream_e;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        if (scenario == SCENARIO_A) {
            /* The client's "go": answer with the pattern. */
            if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) {
                static QUIC_BUFFER buf = {DATA_LEN, pattern};
                CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_FIN, NULL)));
            }
            break;
        }
        if (scenario == SCENARIO_E) {
            /* The client's "go": the first bytes now, the rest from the main thread. */
            if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) {
                static QUIC_BUFFER first = {E_FIRST, pattern};
                srv_stream_e = stream;
                CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &first, 1, QUIC_SEND_FLAG_NONE, NULL)));
            }
            break;
        }
        CHECK(ev->RECEIVE.AbsoluteOffset == srv_consumed);
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            /* The application's memory, at the stream offset. */
            CHECK(b->Buffer == srvmem + srv_consumed);
            CHECK(srv_consumed + b->Length <= UPLOAD);
            if (srv_consumed + b->Length > UPLOAD) break;
            CHECK(memcmp(b->Buffer, pattern + srv_consumed, b->Length) == 0);
            srv_consumed += b->Length;
        }
        if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) {
            CHECK(srv_consumed == UPLOAD);
            srv_fin = 1;
        }
        break;
    case QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED: {
        srv_needed_events++;
        uint64_t need = ev->RECEIVE_BUFFER_NEEDED.BufferLengthNeeded;
        CHECK(need > 0 && srv_provided + need <= UPLOAD);
        if (scenario == SCENARIO_B && need > 0 && srv_provided + need <= UPLOAD) {
            QUIC_BUFFER more = {(uint32_t)need, srvmem + srv_provided};
            CHECK(api->StreamProvideReceiveBuffers(stream, 1, &more) == QUIC_STATUS_SUCCESS);
            srv_provided += need;
        } else if (scenario == SCENARIO_D) {
            CHECK(QUIC_SUCCEEDED(api->StreamShutdown(
                stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE | QUIC_STREAM_SHUTDOWN_FLAG_INLINE,
                7)));
        }
        break;
    }
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        if (scenario == SCENARIO_B) counter_add(&srv_done, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConn(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        HQUIC s = ev->PEER_STREAM_STARTED.Stream;
        api->SetCallbackHandler(s, (void*)ServerStream, NULL);
        if (scenario == SCENARIO_B || scenario == SCENARIO_C || scenario == SCENARIO_D) {
            /* Inline here, this switches the peer's stream to app-owned buffers. */
            srv_provided = SMALL;
            srv_consumed = 0;
            QUIC_BUFFER first = {SMALL, srvmem};
            CHECK(api->StreamProvideReceiveBuffers(s, 1, &first) == QUIC_STATUS_SUCCESS);
        }
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        srv_transport_code = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
        counter_add(&srv_conn_transport, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(conn);
        counter_add(&srv_conn_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC l, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)l;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConn, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_cfg);
}

/* ---- client ---- */
static uint8_t appmem[DATA_LEN];
static uint64_t cli_consumed;
static int cli_needed_events;
static Counter cli_bytes, cli_fin, cli_recv_aborted, cli_transport, cli_done;
static uint64_t cli_abort_code, cli_transport_code;
static QUIC_STATUS cli_transport_status;
static HQUIC cli_stream;
static Counter e_events;
static uint64_t e_pending;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        CHECK(ev->RECEIVE.AbsoluteOffset == cli_consumed);
        uint64_t at = cli_consumed;
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            CHECK(b->Buffer == appmem + at);
            CHECK(at + b->Length <= DATA_LEN);
            if (at + b->Length > DATA_LEN) break;
            CHECK(memcmp(b->Buffer, pattern + at, b->Length) == 0);
            at += b->Length;
        }
        CHECK(at - cli_consumed == ev->RECEIVE.TotalBufferLength);
        if (scenario == SCENARIO_E && e_pending == 0) {
            e_pending = ev->RECEIVE.TotalBufferLength;
            counter_add(&e_events, 1);
            return QUIC_STATUS_PENDING; /* the main thread completes it */
        }
        if (scenario == SCENARIO_E) counter_add(&e_events, 1);
        cli_consumed = at;
        counter_add(&cli_bytes, (int)ev->RECEIVE.TotalBufferLength);
        break;
    }
    case QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED:
        cli_needed_events++;
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        counter_add(&cli_fin, 1);
        break;
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        cli_abort_code = ev->PEER_RECEIVE_ABORTED.ErrorCode;
        counter_add(&cli_recv_aborted, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConn(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        if (scenario == SCENARIO_A || scenario == SCENARIO_E) {
            CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS, ClientStream,
                                  NULL, &cli_stream) == QUIC_STATUS_SUCCESS);
            QUIC_BUFFER two[2] = {{WINDOW / 2, appmem}, {WINDOW / 2, appmem + WINDOW / 2}};
            CHECK(api->StreamProvideReceiveBuffers(cli_stream, 2, two) == QUIC_STATUS_SUCCESS);
            static uint8_t go[] = "go";
            static QUIC_BUFFER buf = {2, go};
            CHECK(QUIC_SUCCEEDED(api->StreamSend(cli_stream, &buf, 1,
                                                 QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
        } else {
            CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL,
                                  &cli_stream) == QUIC_STATUS_SUCCESS);
            /* In D the stream stays open, so that the server's STOP_SENDING has a sender. */
            static QUIC_BUFFER up = {UPLOAD, pattern};
            QUIC_SEND_FLAGS fin = scenario == SCENARIO_D ? QUIC_SEND_FLAG_NONE : QUIC_SEND_FLAG_FIN;
            CHECK(QUIC_SUCCEEDED(
                api->StreamSend(cli_stream, &up, 1, QUIC_SEND_FLAG_START | fin, NULL)));
        }
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        cli_transport_code = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
        cli_transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        counter_add(&cli_transport, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&cli_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void check_arguments(HQUIC reg) {
    HQUIC conn = NULL, plain = NULL, owned = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConn, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &plain) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS, ClientStream, NULL,
                          &owned) == QUIC_STATUS_SUCCESS);
    static uint8_t mem[64];
    QUIC_BUFFER ok = {sizeof(mem), mem};
    QUIC_BUFFER zero[2] = {{sizeof(mem), mem}, {0, mem}};
    CHECK(api->StreamProvideReceiveBuffers(NULL, 1, &ok) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->StreamProvideReceiveBuffers(conn, 1, &ok) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->StreamProvideReceiveBuffers(reg, 1, &ok) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->StreamProvideReceiveBuffers(owned, 1, NULL) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->StreamProvideReceiveBuffers(owned, 0, &ok) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->StreamProvideReceiveBuffers(owned, 2, zero) == QUIC_STATUS_INVALID_PARAMETER);
    /* Not in app-owned mode, and not inside its PEER_STREAM_STARTED. */
    CHECK(api->StreamProvideReceiveBuffers(plain, 1, &ok) == QUIC_STATUS_INVALID_STATE);
    CHECK(api->StreamProvideReceiveBuffers(owned, 1, &ok) == QUIC_STATUS_SUCCESS);
    api->StreamClose(plain);
    api->StreamClose(owned);
    api->ConnectionClose(conn);
}

/* Starts a client connection for the current scenario. */
static int cli_done_before;
static HQUIC connect_client(HQUIC reg, HQUIC cfg, uint16_t port) {
    HQUIC conn = NULL;
    cli_done_before = counter_get(&cli_done);
    CHECK(api->ConnectionOpen(reg, ClientConn, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                               port)));
    return conn;
}

static void close_client(HQUIC conn) {
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&cli_done, cli_done_before + 1, 20000));
    api->ConnectionClose(conn);
}

static void provide_client(uint64_t* provided, uint64_t len) {
    QUIC_BUFFER b = {(uint32_t)len, appmem + *provided};
    CHECK(api->StreamProvideReceiveBuffers(cli_stream, 1, &b) == QUIC_STATUS_SUCCESS);
    *provided += len;
}

int main(void) {
    if (!have_test_cert()) return 1;
    for (size_t i = 0; i < DATA_LEN; i++) pattern[i] = (uint8_t)(i * 31 + (i >> 9));
    counter_init(&srv_done);
    counter_init(&srv_conn_transport);
    counter_init(&srv_conn_done);
    counter_init(&cli_bytes);
    counter_init(&cli_fin);
    counter_init(&cli_recv_aborted);
    counter_init(&cli_transport);
    counter_init(&cli_done);
    counter_init(&e_events);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    check_arguments(reg);

    server_cfg = server_configuration(api, reg, "owned", 4, 0);
    QUIC_BUFFER alpn = {5, (uint8_t*)"owned"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.StreamRecvWindowBidiLocalDefault = TRUE;
    s.StreamRecvWindowBidiLocalDefault = WINDOW;
    HQUIC client_cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &client_cfg) ==
          QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    cred.CaCertificateFile = test_cert();
    CHECK(api->ConfigurationLoadCredential(client_cfg, &cred) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "owned");

    /* A: the window follows the buffers provided. */
    scenario = SCENARIO_A;
    HQUIC conn = connect_client(reg, client_cfg, port);
    uint64_t provided = WINDOW;
    CHECK(counter_wait(&cli_bytes, WINDOW, 20000));
    CHECK(!counter_wait(&cli_bytes, WINDOW + 1, 500)); /* no room, no data */
    for (int i = 0; i < 3; i++) provide_client(&provided, WINDOW / 2);
    CHECK(counter_wait(&cli_bytes, (int)provided, 20000));
    CHECK(!counter_wait(&cli_bytes, (int)provided + 1, 500));
    provide_client(&provided, DATA_LEN - provided);
    CHECK(counter_wait(&cli_fin, 1, 20000));
    CHECK(cli_consumed == DATA_LEN);
    CHECK(memcmp(appmem, pattern, DATA_LEN) == 0);
    CHECK(cli_needed_events == 0);
    close_client(conn);

    /* B: RECEIVE_BUFFER_NEEDED answered inline. */
    scenario = SCENARIO_B;
    conn = connect_client(reg, client_cfg, port);
    CHECK(counter_wait(&srv_done, 1, 20000));
    CHECK(srv_fin && srv_consumed == UPLOAD);
    CHECK(srv_needed_events >= 1);
    CHECK(memcmp(srvmem, pattern, UPLOAD) == 0);
    close_client(conn);
    CHECK(counter_wait(&srv_conn_done, 2, 20000));

    /* C: not answered: the connection ends with FLOW_CONTROL_ERROR. */
    scenario = SCENARIO_C;
    srv_needed_events = 0;
    conn = connect_client(reg, client_cfg, port);
    CHECK(counter_wait(&srv_conn_transport, 1, 20000));
    CHECK(srv_transport_code == 0x3);
    CHECK(srv_needed_events == 1);
    CHECK(counter_wait(&cli_transport, 1, 20000));
    CHECK(cli_transport_code == 0x3);
    /* MsQuic's status for FLOW_CONTROL_ERROR (only PROTOCOL_VIOLATION is PROTOCOL_ERROR). */
    CHECK(cli_transport_status == QUIC_STATUS_INTERNAL_ERROR);
    CHECK(counter_wait(&cli_done, cli_done_before + 1, 20000));
    api->ConnectionClose(conn);
    CHECK(counter_wait(&srv_conn_done, 3, 20000));

    /* D: answered by shutting receiving down: only the stream is affected. */
    scenario = SCENARIO_D;
    conn = connect_client(reg, client_cfg, port);
    CHECK(counter_wait(&cli_recv_aborted, 1, 20000));
    CHECK(cli_abort_code == 7);
    CHECK(counter_get(&cli_transport) == 1 && counter_get(&srv_conn_transport) == 1);
    close_client(conn);

    /* E: app-owned overrides multi-receive: one RECEIVE outstanding at a time. */
    scenario = SCENARIO_E;
    cli_consumed = 0;
    memset(appmem, 0, sizeof(appmem));
    QUIC_SETTINGS m;
    memset(&m, 0, sizeof(m));
    m.IsSet.StreamMultiReceiveEnabled = TRUE;
    m.StreamMultiReceiveEnabled = TRUE;
    CHECK(api->SetParam(client_cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, sizeof(m), &m) ==
          QUIC_STATUS_SUCCESS);
    conn = connect_client(reg, client_cfg, port);
    CHECK(counter_wait(&e_events, 1, 20000));
    CHECK(e_pending == E_FIRST);
    static QUIC_BUFFER rest = {E_LEN - E_FIRST, pattern + E_FIRST};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(srv_stream_e, &rest, 1, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(!counter_wait(&e_events, 2, 500)); /* data waits in the buffers, not indicated */
    cli_consumed = e_pending;
    api->StreamReceiveComplete(cli_stream, e_pending); /* from this thread, not the worker */
    CHECK(counter_wait(&cli_fin, 2, 20000));
    CHECK(cli_consumed == E_LEN);
    CHECK(memcmp(appmem, pattern, E_LEN) == 0);
    close_client(conn);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_cfg);
    api->ConfigurationClose(server_cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("app_owned_buffers");
}
