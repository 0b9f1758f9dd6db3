/* The send scheduler honours QUIC_PARAM_STREAM_PRIORITY. Inside CONNECTED (so nothing is
 * written until the callback returns) the client queues 4 MB on a low-priority stream and
 * then 4 MB on a high-priority one, each as 32 unbuffered sends (SendBufferingEnabled off, so
 * each SEND_COMPLETE comes when its bytes are written), the last with FIN. Flow control leaves
 * room for all of it, so a scheduler that honours priorities writes the high-priority stream
 * first: the order of the SEND_COMPLETEs shows hardly any of the low-priority stream written
 * before the last of the high one. Without priorities (round robin, or first come first
 * served) about half or all of it would be.
 * A second round with the priorities swapped by SetParam after start shows the order follows
 * the parameter, not the opening order. Then equal priorities and the scheduling scheme:
 * FIFO (MsQuic's default) writes the first stream completely before the second, and
 * QUIC_STREAM_SCHEDULING_SCHEME_ROUND_ROBIN (CONN_STREAM_SCHEDULING_SCHEME) interleaves them.
 * Both payloads are checked byte for byte in every round. */
#include "support/qmux_test.h"

#define ALPN "prio"
#define PAYLOAD (4u * 1024 * 1024)
/* Sends per stream, and how many of the losing stream's may complete before the winner's last
 * one (the chunk being written when the scheduler switches), far below the ~CHUNKS/2 round
 * robin gives. */
#define CHUNKS 32
#define SLACK 1

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static uint8_t* payload;

