/* Streams at scale on one connection each, with deadlines throughout:
 * 1. 10,000 bidirectional streams opened, used (4 bytes echoed) and finished one after
 *    another, against a server allowing 100 at a time (so MAX_STREAMS keeps topping up);
 * 2. 1,000 streams open at once (the server allows 1,000), each echoing its own few bytes
 *    before any of them finishes;
 * 3. 100 MB through one stream, checked byte by byte on the server, sent in 1 MB pieces with
 *    a few sends outstanding: once in buffered mode (the default, sends copied) and once in
 *    unbuffered mode (SendBufferingEnabled=0: the library holds the application's buffers;
 *    IDEAL_SEND_BUFFER_SIZE shows the mode is in effect).
 * STREAM_SCALE_MB overrides the size of 3 (in MB). memory_scale.c includes this file (with
 * STREAM_SCALE_NO_MAIN) to run the same phases under a heap count. */
#define _GNU_SOURCE /* PTHREAD_MUTEX_RECURSIVE */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config_100, server_config_1000;
static HQUIC server_config; /* the one the listener hands out now */
static int verify_mode = 0; /* phase 3: the server checks bytes instead of echoing */

/* ---- server ---- */

#define PATTERN_PERIOD 251
static uint64_t server_verified = 0;
static uint64_t server_mismatches = 0;
static int server_fin = 0;

static QUIC_STATUS QUIC_API ServerEcho(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerVerify(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        uint64_t off = ev->RECEIVE.AbsoluteOffset;
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            uint32_t phase = (uint32_t)(off % PATTERN_PERIOD);
            for (uint32_t j = 0; j < b->Length; j++) {
                if (b->Buffer[j] != (uint8_t)phase) {
                    __atomic_fetch_add(&server_mismatches, 1, __ATOMIC_SEQ_CST);
                }
                if (++phase == PATTERN_PERIOD) phase = 0;
            }
            off += b->Length;
        }
        __atomic_fetch_add(&server_verified, ev->RECEIVE.TotalBufferLength, __ATOMIC_SEQ_CST);
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        __atomic_store_n(&server_fin, 1, __ATOMIC_SEQ_CST);
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
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream,
                                __atomic_load_n(&verify_mode, __ATOMIC_SEQ_CST)
                                    ? (void*)ServerVerify : (void*)ServerEcho, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection,
                                           __atomic_load_n(&server_config, __ATOMIC_SEQ_CST));
}

/* ---- client ---- */

static Counter connected, conn_done;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&conn_done, 1);
    return QUIC_STATUS_SUCCESS;
}

/* One echoing stream. */
typedef struct {
    char sent[16];
    uint32_t sent_len;
    QUIC_BUFFER buf;
    char got[16];
    uint32_t got_len;
    int start_failed;
    Counter* echoed;   /* bumped when the whole echo is back */
    Counter* finished; /* bumped at SHUTDOWN_COMPLETE */
} Echo;

static QUIC_STATUS QUIC_API ClientEcho(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    Echo* e = ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        if (QUIC_FAILED(ev->START_COMPLETE.Status)) e->start_failed = 1;
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (e->got_len + b->Length <= sizeof(e->got)) {
                memcpy(e->got + e->got_len, b->Buffer, b->Length);
            }
            e->got_len += b->Length;
        }
        if (ev->RECEIVE.TotalBufferLength > 0 && e->got_len == e->sent_len) {
            counter_add(e->echoed, 1);
        }
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        counter_add(e->finished, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC connect_to(HQUIC reg, HQUIC cfg, uint16_t port) {
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    int before = counter_get(&connected);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&connected, before + 1, 10000));
    return conn;
}

static void disconnect(HQUIC conn) {
    int before = counter_get(&conn_done);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&conn_done, before + 1, 10000));
    api->ConnectionClose(conn);
}

