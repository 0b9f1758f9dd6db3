/* StreamShutdown's IMMEDIATE and INLINE flags and the flag rules.
 * The server runs in a child process so that it can be stalled: its stream callback blocks
 * (on a pipe) when the first data arrives, and while it is blocked nothing the client sends
 * is answered.
 * - Rules (as MsQuic): 0, GRACEFUL with an abort or IMMEDIATE, IMMEDIATE other than exactly
 *   ABORT | IMMEDIATE (INLINE included), MsQuic's internal SILENT bit (0x8000) alone and
 *   codes above 2^62-1 are INVALID_PARAMETER; other unknown bits are ignored.
 * - With the server stalled, ABORT on stream B does not complete (the peer must answer),
 *   while ABORT | IMMEDIATE on stream A gives SEND_SHUTDOWN_COMPLETE then SHUTDOWN_COMPLETE
 *   at once; B completes once the server runs again.
 * - INLINE from a callback (START_COMPLETE) returns SUCCESS and its SEND_SHUTDOWN_COMPLETE
 *   arrives after the callback, as in MsQuic; without INLINE the call returns PENDING and the
 *   event comes after the callback; INLINE from the application's thread is queued
 *   (PENDING). */
#include "support/qmux_test.h"

#include <sys/wait.h>
#include <unistd.h>

static const QUIC_API_TABLE* api;

/* ---- The server (child process) ---- */

static int to_parent = -1, from_parent = -1;
static int blocked_once = 0;
static Counter server_done;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && ev->RECEIVE.TotalBufferLength > 0 &&
        !blocked_once) {
        blocked_once = 1;
        char c = 'r';
        CHECK(write(to_parent, &c, 1) == 1);
        CHECK(read(from_parent, &c, 1) == 1); /* stalled until the parent says so */
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
        counter_add(&server_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, (HQUIC)ctx);
}

static int run_server(void) {
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&server_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC cfg = server_configuration(api, reg, "flags", 8, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, cfg, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "flags");
    CHECK(write(to_parent, &port, sizeof(port)) == (ssize_t)sizeof(port));
    CHECK(counter_wait(&server_done, 1, 60000));
    api->ListenerClose(listener);
    api->ConfigurationClose(cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return failures == 0 ? 0 : 1;
}

/* ---- The client (parent) ---- */

typedef struct {
    Counter start_complete;
    Counter send_shutdown;
    Counter done;
    int seq;
    int send_shutdown_seq;
    int done_seq;
    int send_shutdowns;
    int dones;
    /* INLINE cases: the flags to shut down with from START_COMPLETE. */
    QUIC_STREAM_SHUTDOWN_FLAGS in_start;
    QUIC_STATUS in_start_status;
    int in_call;
    int send_shutdown_in_call;
} S;

static void s_init(S* s) {
    memset(s, 0, sizeof(*s));
    counter_init(&s->start_complete);
    counter_init(&s->send_shutdown);
    counter_init(&s->done);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    S* s = ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        if (s->in_start != 0) {
            s->in_call = 1;
            s->in_start_status = api->StreamShutdown(stream, s->in_start, 9);
            s->in_call = 0;
        }
        counter_add(&s->start_complete, 1);
        break;
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE:
        s->send_shutdown_seq = ++s->seq;
        s->send_shutdowns++;
        s->send_shutdown_in_call = s->in_call;
        counter_add(&s->send_shutdown, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        s->done_seq = ++s->seq;
        s->dones++;
        counter_add(&s->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static Counter connected, conn_done;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&conn_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static HQUIC open_stream(HQUIC conn, S* s) {
    HQUIC h = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, s, &h) ==
          QUIC_STATUS_SUCCESS);
    return h;
}

static void check_rules(HQUIC stream) {
    const uint32_t bad[] = {
        0,
        QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL | QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND,
        QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL | QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE,
        QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
        QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
        QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
        QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
        QUIC_STREAM_SHUTDOWN_FLAG_ABORT | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE |
            QUIC_STREAM_SHUTDOWN_FLAG_INLINE,
        QUIC_STREAM_SHUTDOWN_FLAG_INLINE | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
        0x8000, /* MsQuic's internal SILENT bit alone */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (api->StreamShutdown(stream, (QUIC_STREAM_SHUTDOWN_FLAGS)bad[i], 0) !=
            QUIC_STATUS_INVALID_PARAMETER) {
            fprintf(stderr, "flags 0x%x accepted\n", bad[i]);
            CHECK(0);
        }
    }
    CHECK(api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, (1ull << 62)) ==
          QUIC_STATUS_INVALID_PARAMETER);
    /* A bit MsQuic does not define is ignored, as in MsQuic: accepted, nothing done. */
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(stream, (QUIC_STREAM_SHUTDOWN_FLAGS)0x20, 0)));
}

