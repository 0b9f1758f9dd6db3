/* Multi-receive mode (StreamMultiReceiveEnabled) over QMux/TLS: the server sends DATA_LEN
 * bytes with FIN on a stream the client opened; the client has multi-receive on and a
 * stream window of WINDOW bytes.
 *  1. The client returns PENDING for every RECEIVE and completes nothing: RECEIVE events keep
 *     coming (each with new bytes at the next offset) until exactly WINDOW bytes arrived, and
 *     then no more: credit goes back only as bytes are completed.
 *  2. A completer thread completes bytes in pieces that match no event (oldest first),
 *     checking the bytes it completes are still intact, while the handler keeps returning
 *     PENDING or accepts half of an event inline (SUCCESS with a lower TotalBufferLength).
 *  3. The last RECEIVE carries FIN; PEER_SEND_SHUTDOWN comes only once every byte was
 *     completed. */
#include "msquic.h"

#include "support/qmux_test.h"

#include <pthread.h>

#define DATA_LEN (4 * 1024 * 1024)
#define WINDOW (64 * 1024)
#define PIECE 7777 /* the completer's step: matches no event's size */

static const QUIC_API_TABLE* api;
static HQUIC server_cfg;
static uint8_t pattern[DATA_LEN];

/* ---- server: sends FIRST bytes once the client's stream arrives; the main thread sends the
 * rest with FIN once the client holds those PENDING ---- */
#define FIRST 1000
static HQUIC server_stream;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN)) {
        static QUIC_BUFFER buf = {FIRST, pattern};
        server_stream = stream;
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_NONE, NULL)));
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConn(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE &&
               !ev->SHUTDOWN_COMPLETE.AppCloseInProgress) {
        api->ConnectionClose(conn);
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

/* ---- client: what it was handed and has not completed, oldest first ---- */
typedef struct {
    const uint8_t* ptr;
    uint64_t offset, len;
} Piece;

#define MAX_PIECES 65536
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Piece pieces[MAX_PIECES];
static size_t head = 0, tail = 0;
static uint64_t received = 0;  /* sum of TotalBufferLength */
static uint64_t completed = 0; /* bytes completed, inline or not */
static int events = 0;
static int phase2 = 0;
static int fin_flag_seen = 0;
static HQUIC client_stream;
static Counter recv_bytes, fin_seen, conn_done;

/* Takes `n` bytes off the front of the outstanding pieces, checking each piece's bytes are
 * intact before it is given back. Called with `lock` held. */
static void take_front(uint64_t n) {
    completed += n;
    while (n > 0 && head != tail) {
        Piece* p = &pieces[head % MAX_PIECES];
        CHECK(memcmp(p->ptr, pattern + p->offset, p->len) == 0);
        uint64_t k = n < p->len ? n : p->len;
        p->ptr += k;
        p->offset += k;
        p->len -= k;
        n -= k;
        if (p->len == 0) head++;
    }
    CHECK(n == 0);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        pthread_mutex_lock(&lock);
        /* Each RECEIVE starts where the last ended: nothing is offered twice. */
        CHECK(ev->RECEIVE.AbsoluteOffset == received);
        CHECK(!fin_flag_seen);
        uint64_t at = ev->RECEIVE.AbsoluteOffset;
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            CHECK(at + b->Length <= DATA_LEN);
            if (at + b->Length > DATA_LEN) break;
            CHECK(memcmp(b->Buffer, pattern + at, b->Length) == 0);
            CHECK(tail - head < MAX_PIECES);
            pieces[tail % MAX_PIECES] = (Piece){b->Buffer, at, b->Length};
            tail++;
            at += b->Length;
        }
        uint64_t total = ev->RECEIVE.TotalBufferLength;
        CHECK(at - ev->RECEIVE.AbsoluteOffset == total);
        received += total;
        if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) {
            CHECK(received == DATA_LEN);
            fin_flag_seen = 1;
        }
        events++;
        QUIC_STATUS status = QUIC_STATUS_PENDING;
        if (phase2 && events % 3 == 0 && total >= 2) {
            /* Half accepted inline; in multi-receive mode, the oldest bytes. */
            take_front(total / 2);
            ev->RECEIVE.TotalBufferLength = total / 2;
            status = QUIC_STATUS_SUCCESS;
        }
        pthread_mutex_unlock(&lock);
        counter_add(&recv_bytes, (int)total);
        return status;
    }
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        pthread_mutex_lock(&lock);
        CHECK(fin_flag_seen);
        CHECK(completed == DATA_LEN);
        pthread_mutex_unlock(&lock);
        counter_add(&fin_seen, 1);
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
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL,
                              &client_stream) == QUIC_STATUS_SUCCESS);
        static uint8_t go[] = "go";
        static QUIC_BUFFER buf = {2, go};
        CHECK(QUIC_SUCCEEDED(api->StreamSend(client_stream, &buf, 1,
                                             QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&conn_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Completes outstanding bytes PIECE at a time until everything is completed. */
static void* completer(void* arg) {
    (void)arg;
    long long deadline = now_ms() + 60000;
    for (;;) {
        pthread_mutex_lock(&lock);
        uint64_t outstanding = received - completed;
        uint64_t n = outstanding < PIECE ? outstanding : PIECE;
        int done = completed == DATA_LEN;
        if (n > 0) take_front(n);
        pthread_mutex_unlock(&lock);
        if (done || now_ms() > deadline) break;
        if (n > 0) {
            api->StreamReceiveComplete(client_stream, n);
        } else {
            counter_wait(&recv_bytes, counter_get(&recv_bytes) + 1, 100);
        }
    }
    return NULL;
}

int main(void) {
    if (!have_test_cert()) return 1;
    for (size_t i = 0; i < DATA_LEN; i++) pattern[i] = (uint8_t)(i * 13 + (i >> 12));
    counter_init(&recv_bytes);
    counter_init(&fin_seen);
    counter_init(&conn_done);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_cfg = server_configuration(api, reg, "multi", 4, 0);

    QUIC_BUFFER alpn = {5, (uint8_t*)"multi"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.StreamMultiReceiveEnabled = TRUE;
    s.StreamMultiReceiveEnabled = TRUE;
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
    uint16_t port = start_listener(api, listener, "multi");
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConn, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_cfg, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));

    /* 1. Everything PENDING: RECEIVE comes again while the first is outstanding, until the
     *    window is full, and stops there. */
    CHECK(counter_wait(&recv_bytes, FIRST, 20000));
    pthread_mutex_lock(&lock);
    CHECK(events == 1 && received == FIRST);
    pthread_mutex_unlock(&lock);
    static QUIC_BUFFER rest = {DATA_LEN - FIRST, pattern + FIRST};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(server_stream, &rest, 1, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&recv_bytes, WINDOW, 20000));
    CHECK(!counter_wait(&recv_bytes, WINDOW + 1, 500));
    pthread_mutex_lock(&lock);
    CHECK(received == WINDOW);
    CHECK(completed == 0);
    CHECK(events >= 2);
    phase2 = 1;
    pthread_mutex_unlock(&lock);

    /* 2. Completions from another thread, in pieces matching no event. */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, completer, NULL) == 0);
    pthread_join(t, NULL);

    /* 3. FIN, then PEER_SEND_SHUTDOWN once all was completed. */
    CHECK(counter_wait(&fin_seen, 1, 20000));
    pthread_mutex_lock(&lock);
    CHECK(received == DATA_LEN && completed == DATA_LEN);
    CHECK(events > 2);
    pthread_mutex_unlock(&lock);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&conn_done, 1, 20000));
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_cfg);
    api->ConfigurationClose(server_cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("multi_receive");
}
