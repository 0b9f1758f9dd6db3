/* Handles stay usable until their final event has returned, over QMux/TLS. As in MsQuic, after
 * ConnectionClose, StreamClose or ListenerClose (from another thread, or from inside a
 * callback) GetContext, SetContext, SetCallbackHandler, GetParam and SetParam still work inside
 * the final SHUTDOWN_COMPLETE (or STOP_COMPLETE) with AppCloseInProgress (SetParam answering as
 * for the handle's state: a connection parameter for before the start gives INVALID_STATE);
 * other calls are refused with a status; once the event has returned the handle is gone.
 * 1. connection: ConnectionClose from the main thread; ConnectionClose inside CONNECTED (the
 *    final event comes inside it); ConnectionClose inside SHUTDOWN_COMPLETE itself;
 * 2. stream: StreamClose from the main thread on a started stream (SEND_SHUTDOWN_COMPLETE and
 *    SHUTDOWN_COMPLETE with AppCloseInProgress come inside the call); StreamClose inside
 *    START_COMPLETE; StreamClose of a never-started stream (its queued send is canceled inside
 *    the call first); StreamClose inside its SHUTDOWN_COMPLETE; a peer's unidirectional stream
 *    closed inside RECEIVE (no SEND_SHUTDOWN_COMPLETE: it has no sending half);
 * 3. listener: ListenerClose from the main thread; ListenerStop, then ListenerClose inside
 *    STOP_COMPLETE;
 * 4. a stream whose connection the application closed still answers GetParam(STREAM_ID), and
 *    StreamOpen through it gets INVALID_STATE;
 * 5. ConnectionClose from the main thread while the worker raises the connection's stream
 *    events: SHUTDOWN_COMPLETE (the stream's and the connection's) finds the context. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

/* What a final-event check found. */
typedef struct {
    void* expected;        /* the context the handle was given */
    int final_events;      /* final events seen */
    int app_close;         /* AppCloseInProgress of the last one */
    int context_ok;        /* GetContext answered the context, SetContext took a new one */
    int handler_ok;        /* SetCallbackHandler took a context */
    int param_ok;          /* GetParam answered */
    int set_ok;            /* SetParam applied (or refused) as on a live handle */
    int open_refused;      /* StreamOpen/ListenerStart on the closing handle was refused */
    int close_inside;      /* close the handle inside the final event */
    int after_close_ok;    /* GetContext still answered after that close */
    Counter done;
} Final;

static void final_init(Final* f) {
    memset(f, 0, sizeof(*f));
    f->expected = f;
    counter_init(&f->done);
}

/* GetContext, SetContext and SetCallbackHandler on `h`, whose context is `f`. */
static void check_context(HQUIC h, Final* f, void* handler) {
    void* other = (char*)f + 1;
    f->context_ok = api->GetContext(h) == f;
    api->SetContext(h, other);
    f->context_ok = f->context_ok && api->GetContext(h) == other;
    api->SetCallbackHandler(h, handler, f);
    f->handler_ok = api->GetContext(h) == f;
}

/* ---- server ---- */

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(stream);
    return QUIC_STATUS_SUCCESS;
}

/* The client's unidirectional stream: closed by the server inside its first RECEIVE. */
static Counter uni_done;
static int uni_closed = 0, uni_final = 0, uni_app_close = 0, uni_send_shutdown = 0;

static QUIC_STATUS QUIC_API UniServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && !uni_closed) {
        uni_closed = 1;
        api->StreamClose(stream); /* SHUTDOWN_COMPLETE comes inside */
        counter_add(&uni_done, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE) {
        uni_send_shutdown++;
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        uni_final++;
        uni_app_close = ev->SHUTDOWN_COMPLETE.AppCloseInProgress;
        if (!uni_closed) {
            uni_closed = 1;
            api->StreamClose(stream);
            counter_add(&uni_done, 1);
        }
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED &&
        (ev->PEER_STREAM_STARTED.Flags & QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL)) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)UniServerStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
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

/* ---- 1. connections ---- */

/* How the test closes the connection. */
enum { CLOSE_FROM_MAIN, CLOSE_IN_CONNECTED, CLOSE_IN_SHUTDOWN_COMPLETE };

