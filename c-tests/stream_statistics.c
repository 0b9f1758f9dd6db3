/* QUIC_PARAM_STREAM_STATISTICS: time a stream's sending was blocked, by cause, against a
 * server allowing one bidirectional and one unidirectional stream at a time, with an 8 KiB
 * window for bidirectional streams, 64 KiB for unidirectional ones and a 16 KiB connection
 * window; the server holds the first data of later streams (RECEIVE returns PENDING) for
 * 150 ms before taking it.
 * - GetParam probing (BUFFER_TOO_SMALL with 64), NULL buffer, INVALID_STATE before start;
 * - A, started with nothing to send: blocked by the application;
 * - B, started while A holds the only slot: blocked by the stream-ID limit until A ends;
 *   then 64 KiB on it: blocked by its stream flow control while the server holds the data;
 *   the figures stay readable after the stream ended;
 * - C (unidirectional), 64 KiB: blocked by connection flow control;
 * - pacing, amplification, congestion and scheduling stay 0 (no such thing over QMux). */
#include "support/qmux_test.h"

#define HOLD_MS 150
#define MIN_US 100000ull
#define DATA 65536u

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static int server_streams = 0;

/* The server's held receive, for the main thread to complete. */
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static HQUIC held_stream = NULL;
static uint64_t held_len = 0;
static Counter held;

static QUIC_STATUS QUIC_API HoldStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    int* holding = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && *holding && ev->RECEIVE.TotalBufferLength > 0) {
        *holding = 0;
        pthread_mutex_lock(&held_lock);
        held_stream = stream;
        held_len = ev->RECEIVE.TotalBufferLength;
        pthread_mutex_unlock(&held_lock);
        counter_add(&held, 1);
        return QUIC_STATUS_PENDING;
    }
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        free(holding);
        api->StreamClose(stream);
        return QUIC_STATUS_SUCCESS;
    }
    if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API EchoStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        if (server_streams++ == 0) {
            api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)EchoStream, NULL);
        } else {
            int* holding = malloc(sizeof(int));
            *holding = 1;
            api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)HoldStream, holding);
        }
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
    Counter accepted;
    Counter sent;
    Counter done;
} S;

