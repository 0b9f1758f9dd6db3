/* A randomized API exerciser in the manner of MsQuic's spinquic: several threads call the table
 * functions in random valid and invalid sequences on shared configurations, listeners,
 * connections and streams of one registration; handles are closed from other threads and from
 * their own callbacks; streams send and receive (completing receives inline, partially, or later
 * from another thread); datagrams; SetParam/GetParam with random ids, sizes and contents; short
 * lived private registrations (closed with RegistrationClose or RegistrationClose2); connection
 * pools; asynchronous connection close (CONN_CLOSE_ASYNC).
 *
 * The application side keeps MsQuic's rules, so that whatever the sanitizers report is the
 * library's fault: every handle is closed exactly once (by whoever drops its last reference:
 * the table's reference goes when a thread or the handle's own SHUTDOWN_COMPLETE /
 * STOP_COMPLETE decides to close it, and threads hold a reference while they call the API with
 * it), a handle is never used after its close returned, send buffers are freed only in
 * SEND_COMPLETE (datagrams: at a final send state) or when the send failed, callbacks act only
 * on their own handle (and streams they open on their own connection), and nothing blocks
 * inside a callback.
 *
 * Usage: api_exerciser [SEED[,SEED...] [SECONDS [THREADS]]]; without arguments the
 * environment's EXERCISER_SEEDS, EXERCISER_SECONDS and EXERCISER_THREADS, else seed 1 for 2 s
 * on 4 threads. A seed fixes each thread's sequence of choices (the threads' interleaving and
 * the library's timing do not repeat). The program checks that no event follows a
 * SHUTDOWN_COMPLETE, that every send buffer comes back, and that the run ends within a deadline
 * (a watchdog aborts a hang, naming the seed). */
#include "support/qmux_test.h"

#include <sched.h>
#include <stdint.h>
#include <unistd.h>

static const QUIC_API_TABLE* api;
static HQUIC reg;
static HQUIC server_cfg;
static HQUIC client_cfg;
static uint16_t main_port;
static int stopping; /* set (atomically) once the threads are done: refuse new connections */
static uint64_t run_seed;

static const char* const ALPN = "spin";

/* ---- random numbers: one generator per thread (callbacks use a per-worker one) ---- */

static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

typedef struct {
    uint64_t s;
} Rng;

static uint32_t rnd(Rng* r) {
    r->s = mix(r->s);
    return (uint32_t)(r->s >> 16);
}

/* 0 .. n-1 */
static uint32_t below(Rng* r, uint32_t n) { return n == 0 ? 0 : rnd(r) % n; }

/* true with probability pct/100 */
static int chance(Rng* r, uint32_t pct) { return below(r, 100) < pct; }

static __thread Rng cb_rng;
static __thread int cb_rng_ready;
static int cb_rng_counter;

static Rng* callback_rng(void) {
    if (!cb_rng_ready) {
        cb_rng.s = mix(run_seed ^ 0xC0FFEEull) + (uint64_t)__atomic_add_fetch(&cb_rng_counter, 1, __ATOMIC_SEQ_CST);
        cb_rng_ready = 1;
    }
    return &cb_rng;
}

/* ---- application-side handle bookkeeping ---- */

enum { K_CONFIG, K_LISTENER, K_CONN, K_STREAM, K_COUNT };
static const char* const KIND_NAMES[K_COUNT] = {"configuration", "listener", "connection", "stream"};
/* Threads open no more than this many of a kind; peers' connections and streams may add more. */
static const int SOFT_CAP[K_COUNT] = {6, 4, 32, 128};

typedef struct Obj {
    HQUIC h;
    int kind;
    int refs;      /* the table's reference (until retired) + threads using the handle */
    int retired;   /* the table's reference is gone: the last reference closes */
    int index;     /* position in its table while not retired */
    uint16_t port; /* listener: the port it listens on, 0 if not started */
    int server;    /* connection: accepted from a listener */
    int done;      /* SHUTDOWN_COMPLETE (or STOP_COMPLETE) seen */
    uint64_t recv_pending; /* stream: bytes of a RECEIVE answered PENDING, not yet completed */
    int async_close;       /* connection: CONN_CLOSE_ASYNC set */
    int close_returned;    /* connection: its (asynchronous) ConnectionClose returned */
    int final_seen;        /* connection: SHUTDOWN_COMPLETE delivered */
    unsigned serial;       /* connection: its number in the connection log */
} Obj;

typedef struct {
    Obj** items;
    int len;
    int cap;
} Table;

static Table tables[K_COUNT];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static Obj main_listener_obj = {.kind = K_LISTENER, .refs = 1, .index = -1};

static long counters[16];
enum {
    C_OPS,
    C_CONNECTED,
    C_ACCEPTED,
    C_PEER_STREAMS,
    C_RECEIVES,
    C_SENDS,
    C_SENDS_BACK,
    C_DGRAMS,
    C_DGRAMS_BACK,
    C_CLOSE_IN_CB,
    C_CLOSE_BY_THREAD,
    C_PARAMS_OK,
    C_DGRAMS_RECEIVED,
};
static const char* const COUNTER_NAMES[] = {
    "ops", "connected", "accepted", "peer-streams", "receives", "sends", "sends-completed",
    "datagrams", "datagrams-final", "closed-in-callback", "closed-by-thread", "params-ok",
    "datagrams-received"};

static void count(int which) { __atomic_add_fetch(&counters[which], 1, __ATOMIC_SEQ_CST); }

/* What happened to each connection, by serial number, for the report on a datagram that
 * never reached a final state. */
enum {
    CL_SERVER = 1,
    CL_ASYNC = 2,
    CL_CONNECTED = 4,
    CL_SHUTDOWN_COMPLETE = 8,
    CL_CLOSE_CALLED = 16,
    CL_CLOSE_RETURNED = 32,
    CL_POOL = 64,
    CL_APP_CLOSE_IN_PROGRESS = 128,
};
static uint8_t* conn_log;
static unsigned conn_log_len;
static unsigned conn_log_cap;

static unsigned conn_log_new(void) {
    pthread_mutex_lock(&g_lock);
    if (conn_log_len == conn_log_cap) {
        conn_log_cap = conn_log_cap ? conn_log_cap * 2 : 1024;
        conn_log = realloc(conn_log, conn_log_cap);
    }
    conn_log[conn_log_len] = 0;
    unsigned serial = conn_log_len++;
    pthread_mutex_unlock(&g_lock);
    return serial;
}

