/* StreamSend once the stream's sending half is over is refused at the call, as in MsQuic
 * (whose worker clears the stream's SendEnabled as it takes the shutdown), with no
 * SEND_COMPLETE for the refused send:
 * 1. StreamShutdown(GRACEFUL | INLINE) from a callback, then StreamSend in the same callback:
 *    INVALID_STATE; also inside the later SEND_SHUTDOWN_COMPLETE and from the application's
 *    thread after it.
 * 2. The same with ABORT_SEND | INLINE.
 * 3. StreamShutdown(GRACEFUL) from the application's thread: once SEND_SHUTDOWN_COMPLETE came,
 *    INVALID_STATE.
 * 4. A send with FIN: once SEND_SHUTDOWN_COMPLETE came, INVALID_STATE.
 * 5. The peer's STOP_SENDING (its ABORT_RECEIVE): ABORTED inside SEND_SHUTDOWN_COMPLETE and
 *    from the application's thread after it.
 * 6. The peer's unidirectional stream, from PEER_STREAM_STARTED: INVALID_STATE.
 * 7. After the peer closed the connection (ConnectionShutdown), inside the stream's
 *    SHUTDOWN_COMPLETE: ABORTED.
 * 8. StreamShutdown(GRACEFUL) from a callback without INLINE (queued), then StreamSend in the
 *    same callback: accepted (PENDING), then SEND_COMPLETE with Canceled before
 *    SEND_SHUTDOWN_COMPLETE (the worker takes the shutdown first), never sent.
 * 9. StreamShutdown(GRACEFUL) from the application's thread, then StreamSend at once:
 *    INVALID_STATE if the worker took the shutdown already, else PENDING and SEND_COMPLETE
 *    with Canceled; never sent.
 * 10. As 8 on a connection without send buffering: MsQuic takes the send inline at once,
 *    ahead of the queued shutdown, so it is sent (SEND_COMPLETE not canceled).
 * The server keeps its sending half open, so no stream ends before the checks. */
#include "support/qmux_test.h"

#define ALPN "sendshut"
#define REFUSED ((void*)0x5EF)
#define LATE ((void*)0x1A7E) /* a send made after a shutdown call, before its turn */

static const QUIC_API_TABLE* api;
static HQUIC server_cfg;
static HQUIC server_conn;
static Counter connected, server_conn_ready, uni_checked, server_done;
static QUIC_STATUS uni_status = QUIC_STATUS_SUCCESS;
static int refused_completions; /* SEND_COMPLETE for a refused send: must stay 0 */

enum {
    INLINE_GRACEFUL = 1,
    INLINE_ABORT,
    APP_GRACEFUL,
    FIN_SEND,
    STOPPED,
    CONN_CLOSED,
    QUEUED_GRACEFUL,
    APP_RACE,
    QUEUED_UNBUFFERED
};

typedef struct {
    int mode;
    Counter started, send_shut, done;
    QUIC_STATUS inline_status;  /* StreamSend right after the INLINE shutdown */
    QUIC_STATUS in_shut_status; /* StreamSend inside SEND_SHUTDOWN_COMPLETE */
    QUIC_STATUS in_done_status; /* StreamSend inside SHUTDOWN_COMPLETE */
    QUIC_STATUS late_status;    /* the LATE send's status */
    int late_completions, late_canceled;
    int late_at_shut; /* late_completions when SEND_SHUTDOWN_COMPLETE came */
} Strm;

static uint8_t bytes[4] = {'d', 'a', 't', 'a'};
static QUIC_BUFFER data = {sizeof(bytes), bytes};
static uint8_t stop_byte = 'S';
static QUIC_BUFFER stop_data = {1, &stop_byte};

