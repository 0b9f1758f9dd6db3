/* StreamStart flags and the stream-limit events and parameters, against a server that allows
 * one bidirectional stream at a time (PeerBidiStreamCount = 1):
 * - LOCAL_BIDI/UNIDI_STREAM_COUNT and MAX_STREAM_IDS on both sides;
 * - STREAM_PRIORITY (default 0x7FFF, set before and after start), STREAM_0RTT_LENGTH
 *   (INVALID_STATE until started and the sending half is over, then 0) and
 *   STREAM_IDEAL_SEND_BUFFER_SIZE;
 * - IMMEDIATE | INDICATE_PEER_ACCEPT | PRIORITY_WORK: START_COMPLETE with PeerAccepted, and
 *   the server sees PEER_STREAM_STARTED before any data;
 * - FAIL_BLOCKED at the limit: START_COMPLETE(STREAM_LIMIT_REACHED) and nothing more;
 * - FAIL_BLOCKED | SHUTDOWN_ON_FAIL: START_COMPLETE(STREAM_LIMIT_REACHED), then
 *   SHUTDOWN_COMPLETE;
 * - a blocked start with INDICATE_PEER_ACCEPT: START_COMPLETE at once with the ID it will
 *   have and PeerAccepted clear, a send queued on it; the server sees PEER_NEEDS_STREAMS; once
 *   the first stream ends, PEER_ACCEPTED (and STREAMS_AVAILABLE, whose count leaves out the
 *   slot the waiting stream took) and the data arrive. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static Counter server_needs_streams;
static Counter server_peer_started;
static int server_needs_bidi = 0;
static HQUIC server_conn = NULL;

typedef struct {
    Counter start_complete;
    Counter shutdown_complete;
    Counter peer_accepted;
    QUIC_STATUS start_status;
    int peer_accepted_bit;
    uint64_t id;
    Counter received_fin;
} S;

static void s_init(S* s) {
    memset(s, 0, sizeof(*s));
    counter_init(&s->start_complete);
    counter_init(&s->shutdown_complete);
    counter_init(&s->peer_accepted);
    counter_init(&s->received_fin);
}

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        __atomic_store_n(&server_conn, conn, __ATOMIC_SEQ_CST);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
        counter_add(&server_peer_started, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS) {
        if (ev->PEER_NEEDS_STREAMS.Bidirectional) server_needs_bidi = 1;
        counter_add(&server_needs_streams, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        __atomic_store_n(&server_conn, NULL, __ATOMIC_SEQ_CST);
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

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)stream;
    S* s = ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        s->start_status = ev->START_COMPLETE.Status;
        s->peer_accepted_bit = ev->START_COMPLETE.PeerAccepted;
        s->id = ev->START_COMPLETE.ID;
        counter_add(&s->start_complete, 1);
        break;
    case QUIC_STREAM_EVENT_PEER_ACCEPTED:
        counter_add(&s->peer_accepted, 1);
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) counter_add(&s->received_fin, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&s->shutdown_complete, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static Counter client_connected, client_done, client_streams_available;
/* BidirectionalCount of each STREAMS_AVAILABLE, in order. */
static int available_bidi[64];

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&client_connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE) {
        int n = counter_get(&client_streams_available);
        if (n < 64) available_bidi[n] = ev->STREAMS_AVAILABLE.BidirectionalCount;
        counter_add(&client_streams_available, 1);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static uint16_t get_u16(HQUIC h, uint32_t param) {
    uint16_t v = 0xBEEF;
    uint32_t len = sizeof(v);
    CHECK(api->GetParam(h, param, &len, &v) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(v));
    return v;
}

static uint64_t get_u64(HQUIC h, uint32_t param) {
    uint64_t v = 0xBEEF;
    uint32_t len = sizeof(v);
    CHECK(api->GetParam(h, param, &len, &v) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(v));
    return v;
}

static void get_max_ids(HQUIC h, uint64_t ids[4]) {
    uint32_t len = 0;
    CHECK(api->GetParam(h, QUIC_PARAM_CONN_MAX_STREAM_IDS, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 4 * sizeof(uint64_t));
    len = 4 * sizeof(uint64_t);
    CHECK(api->GetParam(h, QUIC_PARAM_CONN_MAX_STREAM_IDS, &len, ids) == QUIC_STATUS_SUCCESS);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&server_needs_streams);
    counter_init(&server_peer_started);
    counter_init(&client_connected);
    counter_init(&client_done);
    counter_init(&client_streams_available);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "start", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "start", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "start");

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_connected, 1, 10000));
    for (int i = 0; i < 200 && __atomic_load_n(&server_conn, __ATOMIC_SEQ_CST) == NULL; i++) {
        struct timespec t = {0, 10000000L};
        nanosleep(&t, NULL);
    }
    HQUIC sconn = __atomic_load_n(&server_conn, __ATOMIC_SEQ_CST);
    CHECK(sconn != NULL);

    /* Limits as the client sees them: one bidi stream, no unidi (the server's default 0). */
    CHECK(get_u16(conn, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT) == 1);
    CHECK(get_u16(conn, QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT) == 0);
    uint64_t ids[4];
    get_max_ids(conn, ids);
    CHECK(ids[0] == ((1u << 2) | 0)); /* client bidi: the server allows 1 */
    CHECK(ids[2] == ((0u << 2) | 2)); /* client uni: none */
    CHECK((ids[1] & 3) == 1 && (ids[3] & 3) == 3);
    if (sconn != NULL) {
        get_max_ids(sconn, ids);
        CHECK(ids[0] == ((1u << 2) | 0)); /* the server's own limit on the client */
        CHECK(ids[2] == ((0u << 2) | 2));
    }

    /* A: priority before start, then IMMEDIATE | INDICATE_PEER_ACCEPT | PRIORITY_WORK. */
    S a;
    s_init(&a);
    HQUIC sa = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &a, &sa) ==
          QUIC_STATUS_SUCCESS);
    CHECK(get_u16(sa, QUIC_PARAM_STREAM_PRIORITY) == 0x7FFF);
    uint16_t prio = 0x100;
    CHECK(api->SetParam(sa, QUIC_PARAM_STREAM_PRIORITY, sizeof(prio), &prio) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(sa, QUIC_PARAM_STREAM_PRIORITY, 1, &prio) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(get_u16(sa, QUIC_PARAM_STREAM_PRIORITY) == 0x100);
    /* STREAM_0RTT_LENGTH: as MsQuic, INVALID_STATE until the stream started and its sending
     * half is over; then 0 (QMux has no 0-RTT). */
    uint64_t zrtt = 0;
    uint32_t zlen = sizeof(zrtt);
    CHECK(api->GetParam(sa, QUIC_PARAM_STREAM_0RTT_LENGTH, &zlen, &zrtt) ==
          QUIC_STATUS_INVALID_STATE);
    /* Connection and TLS parameters asked through a stream are the stream's connection's. */
    CHECK(get_u16(sa, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT) ==
          get_u16(conn, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT));
    uint32_t version = 0;
    uint32_t vlen = sizeof(version);
    CHECK(api->GetParam(sa, QUIC_PARAM_CONN_QUIC_VERSION, &vlen, &version) == QUIC_STATUS_SUCCESS);
    CHECK(version == 1);
    char alpn_via_stream[16] = {0};
    vlen = sizeof(alpn_via_stream);
    CHECK(api->GetParam(sa, QUIC_PARAM_TLS_NEGOTIATED_ALPN, &vlen, alpn_via_stream) ==
          QUIC_STATUS_SUCCESS);
    CHECK(vlen > 0);
    CHECK(get_u64(sa, QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE) == 128 * 1024);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sa, QUIC_STREAM_START_FLAG_IMMEDIATE |
                                                  QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT |
                                                  QUIC_STREAM_START_FLAG_PRIORITY_WORK)));
    CHECK(counter_wait(&a.start_complete, 1, 5000));
    CHECK(a.start_status == QUIC_STATUS_SUCCESS);
    CHECK(a.peer_accepted_bit == 1);
    CHECK(a.id == 0);
    /* IMMEDIATE: the server sees the stream although nothing was sent on it. */
    CHECK(counter_wait(&server_peer_started, 1, 5000));
    prio = 0xFFFF;
    CHECK(api->SetParam(sa, QUIC_PARAM_STREAM_PRIORITY, sizeof(prio), &prio) ==
          QUIC_STATUS_SUCCESS);
    CHECK(get_u16(sa, QUIC_PARAM_STREAM_PRIORITY) == 0xFFFF);
    CHECK(api->GetParam(sa, QUIC_PARAM_STREAM_0RTT_LENGTH, &zlen, &zrtt) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(get_u16(conn, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT) == 0);

    /* B: FAIL_BLOCKED at the limit fails at once and the stream stays (no SHUTDOWN_COMPLETE). */
    S b;
    s_init(&b);
    HQUIC sb = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &b, &sb) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sb, QUIC_STREAM_START_FLAG_FAIL_BLOCKED)));
    CHECK(counter_wait(&b.start_complete, 1, 5000));
    CHECK(b.start_status == QUIC_STATUS_STREAM_LIMIT_REACHED);

    /* C: FAIL_BLOCKED | SHUTDOWN_ON_FAIL: the failure also ends the stream. */
    S c;
    s_init(&c);
    HQUIC sc = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &c, &sc) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(
        sc, QUIC_STREAM_START_FLAG_FAIL_BLOCKED | QUIC_STREAM_START_FLAG_SHUTDOWN_ON_FAIL)));
    CHECK(counter_wait(&c.start_complete, 1, 5000));
    CHECK(c.start_status == QUIC_STATUS_STREAM_LIMIT_REACHED);
    CHECK(counter_wait(&c.shutdown_complete, 1, 5000));
    api->StreamClose(sc);
    CHECK(counter_get(&b.shutdown_complete) == 0);
    api->StreamClose(sb);

    /* D: blocked by the limit; it starts with its future ID and the server hears the client
     * is blocked. */
    S d;
    s_init(&d);
    HQUIC sd = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &d, &sd) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sd, QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT)));
    CHECK(counter_wait(&d.start_complete, 1, 5000));
    CHECK(d.start_status == QUIC_STATUS_SUCCESS);
    CHECK(d.peer_accepted_bit == 0);
    CHECK(d.id == 4);
    CHECK(get_u64(sd, QUIC_PARAM_STREAM_ID) == 4);
    static QUIC_BUFFER dbuf = {1, (uint8_t*)"d"};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(sd, &dbuf, 1, QUIC_SEND_FLAG_NONE, NULL)));
    CHECK(counter_wait(&server_needs_streams, 1, 5000));
    CHECK(server_needs_bidi == 1);
    CHECK(counter_get(&d.peer_accepted) == 0);
    CHECK(counter_get(&server_peer_started) == 1);

    /* A ends both ways; the server's limit grows again and D starts. */
    int events_before = counter_get(&client_streams_available);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(sa, NULL, 0, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&a.shutdown_complete, 1, 5000));
    CHECK(get_u64(sa, QUIC_PARAM_STREAM_0RTT_LENGTH) == 0);
    api->StreamClose(sa);
    CHECK(counter_wait(&d.peer_accepted, 1, 5000));
    CHECK(counter_get(&d.start_complete) == 1);
    CHECK(counter_wait(&server_peer_started, 2, 5000));
    CHECK(counter_wait(&client_streams_available, events_before + 1, 5000));
    /* The one new slot went to D, which was waiting for it. */
    CHECK(events_before < 64 && available_bidi[events_before] == 0);

    /* E and F wait behind D with promised IDs 8 and 12; E is closed while waiting, which
     * uses up its ID without holding F back. */
    S e, f;
    s_init(&e);
    s_init(&f);
    HQUIC se = NULL, sf = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &e, &se) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &f, &sf) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(se, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sf, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(counter_wait(&e.start_complete, 1, 5000));
    CHECK(counter_wait(&f.start_complete, 1, 5000));
    CHECK(e.start_status == QUIC_STATUS_SUCCESS && e.peer_accepted_bit == 0 && e.id == 8);
    CHECK(f.start_status == QUIC_STATUS_SUCCESS && f.peer_accepted_bit == 0 && f.id == 12);
    static QUIC_BUFFER fbuf = {1, (uint8_t*)"f"};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(sf, &fbuf, 1, QUIC_SEND_FLAG_FIN, NULL)));
    api->StreamClose(se);

    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(sd, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0)));
    CHECK(counter_wait(&d.shutdown_complete, 1, 5000));
    api->StreamClose(sd);
    /* F gets in once E's ID is spent, sends its byte and FIN, and ends; no PEER_ACCEPTED
     * without INDICATE_PEER_ACCEPT. */
    CHECK(counter_wait(&f.shutdown_complete, 1, 10000));
    CHECK(counter_get(&f.peer_accepted) == 0);
    api->StreamClose(sf);

    /* G1 takes the one stream allowed; G2 waits with an ID; both end with the connection. */
    S g1, g2;
    s_init(&g1);
    s_init(&g2);
    HQUIC sg1 = NULL, sg2 = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &g1, &sg1) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sg1, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(counter_wait(&g1.start_complete, 1, 5000));
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &g2, &sg2) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(sg2, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(counter_wait(&g2.start_complete, 1, 5000));
    CHECK(g2.start_status == QUIC_STATUS_SUCCESS && g2.peer_accepted_bit == 0);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&g1.shutdown_complete, 1, 10000));
    CHECK(counter_wait(&g2.shutdown_complete, 1, 10000));
    api->StreamClose(sg1);
    api->StreamClose(sg2);
    CHECK(counter_wait(&client_done, 1, 10000));
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("stream_start");
}
