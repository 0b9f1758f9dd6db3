/* The peer's stream-count limit after the handshake, against a server that allows one
 * bidirectional stream at a time (PeerBidiStreamCount = 1) and no unidirectional one:
 * - the limit is topped up as streams finish: a second stream is accepted once the first
 *   ends;
 * - DELAY_ID_FC_UPDATES, OR-ed into PEER_STREAM_STARTED's Flags by the server: once that
 *   stream ends, the client's next stream stays blocked (START_COMPLETE with PeerAccepted
 *   clear, no PEER_ACCEPTED) until the server calls StreamClose on it;
 * - QUIC_PARAM_CONN_SETTINGS on the connected server: a larger PeerBidiStreamCount lets a
 *   blocked client stream proceed at once (PEER_ACCEPTED) and the client may open more; a
 *   PeerUnidiStreamCount does the same for a blocked unidirectional stream; GetParam shows
 *   the new values; MTU changes after start are INVALID_PARAMETER;
 * - a blocked stream with a buffered send and an ABORT | IMMEDIATE shutdown: the send
 *   completes at once (not canceled), then SEND_SHUTDOWN_COMPLETE (not graceful) and
 *   SHUTDOWN_COMPLETE while the stream still waits, as in MsQuic; its reset goes once the
 *   limit admits its ID; a blocked stream with a plain ABORT ends only once admitted. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static HQUIC server_conn = NULL;
static Counter server_connected;
static int server_bidi_seen = 0;
static HQUIC held = NULL;
static Counter held_done;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    if (ctx != NULL && ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        /* The delayed stream: kept open by the application for now. */
        __atomic_store_n(&held, stream, __ATOMIC_SEQ_CST);
        counter_add(&held_done, 1);
        return QUIC_STATUS_SUCCESS;
    }
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        __atomic_store_n(&server_conn, conn, __ATOMIC_SEQ_CST);
        counter_add(&server_connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        void* hold = NULL;
        if (!(ev->PEER_STREAM_STARTED.Flags & QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL) &&
            ++server_bidi_seen == 2) {
            ev->PEER_STREAM_STARTED.Flags |= QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES;
            hold = (void*)1;
        }
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, hold);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
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

typedef struct {
    Counter start_complete;
    Counter accepted; /* START_COMPLETE with PeerAccepted, or PEER_ACCEPTED */
    Counter peer_accepted_events;
    Counter fin;
    Counter done;
    int accepted_at_start;
    int seq;
    int canceled_sends;
    int canceled_seq;
    Counter completed; /* SEND_COMPLETE not canceled */
    int completed_seq;
    int done_seq;
    int send_shutdown;          /* SEND_SHUTDOWN_COMPLETE seen */
    int send_shutdown_graceful;
    int send_shutdown_seq;
} S;

static void s_init(S* s) {
    memset(s, 0, sizeof(*s));
    counter_init(&s->start_complete);
    counter_init(&s->accepted);
    counter_init(&s->peer_accepted_events);
    counter_init(&s->fin);
    counter_init(&s->done);
    counter_init(&s->completed);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)stream;
    S* s = ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        CHECK(ev->START_COMPLETE.Status == QUIC_STATUS_SUCCESS);
        s->accepted_at_start = ev->START_COMPLETE.PeerAccepted;
        if (s->accepted_at_start) counter_add(&s->accepted, 1);
        counter_add(&s->start_complete, 1);
        break;
    case QUIC_STREAM_EVENT_PEER_ACCEPTED:
        counter_add(&s->peer_accepted_events, 1);
        counter_add(&s->accepted, 1);
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) counter_add(&s->fin, 1);
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (ev->SEND_COMPLETE.Canceled) {
            s->canceled_sends++;
            s->canceled_seq = ++s->seq;
        } else {
            s->completed_seq = ++s->seq;
            counter_add(&s->completed, 1);
        }
        break;
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE:
        s->send_shutdown++;
        s->send_shutdown_graceful = ev->SEND_SHUTDOWN_COMPLETE.Graceful;
        s->send_shutdown_seq = ++s->seq;
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        s->done_seq = ++s->seq;
        counter_add(&s->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static Counter client_connected, client_done;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&client_connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static HQUIC start_stream(HQUIC conn, S* s, QUIC_STREAM_OPEN_FLAGS flags) {
    HQUIC h = NULL;
    CHECK(api->StreamOpen(conn, flags, ClientStream, s, &h) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(h, QUIC_STREAM_START_FLAG_IMMEDIATE |
                                                 QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT)));
    CHECK(counter_wait(&s->start_complete, 1, 5000));
    return h;
}

static void round_trip(HQUIC h, S* s) {
    static uint8_t byte = 'x';
    QUIC_BUFFER b = {1, &byte};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(h, &b, 1, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&s->fin, 1, 5000));
    CHECK(counter_wait(&s->done, 1, 5000));
}

static QUIC_STATUS set_counts(HQUIC conn, int bidi, int unidi) {
    QUIC_SETTINGS st;
    memset(&st, 0, sizeof(st));
    if (bidi >= 0) {
        st.IsSet.PeerBidiStreamCount = TRUE;
        st.PeerBidiStreamCount = (uint16_t)bidi;
    }
    if (unidi >= 0) {
        st.IsSet.PeerUnidiStreamCount = TRUE;
        st.PeerUnidiStreamCount = (uint16_t)unidi;
    }
    return api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(st), &st);
}