static void conn_log_mark(unsigned serial, uint8_t flags) {
    pthread_mutex_lock(&g_lock);
    conn_log[serial] |= flags;
    pthread_mutex_unlock(&g_lock);
}

static Obj* obj_new(int kind, HQUIC h) {
    Obj* o = calloc(1, sizeof(Obj));
    if (kind == K_CONN) o->serial = conn_log_new();
    o->kind = kind;
    o->h = h;
    o->refs = 1;
    o->index = -1;
    return o;
}

static void table_add(Obj* o) {
    pthread_mutex_lock(&g_lock);
    Table* t = &tables[o->kind];
    if (t->len == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->items = realloc(t->items, sizeof(Obj*) * (size_t)t->cap);
    }
    o->index = t->len;
    t->items[t->len++] = o;
    pthread_mutex_unlock(&g_lock);
}

/* Puts a new handle in the table while the caller keeps a reference: its own callbacks may
 * retire it as soon as it is started, before the caller is done with it. Release when done. */
static void adopt(Obj* o) {
    o->refs++;
    table_add(o);
}

static void release(Obj* o);

/* Puts a handle its creator holds (refs counted one for the creator, one for the table) in
 * the table, unless its own callbacks retired it meanwhile; drops the creator's reference. */
static void publish(Obj* o) {
    pthread_mutex_lock(&g_lock);
    int add = !o->retired;
    pthread_mutex_unlock(&g_lock);
    if (add) table_add(o);
    release(o);
}

static int table_len(int kind) {
    pthread_mutex_lock(&g_lock);
    int n = tables[kind].len;
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* A live handle of `kind` with a reference for the caller, or NULL. */
static Obj* acquire(int kind, Rng* r) {
    pthread_mutex_lock(&g_lock);
    Table* t = &tables[kind];
    Obj* o = NULL;
    if (t->len > 0) {
        o = t->items[below(r, (uint32_t)t->len)];
        o->refs++;
    }
    pthread_mutex_unlock(&g_lock);
    return o;
}

static void close_handle(Obj* o) {
    switch (o->kind) {
    case K_CONFIG: api->ConfigurationClose(o->h); break;
    case K_LISTENER: api->ListenerClose(o->h); break;
    case K_CONN: {
        pthread_mutex_lock(&g_lock);
        int async = o->async_close;
        pthread_mutex_unlock(&g_lock);
        conn_log_mark(o->serial, CL_CLOSE_CALLED | (async ? CL_ASYNC : 0));
        api->ConnectionClose(o->h);
        conn_log_mark(o->serial, CL_CLOSE_RETURNED);
        if (async) {
            /* CONN_CLOSE_ASYNC: SHUTDOWN_COMPLETE may still be to come; the later of the two
             * frees the context. */
            pthread_mutex_lock(&g_lock);
            o->close_returned = 1;
            int last = o->final_seen;
            pthread_mutex_unlock(&g_lock);
            if (last) free(o);
            return;
        }
        break;
    }
    case K_STREAM: api->StreamClose(o->h); break;
    }
    free(o);
}

/* Drops a reference; the last one closes the handle. */
static void release(Obj* o) {
    pthread_mutex_lock(&g_lock);
    int last = --o->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last) {
        count(C_CLOSE_BY_THREAD);
        close_handle(o);
    }
}

/* Takes `o` out of its table and drops the table's reference (once). Returns 1 if this call
 * closed the handle (no thread was using it). */
static int retire(Obj* o) {
    pthread_mutex_lock(&g_lock);
    if (o->retired || o == &main_listener_obj) {
        pthread_mutex_unlock(&g_lock);
        return 0;
    }
    o->retired = 1;
    if (o->index >= 0) { /* not yet published: its creator holds a reference */
        Table* t = &tables[o->kind];
        Obj* moved = t->items[--t->len];
        t->items[o->index] = moved;
        moved->index = o->index;
        o->index = -1;
    }
    int last = --o->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last) close_handle(o);
    return last;
}

/* ---- buffers ---- */

typedef struct SendBuf {
    QUIC_BUFFER bufs[2];
    uint32_t count;
    /* Datagrams: the connection's serial, its log flags at the send, and the list of those
     * still outstanding. */
    unsigned serial;
    uint8_t flags_at_send;
    long long sent_ms;
    struct SendBuf* prev;
    struct SendBuf* next;
    uint8_t data[];
} SendBuf;

static SendBuf dgram_list = {.prev = &dgram_list, .next = &dgram_list};

static void dgram_track(SendBuf* b, unsigned serial) {
    pthread_mutex_lock(&g_lock);
    b->serial = serial;
    b->flags_at_send = conn_log[serial];
    b->sent_ms = now_ms();
    b->next = &dgram_list;
    b->prev = dgram_list.prev;
    dgram_list.prev->next = b;
    dgram_list.prev = b;
    pthread_mutex_unlock(&g_lock);
}

static void dgram_untrack(SendBuf* b) {
    pthread_mutex_lock(&g_lock);
    b->prev->next = b->next;
    b->next->prev = b->prev;
    pthread_mutex_unlock(&g_lock);
}

static SendBuf* send_buf(Rng* r, uint32_t max_len) {
    uint32_t len = below(r, 8) == 0 ? 0 : below(r, max_len + 1);
    SendBuf* b = malloc(sizeof(SendBuf) + len + 1);
    for (uint32_t i = 0; i < len; i++) b->data[i] = (uint8_t)rnd(r);
    b->count = (len > 1 && chance(r, 30)) ? 2 : 1;
    uint32_t first = b->count == 2 ? len / 2 : len;
    b->bufs[0].Buffer = b->data;
    b->bufs[0].Length = first;
    b->bufs[1].Buffer = b->data + first;
    b->bufs[1].Length = len - first;
    return b;
}

/* ---- callbacks ---- */

static QUIC_STATUS QUIC_API stream_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev);

/* Under the sanitizers: the stack of an event that should not have come. */
extern void __sanitizer_print_stack_trace(void) __attribute__((weak));

/* Checks that no event reaches a handle after its SHUTDOWN_COMPLETE. */
static void check_alive(Obj* o, const char* what, uint32_t type) {
    if (__atomic_load_n(&o->done, __ATOMIC_SEQ_CST)) {
        fprintf(stderr, "seed %llu: %s event %u after SHUTDOWN_COMPLETE (%p)\n",
                (unsigned long long)run_seed, what, type, (void*)o->h);
        CHECK(!"event after SHUTDOWN_COMPLETE");
        if (__sanitizer_print_stack_trace) __sanitizer_print_stack_trace();
    }
}