typedef struct {
    Final f;
    int how;
    Counter connected;
} ConnCase;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    ConnCase* c = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        if (c->how == CLOSE_IN_CONNECTED) {
            api->ConnectionClose(conn); /* SHUTDOWN_COMPLETE comes inside */
        } else if (c->how == CLOSE_IN_SHUTDOWN_COMPLETE) {
            api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        }
        counter_add(&c->connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        Final* f = &c->f;
        f->final_events++;
        f->app_close = ev->SHUTDOWN_COMPLETE.AppCloseInProgress;
        check_context(conn, f, (void*)ClientConnection);
        uint32_t version = 0;
        uint32_t len = sizeof(version);
        f->param_ok = api->GetParam(conn, QUIC_PARAM_CONN_QUIC_VERSION, &len, &version) ==
                          QUIC_STATUS_SUCCESS &&
                      version == 1;
        /* SetParam as on the live connection: applied, or INVALID_STATE for a parameter of a
         * connection not started yet. */
        QUIC_STREAM_SCHEDULING_SCHEME fifo = QUIC_STREAM_SCHEDULING_SCHEME_FIFO;
        uint8_t one = 1;
        f->set_ok = api->SetParam(conn, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, sizeof(fifo),
                                  &fifo) == QUIC_STATUS_SUCCESS &&
                    api->SetParam(conn, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, 4, "bye") ==
                        QUIC_STATUS_SUCCESS &&
                    api->SetParam(conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING, sizeof(one), &one) ==
                        QUIC_STATUS_INVALID_STATE &&
                    api->SetParam(conn, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED, sizeof(one),
                                  &one) == QUIC_STATUS_INVALID_STATE;
        HQUIC stream = NULL;
        QUIC_STATUS open = api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE,
                                           (QUIC_STREAM_CALLBACK_HANDLER)ServerStream, NULL,
                                           &stream);
        if (f->app_close) {
            /* Closing: as in MsQuic, where the connection is closed locally. */
            f->open_refused = open == QUIC_STATUS_INVALID_STATE && stream == NULL;
        } else {
            f->open_refused = 1;
            if (QUIC_SUCCEEDED(open)) api->StreamClose(stream);
        }
        if (c->how == CLOSE_IN_SHUTDOWN_COMPLETE) {
            api->ConnectionClose(conn);
            f->after_close_ok = api->GetContext(conn) == f;
        } else {
            f->after_close_ok = 1;
        }
        counter_add(&f->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void connection_case(HQUIC reg, HQUIC client_config, uint16_t port, int how) {
    static ConnCase cases[3];
    ConnCase* c = &cases[how];
    final_init(&c->f);
    c->how = how;
    counter_init(&c->connected);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &c->f, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&c->connected, 1, 10000));
    if (how == CLOSE_FROM_MAIN) {
        api->ConnectionClose(conn);
        /* Closed once the call returned. */
        CHECK(api->GetContext(conn) == NULL);
    }
    CHECK(counter_wait(&c->f.done, 1, 10000));
    printf("1.%d: final %d app close %d context %d handler %d param %d set %d open refused %d "
           "after close %d\n",
           how, c->f.final_events, c->f.app_close, c->f.context_ok, c->f.handler_ok,
           c->f.param_ok, c->f.set_ok, c->f.open_refused, c->f.after_close_ok);
    CHECK(c->f.final_events == 1);
    CHECK(c->f.app_close == (how != CLOSE_IN_SHUTDOWN_COMPLETE));
    CHECK(c->f.context_ok);
    CHECK(c->f.handler_ok);
    CHECK(c->f.param_ok);
    CHECK(c->f.set_ok);
    CHECK(c->f.open_refused);
    CHECK(c->f.after_close_ok);
}

/* ---- 2. streams ---- */

enum { SCLOSE_FROM_MAIN, SCLOSE_IN_START_COMPLETE, SCLOSE_UNSTARTED, SCLOSE_IN_SHUTDOWN_COMPLETE };