/* Server side: per stream, bytes received and whether they match the payload. */
typedef struct {
    uint64_t received;
    int mismatch;
} Recv;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Recv recv_by_index[2];          /* by client stream index: 0 = first opened */
static int fin_seen[2];
static Counter fins, rounds_done, completions;
/* Client side: which stream each SEND_COMPLETE belonged to, in order. */
static int completed_by[2 * CHUNKS];
static int ncompleted;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    int i = (int)(intptr_t)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        pthread_mutex_lock(&lock);
        Recv* r = &recv_by_index[i];
        for (uint32_t b = 0; b < ev->RECEIVE.BufferCount; b++) {
            const QUIC_BUFFER* buf = &ev->RECEIVE.Buffers[b];
            if (r->received + buf->Length > PAYLOAD ||
                memcmp(payload + r->received, buf->Buffer, buf->Length) != 0) {
                r->mismatch = 1;
            }
            r->received += buf->Length;
        }
        pthread_mutex_unlock(&lock);
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        pthread_mutex_lock(&lock);
        fin_seen[i] = 1;
        pthread_mutex_unlock(&lock);
        counter_add(&fins, 1);
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        uint64_t id = 0;
        uint32_t len = sizeof(id);
        CHECK(api->GetParam(ev->PEER_STREAM_STARTED.Stream, QUIC_PARAM_STREAM_ID, &len, &id) ==
              QUIC_STATUS_SUCCESS);
        /* Client bidi streams 0 and 4 of each connection: index by opening order. */
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream,
                                (void*)(intptr_t)(id == 0 ? 0 : 1));
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

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        CHECK(!ev->SEND_COMPLETE.Canceled);
        pthread_mutex_lock(&lock);
        if (ncompleted < 2 * CHUNKS) completed_by[ncompleted] = (int)(intptr_t)ctx;
        ncompleted++;
        pthread_mutex_unlock(&lock);
        counter_add(&completions, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Round 0: the second stream gets the higher priority before start. Round 1: the first
 * stream gets it after start, by SetParam. Rounds 2 and 3: equal priorities, FIFO and round
 * robin. */
static int round_no;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        static QUIC_BUFFER bufs[CHUNKS];
        for (int c = 0; c < CHUNKS; c++) {
            bufs[c].Length = PAYLOAD / CHUNKS;
            bufs[c].Buffer = payload + (size_t)c * (PAYLOAD / CHUNKS);
        }
        HQUIC s[2];
        for (int i = 0; i < 2; i++) {
            CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream,
                                  (void*)(intptr_t)i, &s[i]) == QUIC_STATUS_SUCCESS);
        }
        uint16_t low = 0x1000, high = 0xF000;
        if (round_no == 0) {
            CHECK(api->SetParam(s[0], QUIC_PARAM_STREAM_PRIORITY, sizeof(low), &low) ==
                  QUIC_STATUS_SUCCESS);
            CHECK(api->SetParam(s[1], QUIC_PARAM_STREAM_PRIORITY, sizeof(high), &high) ==
                  QUIC_STATUS_SUCCESS);
        }
        for (int i = 0; i < 2; i++) {
            CHECK(QUIC_SUCCEEDED(api->StreamStart(s[i], QUIC_STREAM_START_FLAG_NONE)));
        }
        if (round_no == 1) {
            CHECK(api->SetParam(s[1], QUIC_PARAM_STREAM_PRIORITY, sizeof(low), &low) ==
                  QUIC_STATUS_SUCCESS);
            CHECK(api->SetParam(s[0], QUIC_PARAM_STREAM_PRIORITY, sizeof(high), &high) ==
                  QUIC_STATUS_SUCCESS);
        }
        /* The stream that must lose goes first, so first-come-first-served would fail. */
        int loser = round_no == 0 ? 0 : 1;
        if (round_no >= 2) loser = 0;
        for (int order = 0; order < 2; order++) {
            HQUIC target = s[order == 0 ? loser : 1 - loser];
            for (int c = 0; c < CHUNKS; c++) {
                QUIC_SEND_FLAGS f = c == CHUNKS - 1 ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
                CHECK(QUIC_SUCCEEDED(api->StreamSend(target, &bufs[c], 1, f, NULL)));
            }
        }
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&rounds_done, 1);
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC make_server_config(HQUIC reg) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = 4;
    s.IsSet.StreamRecvWindowDefault = TRUE;
    s.StreamRecvWindowDefault = 16u * 1024 * 1024;
    s.IsSet.ConnFlowControlWindow = TRUE;
    s.ConnFlowControlWindow = 64u * 1024 * 1024;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&fins);
    counter_init(&rounds_done);
    counter_init(&completions);
    payload = malloc(PAYLOAD);
    for (uint32_t i = 0; i < PAYLOAD; i++) payload[i] = (uint8_t)(i * 31 + (i >> 13));
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = make_server_config(reg);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);

    for (round_no = 0; round_no < 4; round_no++) {
        memset(recv_by_index, 0, sizeof(recv_by_index));
        memset(fin_seen, 0, sizeof(fin_seen));
        ncompleted = 0;
        HQUIC conn = NULL;
        CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
        QUIC_SETTINGS unbuffered;
        memset(&unbuffered, 0, sizeof(unbuffered));
        unbuffered.IsSet.SendBufferingEnabled = TRUE;
        unbuffered.SendBufferingEnabled = FALSE;
        CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(unbuffered), &unbuffered) ==
              QUIC_STATUS_SUCCESS);
        uint32_t scheme = 0xBEEF;
        uint32_t len = sizeof(scheme);
        CHECK(api->GetParam(conn, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, &len, &scheme) ==
              QUIC_STATUS_SUCCESS);
        CHECK(scheme == QUIC_STREAM_SCHEDULING_SCHEME_FIFO);
        if (round_no == 3) {
            scheme = QUIC_STREAM_SCHEDULING_SCHEME_COUNT;
            CHECK(api->SetParam(conn, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, sizeof(scheme),
                                &scheme) == QUIC_STATUS_INVALID_PARAMETER);
            scheme = QUIC_STREAM_SCHEDULING_SCHEME_ROUND_ROBIN;
            CHECK(api->SetParam(conn, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, sizeof(scheme),
                                &scheme) == QUIC_STATUS_SUCCESS);
        }
        CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                                   "localhost", port)));
        CHECK(counter_wait(&fins, 2 * (round_no + 1), 30000));
        CHECK(counter_wait(&completions, 2 * CHUNKS * (round_no + 1), 30000));
        pthread_mutex_lock(&lock);
        int winner = round_no == 1 ? 0 : 1;
        if (round_no >= 2) winner = 0;
        /* Sends of the other stream completed before the winner's last one. */
        int last = 0, other_before = 0;
        for (int n = 0; n < 2 * CHUNKS; n++) {
            if (completed_by[n] == winner) last = n;
        }
        for (int n = 0; n < last; n++) other_before += completed_by[n] != winner;
        printf("round %d: %d of the other stream's sends completed before the first one's last\n",
               round_no, other_before);
        CHECK(fin_seen[0] && fin_seen[1]);
        if (round_no < 3) {
            CHECK(other_before <= SLACK);
        } else {
            /* Round robin: the two went out side by side. */
            CHECK(other_before >= CHUNKS / 4);
        }
        for (int i = 0; i < 2; i++) {
            CHECK(recv_by_index[i].received == PAYLOAD);
            CHECK(!recv_by_index[i].mismatch);
        }
        pthread_mutex_unlock(&lock);
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        CHECK(counter_wait(&rounds_done, round_no + 1, 10000));
    }

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(payload);
    return finish("stream_priority");
}