static void start_and_send_inline(HQUIC stream, Rng* r) {
    if (QUIC_FAILED(api->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE))) return;
    SendBuf* b = send_buf(r, 2000);
    count(C_SENDS);
    if (QUIC_FAILED(api->StreamSend(stream, b->bufs, b->count,
                                    chance(r, 30) ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE, b))) {
        free(b);
        count(C_SENDS_BACK);
    }
}

static QUIC_STATUS QUIC_API conn_cb(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Obj* o = ctx;
    Rng* r = callback_rng();
    check_alive(o, "connection", ev->Type);
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        count(C_CONNECTED);
        conn_log_mark(o->serial, CL_CONNECTED);
        if (chance(r, 20) && table_len(K_STREAM) < SOFT_CAP[K_STREAM]) {
            HQUIC s = NULL;
            Obj* so = obj_new(K_STREAM, NULL);
            if (QUIC_SUCCEEDED(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, stream_cb, so, &s))) {
                so->h = s;
                adopt(so);
                start_and_send_inline(s, r);
                release(so);
            } else {
                free(so);
            }
        }
        if (o->server && chance(r, 10)) {
            api->ConnectionSendResumptionTicket(conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
        }
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED: {
        count(C_PEER_STREAMS);
        HQUIC s = ev->PEER_STREAM_STARTED.Stream;
        Obj* so = obj_new(K_STREAM, s);
        api->SetCallbackHandler(s, (void*)stream_cb, so);
        adopt(so);
        if (chance(r, 5)) api->StreamReceiveSetEnabled(s, FALSE);
        if (chance(r, 5)) api->StreamShutdown(s, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 7);
        release(so);
        break;
    }
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED:
        if (QUIC_DATAGRAM_SEND_STATE_IS_FINAL(ev->DATAGRAM_SEND_STATE_CHANGED.State)) {
            dgram_untrack(ev->DATAGRAM_SEND_STATE_CHANGED.ClientContext);
            free(ev->DATAGRAM_SEND_STATE_CHANGED.ClientContext);
            count(C_DGRAMS_BACK);
        }
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED:
        count(C_DGRAMS_RECEIVED);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE: {
        __atomic_store_n(&o->done, 1, __ATOMIC_SEQ_CST);
        conn_log_mark(o->serial, CL_SHUTDOWN_COMPLETE |
                                     (ev->SHUTDOWN_COMPLETE.AppCloseInProgress ? CL_APP_CLOSE_IN_PROGRESS : 0));
        pthread_mutex_lock(&g_lock);
        o->final_seen = 1;
        int free_now = o->async_close && o->close_returned;
        pthread_mutex_unlock(&g_lock);
        if (free_now) {
            free(o); /* an asynchronous ConnectionClose returned already */
            return QUIC_STATUS_SUCCESS;
        }
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress && chance(r, 50)) {
            if (retire(o)) count(C_CLOSE_IN_CB);
        }
        return QUIC_STATUS_SUCCESS;
    }
    default:
        break;
    }
    if (chance(r, 2)) {
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, below(r, 100));
    } else if (chance(r, 3)) {
        QUIC_STATISTICS_V2 stats;
        uint32_t len = sizeof(stats);
        api->GetParam(conn, QUIC_PARAM_CONN_STATISTICS_V2, &len, &stats);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API stream_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    Obj* o = ctx;
    Rng* r = callback_rng();
    check_alive(o, "stream", ev->Type);
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        count(C_RECEIVES);
        uint64_t total = ev->RECEIVE.TotalBufferLength;
        uint64_t sum = 0;
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) sum += ev->RECEIVE.Buffers[i].Length;
        CHECK(sum == total);
        pthread_mutex_lock(&g_lock);
        CHECK(o->recv_pending == 0);
        pthread_mutex_unlock(&g_lock);
        uint32_t pick = below(r, 100);
        if (pick < 15 && total > 0) {
            pthread_mutex_lock(&g_lock);
            o->recv_pending = total;
            pthread_mutex_unlock(&g_lock);
            return QUIC_STATUS_PENDING;
        }
        if (pick < 30 && total > 0) {
            ev->RECEIVE.TotalBufferLength = below(r, (uint32_t)(total < 0xFFFFFFFF ? total : 0xFFFFFFFF));
        }
        if (pick >= 97) api->StreamReceiveSetEnabled(stream, FALSE);
        if (pick >= 85 && pick < 97) {
            /* An answer on the same stream, from inside its RECEIVE. */
            SendBuf* b = send_buf(r, 300);
            count(C_SENDS);
            if (QUIC_FAILED(api->StreamSend(stream, b->bufs, b->count, QUIC_SEND_FLAG_NONE, b))) {
                free(b);
                count(C_SENDS_BACK);
            }
        }
        return QUIC_STATUS_SUCCESS;
    }
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        free(ev->SEND_COMPLETE.ClientContext);
        count(C_SENDS_BACK);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        if (chance(r, 50)) api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        if (chance(r, 30)) api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 3);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        __atomic_store_n(&o->done, 1, __ATOMIC_SEQ_CST);
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress && chance(r, 50)) {
            if (retire(o)) count(C_CLOSE_IN_CB);
        }
        return QUIC_STATUS_SUCCESS;
    default:
        break;
    }
    if (chance(r, 2)) {
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND, 5);
    } else if (chance(r, 2)) {
        SendBuf* b = send_buf(r, 500);
        count(C_SENDS);
        if (QUIC_FAILED(api->StreamSend(stream, b->bufs, b->count, QUIC_SEND_FLAG_NONE, b))) {
            free(b);
            count(C_SENDS_BACK);
        }
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_cb(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    Obj* o = ctx;
    Rng* r = callback_rng();
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        if (__atomic_load_n(&stopping, __ATOMIC_SEQ_CST) || chance(r, 8) ||
            table_len(K_CONN) >= 2 * SOFT_CAP[K_CONN]) {
            return QUIC_STATUS_CONNECTION_REFUSED;
        }
        count(C_ACCEPTED);
        HQUIC c = ev->NEW_CONNECTION.Connection;
        Obj* co = obj_new(K_CONN, c);
        co->server = 1;
        conn_log_mark(co->serial, CL_SERVER);
        api->SetCallbackHandler(c, (void*)conn_cb, co);
        adopt(co);
        if (chance(r, 85)) api->ConnectionSetConfiguration(c, server_cfg);
        if (o != &main_listener_obj && chance(r, 3)) api->ListenerStop(listener);
        release(co);
        return QUIC_STATUS_SUCCESS;
    }
    if (ev->Type == QUIC_LISTENER_EVENT_STOP_COMPLETE) {
        if (!ev->STOP_COMPLETE.AppCloseInProgress && chance(r, 30)) {
            if (retire(o)) count(C_CLOSE_IN_CB);
        }
    }
    return QUIC_STATUS_SUCCESS;
}