typedef struct {
    Final f;
    int how;
    int send_shutdown;
    int canceled_sends; /* SEND_COMPLETE with Canceled before SHUTDOWN_COMPLETE */
    int started;
    uint64_t id;
    Counter start_complete;
} StreamCase;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    StreamCase* c = ctx;
    Final* f = &c->f;
    if (ev->Type == QUIC_STREAM_EVENT_START_COMPLETE) {
        c->started = QUIC_SUCCEEDED(ev->START_COMPLETE.Status);
        c->id = ev->START_COMPLETE.ID;
        if (c->how == SCLOSE_IN_START_COMPLETE) {
            api->StreamClose(stream); /* SHUTDOWN_COMPLETE comes inside */
        } else if (c->how == SCLOSE_IN_SHUTDOWN_COMPLETE) {
            api->StreamShutdown(stream,
                                QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND |
                                    QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE |
                                    QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
                                0);
        }
        counter_add(&c->start_complete, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        if (ev->SEND_COMPLETE.Canceled && f->final_events == 0) c->canceled_sends++;
    } else if (ev->Type == QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE) {
        c->send_shutdown++;
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        f->final_events++;
        f->app_close = ev->SHUTDOWN_COMPLETE.AppCloseInProgress;
        check_context(stream, f, (void*)ClientStream);
        uint64_t id = UINT64_MAX;
        uint32_t len = sizeof(id);
        QUIC_STATUS st = api->GetParam(stream, QUIC_PARAM_STREAM_ID, &len, &id);
        f->param_ok = c->how == SCLOSE_UNSTARTED ? st == QUIC_STATUS_INVALID_STATE
                                                 : st == QUIC_STATUS_SUCCESS && id == c->id;
        uint16_t priority = 3;
        f->set_ok = api->SetParam(stream, QUIC_PARAM_STREAM_PRIORITY, sizeof(priority),
                                  &priority) == QUIC_STATUS_SUCCESS;
        /* A stream-only call on the closing stream is refused, not run. */
        f->open_refused =
            !f->app_close || api->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE) ==
                                 QUIC_STATUS_INVALID_PARAMETER;
        if (c->how == SCLOSE_IN_SHUTDOWN_COMPLETE) {
            api->StreamClose(stream);
            f->after_close_ok = api->GetContext(stream) == f;
        } else {
            f->after_close_ok = 1;
        }
        counter_add(&f->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

typedef struct {
    Counter connected, complete;
} Plain;

static QUIC_STATUS QUIC_API PlainConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Plain* p = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&p->connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        (void)conn;
        counter_add(&p->complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void stream_case(HQUIC conn, int how) {
    static StreamCase cases[4];
    StreamCase* c = &cases[how];
    final_init(&c->f);
    c->how = how;
    counter_init(&c->start_complete);
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &c->f, &stream) ==
          QUIC_STATUS_SUCCESS);
    if (how != SCLOSE_UNSTARTED) {
        CHECK(api->StreamStart(stream, QUIC_STREAM_START_FLAG_IMMEDIATE) == QUIC_STATUS_PENDING);
        CHECK(counter_wait(&c->start_complete, 1, 10000));
    } else {
        /* Held until a start that never comes: StreamClose cancels it. */
        static QUIC_BUFFER held = {4, (uint8_t*)"held"};
        CHECK(api->StreamSend(stream, &held, 1, QUIC_SEND_FLAG_NONE, NULL) == QUIC_STATUS_PENDING);
    }
    if (how == SCLOSE_FROM_MAIN || how == SCLOSE_UNSTARTED) {
        api->StreamClose(stream);
        /* The final event came inside the call, and the handle is gone after it. */
        CHECK(counter_get(&c->f.done) == 1);
        CHECK(api->GetContext(stream) == NULL);
    }
    CHECK(counter_wait(&c->f.done, 1, 10000));
    printf("2.%d: final %d app close %d send shutdown %d context %d handler %d param %d set %d "
           "refused %d after close %d\n",
           how, c->f.final_events, c->f.app_close, c->send_shutdown, c->f.context_ok,
           c->f.handler_ok, c->f.param_ok, c->f.set_ok, c->f.open_refused, c->f.after_close_ok);
    CHECK(c->f.final_events == 1);
    CHECK(c->f.app_close == (how != SCLOSE_IN_SHUTDOWN_COMPLETE));
    CHECK(c->send_shutdown == 1);
    CHECK(c->canceled_sends == (how == SCLOSE_UNSTARTED));
    CHECK(c->f.context_ok);
    CHECK(c->f.handler_ok);
    CHECK(c->f.param_ok);
    CHECK(c->f.set_ok);
    CHECK(c->f.open_refused);
    CHECK(c->f.after_close_ok);
}

/* ---- 3. listeners ---- */

typedef struct {
    Final f;
    int close_in_stop;
} ListenerCase;

static QUIC_STATUS QUIC_API TestListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    ListenerCase* c = ctx;
    Final* f = &c->f;
    if (ev->Type != QUIC_LISTENER_EVENT_STOP_COMPLETE) return QUIC_STATUS_SUCCESS;
    if (c->close_in_stop) {
        api->ListenerClose(listener);
    }
    f->final_events++;
    f->app_close = ev->STOP_COMPLETE.AppCloseInProgress;
    check_context(listener, f, (void*)TestListener);
    QUIC_LISTENER_STATISTICS stats;
    uint32_t len = sizeof(stats);
    f->param_ok = api->GetParam(listener, QUIC_PARAM_LISTENER_STATS, &len, &stats) ==
                  QUIC_STATUS_SUCCESS;
    uint8_t dos = 0;
    f->set_ok = api->SetParam(listener, QUIC_PARAM_DOS_MODE_EVENTS, sizeof(dos), &dos) ==
                    QUIC_STATUS_SUCCESS &&
                api->SetParam(listener, QUIC_PARAM_LISTENER_CIBIR_ID, 0, NULL) ==
                    QUIC_STATUS_SUCCESS;
    QUIC_BUFFER alpn = {2, (uint8_t*)"hl"};
    f->open_refused = !c->close_in_stop ||
                      api->ListenerStart(listener, &alpn, 1, NULL) == QUIC_STATUS_INVALID_PARAMETER;
    f->after_close_ok = 1;
    counter_add(&f->done, 1);
    return QUIC_STATUS_SUCCESS;
}