static int run_client(uint16_t port, pid_t child) {
    (void)child;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&connected);
    counter_init(&conn_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC cfg = client_configuration(api, reg, "flags", 0);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&connected, 1, 10000));

    S a, b, c, d, e;
    s_init(&a);
    s_init(&b);
    s_init(&c);
    s_init(&d);
    s_init(&e);
    HQUIC sa = open_stream(conn, &a), sb = open_stream(conn, &b);
    check_rules(sa);

    /* B is announced to the server first; then data on A stalls the server. */
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sb, QUIC_STREAM_START_FLAG_IMMEDIATE)));
    CHECK(counter_wait(&b.start_complete, 1, 5000));
    uint8_t byte = 1;
    QUIC_BUFFER one = {1, &byte};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(sa, &one, 1, QUIC_SEND_FLAG_START, NULL)));
    char r = 0;
    CHECK(read(from_parent, &r, 1) == 1 && r == 'r');

    /* The server is stalled: a plain abort cannot complete... */
    CHECK(api->StreamShutdown(sb, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 5) == QUIC_STATUS_PENDING);
    CHECK(!counter_wait(&b.done, 1, 300));
    /* ...an immediate one does, at once. */
    CHECK(api->StreamShutdown(sa, QUIC_STREAM_SHUTDOWN_FLAG_ABORT |
                                      QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
                              7) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&a.done, 1, 3000));
    CHECK(a.send_shutdowns == 1 && a.dones == 1);
    CHECK(a.send_shutdown_seq == 1 && a.done_seq == 2);
    CHECK(counter_get(&b.done) == 0);
    api->StreamClose(sa);

    /* The server runs again: B completes. */
    char go = 'g';
    CHECK(write(to_parent, &go, 1) == 1);
    CHECK(counter_wait(&b.done, 1, 5000));
    CHECK(b.send_shutdowns == 1 && b.dones == 1);
    api->StreamClose(sb);

    /* INLINE from a callback: SUCCESS, processed inside the call; the abort's
     * SEND_SHUTDOWN_COMPLETE still comes after the callback, as in MsQuic (once the reset
     * is through). */
    HQUIC sc = open_stream(conn, &c);
    c.in_start = QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND | QUIC_STREAM_SHUTDOWN_FLAG_INLINE;
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sc, QUIC_STREAM_START_FLAG_IMMEDIATE)));
    CHECK(counter_wait(&c.send_shutdown, 1, 5000));
    CHECK(counter_wait(&c.start_complete, 1, 5000));
    CHECK(c.in_start_status == QUIC_STATUS_SUCCESS);
    CHECK(c.send_shutdown_in_call == 0);
    /* Without INLINE: PENDING, the event after the callback. */
    HQUIC sd = open_stream(conn, &d);
    d.in_start = QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND;
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sd, QUIC_STREAM_START_FLAG_IMMEDIATE)));
    CHECK(counter_wait(&d.send_shutdown, 1, 5000));
    CHECK(d.in_start_status == QUIC_STATUS_PENDING);
    CHECK(d.send_shutdown_in_call == 0);
    /* INLINE from the application's thread: queued. */
    HQUIC se = open_stream(conn, &e);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(se, QUIC_STREAM_START_FLAG_IMMEDIATE)));
    CHECK(counter_wait(&e.start_complete, 1, 5000));
    CHECK(api->StreamShutdown(se, QUIC_STREAM_SHUTDOWN_FLAG_ABORT |
                                      QUIC_STREAM_SHUTDOWN_FLAG_INLINE,
                              3) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&e.send_shutdown, 1, 5000));
    /* Each stream's SEND_SHUTDOWN_COMPLETE came once. */
    CHECK(c.send_shutdowns == 1 && d.send_shutdowns == 1 && e.send_shutdowns == 1);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&conn_done, 1, 5000));
    CHECK(c.send_shutdowns == 1 && d.send_shutdowns == 1 && e.send_shutdowns == 1);
    api->StreamClose(sc);
    api->StreamClose(sd);
    api->StreamClose(se);
    api->ConnectionClose(conn);
    api->ConfigurationClose(cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return 0;
}

int main(void) {
    if (!have_test_cert()) return 1;
    int up[2], down[2];
    CHECK(pipe(up) == 0 && pipe(down) == 0);
    pid_t child = fork();
    if (child == 0) {
        close(up[0]);
        close(down[1]);
        to_parent = up[1];
        from_parent = down[0];
        return run_server();
    }
    close(up[1]);
    close(down[0]);
    /* In the parent the names read the other way round: from_parent reads the child's
     * messages, to_parent writes to it. */
    from_parent = up[0];
    to_parent = down[1];
    uint16_t port = 0;
    CHECK(read(from_parent, &port, sizeof(port)) == (ssize_t)sizeof(port));
    run_client(port, child);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return finish("stream_shutdown_flags");
}