/* 1. One after another. */
static void sequential(HQUIC reg, HQUIC cfg, uint16_t port, int count) {
    __atomic_store_n(&verify_mode, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&server_config, server_config_100, __ATOMIC_SEQ_CST);
    HQUIC conn = connect_to(reg, cfg, port);
    Counter echoed, finished;
    counter_init(&echoed);
    counter_init(&finished);
    long long t0 = now_ms();
    int bad = 0;
    for (int i = 0; i < count && failures == 0; i++) {
        Echo e;
        memset(&e, 0, sizeof(e));
        e.sent_len = (uint32_t)snprintf(e.sent, sizeof(e.sent), "%04x", i & 0xFFFF);
        e.buf.Length = e.sent_len;
        e.buf.Buffer = (uint8_t*)e.sent;
        e.echoed = &echoed;
        e.finished = &finished;
        HQUIC s = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientEcho, &e, &s) ==
              QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(
            api->StreamSend(s, &e.buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
        CHECK(counter_wait(&finished, i + 1, 10000));
        if (e.got_len != e.sent_len || memcmp(e.got, e.sent, e.sent_len) != 0 || e.start_failed) {
            bad++;
        }
    }
    CHECK(bad == 0);
    CHECK(counter_get(&finished) == count);
    printf("sequential: %d streams in %lld ms\n", count, now_ms() - t0);
    disconnect(conn);
    counter_destroy(&echoed);
    counter_destroy(&finished);
}

/* 2. All open at once. */
static void concurrent(HQUIC reg, HQUIC cfg, uint16_t port, int count) {
    __atomic_store_n(&verify_mode, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&server_config, server_config_1000, __ATOMIC_SEQ_CST);
    HQUIC conn = connect_to(reg, cfg, port);
    uint16_t avail = 0;
    uint32_t len = sizeof(avail);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT, &len, &avail) ==
          QUIC_STATUS_SUCCESS);
    CHECK(avail == count);
    Counter echoed, finished;
    counter_init(&echoed);
    counter_init(&finished);
    Echo* es = calloc((size_t)count, sizeof(Echo));
    HQUIC* hs = calloc((size_t)count, sizeof(HQUIC));
    long long t0 = now_ms();
    for (int i = 0; i < count; i++) {
        Echo* e = &es[i];
        e->sent_len = (uint32_t)snprintf(e->sent, sizeof(e->sent), "s%d", i);
        e->buf.Length = e->sent_len;
        e->buf.Buffer = (uint8_t*)e->sent;
        e->echoed = &echoed;
        e->finished = &finished;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientEcho, e, &hs[i]) ==
              QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->StreamStart(hs[i], QUIC_STREAM_START_FLAG_FAIL_BLOCKED)));
        CHECK(QUIC_SUCCEEDED(api->StreamSend(hs[i], &e->buf, 1, QUIC_SEND_FLAG_NONE, NULL)));
    }
    /* Every echo is back while all of the streams are still open. */
    CHECK(counter_wait(&echoed, count, 30000));
    CHECK(counter_get(&finished) == 0);
    for (int i = 0; i < count; i++) {
        CHECK(QUIC_SUCCEEDED(api->StreamShutdown(hs[i], QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0)));
    }
    CHECK(counter_wait(&finished, count, 30000));
    int bad = 0;
    for (int i = 0; i < count; i++) {
        Echo* e = &es[i];
        if (e->start_failed || e->got_len != e->sent_len ||
            memcmp(e->got, e->sent, e->sent_len) != 0) {
            bad++;
        }
    }
    CHECK(bad == 0);
    printf("concurrent: %d streams in %lld ms\n", count, now_ms() - t0);
    disconnect(conn);
    free(es);
    free(hs);
    counter_destroy(&echoed);
    counter_destroy(&finished);
}

/* 3. One big stream. */
#define CHUNK (1024 * 1024)
#define OUTSTANDING 4
static uint8_t* pattern;  /* CHUNK + PATTERN_PERIOD bytes of the repeating pattern */
typedef struct {
    HQUIC stream;
    uint64_t total;
    uint64_t next; /* offset of the next byte to send */
    pthread_mutex_t lock;
    QUIC_BUFFER bufs[OUTSTANDING];
    int send_failed;
    int ideal_events; /* IDEAL_SEND_BUFFER_SIZE: raised in unbuffered mode only */
    Counter finished;
} Bulk;

/* Queues the next piece, if any; called with `b->lock` held. */
static void bulk_send_next(Bulk* b, QUIC_BUFFER* slot) {
    if (b->next >= b->total) return;
    uint64_t n = b->total - b->next;
    if (n > CHUNK) n = CHUNK;
    slot->Buffer = pattern + (b->next % PATTERN_PERIOD);
    slot->Length = (uint32_t)n;
    b->next += n;
    QUIC_SEND_FLAGS flags = b->next == b->total ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
    if (QUIC_FAILED(api->StreamSend(b->stream, slot, 1, flags, slot))) b->send_failed = 1;
}

