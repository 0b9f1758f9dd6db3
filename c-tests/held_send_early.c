/* A buffered send held for lack of room completes as soon as written bytes free room, before
 * its own bytes are written (MsQuic copies it into its send buffer once earlier buffered
 * bytes are acknowledged; over QMux, written counts as acknowledged). The client sends A (twice
 * the ideal send buffer, 256 KiB), B (2 MiB) and C (128 KiB, with FIN) on one stream, B and C
 * taken while more than the ideal of A waits unwritten; the server consumes only up
 * to a budget the main thread raises (a partial consume pauses its RECEIVE events until
 * StreamReceiveSetEnabled), so its stream window keeps the client from writing far ahead:
 * - A is copied and completes at once; B and C are held (the buffer is full with A);
 * - the server is let consume A's bytes: A is written, which frees the buffer, so B is
 *   copied and completes although the server has not received B's bytes (and cannot: it
 *   consumes nothing past A, and its stream window, even grown, is far smaller than B); C
 *   stays held, as B's copy fills the buffer again;
 * - the server is let consume everything: C completes, every byte arrives in order, and the
 *   completions came in send order. */
#include "support/qmux_test.h"

#define ALPN "heldearly"
#define CHUNK (128 * 1024)
#define A_LEN (2 * CHUNK)
#define B_LEN (16 * CHUNK)
#define TOTAL (A_LEN + B_LEN + CHUNK)

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static uint8_t* data;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static HQUIC server_stream;
static uint64_t budget, consumed, consumed_at_b;
static int mismatch, c_done_at_b, order_ok = 1, last_done, canceled;
static Counter server_seen, done_a, done_b, done_c, server_fin, client_done;
static QUIC_BUFFER bufs[3];
static const size_t lens[3] = {A_LEN, B_LEN, CHUNK};

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        pthread_mutex_lock(&lock);
        server_stream = stream;
        uint64_t take = budget - consumed;
        if (take > ev->RECEIVE.TotalBufferLength) take = ev->RECEIVE.TotalBufferLength;
        uint64_t left = take;
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount && left > 0; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            uint64_t n = b->Length < left ? b->Length : left;
            if (consumed + n > TOTAL || memcmp(data + consumed, b->Buffer, n) != 0) mismatch = 1;
            consumed += n;
            left -= n;
        }
        /* Less than offered: RECEIVE pauses until StreamReceiveSetEnabled. */
        ev->RECEIVE.TotalBufferLength = take;
        pthread_mutex_unlock(&lock);
        counter_add(&server_seen, 1);
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

/* Send contexts 1, 2, 3: A, B, C. */
static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        int which = (int)(intptr_t)ev->SEND_COMPLETE.ClientContext;
        if (ev->SEND_COMPLETE.Canceled) canceled = 1;
        if (which != last_done + 1) order_ok = 0;
        last_done = which;
        if (which == 1) counter_add(&done_a, 1);
        if (which == 2) {
            pthread_mutex_lock(&lock);
            consumed_at_b = consumed;
            pthread_mutex_unlock(&lock);
            c_done_at_b = counter_get(&done_c) != 0;
            counter_add(&done_b, 1);
        }
        if (which == 3) counter_add(&done_c, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
        counter_add(&client_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    (void)conn;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

/* Lets the server consume up to `to` bytes and resumes its RECEIVE events. */
static void allow(uint64_t to) {
    pthread_mutex_lock(&lock);
    budget = to;
    HQUIC s = server_stream;
    pthread_mutex_unlock(&lock);
    CHECK(s != NULL);
    CHECK(QUIC_SUCCEEDED(api->StreamReceiveSetEnabled(s, TRUE)));
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&server_seen);
    counter_init(&done_a);
    counter_init(&done_b);
    counter_init(&done_c);
    counter_init(&server_fin);
    counter_init(&client_done);
    data = malloc(TOTAL);
    for (size_t i = 0; i < TOTAL; i++) data[i] = (uint8_t)(i * 7 + (i >> 12));

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
    for (int i = 0; i < 3; i++) {
        bufs[i] = (QUIC_BUFFER){(uint32_t)lens[i], data + at};
        at += lens[i];
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &bufs[i], 1,
                                             i == 2 ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE,
                                             (void*)(intptr_t)(i + 1))));
    }
    /* A completes at once; the server's first RECEIVE (budget 0) consumes nothing. */
    CHECK(counter_wait(&done_a, 1, 10000));
    CHECK(counter_wait(&server_seen, 1, 10000));
    CHECK(counter_get(&done_b) == 0);

    /* The server takes A's bytes: B completes before its bytes reach the server. */
    allow(A_LEN);
    CHECK(counter_wait(&done_b, 1, 10000));
    pthread_mutex_lock(&lock);
    CHECK(consumed_at_b <= A_LEN);
    pthread_mutex_unlock(&lock);
    CHECK(!c_done_at_b);
    CHECK(counter_get(&done_c) == 0);

    /* Everything else. */
    allow(TOTAL);
    CHECK(counter_wait(&done_c, 1, 10000));
    CHECK(counter_wait(&server_fin, 1, 10000));
    /* The server's FIN back ends the client's stream. */
    CHECK(counter_wait(&client_done, 1, 10000));
    pthread_mutex_lock(&lock);
    CHECK(consumed == TOTAL);
    CHECK(!mismatch);
    pthread_mutex_unlock(&lock);
    CHECK(order_ok);
    CHECK(!canceled);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(data);
    return finish("held_send_early");
}