/* ---- parameters ---- */

static int set_param_allowed(uint32_t id) {
    switch (id & ~(uint32_t)QUIC_PARAM_HIGH_PRIORITY) {
    /* The application's own rules: these carry pointers the library keeps or follows, change
     * what the exerciser relies on (asynchronous close, multi-receive), or send the connection
     * somewhere else than the loopback listener. */
    case QUIC_PARAM_GLOBAL_SETTINGS:
    case QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS:
    case QUIC_PARAM_GLOBAL_VERSION_SETTINGS:
    case QUIC_PARAM_GLOBAL_EXECUTION_CONFIG:
    case QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE:
    case QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG:
    case QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS:
    case QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W:
    case QUIC_PARAM_CONN_TLS_SECRETS:
    case QUIC_PARAM_CONN_VERSION_SETTINGS:
    case QUIC_PARAM_CONN_CLOSE_ASYNC:
    case QUIC_PARAM_CONN_REMOTE_ADDRESS:
    case QUIC_PARAM_CONN_LOCAL_ADDRESS:
        return 0;
    default:
        return 1;
    }
}

static const uint32_t PREFIXES[] = {
    QUIC_PARAM_PREFIX_GLOBAL,     QUIC_PARAM_PREFIX_REGISTRATION, QUIC_PARAM_PREFIX_CONFIGURATION,
    QUIC_PARAM_PREFIX_LISTENER,   QUIC_PARAM_PREFIX_CONNECTION,   QUIC_PARAM_PREFIX_TLS,
    QUIC_PARAM_PREFIX_TLS_SCHANNEL, QUIC_PARAM_PREFIX_STREAM};

static uint32_t random_param(Rng* r, int kind) {
    uint32_t id;
    if (chance(r, 3)) return rnd(r);
    uint32_t prefix;
    if (chance(r, 70)) {
        static const uint32_t BY_KIND[K_COUNT] = {QUIC_PARAM_PREFIX_CONFIGURATION,
                                                  QUIC_PARAM_PREFIX_LISTENER,
                                                  QUIC_PARAM_PREFIX_CONNECTION,
                                                  QUIC_PARAM_PREFIX_STREAM};
        prefix = kind < 0 ? QUIC_PARAM_PREFIX_GLOBAL : BY_KIND[kind];
        if (kind == K_CONN && chance(r, 20)) prefix = QUIC_PARAM_PREFIX_TLS;
    } else {
        prefix = PREFIXES[below(r, sizeof(PREFIXES) / sizeof(PREFIXES[0]))];
    }
    id = prefix + below(r, 36);
    if (chance(r, 5)) id |= QUIC_PARAM_HIGH_PRIORITY;
    return id;
}

/* Random contents for SetParam of `id`, `len` bytes; settings never turn on multi-receive. */
static void fill_param(Rng* r, uint32_t id, uint8_t* buf, uint32_t len) {
    for (uint32_t i = 0; i < len; i++) buf[i] = (uint8_t)rnd(r);
    if (len >= 8 && chance(r, 50)) {
        /* Small values are more interesting than random 64-bit ones. */
        uint64_t v = below(r, 4) == 0 ? 0 : below(r, 1 << below(r, 20));
        memcpy(buf, &v, 8);
    } else if (len >= 1 && len < 8 && chance(r, 50)) {
        buf[0] = (uint8_t)below(r, 3);
    }
    uint32_t base = id & ~(uint32_t)QUIC_PARAM_HIGH_PRIORITY;
    if (base == QUIC_PARAM_CONN_SETTINGS || base == QUIC_PARAM_CONFIGURATION_SETTINGS) {
        QUIC_SETTINGS s;
        memset(&s, 0, sizeof(s));
        memcpy(&s, buf, len < sizeof(s) ? len : sizeof(s));
        s.IsSet.StreamMultiReceiveEnabled = 0;
        s.StreamMultiReceiveEnabled = 0;
        if (chance(r, 70)) s.IsSetFlags &= ((uint64_t)rnd(r) << 32 | rnd(r)) & rnd(r); /* few fields at a time */
        s.IsSet.StreamMultiReceiveEnabled = 0;
        memcpy(buf, &s, len < sizeof(s) ? len : sizeof(s));
    }
    if (base == QUIC_PARAM_CONN_CLOSE_REASON_PHRASE && len > 0 && chance(r, 70)) buf[len - 1] = 0;
}

static void param_op(Rng* r, HQUIC h, int kind) {
    uint32_t id = random_param(r, kind);
    uint32_t len = below(r, 4) == 0 ? 0 : (chance(r, 50) ? below(r, 9) : below(r, 400));
    if (chance(r, 50)) {
        if (!set_param_allowed(id)) return;
        uint8_t* buf = len ? malloc(len) : NULL;
        if (buf) fill_param(r, id, buf, len);
        if (QUIC_SUCCEEDED(api->SetParam(h, id, len, buf))) count(C_PARAMS_OK);
        free(buf);
    } else {
        uint8_t* buf = NULL;
        if (len == 0 && chance(r, 50)) {
            /* Ask for the size, then fetch with it. */
            if (api->GetParam(h, id, &len, NULL) == QUIC_STATUS_BUFFER_TOO_SMALL && len < (1u << 20)) {
                buf = malloc(len ? len : 1);
                api->GetParam(h, id, &len, buf);
            }
        } else {
            buf = len ? malloc(len) : NULL;
            if (QUIC_SUCCEEDED(api->GetParam(h, id, &len, buf))) count(C_PARAMS_OK);
        }
        free(buf);
    }
}

/* ---- thread operations ---- */

static QUIC_SETTINGS base_settings(void) {
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = 16;
    s.IsSet.PeerUnidiStreamCount = TRUE;
    s.PeerUnidiStreamCount = 16;
    s.IsSet.DatagramReceiveEnabled = TRUE;
    s.DatagramReceiveEnabled = TRUE;
    s.IsSet.IdleTimeoutMs = TRUE;
    s.IdleTimeoutMs = 5000;
    return s;
}