static void listener_case(HQUIC reg, int close_in_stop) {
    static ListenerCase cases[2];
    ListenerCase* c = &cases[close_in_stop];
    final_init(&c->f);
    c->close_in_stop = close_in_stop;
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, TestListener, &c->f, &listener) == QUIC_STATUS_SUCCESS);
    start_listener(api, listener, "hl2");
    if (close_in_stop) {
        api->ListenerStop(listener);
    } else {
        api->ListenerClose(listener);
        CHECK(counter_get(&c->f.done) == 1);
        CHECK(api->GetContext(listener) == NULL);
    }
    CHECK(counter_wait(&c->f.done, 1, 10000));
    printf("3.%d: final %d app close %d context %d handler %d param %d set %d refused %d\n",
           close_in_stop, c->f.final_events, c->f.app_close, c->f.context_ok, c->f.handler_ok,
           c->f.param_ok, c->f.set_ok, c->f.open_refused);
    CHECK(c->f.final_events == 1);
    CHECK(c->f.app_close == !close_in_stop);
    CHECK(c->f.context_ok);
    CHECK(c->f.handler_ok);
    CHECK(c->f.param_ok);
    CHECK(c->f.set_ok);
    CHECK(c->f.open_refused);
}

/* ---- 4. a stream outliving its connection's handle ---- */

static Counter orphan_start, orphan_complete;
static int orphan_by_app = -1;