static void s_init(S* s) {
    memset(s, 0, sizeof(*s));
    counter_init(&s->start_complete);
    counter_init(&s->accepted);
    counter_init(&s->sent);
    counter_init(&s->done);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)stream;
    S* s = ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        if (ev->START_COMPLETE.PeerAccepted) counter_add(&s->accepted, 1);
        counter_add(&s->start_complete, 1);
        break;
    case QUIC_STREAM_EVENT_PEER_ACCEPTED:
        counter_add(&s->accepted, 1);
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        counter_add(&s->sent, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
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

static QUIC_STREAM_STATISTICS stats(HQUIC stream) {
    QUIC_STREAM_STATISTICS st;
    memset(&st, 0xFF, sizeof(st));
    uint32_t len = sizeof(st);
    CHECK(api->GetParam(stream, QUIC_PARAM_STREAM_STATISTICS, &len, &st) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(st));
    CHECK(st.ConnBlockedBySchedulingUs == 0);
    CHECK(st.ConnBlockedByPacingUs == 0);
    CHECK(st.ConnBlockedByAmplificationProtUs == 0);
    CHECK(st.ConnBlockedByCongestionControlUs == 0);
    return st;
}

static void sleep_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits for the server to hold data, keeps it HOLD_MS, then lets it go. */
static void release_held(void) {
    sleep_ms(HOLD_MS);
    pthread_mutex_lock(&held_lock);
    HQUIC s = held_stream;
    uint64_t n = held_len;
    held_stream = NULL;
    pthread_mutex_unlock(&held_lock);
    CHECK(s != NULL);
    if (s != NULL) api->StreamReceiveComplete(s, n);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&held);
    counter_init(&connected);
    counter_init(&conn_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    {
        QUIC_BUFFER a = {5, (uint8_t*)"stats"};
        QUIC_SETTINGS s;
        memset(&s, 0, sizeof(s));
        s.IsSet.PeerBidiStreamCount = TRUE;
        s.PeerBidiStreamCount = 1;
        s.IsSet.PeerUnidiStreamCount = TRUE;
        s.PeerUnidiStreamCount = 1;
        s.IsSet.StreamRecvWindowBidiRemoteDefault = TRUE;
        s.StreamRecvWindowBidiRemoteDefault = 8192;
        s.IsSet.StreamRecvWindowUnidiDefault = TRUE;
        s.StreamRecvWindowUnidiDefault = DATA;
        s.IsSet.ConnFlowControlWindow = TRUE;
        s.ConnFlowControlWindow = 16384;
        CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &server_config) ==
              QUIC_STATUS_SUCCESS);
        QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
        QUIC_CREDENTIAL_CONFIG cred;
        memset(&cred, 0, sizeof(cred));
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
        CHECK(api->ConfigurationLoadCredential(server_config, &cred) == QUIC_STATUS_SUCCESS);
    }
    HQUIC client_config = client_configuration(api, reg, "stats", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "stats");
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&connected, 1, 10000));

    S a, b, c;
    s_init(&a);
    s_init(&b);
    s_init(&c);
    HQUIC ha = NULL, hb = NULL, hc = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &a, &ha) ==
          QUIC_STATUS_SUCCESS);
    QUIC_STREAM_STATISTICS st;
    uint32_t len = 0;
    CHECK(api->GetParam(ha, QUIC_PARAM_STREAM_STATISTICS, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(QUIC_STREAM_STATISTICS) && len == 64);
    CHECK(api->GetParam(ha, QUIC_PARAM_STREAM_STATISTICS, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->GetParam(ha, QUIC_PARAM_STREAM_STATISTICS, &len, &st) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(api->SetParam(ha, QUIC_PARAM_STREAM_STATISTICS, sizeof(st), &st) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* A: started, nothing to send: the application holds it back. */
    CHECK(QUIC_SUCCEEDED(api->StreamStart(ha, QUIC_STREAM_START_FLAG_IMMEDIATE)));
    CHECK(counter_wait(&a.start_complete, 1, 5000));
    sleep_ms(HOLD_MS);
    st = stats(ha);
    CHECK(st.StreamBlockedByAppUs >= MIN_US);
    CHECK(st.StreamBlockedByIdFlowControlUs == 0);
    CHECK(st.StreamBlockedByFlowControlUs == 0);
    CHECK(st.ConnBlockedByFlowControlUs == 0);

    /* B waits for A's slot. */
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, &b, &hb) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(hb, QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT)));
    CHECK(counter_wait(&b.start_complete, 1, 5000));
    CHECK(counter_get(&b.accepted) == 0);
    sleep_ms(HOLD_MS);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(ha, NULL, 0, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&a.done, 1, 5000));
    CHECK(counter_wait(&b.accepted, 1, 5000));
    st = stats(hb);
    CHECK(st.StreamBlockedByIdFlowControlUs >= MIN_US);

    /* B's data against its 8 KiB window while the server holds it. */
    static uint8_t data[DATA];
    memset(data, 0x5A, sizeof(data));
    QUIC_BUFFER buf = {DATA, data};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(hb, &buf, 1, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&held, 1, 5000));
    release_held();
    CHECK(counter_wait(&b.sent, 1, 5000));
    st = stats(hb);
    CHECK(st.StreamBlockedByFlowControlUs >= MIN_US);
    CHECK(counter_wait(&b.done, 1, 5000));
    QUIC_STREAM_STATISTICS after = stats(hb);
    CHECK(after.StreamBlockedByFlowControlUs >= st.StreamBlockedByFlowControlUs);
    CHECK(after.StreamBlockedByIdFlowControlUs >= MIN_US);

    /* C: 64 KiB against the 16 KiB connection window. */
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, ClientStream, &c, &hc) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(hc, &buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN,
                                         NULL)));
    CHECK(counter_wait(&held, 2, 5000));
    release_held();
    CHECK(counter_wait(&c.sent, 1, 5000));
    st = stats(hc);
    CHECK(st.ConnBlockedByFlowControlUs >= MIN_US);
    CHECK(st.StreamBlockedByFlowControlUs < MIN_US);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&conn_done, 1, 5000));
    api->StreamClose(ha);
    api->StreamClose(hb);
    api->StreamClose(hc);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("stream_statistics");
}