/* A configuration on `r`, for a server (certificate) or a client (trusting it). */
static HQUIC open_configuration(HQUIC registration, int server, Rng* rng) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_SETTINGS s = base_settings();
    if (rng != NULL && chance(rng, 30)) {
        s.IsSet.IdleTimeoutMs = TRUE;
        s.IdleTimeoutMs = below(rng, 3000);
    }
    HQUIC cfg = NULL;
    if (QUIC_FAILED(api->ConfigurationOpen(registration, &a, 1, &s, sizeof(s), NULL, &cfg))) return NULL;
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    if (server) {
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
    } else {
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = test_cert();
    }
    if (rng != NULL && chance(rng, 10)) return cfg; /* never loaded: connections fail */
    api->ConfigurationLoadCredential(cfg, &cred);
    if (rng != NULL && chance(rng, 5)) api->ConfigurationLoadCredential(cfg, &cred);
    return cfg;
}

static uint16_t random_port(Rng* r) {
    if (chance(r, 80)) return main_port;
    Obj* l = acquire(K_LISTENER, r);
    uint16_t port = main_port;
    if (l != NULL) {
        pthread_mutex_lock(&g_lock);
        if (l->port != 0) port = l->port;
        pthread_mutex_unlock(&g_lock);
        release(l);
    }
    return port;
}

static HQUIC random_client_config(Rng* r, Obj** held) {
    *held = NULL;
    if (chance(r, 85)) return client_cfg;
    if (chance(r, 10)) return server_cfg;
    Obj* c = acquire(K_CONFIG, r);
    if (c == NULL) return client_cfg;
    *held = c;
    return c->h;
}

static void op_conn_open(Rng* r) {
    if (table_len(K_CONN) >= SOFT_CAP[K_CONN]) return;
    Obj* o = obj_new(K_CONN, NULL);
    HQUIC c = NULL;
    if (QUIC_FAILED(api->ConnectionOpen(reg, conn_cb, o, &c))) {
        free(o);
        return;
    }
    o->h = c;
    adopt(o);
    if (chance(r, 20)) param_op(r, c, K_CONN);
    if (chance(r, 90)) {
        Obj* held;
        HQUIC cfg = random_client_config(r, &held);
        uint16_t port = random_port(r);
        api->ConnectionStart(c, cfg, chance(r, 90) ? QUIC_ADDRESS_FAMILY_INET : QUIC_ADDRESS_FAMILY_UNSPEC,
                             chance(r, 97) ? "127.0.0.1" : "localhost", port);
        if (held) release(held);
    }
    release(o);
}