static QUIC_STATUS QUIC_API server_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && ev->RECEIVE.BufferCount > 0 &&
        ev->RECEIVE.Buffers[0].Length > 0 && ev->RECEIVE.Buffers[0].Buffer[0] == 'S') {
        api->StreamShutdown(s, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE, 9);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(s);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_conn_cb(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    TRACE_CONN(ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        server_conn = c;
        counter_add(&server_conn_ready, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        HQUIC s = ev->PEER_STREAM_STARTED.Stream;
        api->SetCallbackHandler(s, (void*)server_stream_cb, NULL);
        if (ev->PEER_STREAM_STARTED.Flags & QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL) {
            uni_status = api->StreamSend(s, &data, 1, QUIC_SEND_FLAG_NONE, REFUSED);
            counter_add(&uni_checked, 1);
        }
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(c);
        counter_add(&server_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_cb(HQUIC l, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)l;
    (void)ctx;
    return accept_connection(api, ev, (void*)server_conn_cb, NULL, server_cfg);
}

static QUIC_STATUS QUIC_API client_conn_cb(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)c;
    (void)ctx;
    TRACE_CONN(ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&connected, 1);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    Strm* st = ctx;
    TRACE_STREAM(ev);
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        counter_add(&st->started, 1);
        if (st->mode == INLINE_GRACEFUL || st->mode == INLINE_ABORT) {
            QUIC_STREAM_SHUTDOWN_FLAGS f = st->mode == INLINE_GRACEFUL
                                               ? QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL
                                               : QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND;
            CHECK(api->StreamShutdown(s, f | QUIC_STREAM_SHUTDOWN_FLAG_INLINE, 7) ==
                  QUIC_STATUS_SUCCESS);
            st->inline_status = api->StreamSend(s, &data, 1, QUIC_SEND_FLAG_NONE, REFUSED);
        } else if (st->mode == QUEUED_GRACEFUL || st->mode == QUEUED_UNBUFFERED) {
            CHECK(api->StreamShutdown(s, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0) ==
                  QUIC_STATUS_PENDING);
            st->late_status = api->StreamSend(s, &data, 1, QUIC_SEND_FLAG_NONE, LATE);
        }
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (ev->SEND_COMPLETE.ClientContext == REFUSED) refused_completions++;
        if (ev->SEND_COMPLETE.ClientContext == LATE) {
            st->late_completions++;
            st->late_canceled += ev->SEND_COMPLETE.Canceled;
        }
        break;
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE:
        st->in_shut_status = api->StreamSend(s, &data, 1, QUIC_SEND_FLAG_NONE, REFUSED);
        st->late_at_shut = st->late_completions;
        counter_add(&st->send_shut, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        st->in_done_status = api->StreamSend(s, &data, 1, QUIC_SEND_FLAG_NONE, REFUSED);
        counter_add(&st->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC open_stream(HQUIC conn, Strm* st, int mode, QUIC_STREAM_OPEN_FLAGS flags) {
    memset(st, 0, sizeof(*st));
    st->mode = mode;
    st->inline_status = st->in_shut_status = st->in_done_status = QUIC_STATUS_SUCCESS;
    counter_init(&st->started);
    counter_init(&st->send_shut);
    counter_init(&st->done);
    HQUIC s = NULL;
    CHECK(QUIC_SUCCEEDED(api->StreamOpen(conn, flags, client_stream_cb, st, &s)));
    CHECK(QUIC_SUCCEEDED(api->StreamStart(s, QUIC_STREAM_START_FLAG_IMMEDIATE)));
    return s;
}

static QUIC_STATUS app_send(HQUIC s) {
    return TRACE_CALL("StreamSend", api->StreamSend(s, &data, 1, QUIC_SEND_FLAG_NONE, REFUSED));
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&connected);
    counter_init(&server_conn_ready);
    counter_init(&uni_checked);
    counter_init(&server_done);
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    HQUIC reg = NULL;
    QUIC_REGISTRATION_CONFIG rc = {"send_after_shutdown", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rc, &reg)));
    {
        QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
        QUIC_SETTINGS set;
        memset(&set, 0, sizeof(set));
        set.IsSet.PeerBidiStreamCount = TRUE;
        set.PeerBidiStreamCount = 16;
        set.IsSet.PeerUnidiStreamCount = TRUE;
        set.PeerUnidiStreamCount = 4;
        CHECK(api->ConfigurationOpen(reg, &a, 1, &set, sizeof(set), NULL, &server_cfg) ==
              QUIC_STATUS_SUCCESS);
        QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
        QUIC_CREDENTIAL_CONFIG cred;
        memset(&cred, 0, sizeof(cred));
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
        CHECK(api->ConfigurationLoadCredential(server_cfg, &cred) == QUIC_STATUS_SUCCESS);
    }
    HQUIC client_cfg = client_configuration(api, reg, ALPN, 0);
    HQUIC listener = NULL;
    CHECK(QUIC_SUCCEEDED(api->ListenerOpen(reg, listener_cb, NULL, &listener)));
    uint16_t port = start_listener(api, listener, ALPN);

    HQUIC conn = NULL;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg, client_conn_cb, NULL, &conn)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&connected, 1, 10000));
    CHECK(counter_wait(&server_conn_ready, 1, 10000));

    Strm st[9];
    HQUIC s[9];

    /* 1, 2: INLINE shutdowns from START_COMPLETE. */
    s[0] = open_stream(conn, &st[0], INLINE_GRACEFUL, QUIC_STREAM_OPEN_FLAG_NONE);
    s[1] = open_stream(conn, &st[1], INLINE_ABORT, QUIC_STREAM_OPEN_FLAG_NONE);
    for (int i = 0; i < 2; i++) {
        CHECK(counter_wait(&st[i].send_shut, 1, 10000));
        CHECK(st[i].inline_status == QUIC_STATUS_INVALID_STATE);
        CHECK(st[i].in_shut_status == QUIC_STATUS_INVALID_STATE);
        CHECK(app_send(s[i]) == QUIC_STATUS_INVALID_STATE);
    }

    /* 3: a graceful shutdown from this thread. */
    s[2] = open_stream(conn, &st[2], APP_GRACEFUL, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(s[2], QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0)));
    CHECK(counter_wait(&st[2].send_shut, 1, 10000));
    CHECK(st[2].in_shut_status == QUIC_STATUS_INVALID_STATE);
    CHECK(app_send(s[2]) == QUIC_STATUS_INVALID_STATE);

    /* 4: a send with FIN. */
    s[3] = open_stream(conn, &st[3], FIN_SEND, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s[3], &data, 1, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&st[3].send_shut, 1, 10000));
    CHECK(st[3].in_shut_status == QUIC_STATUS_INVALID_STATE);
    CHECK(app_send(s[3]) == QUIC_STATUS_INVALID_STATE);

    /* 5: the peer's STOP_SENDING. */
    s[4] = open_stream(conn, &st[4], STOPPED, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s[4], &stop_data, 1, QUIC_SEND_FLAG_NONE, NULL)));
    CHECK(counter_wait(&st[4].send_shut, 1, 10000));
    CHECK(st[4].in_shut_status == QUIC_STATUS_ABORTED);
    CHECK(app_send(s[4]) == QUIC_STATUS_ABORTED);

    /* 6: the peer's unidirectional stream. */
    s[5] = open_stream(conn, &st[5], FIN_SEND, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s[5], &data, 1, QUIC_SEND_FLAG_NONE, NULL)));
    CHECK(counter_wait(&uni_checked, 1, 10000));
    CHECK(uni_status == QUIC_STATUS_INVALID_STATE);

    /* 8: a queued shutdown from a callback, then a send. */
    s[7] = open_stream(conn, &st[7], QUEUED_GRACEFUL, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(counter_wait(&st[7].send_shut, 1, 10000));
    CHECK(st[7].late_status == QUIC_STATUS_PENDING);
    CHECK(st[7].late_completions == 1 && st[7].late_canceled == 1);
    CHECK(st[7].late_at_shut == 1);

    /* 9: a shutdown from this thread, then a send at once. */
    s[8] = open_stream(conn, &st[8], APP_RACE, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(s[8], QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0)));
    st[8].late_status = api->StreamSend(s[8], &data, 1, QUIC_SEND_FLAG_NONE, LATE);
    CHECK(counter_wait(&st[8].send_shut, 1, 10000));
    if (st[8].late_status == QUIC_STATUS_PENDING) {
        CHECK(st[8].late_completions == 1 && st[8].late_canceled == 1);
        CHECK(st[8].late_at_shut == 1);
    } else {
        CHECK(st[8].late_status == QUIC_STATUS_INVALID_STATE);
        CHECK(st[8].late_completions == 0);
    }

    /* 7: the peer closes the connection; every stream ends. */
    s[6] = open_stream(conn, &st[6], CONN_CLOSED, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s[6], &data, 1, QUIC_SEND_FLAG_NONE, NULL)));
    CHECK(counter_wait(&st[6].started, 1, 10000));
    api->ConnectionShutdown(server_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 3);
    for (int i = 0; i < 9; i++) {
        CHECK(counter_wait(&st[i].done, 1, 10000));
        CHECK(st[i].in_done_status == QUIC_STATUS_ABORTED);
    }
    CHECK(counter_wait(&server_done, 1, 10000));
    CHECK(refused_completions == 0);

    /* 10: a queued shutdown from a callback, then an unbuffered send. */
    HQUIC conn2 = NULL;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg, client_conn_cb, NULL, &conn2)));
    {
        QUIC_SETTINGS unbuffered;
        memset(&unbuffered, 0, sizeof(unbuffered));
        unbuffered.IsSet.SendBufferingEnabled = TRUE;
        unbuffered.SendBufferingEnabled = FALSE;
        CHECK(api->SetParam(conn2, QUIC_PARAM_CONN_SETTINGS, sizeof(unbuffered), &unbuffered) ==
              QUIC_STATUS_SUCCESS);
    }
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn2, client_cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&connected, 2, 10000));
    Strm st10;
    HQUIC s10 = open_stream(conn2, &st10, QUEUED_UNBUFFERED, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(counter_wait(&st10.send_shut, 1, 10000));
    CHECK(st10.late_status == QUIC_STATUS_PENDING);
    api->ConnectionShutdown(conn2, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&st10.done, 1, 10000));
    CHECK(st10.late_completions == 1 && st10.late_canceled == 0);
    CHECK(counter_wait(&server_done, 2, 10000));
    api->StreamClose(s10);
    api->ConnectionClose(conn2);
    counter_destroy(&st10.started);
    counter_destroy(&st10.send_shut);
    counter_destroy(&st10.done);

    for (int i = 0; i < 9; i++) {
        api->StreamClose(s[i]);
        counter_destroy(&st[i].started);
        counter_destroy(&st[i].send_shut);
        counter_destroy(&st[i].done);
    }
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_cfg);
    api->ConfigurationClose(server_cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    CHECK(refused_completions == 0);
    counter_destroy(&connected);
    counter_destroy(&server_conn_ready);
    counter_destroy(&uni_checked);
    counter_destroy(&server_done);
    return finish("send_after_shutdown");
}
