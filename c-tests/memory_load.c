/* Load through one listener, in one process over loopback: 1,000 concurrent TLS connections,
 * then 10 streams on each, every stream sending 10 KB with FIN to the server, which echoes it
 * back; the client checks every stream's echo byte for byte. Reports on stdout what the
 * connections cost: resident memory (VmRSS) and live heap (mallinfo2) per connection once they
 * are all connected and idle, and the peak resident memory (VmHWM) per connection over the
 * whole run. A connection here is a client and its server side (both in this process).
 * Built without ASan (programs named `memory*`), so the figures are the real allocator's.
 * The idle and peak figures must stay under IDLE_LIMIT and PEAK_LIMIT: connections hold no
 * send or receive buffer while nothing waits in it (before that, an idle pair kept about
 * 170 KB resident and the run peaked near 640 KB a pair, mostly buffers).
 * MEMORY_LOAD_CONNECTIONS=n overrides the count (for measuring by hand). */
#include "support/qmux_test.h"

#include <malloc.h>
#include <sys/resource.h>

#define ALPN "memload"
#define CONNECTIONS 1000
#define STREAMS 10
#define STREAM_BYTES 10000
/* Bytes per connection (client and server side) allowed idle and at the peak. */
#define IDLE_LIMIT (80 * 1024)
#define PEAK_LIMIT (300 * 1024)
/* Live heap per connection once every stream is over: a connection keeps no table sized for
 * the streams it had (about 44 KB a pair with the tables kept). */
#define AFTER_HEAP_LIMIT (38 * 1024)
/* The pattern the streams send slices of. */
#define PATTERN (64 * 1024)

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static uint8_t pattern[PATTERN];
static int connections = CONNECTIONS;

typedef struct {
    const uint8_t* expect;
    size_t got;
    int bad;
    QUIC_BUFFER buf;
} StreamCtx;

static HQUIC* conns;
static StreamCtx* streams;
static Counter client_connected, server_connected, echoed, client_complete, server_complete;
static int bad_echo, failed_conn;

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

static long long live_bytes(void) {
    struct mallinfo2 m = mallinfo2();
    return (long long)(m.uordblks + m.hblkhd);
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

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&server_connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&server_complete, 1);
    return echo_connection_event(api, conn, ev, (void*)ServerStream, NULL);
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    StreamCtx* s = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (s->got + b->Length > STREAM_BYTES ||
                memcmp(s->expect + s->got, b->Buffer, b->Length) != 0) {
                s->bad = 1;
            }
            s->got += b->Length;
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        if (s->bad || s->got != STREAM_BYTES) __atomic_store_n(&bad_echo, 1, __ATOMIC_SEQ_CST);
        counter_add(&echoed, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        if (ev->SEND_COMPLETE.Canceled) __atomic_store_n(&bad_echo, 1, __ATOMIC_SEQ_CST);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&client_connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        __atomic_store_n(&failed_conn, 1, __ATOMIC_SEQ_CST);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&client_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    const char* n = getenv("MEMORY_LOAD_CONNECTIONS");
    if (n != NULL && atoi(n) > 0) connections = atoi(n);
    /* Two sockets per connection (both ends are here), plus the listener and the rest. */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    rlim_t want = (rlim_t)connections * 2 + 256;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    CHECK(rl.rlim_cur >= want);
    for (size_t i = 0; i < PATTERN; i++) pattern[i] = (uint8_t)(i * 31 + (i >> 9));
    conns = calloc((size_t)connections, sizeof(HQUIC));
    streams = calloc((size_t)connections * STREAMS, sizeof(StreamCtx));
    counter_init(&client_connected);
    counter_init(&server_connected);
    counter_init(&echoed);
    counter_init(&client_complete);
    counter_init(&server_complete);

    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, STREAMS, 0);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    long base_rss = settled_rss();
    long long base_heap = live_bytes();

    /* All connections at once, then idle. */
    long long started = now_ms();
    for (int i = 0; i < connections; i++) {
        CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conns[i]) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conns[i], client_config,
                                                   QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    }
    CHECK(counter_wait(&client_connected, connections, 60000));
    CHECK(counter_wait(&server_connected, connections, 60000));
    long long connected_ms = now_ms() - started;
    long idle_rss = settled_rss();
    long long idle_heap = live_bytes();

    /* 10 streams of 10 KB on every connection, echoed. */
    started = now_ms();
    for (int i = 0; i < connections; i++) {
        for (int k = 0; k < STREAMS; k++) {
            StreamCtx* s = &streams[i * STREAMS + k];
            s->expect = pattern + ((size_t)(i * STREAMS + k) * 613) % (PATTERN - STREAM_BYTES);
            s->buf = (QUIC_BUFFER){STREAM_BYTES, (uint8_t*)s->expect};
            HQUIC stream = NULL;
            CHECK(api->StreamOpen(conns[i], QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, s,
                                  &stream) == QUIC_STATUS_SUCCESS);
            CHECK(QUIC_SUCCEEDED(api->StreamSend(
                stream, &s->buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
        }
    }
    CHECK(counter_wait(&echoed, connections * STREAMS, 60000));
    long long echo_ms = now_ms() - started;
    CHECK(!bad_echo);
    CHECK(!failed_conn);
    long after_rss = settled_rss();
    long long after_heap = live_bytes();
    long peak_rss = vm_kb("VmHWM");

    printf("memory_load: %d TLS connections connected in %lld ms, %d streams of %d bytes "
           "echoed in %lld ms\n",
           connections, connected_ms, connections * STREAMS, STREAM_BYTES, echo_ms);
    printf("memory_load: resident before %ld kB, idle %ld kB, after the echoes %ld kB, "
           "peak %ld kB\n",
           base_rss, idle_rss, after_rss, peak_rss);
    printf("memory_load: idle per connection (client and server side): %ld bytes resident, "
           "%lld bytes of heap\n",
           (idle_rss - base_rss) * 1024 / connections, (idle_heap - base_heap) / connections);
    printf("memory_load: after the echoes per connection: %ld bytes resident, %lld bytes of "
           "heap\n",
           (after_rss - base_rss) * 1024 / connections, (after_heap - base_heap) / connections);
    printf("memory_load: peak per connection: %ld bytes resident\n",
           (peak_rss - base_rss) * 1024 / connections);
    CHECK((idle_rss - base_rss) * 1024 / connections < IDLE_LIMIT);
    CHECK((peak_rss - base_rss) * 1024 / connections < PEAK_LIMIT);
    CHECK((after_heap - base_heap) / connections < AFTER_HEAP_LIMIT);

    for (int i = 0; i < connections; i++) {
        api->ConnectionShutdown(conns[i], QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    }
    CHECK(counter_wait(&client_complete, connections, 30000));
    CHECK(counter_wait(&server_complete, connections, 30000));
    for (int i = 0; i < connections; i++) api->ConnectionClose(conns[i]);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(conns);
    free(streams);
    return finish("memory_load");
}