static void op_conn(Rng* r) {
    Obj* o = acquire(K_CONN, r);
    if (o == NULL) return;
    HQUIC c = o->h;
    switch (below(r, 12)) {
    case 0: {
        Obj* held;
        HQUIC cfg = random_client_config(r, &held);
        api->ConnectionStart(c, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", random_port(r));
        if (held) release(held);
        break;
    }
    case 1:
    case 2: {
        QUIC_CONNECTION_SHUTDOWN_FLAGS f = chance(r, 30) ? QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT
                                                         : QUIC_CONNECTION_SHUTDOWN_FLAG_NONE;
        api->ConnectionShutdown(c, f, below(r, 4) == 0 ? (1ull << 62) : below(r, 1000));
        break;
    }
    case 3:
    case 4:
        retire(o); /* the release below closes it, unless another thread still uses it */
        break;
    case 5: {
        HQUIC cfg = server_cfg;
        Obj* held = NULL;
        if (chance(r, 20)) {
            held = acquire(K_CONFIG, r);
            if (held) cfg = held->h;
        } else if (chance(r, 10)) {
            cfg = client_cfg;
        }
        api->ConnectionSetConfiguration(c, cfg);
        if (held) release(held);
        break;
    }
    case 6:
    case 7: {
        SendBuf* b = send_buf(r, 1100);
        count(C_DGRAMS);
        QUIC_SEND_FLAGS f = chance(r, 20) ? QUIC_SEND_FLAG_DGRAM_PRIORITY : QUIC_SEND_FLAG_NONE;
        dgram_track(b, o->serial);
        if (QUIC_FAILED(api->DatagramSend(c, b->bufs, b->count, f, b))) {
            dgram_untrack(b);
            free(b);
            count(C_DGRAMS_BACK);
        }
        break;
    }
    case 8:
    case 9:
        param_op(r, c, K_CONN);
        break;
    case 10:
        if (chance(r, 15)) {
            uint8_t on = 1;
            if (QUIC_SUCCEEDED(api->SetParam(c, QUIC_PARAM_CONN_CLOSE_ASYNC, 1, &on))) {
                pthread_mutex_lock(&g_lock);
                o->async_close = 1;
                pthread_mutex_unlock(&g_lock);
            }
        } else if (o->server) {
            api->ConnectionSendResumptionTicket(c, QUIC_SEND_RESUMPTION_FLAG_FINAL, 0, NULL);
        } else {
            api->ConnectionCertificateValidationComplete(c, TRUE, QUIC_TLS_ALERT_CODE_SUCCESS);
        }
        break;
    default: {
        /* Its handle in the wrong places. */
        HQUIC s = NULL;
        api->StreamStart(c, QUIC_STREAM_START_FLAG_NONE);
        api->StreamShutdown(c, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0);
        api->ListenerStop(c);
        api->StreamOpen(NULL, QUIC_STREAM_OPEN_FLAG_NONE, stream_cb, NULL, &s);
        api->GetContext(c);
        break;
    }
    }
    release(o);
}

static void op_stream_open(Rng* r) {
    if (table_len(K_STREAM) >= SOFT_CAP[K_STREAM]) return;
    Obj* co = acquire(K_CONN, r);
    if (co == NULL) return;
    Obj* so = obj_new(K_STREAM, NULL);
    HQUIC s = NULL;
    QUIC_STREAM_OPEN_FLAGS f = QUIC_STREAM_OPEN_FLAG_NONE;
    if (chance(r, 30)) f |= QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL;
    if (chance(r, 10)) f |= QUIC_STREAM_OPEN_FLAG_0_RTT;
    if (chance(r, 5)) f |= QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES;
    if (QUIC_SUCCEEDED(api->StreamOpen(co->h, f, stream_cb, so, &s))) {
        so->h = s;
        adopt(so);
        if (chance(r, 70)) {
            QUIC_STREAM_START_FLAGS sf = QUIC_STREAM_START_FLAG_NONE;
            if (chance(r, 30)) sf |= QUIC_STREAM_START_FLAG_IMMEDIATE;
            if (chance(r, 10)) sf |= QUIC_STREAM_START_FLAG_FAIL_BLOCKED;
            if (chance(r, 10)) sf |= QUIC_STREAM_START_FLAG_SHUTDOWN_ON_FAIL;
            if (chance(r, 5)) sf |= QUIC_STREAM_START_FLAG_PRIORITY_WORK;
            api->StreamStart(s, sf);
        }
        release(so);
    } else {
        free(so);
    }
    release(co);
}

static void op_stream(Rng* r) {
    Obj* o = acquire(K_STREAM, r);
    if (o == NULL) return;
    HQUIC s = o->h;
    switch (below(r, 14)) {
    case 0:
        api->StreamStart(s, chance(r, 50) ? QUIC_STREAM_START_FLAG_IMMEDIATE : QUIC_STREAM_START_FLAG_NONE);
        break;
    case 1:
    case 2:
    case 3:
    case 4: {
        SendBuf* b = send_buf(r, chance(r, 10) ? 70000 : 3000);
        QUIC_SEND_FLAGS f = QUIC_SEND_FLAG_NONE;
        if (chance(r, 15)) f |= QUIC_SEND_FLAG_FIN;
        if (chance(r, 10)) f |= QUIC_SEND_FLAG_START;
        if (chance(r, 10)) f |= QUIC_SEND_FLAG_DELAY_SEND;
        if (chance(r, 5)) f |= QUIC_SEND_FLAG_ALLOW_0_RTT;
        if (chance(r, 3)) f |= QUIC_SEND_FLAG_CANCEL_ON_LOSS;
        count(C_SENDS);
        if (QUIC_FAILED(api->StreamSend(s, b->bufs, b->count, f, b))) {
            free(b);
            count(C_SENDS_BACK);
        }
        break;
    }
    case 5:
    case 6: {
        static const QUIC_STREAM_SHUTDOWN_FLAGS FLAGS[] = {
            QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL,
            QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND,
            QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE,
            QUIC_STREAM_SHUTDOWN_FLAG_ABORT,
            QUIC_STREAM_SHUTDOWN_FLAG_ABORT | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
            QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL | QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND,
            QUIC_STREAM_SHUTDOWN_FLAG_NONE,
            QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND | QUIC_STREAM_SHUTDOWN_FLAG_INLINE,
        };
        api->StreamShutdown(s, FLAGS[below(r, sizeof(FLAGS) / sizeof(FLAGS[0]))], below(r, 50));
        break;
    }
    case 7:
    case 8:
        retire(o);
        break;
    case 9:
        api->StreamReceiveSetEnabled(s, chance(r, 70));
        break;
    case 10: {
        pthread_mutex_lock(&g_lock);
        uint64_t pending = o->recv_pending;
        o->recv_pending = 0;
        pthread_mutex_unlock(&g_lock);
        if (pending > 0) {
            api->StreamReceiveComplete(s, chance(r, 70) ? pending : below(r, (uint32_t)pending));
        } else if (chance(r, 5)) {
            api->StreamReceiveSetEnabled(s, TRUE);
        }
        break;
    }
    case 11:
    case 12:
        param_op(r, s, K_STREAM);
        break;
    default: {
        /* In place of its connection, or somewhere it does not belong. */
        api->ConnectionShutdown(s, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 1);
        api->ListenerStop(s);
        api->ConfigurationLoadCredential(s, NULL);
        break;
    }
    }
    release(o);
}

static void op_listener(Rng* r) {
    if (chance(r, 25) && table_len(K_LISTENER) < SOFT_CAP[K_LISTENER]) {
        Obj* o = obj_new(K_LISTENER, NULL);
        HQUIC l = NULL;
        if (QUIC_FAILED(api->ListenerOpen(reg, listener_cb, o, &l))) {
            free(o);
            return;
        }
        o->h = l;
        adopt(o);
        if (chance(r, 80)) {
            /* Not start_listener(): another thread may stop it before the port is read. */
            const char* alpn = chance(r, 95) ? ALPN : "other";
            QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
            QUIC_ADDR addr;
            memset(&addr, 0, sizeof(addr));
            QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
            QuicAddrSetPort(&addr, 0);
            uint16_t port = 0;
            QUIC_ADDR local;
            uint32_t len = sizeof(local);
            if (QUIC_SUCCEEDED(api->ListenerStart(l, &a, 1, &addr)) &&
                QUIC_SUCCEEDED(api->GetParam(l, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local))) {
                port = QuicAddrGetPort(&local);
            }
            pthread_mutex_lock(&g_lock);
            o->port = port;
            pthread_mutex_unlock(&g_lock);
        }
        release(o);
        return;
    }
    Obj* o = acquire(K_LISTENER, r);
    if (o == NULL) return;
    switch (below(r, 5)) {
    case 0: {
        QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
        QUIC_ADDR addr;
        memset(&addr, 0, sizeof(addr));
        QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
        pthread_mutex_lock(&g_lock);
        uint16_t port = o->port;
        pthread_mutex_unlock(&g_lock);
        QuicAddrSetPort(&addr, port); /* the same port again if it had one */
        api->ListenerStart(o->h, &a, 1, &addr);
        break;
    }
    case 1:
        api->ListenerStop(o->h);
        break;
    case 2:
        retire(o);
        break;
    default:
        param_op(r, o->h, K_LISTENER);
        break;
    }
    release(o);
}

static void op_config(Rng* r) {
    if (chance(r, 30) && table_len(K_CONFIG) < SOFT_CAP[K_CONFIG]) {
        HQUIC cfg = open_configuration(reg, chance(r, 40), r);
        if (cfg != NULL) table_add(obj_new(K_CONFIG, cfg));
        return;
    }
    Obj* o = acquire(K_CONFIG, r);
    if (o == NULL) return;
    if (chance(r, 40)) {
        retire(o);
    } else {
        param_op(r, o->h, K_CONFIG);
    }
    release(o);
}

static QUIC_STATUS QUIC_API scoped_stream_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        free(ev->SEND_COMPLETE.ClientContext);
        count(C_SENDS_BACK);
    }
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(stream);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API stream_noop_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)stream;
    (void)ctx;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API scoped_conn_cb(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)scoped_stream_cb, NULL);
    }
    return QUIC_STATUS_SUCCESS;
}