static uint16_t get_u16(HQUIC h, uint32_t param) {
    uint16_t v = 0xBEEF;
    uint32_t len = sizeof(v);
    CHECK(api->GetParam(h, param, &len, &v) == QUIC_STATUS_SUCCESS);
    return v;
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&server_connected);
    counter_init(&held_done);
    counter_init(&client_connected);
    counter_init(&client_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "count", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "count", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "count");
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_connected, 1, 10000));
    CHECK(counter_wait(&server_connected, 1, 5000));
    HQUIC sconn = __atomic_load_n(&server_conn, __ATOMIC_SEQ_CST);

    /* 1: topped up as streams finish. */
    S s1, s2, s3, s4, s5, s6, s7, s8;
    s_init(&s1);
    s_init(&s2);
    s_init(&s3);
    s_init(&s4);
    s_init(&s5);
    s_init(&s6);
    s_init(&s7);
    s_init(&s8);
    HQUIC h1 = start_stream(conn, &s1, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(s1.accepted_at_start == 1);
    round_trip(h1, &s1);
    HQUIC h2 = start_stream(conn, &s2, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(counter_wait(&s2.accepted, 1, 5000));

    /* 2: the server delays stream 2's slot until it closes the handle. */
    round_trip(h2, &s2);
    CHECK(counter_wait(&held_done, 1, 5000));
    HQUIC h3 = start_stream(conn, &s3, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(s3.accepted_at_start == 0);
    CHECK(!counter_wait(&s3.accepted, 1, 500));
    api->StreamClose(__atomic_load_n(&held, __ATOMIC_SEQ_CST));
    CHECK(counter_wait(&s3.accepted, 1, 5000));
    CHECK(counter_get(&s3.peer_accepted_events) == 1);

    /* 3: stream 3 stays open; stream 4 waits until the server raises its count. */
    HQUIC h4 = start_stream(conn, &s4, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(s4.accepted_at_start == 0);
    CHECK(!counter_wait(&s4.accepted, 1, 200));
    QUIC_SETTINGS mtu;
    memset(&mtu, 0, sizeof(mtu));
    mtu.IsSet.MaximumMtu = TRUE;
    mtu.MaximumMtu = 1400;
    CHECK(api->SetParam(sconn, QUIC_PARAM_CONN_SETTINGS, sizeof(mtu), &mtu) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(set_counts(sconn, 3, -1) == QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&s4.accepted, 1, 5000));
    /* The limit grew by two: one more stream may be opened now. */
    for (int i = 0; i < 200 && get_u16(conn, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT) != 1; i++) {
        struct timespec t = {0, 10000000L};
        nanosleep(&t, NULL);
    }
    CHECK(get_u16(conn, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT) == 1);
    QUIC_SETTINGS got;
    uint32_t len = sizeof(got);
    CHECK(api->GetParam(sconn, QUIC_PARAM_CONN_SETTINGS, &len, &got) == QUIC_STATUS_SUCCESS);
    CHECK(got.PeerBidiStreamCount == 3);

    /* Unidirectional: none allowed, then one. */
    CHECK(get_u16(conn, QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT) == 0);
    HQUIC h5 = start_stream(conn, &s5, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL);
    CHECK(s5.accepted_at_start == 0);
    CHECK(set_counts(sconn, -1, 1) == QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&s5.accepted, 1, 5000));
    len = sizeof(got);
    CHECK(api->GetParam(sconn, QUIC_PARAM_CONN_SETTINGS, &len, &got) == QUIC_STATUS_SUCCESS);
    CHECK(got.PeerUnidiStreamCount == 1 && got.PeerBidiStreamCount == 3);

    /* 4: s6 takes the last slot; s7 waits with a send and an immediate abort queued. */
    HQUIC h6 = start_stream(conn, &s6, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(s6.accepted_at_start == 1);
    HQUIC h7 = start_stream(conn, &s7, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(s7.accepted_at_start == 0);
    static uint8_t payload[100];
    QUIC_BUFFER pb = {sizeof(payload), payload};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(h7, &pb, 1, QUIC_SEND_FLAG_NONE, NULL)));
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(
        h7, QUIC_STREAM_SHUTDOWN_FLAG_ABORT | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE, 4)));
    /* As in MsQuic, the buffered send completes at once although the stream waits: the
     * abort queued behind it cancels nothing; and IMMEDIATE ends the stream at once, still
     * blocked (SEND_SHUTDOWN_COMPLETE, not graceful, then SHUTDOWN_COMPLETE). */
    CHECK(counter_wait(&s7.completed, 1, 5000));
    CHECK(counter_wait(&s7.done, 1, 5000));
    CHECK(s7.send_shutdown == 1 && s7.send_shutdown_graceful == 0);
    CHECK(s7.accepted_at_start == 0 && counter_get(&s7.accepted) == 0);
    CHECK(s7.canceled_sends == 0);
    CHECK(s7.completed_seq != 0 && s7.completed_seq < s7.send_shutdown_seq &&
          s7.send_shutdown_seq < s7.done_seq);
    /* s8 waits behind it with a plain ABORT queued: it ends only once admitted. */
    HQUIC h8 = start_stream(conn, &s8, QUIC_STREAM_OPEN_FLAG_NONE);
    CHECK(s8.accepted_at_start == 0);
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(h8, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 5)));
    CHECK(!counter_wait(&s8.done, 1, 300));
    round_trip(h3, &s3); /* frees a slot: s7's ID is used and its abort sent, then s8's */
    /* s7's reset reached the server and freed its slot in turn: s8 is admitted and ends. */
    CHECK(counter_wait(&s8.done, 1, 5000));
    CHECK(counter_get(&s8.accepted) == 1);
    CHECK(s8.send_shutdown == 1 && s8.send_shutdown_graceful == 0);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 1, 5000));
    api->StreamClose(h1);
    api->StreamClose(h2);
    api->StreamClose(h3);
    api->StreamClose(h4);
    api->StreamClose(h5);
    api->StreamClose(h6);
    api->StreamClose(h7);
    api->StreamClose(h8);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("peer_stream_count");
}
