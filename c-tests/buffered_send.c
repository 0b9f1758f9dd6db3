/* Buffered sends (SendBufferingEnabled, the default) complete at once while there is room and
 * are held when there is not. The server's first RECEIVE returns PENDING and is not completed,
 * so the peer's stream window (64 KiB) runs out. Meanwhile, on the client:
 * - a 64 KiB send and then twenty 1 KiB sends all complete before the server releases
 *   anything: they were copied, although flow control keeps most bytes off the wire. The
 *   small sends are made inside the first send's SEND_COMPLETE, and their own completions
 *   never nest inside that callback (MsQuic does not re-enter the application);
 * - a 200 KiB send still completes (there was room when it came), but the send after it does
 *   not: the bytes waiting exceed the ideal send buffer, so it is held, and it completes
 *   only after the server lets credit flow again (its SEND_COMPLETE sees `released` set);
 * - every byte arrives in order. */
#include "support/qmux_test.h"

#define ALPN "buffered"
#define SMALL 20
#define BIG (200 * 1024)
#define WINDOW (64 * 1024)
#define TOTAL (WINDOW + SMALL * 1024 + BIG + 1024)

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static uint8_t* data;

static volatile int released;
static HQUIC server_stream;
static uint64_t first_pending;
static Counter first_receive, server_fin, completions_before_release, held_completed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t received;
static int mismatch, completed_early, completed_late, held_early, nested;
static __thread int depth;
static QUIC_BUFFER bufs[SMALL + 3];

static void take(const QUIC_STREAM_EVENT* ev) {
    pthread_mutex_lock(&lock);
    for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
        const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
        if (received + b->Length > TOTAL || memcmp(data + received, b->Buffer, b->Length) != 0) {
            mismatch = 1;
        }
        received += b->Length;
    }
    pthread_mutex_unlock(&lock);
}

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        if (counter_get(&first_receive) == 0) {
            /* Keep the first bytes: no credit goes back until the main thread completes. */
            take(ev);
            server_stream = stream;
            first_pending = ev->RECEIVE.TotalBufferLength;
            counter_add(&first_receive, 1);
            return QUIC_STATUS_PENDING;
        }
        take(ev);
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        counter_add(&server_fin, 1);
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    return echo_connection_event(api, conn, ev, (void*)ServerStream, NULL);
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

/* Send contexts: 1 the window filler, 2..SMALL+1 the small ones, 100 the big one, 200 the
 * held one. */
static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (++depth > 1) nested = 1;
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        intptr_t which = (intptr_t)ev->SEND_COMPLETE.ClientContext;
        CHECK(!ev->SEND_COMPLETE.Canceled);
        if (which == 1) {
            for (int i = 0; i < SMALL; i++) {
                CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &bufs[1 + i], 1, QUIC_SEND_FLAG_NONE,
                                                     (void*)(intptr_t)(2 + i))));
            }
        }
        if (which == 200) {
            if (!released) held_early = 1;
            counter_add(&held_completed, 1);
        } else {
            if (released) completed_late++;
            else completed_early++;
            counter_add(&completions_before_release, 1);
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    depth--;
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    (void)conn;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&first_receive);
    counter_init(&server_fin);
    counter_init(&completions_before_release);
    counter_init(&held_completed);
    data = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++) data[i] = (uint8_t)(i * 13 + (i >> 11));

    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE)));

    size_t at = 0;
    bufs[0] = (QUIC_BUFFER){WINDOW, data};
    at += WINDOW;
    for (int i = 0; i < SMALL; i++) {
        bufs[1 + i] = (QUIC_BUFFER){1024, data + at};
        at += 1024;
    }
    /* The small sends follow from inside this one's SEND_COMPLETE. */
    CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &bufs[0], 1, QUIC_SEND_FLAG_NONE, (void*)1)));
    CHECK(counter_wait(&first_receive, 1, 10000));
    CHECK(counter_wait(&completions_before_release, 1 + SMALL, 10000));
    bufs[SMALL + 1] = (QUIC_BUFFER){BIG, data + at};
    at += BIG;
    CHECK(QUIC_SUCCEEDED(
        api->StreamSend(stream, &bufs[SMALL + 1], 1, QUIC_SEND_FLAG_NONE, (void*)100)));
    CHECK(counter_wait(&completions_before_release, 2 + SMALL, 10000));
    bufs[SMALL + 2] = (QUIC_BUFFER){1024, data + at};
    at += 1024;
    CHECK(at == TOTAL);
    CHECK(QUIC_SUCCEEDED(
        api->StreamSend(stream, &bufs[SMALL + 2], 1, QUIC_SEND_FLAG_FIN, (void*)200)));

    /* Flow control held the server at the window while all that completed. */
    pthread_mutex_lock(&lock);
    CHECK(received <= WINDOW);
    pthread_mutex_unlock(&lock);

    released = 1;
    api->StreamReceiveComplete(server_stream, first_pending);
    CHECK(counter_wait(&held_completed, 1, 10000));
    CHECK(counter_wait(&server_fin, 1, 10000));
    pthread_mutex_lock(&lock);
    CHECK(received == TOTAL);
    CHECK(!mismatch);
    pthread_mutex_unlock(&lock);
    CHECK(completed_early == 2 + SMALL);
    CHECK(completed_late == 0);
    CHECK(!held_early);
    CHECK(!nested);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(data);
    return finish("buffered_send");
}