static void QUIC_API registration_closed(void* ctx) { counter_add((Counter*)ctx, 1); }

/* A private registration with a configuration and a connection, shut down and closed. */
static void op_registration(Rng* r) {
    QUIC_REGISTRATION_CONFIG rc = {"spin-private", (QUIC_EXECUTION_PROFILE)below(r, 4)};
    HQUIC r2 = NULL;
    if (QUIC_FAILED(api->RegistrationOpen(chance(r, 90) ? &rc : NULL, &r2))) return;
    HQUIC cfg = chance(r, 60) ? open_configuration(r2, 0, NULL) : NULL;
    HQUIC c = NULL;
    HQUIC s = NULL;
    if (cfg != NULL && QUIC_SUCCEEDED(api->ConnectionOpen(r2, scoped_conn_cb, NULL, &c))) {
        api->ConnectionStart(c, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", main_port);
        if (chance(r, 50) &&
            QUIC_SUCCEEDED(api->StreamOpen(c, QUIC_STREAM_OPEN_FLAG_NONE, stream_noop_cb, NULL, &s))) {
            api->StreamStart(s, QUIC_STREAM_START_FLAG_NONE);
        }
    }
    if (chance(r, 50)) {
        api->RegistrationShutdown(r2, chance(r, 50) ? QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT
                                                    : QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 9);
    }
    if (chance(r, 30)) param_op(r, r2, -1);
    /* A stream whose start failed gets no SHUTDOWN_COMPLETE: ours is closed here. */
    if (s != NULL && chance(r, 50)) {
        api->StreamClose(s);
        s = NULL;
    }
    if (c != NULL) api->ConnectionClose(c);
    if (s != NULL) api->StreamClose(s);
    if (cfg != NULL) api->ConfigurationClose(cfg);
    if (chance(r, 50)) {
        api->RegistrationClose(r2);
    } else {
        /* The non-blocking close: its handler runs once every child is gone. */
        Counter* done = malloc(sizeof(Counter));
        counter_init(done);
        api->RegistrationClose2(r2, registration_closed, done);
        int ok = counter_wait(done, 1, 10000);
        CHECK(ok);
        if (ok) {
            counter_destroy(done);
            free(done);
        }
    }
}

/* ConnectionPoolCreate: a few client connections at once, each with its own context. */
static void op_pool(Rng* r) {
    if (table_len(K_CONN) >= SOFT_CAP[K_CONN]) return;
    enum { MAX_POOL = 4 };
    uint16_t n = (uint16_t)(1 + below(r, MAX_POOL));
    Obj* objs[MAX_POOL];
    void* ctxs[MAX_POOL];
    HQUIC hs[MAX_POOL] = {0};
    for (int i = 0; i < n; i++) {
        objs[i] = obj_new(K_CONN, NULL);
        objs[i]->refs++; /* the creator's, until published */
        conn_log_mark(objs[i]->serial, CL_POOL);
        ctxs[i] = objs[i];
    }
    QUIC_CONNECTION_POOL_CONFIG pc;
    memset(&pc, 0, sizeof(pc));
    pc.Registration = reg;
    pc.Configuration = chance(r, 90) ? client_cfg : server_cfg;
    pc.Handler = conn_cb;
    pc.Context = ctxs;
    pc.ServerName = "127.0.0.1";
    pc.Family = QUIC_ADDRESS_FAMILY_INET;
    pc.ServerPort = random_port(r);
    pc.NumberOfConnections = n;
    int close_on_failure = chance(r, 50);
    pc.Flags = close_on_failure ? QUIC_CONNECTION_POOL_FLAG_CLOSE_ON_FAILURE : QUIC_CONNECTION_POOL_FLAG_NONE;
    QUIC_STATUS st = api->ConnectionPoolCreate(&pc, hs);
    for (int i = 0; i < n; i++) {
        if (hs[i] != NULL && (QUIC_SUCCEEDED(st) || !close_on_failure)) {
            objs[i]->h = hs[i];
            publish(objs[i]);
        } else {
            free(objs[i]); /* never opened, or closed by the pool */
        }
    }
}

static void op_global(Rng* r) {
    switch (below(r, 3)) {
    case 0:
        param_op(r, NULL, -1);
        break;
    case 1:
        param_op(r, reg, -1);
        break;
    default:
        /* NULL and wrong-kind handles everywhere. */
        api->ConnectionShutdown(NULL, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        api->StreamSend(NULL, NULL, 0, QUIC_SEND_FLAG_NONE, NULL);
        api->ConnectionStart(reg, client_cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", main_port);
        api->ListenerStart(client_cfg, NULL, 0, NULL);
        api->StreamReceiveComplete(NULL, 0);
        api->DatagramSend(reg, NULL, 0, QUIC_SEND_FLAG_NONE, NULL);
        api->SetCallbackHandler(NULL, NULL, NULL);
        break;
    }
}

typedef struct {
    int index;
    long long end_ms;
} ThreadArgs;

static void* worker(void* arg) {
    ThreadArgs* a = arg;
    Rng r = {mix(run_seed * 1000003ull + (uint64_t)a->index)};
    while (now_ms() < a->end_ms) {
        count(C_OPS);
        uint32_t pick = below(&r, 1000);
        if (pick < 120) op_conn_open(&r);
        else if (pick < 400) op_conn(&r);
        else if (pick < 520) op_stream_open(&r);
        else if (pick < 880) op_stream(&r);
        else if (pick < 930) op_listener(&r);
        else if (pick < 960) op_config(&r);
        else if (pick < 965) op_registration(&r);
        else if (pick < 972) op_pool(&r);
        else op_global(&r);
        if (chance(&r, 20)) sched_yield();
    }
    return NULL;
}

/* ---- watchdog ---- */

static pthread_mutex_t wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cond = PTHREAD_COND_INITIALIZER;
static int wd_done;
static long long wd_deadline;
static const char* wd_phase = "start";

static void* watchdog(void* arg) {
    (void)arg;
    pthread_mutex_lock(&wd_lock);
    while (!wd_done) {
        if (now_ms() > wd_deadline) {
            fprintf(stderr, "seed %llu: HANG in phase '%s'; handles left:", (unsigned long long)run_seed,
                    wd_phase);
            for (int k = 0; k < K_COUNT; k++) fprintf(stderr, " %s=%d", KIND_NAMES[k], tables[k].len);
            fprintf(stderr, "\n");
            fflush(stderr);
            /* EXERCISER_HANG_WAIT=N: N seconds to attach a debugger before the abort. */
            const char* wait = getenv("EXERCISER_HANG_WAIT");
            if (wait != NULL) {
                fprintf(stderr, "pid %d waits %s s\n", (int)getpid(), wait);
                sleep((unsigned)atoi(wait));
            }
            abort();
        }
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 200 * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&wd_cond, &wd_lock, &t);
    }
    pthread_mutex_unlock(&wd_lock);
    return NULL;
}

static void phase(const char* name, long long budget_ms) {
    pthread_mutex_lock(&wd_lock);
    wd_phase = name;
    wd_deadline = now_ms() + budget_ms;
    pthread_mutex_unlock(&wd_lock);
}

/* Closes every handle left in the table of `kind`. */
static void close_all(int kind) {
    for (;;) {
        pthread_mutex_lock(&g_lock);
        Obj* o = tables[kind].len ? tables[kind].items[0] : NULL;
        if (o) o->refs++;
        pthread_mutex_unlock(&g_lock);
        if (o == NULL) return;
        retire(o);
        release(o);
    }
}

static int run(uint64_t seed, int seconds, int threads) {
    run_seed = seed;
    memset(counters, 0, sizeof(counters));
    __atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
    printf("api_exerciser: seed %llu, %d s, %d threads\n", (unsigned long long)seed, seconds, threads);
    fflush(stdout);
    pthread_t wd;
    wd_done = 0;
    phase("open", 20000);
    pthread_create(&wd, NULL, watchdog, NULL);

    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    QUIC_REGISTRATION_CONFIG rc = {"spin", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rc, &reg)));
    server_cfg = open_configuration(reg, 1, NULL);
    client_cfg = open_configuration(reg, 0, NULL);
    HQUIC main_listener = NULL;
    main_listener_obj.done = 0;
    CHECK(QUIC_SUCCEEDED(api->ListenerOpen(reg, listener_cb, &main_listener_obj, &main_listener)));
    main_listener_obj.h = main_listener;
    main_port = start_listener(api, main_listener, ALPN);

    phase("run", (long long)seconds * 1000 + 20000);
    pthread_t* ts = calloc((size_t)threads, sizeof(pthread_t));
    ThreadArgs* args = calloc((size_t)threads, sizeof(ThreadArgs));
    long long end = now_ms() + (long long)seconds * 1000;
    for (int i = 0; i < threads; i++) {
        args[i].index = i;
        args[i].end_ms = end;
        pthread_create(&ts[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);
    free(ts);
    free(args);

    phase("cleanup", 30000);
    __atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
    close_all(K_LISTENER);
    api->ListenerClose(main_listener);
    for (;;) {
        close_all(K_STREAM);
        close_all(K_CONN);
        pthread_mutex_lock(&g_lock);
        int left = tables[K_STREAM].len + tables[K_CONN].len;
        pthread_mutex_unlock(&g_lock);
        if (left == 0) break;
    }
    close_all(K_CONFIG);
    api->ConfigurationClose(server_cfg);
    api->ConfigurationClose(client_cfg);
    phase("registration close", 20000);
    api->RegistrationClose(reg);
    phase("library close", 20000);
    MsQuicClose(api);

    pthread_mutex_lock(&wd_lock);
    wd_done = 1;
    pthread_cond_signal(&wd_cond);
    pthread_mutex_unlock(&wd_lock);
    pthread_join(wd, NULL);

    for (int k = 0; k < K_COUNT; k++) {
        free(tables[k].items);
        tables[k].items = NULL;
        tables[k].len = tables[k].cap = 0;
    }
    printf("api_exerciser: seed %llu:", (unsigned long long)seed);
    for (size_t i = 0; i < sizeof(COUNTER_NAMES) / sizeof(COUNTER_NAMES[0]); i++) {
        printf(" %s=%ld", COUNTER_NAMES[i], counters[i]);
    }
    printf("\n");
    if (counters[C_SENDS] != counters[C_SENDS_BACK]) {
        fprintf(stderr, "seed %llu: %ld stream sends never completed\n", (unsigned long long)seed,
                counters[C_SENDS] - counters[C_SENDS_BACK]);
        CHECK(!"every stream send completes");
    }
    for (SendBuf* b = dgram_list.next; b != &dgram_list; b = b->next) {
        fprintf(stderr,
                "seed %llu: datagram %p of connection #%u (flags at send %#x, at the end %#x; "
                "flags: 1 server, 2 async close, 4 connected, 8 shutdown complete, 16 close "
                "called, 32 close returned, 64 pool, 128 app close in progress) sent %lld ms "
                "before the end\n",
                (unsigned long long)seed, (void*)b, b->serial, b->flags_at_send, conn_log[b->serial],
                now_ms() - b->sent_ms);
    }
    dgram_list.next = dgram_list.prev = &dgram_list;
    free(conn_log);
    conn_log = NULL;
    conn_log_len = conn_log_cap = 0;
    if (counters[C_DGRAMS] != counters[C_DGRAMS_BACK]) {
        fprintf(stderr, "seed %llu: %ld datagrams never reached a final state\n",
                (unsigned long long)seed, counters[C_DGRAMS] - counters[C_DGRAMS_BACK]);
        CHECK(!"every datagram reaches a final state");
    }
    CHECK(counters[C_CONNECTED] > 0);
    fflush(stdout);
    return failures;
}

int main(int argc, char** argv) {
    if (!have_test_cert()) return 1;
    const char* seeds = argc > 1 ? argv[1] : getenv("EXERCISER_SEEDS");
    const char* secs = argc > 2 ? argv[2] : getenv("EXERCISER_SECONDS");
    const char* thr = argc > 3 ? argv[3] : getenv("EXERCISER_THREADS");
    int seconds = secs ? atoi(secs) : 2;
    int threads = thr ? atoi(thr) : 4;
    if (seconds < 0) seconds = 0;
    if (threads < 1) threads = 1;
    const char* p = seeds ? seeds : "1";
    while (*p) {
        char* end;
        unsigned long long seed = strtoull(p, &end, 10);
        if (end == p) break;
        if (run(seed, seconds, threads) != 0) {
            fprintf(stderr, "api_exerciser: seed %llu failed\n", seed);
            break;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return finish("api_exerciser");
}