static QUIC_STATUS QUIC_API OrphanStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)stream;
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_START_COMPLETE) {
        counter_add(&orphan_start, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        orphan_by_app = ev->SHUTDOWN_COMPLETE.ConnectionShutdownByApp;
        counter_add(&orphan_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void orphan_stream(HQUIC reg, HQUIC client_config, uint16_t port) {
    counter_init(&orphan_start);
    counter_init(&orphan_complete);
    static Plain p;
    counter_init(&p.connected);
    counter_init(&p.complete);
    HQUIC conn = NULL, stream = NULL, second = NULL;
    CHECK(api->ConnectionOpen(reg, PlainConnection, &p, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&p.connected, 1, 10000));
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, OrphanStream, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->StreamStart(stream, QUIC_STREAM_START_FLAG_IMMEDIATE) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&orphan_start, 1, 10000));
    api->ConnectionClose(conn);
    CHECK(counter_get(&orphan_complete) == 1);
    uint64_t id = UINT64_MAX;
    uint32_t len = sizeof(id);
    CHECK(api->GetParam(stream, QUIC_PARAM_STREAM_ID, &len, &id) == QUIC_STATUS_SUCCESS);
    CHECK(id == 0);
    CHECK(api->StreamOpen(stream, QUIC_STREAM_OPEN_FLAG_NONE, OrphanStream, NULL, &second) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(second == NULL);
    printf("4: stream id %llu after ConnectionClose, ConnectionShutdownByApp %d\n",
           (unsigned long long)id, orphan_by_app);
    api->StreamClose(stream);
}

/* ---- 5. ConnectionClose from the main thread while the worker delivers events ---- */

#define BUSY_ROUNDS 10
#define BUSY_CHUNK 16384

typedef struct {
    int conn_context_ok, stream_context_ok;
    Counter sent, conn_done;
} Busy;

static uint8_t busy_data[BUSY_CHUNK];

static QUIC_STATUS QUIC_API BusyStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    Busy* b = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        /* Keep the worker busy with this stream's events. */
        counter_add(&b->sent, 1);
        if (!ev->SEND_COMPLETE.Canceled) {
            static QUIC_BUFFER chunk = {BUSY_CHUNK, busy_data};
            api->StreamSend(stream, &chunk, 1, QUIC_SEND_FLAG_NONE, NULL);
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        Busy* found = api->GetContext(stream); /* a program finds its state here */
        b->stream_context_ok = found == b;
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API BusyConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Busy* b = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, BusyStream, b, &stream) ==
              QUIC_STATUS_SUCCESS);
        static QUIC_BUFFER chunk = {BUSY_CHUNK, busy_data};
        for (int i = 0; i < 4; i++) {
            api->StreamSend(stream, &chunk, 1, i == 0 ? QUIC_SEND_FLAG_START : QUIC_SEND_FLAG_NONE,
                            NULL);
        }
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        Busy* found = api->GetContext(conn); /* a program finds its state here */
        b->conn_context_ok = found == b && ev->SHUTDOWN_COMPLETE.AppCloseInProgress;
        counter_add(&b->conn_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void close_while_busy(HQUIC reg, HQUIC client_config, uint16_t port) {
    static Busy rounds[BUSY_ROUNDS];
    int ok = 0;
    for (int i = 0; i < BUSY_ROUNDS; i++) {
        Busy* b = &rounds[i];
        counter_init(&b->sent);
        counter_init(&b->conn_done);
        HQUIC conn = NULL;
        CHECK(api->ConnectionOpen(reg, BusyConnection, b, &conn) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                                   "localhost", port)));
        CHECK(counter_wait(&b->sent, 8 + i, 10000));
        api->ConnectionClose(conn);
        CHECK(counter_get(&b->conn_done) == 1);
        ok += b->conn_context_ok && b->stream_context_ok;
    }
    printf("5: %d of %d closes under load found their context in SHUTDOWN_COMPLETE\n", ok,
           BUSY_ROUNDS);
    CHECK(ok == BUSY_ROUNDS);
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&uni_done);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "hl", 8, 0);
    QUIC_SETTINGS uni_settings;
    memset(&uni_settings, 0, sizeof(uni_settings));
    uni_settings.IsSet.PeerUnidiStreamCount = TRUE;
    uni_settings.PeerUnidiStreamCount = 1;
    CHECK(api->SetParam(server_config, QUIC_PARAM_CONFIGURATION_SETTINGS, sizeof(uni_settings),
                        &uni_settings) == QUIC_STATUS_SUCCESS);
    HQUIC client_config = client_configuration(api, reg, "hl", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "hl");

    connection_case(reg, client_config, port, CLOSE_FROM_MAIN);
    connection_case(reg, client_config, port, CLOSE_IN_CONNECTED);
    connection_case(reg, client_config, port, CLOSE_IN_SHUTDOWN_COMPLETE);

    static Plain p;
    counter_init(&p.connected);
    counter_init(&p.complete);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, PlainConnection, &p, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&p.connected, 1, 10000));
    stream_case(conn, SCLOSE_FROM_MAIN);
    stream_case(conn, SCLOSE_IN_START_COMPLETE);
    stream_case(conn, SCLOSE_UNSTARTED);
    stream_case(conn, SCLOSE_IN_SHUTDOWN_COMPLETE);

    /* A peer's unidirectional stream closed inside RECEIVE: SHUTDOWN_COMPLETE with
     * AppCloseInProgress, and no SEND_SHUTDOWN_COMPLETE (it has no sending half). */
    HQUIC uni = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL,
                          (QUIC_STREAM_CALLBACK_HANDLER)ServerStream, NULL,
                          &uni) == QUIC_STATUS_SUCCESS);
    static QUIC_BUFFER uni_msg = {3, (uint8_t*)"uni"};
    CHECK(QUIC_SUCCEEDED(
        api->StreamSend(uni, &uni_msg, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&uni_done, 1, 10000));
    printf("2.u: final %d app close %d send shutdown %d\n", uni_final, uni_app_close,
           uni_send_shutdown);
    CHECK(uni_final == 1);
    CHECK(uni_app_close == 1);
    CHECK(uni_send_shutdown == 0);
    api->ConnectionClose(conn);

    listener_case(reg, 0);
    listener_case(reg, 1);

    orphan_stream(reg, client_config, port);
    close_while_busy(reg, client_config, port);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("handle_lifetime");
}
