/* Buffered sends held for lack of room are not copied. The client makes 64 buffered sends of
 * 1 MiB (SendBufferingEnabled, the default) to a server that does not read: its first RECEIVE
 * returns PENDING and is not completed, so the stream window runs out and almost everything
 * waits on the client. As MsQuic, only what fits the ideal send buffer is copied (and
 * completes); the sends held behind it stay in the application's buffers, which it keeps
 * until SEND_COMPLETE anyway. So while the peer does not read, the process's resident memory
 * grows by about one send's copy plus the socket and send buffers, not by a second copy of
 * the 64 MiB held (the library copying every send at the call grew it by about 64 MiB).
 * Then the server reads: every byte arrives in order, the FIN last, and the 64 SEND_COMPLETEs
 * come in send order, none canceled. Built without ASan (programs named `memory*`), so the
 * resident figures are the real allocator's. */
#include "support/qmux_test.h"

#define ALPN "memheld"
#define SENDS 64
#define CHUNK (1024 * 1024)
#define TOTAL ((size_t)SENDS * CHUNK)
/* Allowed growth while the sends are held: one copied send, the send and read buffers of
 * both sides and the allocator's slack come to a few MiB; a copy of the held sends is 63. */
#define MAX_GROWTH_KB (16 * 1024)

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static uint8_t* data;

static volatile int released;
static HQUIC server_stream;
static uint64_t first_pending;
static Counter first_receive, server_fin, completions;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t received;
static int mismatch, out_of_order, canceled, early;
static intptr_t last_completed;

static long vm_kb(const char* field) {
    FILE* f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* Resident kB once it stops moving: read every 50 ms until two reads agree (at most 2 s). */
static long settled_rss(void) {
    long long deadline = now_ms() + 2000;
    long last = vm_kb("VmRSS");
    for (;;) {
        struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
        long now = vm_kb("VmRSS");
        if (now == last || now_ms() > deadline) return now;
        last = now;
    }
}

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
        take(ev);
        if (counter_get(&first_receive) == 0) {
            /* Kept: no credit goes back until the main thread completes it. */
            server_stream = stream;
            first_pending = ev->RECEIVE.TotalBufferLength;
            counter_add(&first_receive, 1);
            return QUIC_STATUS_PENDING;
        }
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

/* Send contexts are 1..SENDS, in send order. */
static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        intptr_t which = (intptr_t)ev->SEND_COMPLETE.ClientContext;
        pthread_mutex_lock(&lock);
        if (ev->SEND_COMPLETE.Canceled) canceled = 1;
        if (which != last_completed + 1) out_of_order = 1;
        last_completed = which;
        /* Only what fit the ideal send buffer may complete before the server reads. */
        if (!released && which > 1) early = 1;
        pthread_mutex_unlock(&lock);
        counter_add(&completions, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
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

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&first_receive);
    counter_init(&server_fin);
    counter_init(&completions);
    /* The application's own buffers: all 64 MiB, resident before the baseline. */
    data = malloc(TOTAL);
    CHECK(data != NULL);
    for (size_t i = 0; i < TOTAL; i++) data[i] = (uint8_t)(i * 13 + (i >> 11) + (i >> 20));
    QUIC_BUFFER bufs[SENDS];
    for (int i = 0; i < SENDS; i++) bufs[i] = (QUIC_BUFFER){CHUNK, data + (size_t)i * CHUNK};

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

    /* The first send opens the way (connection, TLS and stream set up), then the baseline. */
    CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &bufs[0], 1, QUIC_SEND_FLAG_NONE, (void*)1)));
    CHECK(counter_wait(&first_receive, 1, 10000));
    CHECK(counter_wait(&completions, 1, 10000));
    long base = settled_rss();
    for (int i = 1; i < SENDS; i++) {
        QUIC_SEND_FLAGS f = i == SENDS - 1 ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &bufs[i], 1, f, (void*)(intptr_t)(i + 1))));
    }
    long held = settled_rss();
    long growth = held - base;
    printf("memory_held_sends: resident %ld kB after the first send, %ld kB with %d MiB held: "
           "grew %ld kB (limit %d kB)\n",
           base, held, SENDS - 1, growth, MAX_GROWTH_KB);
    CHECK(growth < MAX_GROWTH_KB);
    pthread_mutex_lock(&lock);
    CHECK(received < TOTAL / 4);
    pthread_mutex_unlock(&lock);

    released = 1;
    api->StreamReceiveComplete(server_stream, first_pending);
    CHECK(counter_wait(&server_fin, 1, 30000));
    CHECK(counter_wait(&completions, SENDS, 30000));
    pthread_mutex_lock(&lock);
    CHECK(received == TOTAL);
    CHECK(!mismatch);
    CHECK(!canceled);
    CHECK(!out_of_order);
    CHECK(!early);
    CHECK(last_completed == SENDS);
    pthread_mutex_unlock(&lock);
    printf("memory_held_sends: peak resident %ld kB\n", vm_kb("VmHWM"));

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(data);
    return finish("memory_held_sends");
}