static QUIC_STATUS QUIC_API ClientBulk(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    Bulk* b = ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (ev->SEND_COMPLETE.Canceled) b->send_failed = 1;
        pthread_mutex_lock(&b->lock);
        bulk_send_next(b, ev->SEND_COMPLETE.ClientContext);
        pthread_mutex_unlock(&b->lock);
        break;
    case QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE:
        b->ideal_events++;
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        counter_add(&b->finished, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void bulk(HQUIC reg, HQUIC cfg, uint16_t port, uint64_t total, int unbuffered) {
    __atomic_store_n(&server_config, server_config_100, __ATOMIC_SEQ_CST);
    __atomic_store_n(&verify_mode, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&server_verified, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&server_fin, 0, __ATOMIC_SEQ_CST);
    pattern = malloc(CHUNK + PATTERN_PERIOD);
    for (size_t i = 0; i < CHUNK + PATTERN_PERIOD; i++) pattern[i] = (uint8_t)(i % PATTERN_PERIOD);
    HQUIC conn = connect_to(reg, cfg, port);
    Bulk b;
    memset(&b, 0, sizeof(b));
    b.total = total;
    /* Recursive: harmless, and safe even if a completion ever nested inside StreamSend. */
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&b.lock, &attr);
    pthread_mutexattr_destroy(&attr);
    counter_init(&b.finished);
    long long t0 = now_ms();
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientBulk, &b, &b.stream) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(b.stream, QUIC_STREAM_START_FLAG_NONE)));
    pthread_mutex_lock(&b.lock);
    for (int i = 0; i < OUTSTANDING; i++) bulk_send_next(&b, &b.bufs[i]);
    pthread_mutex_unlock(&b.lock);
    CHECK(counter_wait(&b.finished, 1, 50000));
    long long ms = now_ms() - t0;
    CHECK(!b.send_failed);
    CHECK(__atomic_load_n(&server_fin, __ATOMIC_SEQ_CST) == 1);
    CHECK(__atomic_load_n(&server_verified, __ATOMIC_SEQ_CST) == total);
    CHECK(__atomic_load_n(&server_mismatches, __ATOMIC_SEQ_CST) == 0);
    /* As MsQuic: IDEAL_SEND_BUFFER_SIZE comes whether sends are buffered or not. */
    CHECK(b.ideal_events > 0);
    printf("bulk (%s): %llu bytes in %lld ms\n", unbuffered ? "unbuffered" : "buffered",
           (unsigned long long)total, ms);
    disconnect(conn);
    counter_destroy(&b.finished);
    pthread_mutex_destroy(&b.lock);
    free(pattern);
}

#ifndef STREAM_SCALE_NO_MAIN
int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&connected);
    counter_init(&conn_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config_100 = server_configuration(api, reg, "scale", 100, 0);
    server_config_1000 = server_configuration(api, reg, "scale", 1000, 0);
    server_config = server_config_100;
    HQUIC cfg = client_configuration(api, reg, "scale", 0);
    HQUIC cfg_unbuffered = client_configuration(api, reg, "scale", 0);
    QUIC_SETTINGS unbuffered;
    memset(&unbuffered, 0, sizeof(unbuffered));
    unbuffered.IsSet.SendBufferingEnabled = TRUE;
    unbuffered.SendBufferingEnabled = FALSE;
    CHECK(api->SetParam(cfg_unbuffered, QUIC_PARAM_CONFIGURATION_SETTINGS, sizeof(unbuffered),
                        &unbuffered) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "scale");

    uint64_t mb = 100;
    const char* env = getenv("STREAM_SCALE_MB");
    if (env != NULL) mb = strtoull(env, NULL, 10);

    sequential(reg, cfg, port, 10000);
    if (failures == 0) concurrent(reg, cfg, port, 1000);
    if (failures == 0) bulk(reg, cfg, port, mb * 1024 * 1024, 0);
    if (failures == 0) bulk(reg, cfg_unbuffered, port, mb * 1024 * 1024, 1);

    api->ListenerClose(listener);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(cfg_unbuffered);
    api->ConfigurationClose(server_config_100);
    api->ConfigurationClose(server_config_1000);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("stream_scale");
}
#endif
