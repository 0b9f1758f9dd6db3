/* perf: a client/server performance tool written only on the MsQuic API (include/msquic.h),
 * so that the same binary runs over any libmsquic.so.2: this library (QMux over TLS, or over
 * plain TCP with MSQUIC_QMUX_TRANSPORT=tcp) or Microsoft's MsQuic (QUIC over UDP).
 *
 *   perf -server -port P -cert C -key K [-buffered 0|1] [-exit-after S]
 *   perf -client -target 127.0.0.1 -port P -scenario S [options] [-buffered 0|1] [-json]
 *
 * Scenarios: upload, download (one stream, -bytes N), rr (-parallel K request/response
 * streams, -seconds T or -requests N), hps (-parallel K connections opened over and over for
 * -seconds T), idle (-connections N idle connections; memory per connection on both sides).
 * See perf/README.md. Not a test: a measuring tool. */
#define _GNU_SOURCE
#include "msquic.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ----------------------------------------------------------------------------------------- */
/* Options                                                                                   */
/* ----------------------------------------------------------------------------------------- */

typedef struct {
    int server, client, json, buffered, exec;
    const char *target, *cert, *key, *scenario, *label;
    uint16_t port;
    uint64_t bytes, requests;
    double seconds, exit_after;
    uint32_t parallel, connections, req_size, resp_size, chunk, outstanding, window;
    uint32_t handshakes_in_flight;
} Options;

static Options opt = {
    .buffered = 1,
    .target = "127.0.0.1",
    .bytes = 1ull << 30,
    .seconds = 10,
    .parallel = 1,
    .connections = 1000,
    .req_size = 512,
    .resp_size = 4000,
    .chunk = 1 << 20,
    .outstanding = 8,
    .handshakes_in_flight = 64,
};

static const QUIC_API_TABLE* MsQuic;
static HQUIC Registration, Configuration;
static uint8_t* Data; /* read-only payload shared by every send */

static void die(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "perf: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

#define CHECK(call)                                                                           \
    do {                                                                                      \
        QUIC_STATUS s_ = (call);                                                              \
        if (QUIC_FAILED(s_)) die("%s failed: status 0x%x (line %d)", #call, s_, __LINE__);    \
    } while (0)

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_s(double s) {
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* Waits on a semaphore until the monotonic time `deadline`; returns 0 on timeout. */
static int sem_wait_until(sem_t* s, double deadline) {
    struct timespec t = {(time_t)deadline, (long)((deadline - (double)(time_t)deadline) * 1e9)};
    for (;;) {
        if (sem_clockwait(s, CLOCK_MONOTONIC, &t) == 0) return 1;
        if (errno == ETIMEDOUT) return 0;
        if (errno != EINTR) die("sem_clockwait: %s", strerror(errno));
    }
}

static void sem_wait_or_die(sem_t* s, double timeout, const char* what) {
    if (!sem_wait_until(s, now_s() + timeout)) die("timed out after %.0f s waiting for %s", timeout, what);
}

/* ----------------------------------------------------------------------------------------- */
/* Memory of this process                                                                    */
/* ----------------------------------------------------------------------------------------- */

/* Reads "Key:  N kB" from a /proc file; returns bytes, or 0 if absent. */
static uint64_t proc_kb(const char* file, const char* key) {
    FILE* f = fopen(file, "r");
    if (f == NULL) return 0;
    char line[256];
    size_t n = strlen(key);
    uint64_t v = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtoull(line + n + 1, NULL, 10) * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resident memory of the process in bytes: Pss from smaps_rollup (VmRSS where missing). */
static uint64_t resident(void) {
    uint64_t pss = proc_kb("/proc/self/smaps_rollup", "Pss");
    return pss != 0 ? pss : proc_kb("/proc/self/status", "VmRSS");
}

static uint64_t peak_rss(void) { return proc_kb("/proc/self/status", "VmHWM"); }

/* Open file descriptors of the process. */
static long open_fds(void) {
    DIR* d = opendir("/proc/self/fd");
    if (d == NULL) return 0;
    long n = 0;
    while (readdir(d) != NULL) n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

/* Raises the open-file limit: to 1M (or fs.nr_open) where allowed (root), else to the hard limit. */
static void raise_nofile(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    rlim_t want = 1 << 20;
    FILE* f = fopen("/proc/sys/fs/nr_open", "r");
    if (f != NULL) {
        unsigned long long v;
        if (fscanf(f, "%llu", &v) == 1 && v < want) want = (rlim_t)v;
        fclose(f);
    }
    struct rlimit big = {want, want};
    if (want > r.rlim_max && setrlimit(RLIMIT_NOFILE, &big) == 0) return;
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

/* ----------------------------------------------------------------------------------------- */
/* Request header: the first 16 bytes of every stream the client opens                       */
/* ----------------------------------------------------------------------------------------- */

enum { OP_UPLOAD = 1, OP_DOWNLOAD = 2, OP_RR = 3, OP_MEM = 4 };
#define HDR_LEN 16

static void put_u64(uint8_t* p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void make_header(uint8_t* h, int op, uint64_t size) {
    memset(h, 0, HDR_LEN);
    memcpy(h, "PERF", 4);
    h[4] = (uint8_t)op;
    put_u64(h + 8, size);
}

/* ----------------------------------------------------------------------------------------- */
/* Library and configuration                                                                 */
/* ----------------------------------------------------------------------------------------- */

static char LibVersion[64] = "unknown", LibPath[512] = "unknown", Transport[16] = "quic-udp";

static void describe_library(void) {
    uint32_t v[4] = {0};
    uint32_t len = sizeof(v);
    if (QUIC_SUCCEEDED(MsQuic->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &len, v)))
        snprintf(LibVersion, sizeof(LibVersion), "%u.%u.%u", v[0], v[1], v[2]);
    FILE* f = fopen("/proc/self/maps", "r");
    if (f != NULL) {
        char line[1024];
        while (fgets(line, sizeof(line), f) != NULL) {
            char* p = strstr(line, "/");
            if (p != NULL && strstr(p, "libmsquic") != NULL) {
                p[strcspn(p, "\n")] = 0;
                snprintf(LibPath, sizeof(LibPath), "%s", p);
                break;
            }
        }
        fclose(f);
    }
    /* This library's transport extension; MsQuic does not know the parameter. */
    uint32_t t = 0;
    len = sizeof(t);
    if (QUIC_SUCCEEDED(MsQuic->GetParam(Registration, QUIC_PARAM_REGISTRATION_TRANSPORT, &len, &t)))
        snprintf(Transport, sizeof(Transport), "%s", t == QUIC_TRANSPORT_QMUX_TCP ? "qmux-tcp" : "qmux-tls");
}

static const QUIC_BUFFER Alpn = {4, (uint8_t*)"perf"};

static void open_library(void) {
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    CHECK(MsQuicOpen2(&MsQuic));
    QUIC_REGISTRATION_CONFIG rc = {"perf", (QUIC_EXECUTION_PROFILE)opt.exec};
    CHECK(MsQuic->RegistrationOpen(&rc, &Registration));
    describe_library();
    Data = malloc(opt.chunk > opt.resp_size ? opt.chunk : opt.resp_size);
    if (Data == NULL) die("out of memory");
    memset(Data, 0x5a, opt.chunk > opt.resp_size ? opt.chunk : opt.resp_size);
}

static void open_configuration(int server) {
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.IdleTimeoutMs = 1;
    s.IdleTimeoutMs = 600000;
    s.IsSet.SendBufferingEnabled = 1;
    s.SendBufferingEnabled = opt.buffered ? 1 : 0;
    if (server) {
        s.IsSet.PeerBidiStreamCount = 1;
        s.PeerBidiStreamCount = 1000;
    }
    if (opt.window != 0) {
        s.IsSet.StreamRecvWindowDefault = 1;
        s.StreamRecvWindowDefault = opt.window;
        s.IsSet.ConnFlowControlWindow = 1;
        s.ConnFlowControlWindow = opt.window * 2;
    }
    CHECK(MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &s, sizeof(s), NULL, &Configuration));
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    QUIC_CERTIFICATE_FILE file = {opt.key, opt.cert};
    if (server) {
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &file;
    } else {
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    }
    CHECK(MsQuic->ConfigurationLoadCredential(Configuration, &cred));
}

/* ----------------------------------------------------------------------------------------- */
/* Server                                                                                    */
/* ----------------------------------------------------------------------------------------- */

static atomic_long ServerConnections;

typedef struct {
    uint8_t hdr[HDR_LEN];
    uint32_t hdr_len;
    int op;
    uint64_t size, received, queued;
    uint8_t reply[24];
    QUIC_BUFFER reply_buf;
} ServerStream;

static void server_send_next(HQUIC stream, ServerStream* ss) {
    if (ss->queued >= ss->size) return;
    uint64_t n = ss->size - ss->queued;
    if (n > opt.chunk) n = opt.chunk;
    QUIC_BUFFER* b = malloc(sizeof(*b));
    if (b == NULL) die("out of memory");
    b->Buffer = Data;
    b->Length = (uint32_t)n;
    ss->queued += n;
    QUIC_SEND_FLAGS f = ss->queued >= ss->size ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
    QUIC_STATUS st = MsQuic->StreamSend(stream, b, 1, f, b);
    if (QUIC_FAILED(st)) {
        fprintf(stderr, "perf server: StreamSend failed: 0x%x\n", st);
        free(b);
        MsQuic->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 1);
    }
}

static void server_reply(HQUIC stream, ServerStream* ss, uint32_t len) {
    ss->reply_buf.Buffer = ss->reply;
    ss->reply_buf.Length = len;
    QUIC_STATUS st = MsQuic->StreamSend(stream, &ss->reply_buf, 1, QUIC_SEND_FLAG_FIN, NULL);
    if (QUIC_FAILED(st)) fprintf(stderr, "perf server: StreamSend failed: 0x%x\n", st);
}


static QUIC_STATUS QUIC_API server_stream_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* e) {
    ServerStream* ss = ctx;
    switch (e->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < e->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &e->RECEIVE.Buffers[i];
            uint32_t off = 0;
            if (ss->hdr_len < HDR_LEN) {
                off = HDR_LEN - ss->hdr_len;
                if (off > b->Length) off = b->Length;
                memcpy(ss->hdr + ss->hdr_len, b->Buffer, off);
                ss->hdr_len += off;
                if (ss->hdr_len == HDR_LEN) {
                    if (memcmp(ss->hdr, "PERF", 4) != 0) {
                        fprintf(stderr, "perf server: bad request header\n");
                        MsQuic->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 2);
                        return QUIC_STATUS_SUCCESS;
                    }
                    ss->op = ss->hdr[4];
                    ss->size = get_u64(ss->hdr + 8);
                    if (ss->op == OP_DOWNLOAD) {
                        if (ss->size == 0) {
                            MsQuic->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
                        } else {
                            for (uint32_t k = 0; k < opt.outstanding; k++) server_send_next(stream, ss);
                        }
                    }
                }
            }
            ss->received += b->Length - off;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        if (ss->hdr_len < HDR_LEN) {
            MsQuic->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 2);
        } else if (ss->op == OP_UPLOAD) {
            put_u64(ss->reply, ss->received);
            server_reply(stream, ss, 8);
        } else if (ss->op == OP_RR) {
            QUIC_BUFFER* b = malloc(sizeof(*b));
            if (b == NULL) die("out of memory");
            b->Buffer = Data;
            b->Length = (uint32_t)(ss->size <= opt.chunk ? ss->size : opt.chunk);
            QUIC_STATUS st = MsQuic->StreamSend(stream, b, 1, QUIC_SEND_FLAG_FIN, b);
            if (QUIC_FAILED(st)) {
                fprintf(stderr, "perf server: StreamSend failed: 0x%x\n", st);
                free(b);
            }
        } else if (ss->op == OP_MEM) {
            malloc_trim(0);
            put_u64(ss->reply, resident());
            put_u64(ss->reply + 8, (uint64_t)atomic_load(&ServerConnections));
            put_u64(ss->reply + 16, peak_rss());
            server_reply(stream, ss, 24);
        }
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (e->SEND_COMPLETE.ClientContext != NULL) {
            free(e->SEND_COMPLETE.ClientContext);
            if (ss->op == OP_DOWNLOAD && !e->SEND_COMPLETE.Canceled) server_send_next(stream, ss);
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        MsQuic->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        if (!e->SHUTDOWN_COMPLETE.AppCloseInProgress) MsQuic->StreamClose(stream);
        free(ss);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_conn_cb(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* e) {
    (void)ctx;
    switch (e->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        atomic_fetch_add(&ServerConnections, 1);
        MsQuic->SetContext(conn, (void*)1);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED: {
        ServerStream* ss = calloc(1, sizeof(*ss));
        if (ss == NULL) die("out of memory");
        MsQuic->SetCallbackHandler(e->PEER_STREAM_STARTED.Stream, (void*)server_stream_cb, ss);
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        if (MsQuic->GetContext(conn) != NULL) atomic_fetch_sub(&ServerConnections, 1);
        if (!e->SHUTDOWN_COMPLETE.AppCloseInProgress) MsQuic->ConnectionClose(conn);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_listener_cb(HQUIC l, void* ctx, QUIC_LISTENER_EVENT* e) {
    (void)l;
    (void)ctx;
    if (e->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    MsQuic->SetCallbackHandler(e->NEW_CONNECTION.Connection, (void*)server_conn_cb, NULL);
    QUIC_STATUS st = MsQuic->ConnectionSetConfiguration(e->NEW_CONNECTION.Connection, Configuration);
    if (QUIC_FAILED(st)) fprintf(stderr, "perf server: ConnectionSetConfiguration: 0x%x\n", st);
    return st;
}

static int run_server(void) {
    if (opt.cert == NULL || opt.key == NULL) die("the server needs -cert and -key");
    if (opt.port == 0) die("the server needs -port");
    open_library();
    open_configuration(1);
    HQUIC listener = NULL;
    CHECK(MsQuic->ListenerOpen(Registration, server_listener_cb, NULL, &listener));
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetPort(&addr, opt.port);
    CHECK(MsQuic->ListenerStart(listener, &Alpn, 1, &addr));
    printf("perf server listening on port %u (lib %s %s, %s, %s)\n", opt.port, LibVersion, LibPath,
           Transport, opt.buffered ? "buffered" : "unbuffered");
    fflush(stdout);
    if (opt.exit_after <= 0) {
        for (;;) pause();
    }
    sleep_s(opt.exit_after);
    MsQuic->ListenerClose(listener);
    MsQuic->ConfigurationClose(Configuration);
    MsQuic->RegistrationShutdown(Registration, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
    MsQuic->RegistrationClose(Registration);
    MsQuicClose(MsQuic);
    return 0;
}

/* ----------------------------------------------------------------------------------------- */
/* Client: connections                                                                       */
/* ----------------------------------------------------------------------------------------- */

/* A client connection the program waits on. */
typedef struct {
    HQUIC handle;
    sem_t connected, closed;
    atomic_int ending; /* set before the program shuts it down */
    atomic_int is_connected;
} Conn;

static QUIC_STATUS QUIC_API client_conn_cb(HQUIC h, void* ctx, QUIC_CONNECTION_EVENT* e) {
    (void)h;
    Conn* c = ctx;
    switch (e->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        atomic_store(&c->is_connected, 1);
        sem_post(&c->connected);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        if (!atomic_load(&c->ending))
            die("connection shut down by the transport: status 0x%x, error %llu",
                e->SHUTDOWN_INITIATED_BY_TRANSPORT.Status,
                (unsigned long long)e->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        if (!atomic_load(&c->ending))
            die("connection shut down by the peer: error %llu",
                (unsigned long long)e->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        sem_post(&c->closed);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void conn_init(Conn* c) {
    memset(c, 0, sizeof(*c));
    sem_init(&c->connected, 0, 0);
    sem_init(&c->closed, 0, 0);
}

static void conn_start(Conn* c) {
    CHECK(MsQuic->ConnectionOpen(Registration, client_conn_cb, c, &c->handle));
    CHECK(MsQuic->ConnectionStart(c->handle, Configuration, QUIC_ADDRESS_FAMILY_INET, opt.target, opt.port));
}

static void conn_shutdown(Conn* c) {
    atomic_store(&c->ending, 1);
    MsQuic->ConnectionShutdown(c->handle, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
}

static void conn_finish(Conn* c) {
    sem_wait_or_die(&c->closed, 30, "the connection's SHUTDOWN_COMPLETE");
    MsQuic->ConnectionClose(c->handle);
}

/* ----------------------------------------------------------------------------------------- */
/* Client: one stream carrying a request and its response (upload, download, mem)            */
/* ----------------------------------------------------------------------------------------- */

typedef struct {
    int op;
    uint64_t total, queued, received;
    uint8_t hdr[HDR_LEN];
    QUIC_BUFFER hdr_buf;
    uint8_t reply[24];
    double t0, t1;
    sem_t done;
} Bulk;

static void bulk_send_next(HQUIC stream, Bulk* b) {
    if (b->queued >= b->total) return;
    uint64_t n = b->total - b->queued;
    if (n > opt.chunk) n = opt.chunk;
    QUIC_BUFFER* qb = malloc(sizeof(*qb));
    if (qb == NULL) die("out of memory");
    qb->Buffer = Data;
    qb->Length = (uint32_t)n;
    b->queued += n;
    QUIC_SEND_FLAGS f = b->queued >= b->total ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
    CHECK(MsQuic->StreamSend(stream, qb, 1, f, qb));
}

static QUIC_STATUS QUIC_API bulk_stream_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* e) {
    Bulk* b = ctx;
    switch (e->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        if (QUIC_FAILED(e->START_COMPLETE.Status)) die("stream start failed: 0x%x", e->START_COMPLETE.Status);
        if (b->op == OP_UPLOAD) {
            /* The sends are made on the connection's worker, here and on SEND_COMPLETE. */
            QUIC_SEND_FLAGS f = b->total == 0 ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
            CHECK(MsQuic->StreamSend(stream, &b->hdr_buf, 1, f, NULL));
            for (uint32_t i = 0; i < opt.outstanding; i++) bulk_send_next(stream, b);
        } else {
            CHECK(MsQuic->StreamSend(stream, &b->hdr_buf, 1, QUIC_SEND_FLAG_FIN, NULL));
        }
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < e->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* qb = &e->RECEIVE.Buffers[i];
            if (b->op != OP_DOWNLOAD) {
                for (uint32_t k = 0; k < qb->Length && b->received + k < sizeof(b->reply); k++)
                    b->reply[b->received + k] = qb->Buffer[k];
            }
            b->received += qb->Length;
        }
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (e->SEND_COMPLETE.ClientContext != NULL) {
            free(e->SEND_COMPLETE.ClientContext);
            if (e->SEND_COMPLETE.Canceled) die("a send was canceled");
            bulk_send_next(stream, b);
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        b->t1 = now_s();
        sem_post(&b->done);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        die("the server aborted the stream (error %llu)", (unsigned long long)e->PEER_SEND_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        die("the server aborted receiving (error %llu)", (unsigned long long)e->PEER_RECEIVE_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        if (!e->SHUTDOWN_COMPLETE.AppCloseInProgress) MsQuic->StreamClose(stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* Runs one request on a new stream of `c` and waits for the whole response. */
static void bulk_run(Conn* c, Bulk* b, int op, uint64_t total, double timeout) {
    memset(b, 0, sizeof(*b));
    sem_init(&b->done, 0, 0);
    b->op = op;
    b->total = op == OP_UPLOAD ? total : 0;
    make_header(b->hdr, op, total);
    b->hdr_buf.Buffer = b->hdr;
    b->hdr_buf.Length = HDR_LEN;
    HQUIC stream = NULL;
    CHECK(MsQuic->StreamOpen(c->handle, QUIC_STREAM_OPEN_FLAG_NONE, bulk_stream_cb, b, &stream));
    b->t0 = now_s();
    CHECK(MsQuic->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE));
    sem_wait_or_die(&b->done, timeout, "the response");
}

/* ----------------------------------------------------------------------------------------- */
/* Results                                                                                   */
/* ----------------------------------------------------------------------------------------- */

typedef struct {
    double seconds, gbps, rps, hps, p50, p90, p99, p999;
    uint64_t bytes, requests, handshakes, failures;
    double idle_client, idle_server, fds_per_conn;
    uint64_t server_peak;
    int has_gbps, has_rr, has_hps, has_idle;
} Result;

static void report(const Result* r) {
    const char* mode = opt.buffered ? "buffered" : "unbuffered";
    const char* label = opt.label != NULL ? opt.label : Transport;
    printf("%s [%s, %s, %s, lib %s]:", opt.scenario, label, Transport, mode, LibVersion);
    if (r->has_gbps)
        printf(" %llu bytes in %.3f s = %.3f GB/s", (unsigned long long)r->bytes, r->seconds, r->gbps);
    if (r->has_rr)
        printf(" parallel %u: %llu requests in %.2f s = %.0f req/s, latency us p50 %.1f p90 %.1f p99 %.1f "
               "p99.9 %.1f",
               opt.parallel, (unsigned long long)r->requests, r->seconds, r->rps, r->p50, r->p90, r->p99,
               r->p999);
    if (r->has_hps)
        printf(" parallel %u: %llu handshakes in %.2f s = %.0f/s (%llu failed)", opt.parallel,
               (unsigned long long)r->handshakes, r->seconds, r->hps, (unsigned long long)r->failures);
    if (r->has_idle)
        printf(" %u connections: %.0f bytes/connection client, %.0f bytes/connection server, %.1f client "
               "fds/connection",
               opt.connections, r->idle_client, r->idle_server, r->fds_per_conn);
    printf(" (peak RSS %.1f MiB)\n", (double)peak_rss() / 1048576.0);
    if (opt.json) {
        printf("{\"scenario\":\"%s\",\"impl\":\"%s\",\"transport\":\"%s\",\"lib\":\"%s\",\"lib_path\":\"%s\","
               "\"buffered\":%d,\"bytes\":%llu,\"seconds\":%.6f",
               opt.scenario, label, Transport, LibVersion, LibPath, opt.buffered,
               (unsigned long long)r->bytes, r->seconds);
        if (r->has_gbps) printf(",\"gbps\":%.6f", r->gbps);
        if (r->has_rr)
            printf(",\"parallel\":%u,\"requests\":%llu,\"rps\":%.3f,\"p50_us\":%.2f,\"p90_us\":%.2f,"
                   "\"p99_us\":%.2f,\"p999_us\":%.2f",
                   opt.parallel, (unsigned long long)r->requests, r->rps, r->p50, r->p90, r->p99, r->p999);
        if (r->has_hps)
            printf(",\"parallel\":%u,\"handshakes\":%llu,\"failures\":%llu,\"hps\":%.3f", opt.parallel,
                   (unsigned long long)r->handshakes, (unsigned long long)r->failures, r->hps);
        if (r->has_idle)
            printf(",\"connections\":%u,\"idle_bytes_per_conn\":%.1f,\"server_idle_bytes_per_conn\":%.1f,"
                   "\"server_peak_rss\":%llu,\"client_fds_per_conn\":%.2f",
                   opt.connections, r->idle_client, r->idle_server, (unsigned long long)r->server_peak,
                   r->fds_per_conn);
        printf(",\"peak_rss\":%llu}\n", (unsigned long long)peak_rss());
    }
    fflush(stdout);
}

/* ----------------------------------------------------------------------------------------- */
/* Scenarios                                                                                 */
/* ----------------------------------------------------------------------------------------- */

static void connect_one(Conn* c) {
    conn_init(c);
    conn_start(c);
    sem_wait_or_die(&c->connected, 30, "CONNECTED");
}

static int run_bulk(int op) {
    Conn c;
    connect_one(&c);
    Bulk b;
    bulk_run(&c, &b, op, opt.bytes, 3600);
    uint64_t got = op == OP_UPLOAD ? get_u64(b.reply) : b.received;
    if (op == OP_UPLOAD && b.received != 8) die("bad upload reply (%llu bytes)", (unsigned long long)b.received);
    if (got != opt.bytes)
        die("the receiver got %llu bytes of %llu", (unsigned long long)got, (unsigned long long)opt.bytes);
    conn_shutdown(&c);
    conn_finish(&c);
    Result r = {0};
    r.bytes = opt.bytes;
    r.seconds = b.t1 - b.t0;
    r.gbps = (double)opt.bytes / r.seconds / 1e9;
    r.has_gbps = 1;
    report(&r);
    return 0;
}

/* rr: every request is a new stream: REQ bytes (header + padding, FIN) up, RESP bytes down. */
typedef struct {
    double t0;
    uint64_t received;
} Req;

static struct {
    Conn conn;
    double deadline;
    atomic_ullong started;
    atomic_int outstanding;
    sem_t done;
    uint64_t completed; /* the rest is touched only by the connection's callbacks */
    float* lat;
    size_t lat_cap;
    double last;
} RR;

static uint8_t ReqBytes[65536];
static QUIC_BUFFER ReqBuf;

static QUIC_STATUS QUIC_API rr_stream_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* e);

static void rr_start(void) {
    Req* q = calloc(1, sizeof(*q));
    if (q == NULL) die("out of memory");
    HQUIC s = NULL;
    atomic_fetch_add(&RR.started, 1);
    q->t0 = now_s();
    CHECK(MsQuic->StreamOpen(RR.conn.handle, QUIC_STREAM_OPEN_FLAG_NONE, rr_stream_cb, q, &s));
    CHECK(MsQuic->StreamStart(s, QUIC_STREAM_START_FLAG_NONE));
    CHECK(MsQuic->StreamSend(s, &ReqBuf, 1, QUIC_SEND_FLAG_FIN, NULL));
}

static QUIC_STATUS QUIC_API rr_stream_cb(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* e) {
    Req* q = ctx;
    switch (e->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        if (QUIC_FAILED(e->START_COMPLETE.Status)) die("stream start failed: 0x%x", e->START_COMPLETE.Status);
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        q->received += e->RECEIVE.TotalBufferLength;
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN: {
        double t = now_s();
        if (q->received != opt.resp_size)
            die("response of %llu bytes, expected %u", (unsigned long long)q->received, opt.resp_size);
        if (RR.completed == RR.lat_cap) {
            RR.lat_cap = RR.lat_cap ? RR.lat_cap * 2 : 65536;
            RR.lat = realloc(RR.lat, RR.lat_cap * sizeof(float));
            if (RR.lat == NULL) die("out of memory");
        }
        RR.lat[RR.completed++] = (float)((t - q->t0) * 1e6);
        RR.last = t;
        if (t < RR.deadline && (opt.requests == 0 || atomic_load(&RR.started) < opt.requests)) {
            rr_start();
        } else if (atomic_fetch_sub(&RR.outstanding, 1) == 1) {
            sem_post(&RR.done);
        }
        break;
    }
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        die("the server aborted a response (error %llu)", (unsigned long long)e->PEER_SEND_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        die("the server aborted a request (error %llu)", (unsigned long long)e->PEER_RECEIVE_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        if (!e->SHUTDOWN_COMPLETE.AppCloseInProgress) MsQuic->StreamClose(stream);
        free(q);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static int cmp_float(const void* a, const void* b) {
    float x = *(const float*)a, y = *(const float*)b;
    return x < y ? -1 : x > y;
}

static double percentile(const float* v, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p / 100.0 * (double)n);
    if (i >= n) i = n - 1;
    return v[i];
}

static int run_rr(void) {
    if (opt.req_size < HDR_LEN || opt.req_size > sizeof(ReqBytes)) die("-request-size must be 16..65536");
    if (opt.resp_size > opt.chunk) die("-response-size must be at most -chunk");
    make_header(ReqBytes, OP_RR, opt.resp_size);
    ReqBuf.Buffer = ReqBytes;
    ReqBuf.Length = opt.req_size;
    sem_init(&RR.done, 0, 0);
    connect_one(&RR.conn);
    double t0 = now_s();
    RR.deadline = opt.requests != 0 ? t0 + 3600 : t0 + opt.seconds;
    uint32_t k = opt.parallel;
    if (opt.requests != 0 && k > opt.requests) k = (uint32_t)opt.requests;
    atomic_store(&RR.outstanding, (int)k);
    for (uint32_t i = 0; i < k; i++) rr_start();
    sem_wait_or_die(&RR.done, (RR.deadline - t0) + 60, "the last responses");
    conn_shutdown(&RR.conn);
    conn_finish(&RR.conn);
    Result r = {0};
    r.requests = RR.completed;
    r.seconds = RR.last - t0;
    r.rps = (double)RR.completed / r.seconds;
    qsort(RR.lat, RR.completed, sizeof(float), cmp_float);
    r.p50 = percentile(RR.lat, RR.completed, 50);
    r.p90 = percentile(RR.lat, RR.completed, 90);
    r.p99 = percentile(RR.lat, RR.completed, 99);
    r.p999 = percentile(RR.lat, RR.completed, 99.9);
    r.bytes = RR.completed * (uint64_t)(opt.req_size + opt.resp_size);
    r.has_rr = 1;
    report(&r);
    return 0;
}

/* hps: -parallel connections opened, started, shut down when CONNECTED, closed, again. */
static struct {
    sem_t free_slots;
    double deadline;
    atomic_ullong handshakes, failures;
    atomic_int reported;
} HPS;

static QUIC_STATUS QUIC_API hps_conn_cb(HQUIC h, void* ctx, QUIC_CONNECTION_EVENT* e) {
    (void)ctx;
    switch (e->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        if (now_s() < HPS.deadline) atomic_fetch_add(&HPS.handshakes, 1);
        MsQuic->SetContext(h, (void*)1);
        MsQuic->ConnectionShutdown(h, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        if (MsQuic->GetContext(h) == NULL) {
            atomic_fetch_add(&HPS.failures, 1);
            if (atomic_fetch_add(&HPS.reported, 1) < 5)
                fprintf(stderr, "perf: handshake failed: status 0x%x\n", e->SHUTDOWN_INITIATED_BY_TRANSPORT.Status);
        }
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        if (MsQuic->GetContext(h) == NULL) {
            atomic_fetch_add(&HPS.failures, 1);
            if (atomic_fetch_add(&HPS.reported, 1) < 5)
                fprintf(stderr, "perf: handshake refused by the peer: error %llu\n",
                        (unsigned long long)e->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        }
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        MsQuic->ConnectionClose(h);
        sem_post(&HPS.free_slots);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static int run_hps(void) {
    sem_init(&HPS.free_slots, 0, opt.parallel);
    double t0 = now_s();
    HPS.deadline = t0 + opt.seconds;
    while (sem_wait_until(&HPS.free_slots, HPS.deadline)) {
        if (now_s() >= HPS.deadline) {
            sem_post(&HPS.free_slots);
            break;
        }
        HQUIC h = NULL;
        CHECK(MsQuic->ConnectionOpen(Registration, hps_conn_cb, NULL, &h));
        QUIC_STATUS st = MsQuic->ConnectionStart(h, Configuration, QUIC_ADDRESS_FAMILY_INET, opt.target, opt.port);
        if (QUIC_FAILED(st)) die("ConnectionStart failed: 0x%x", st);
    }
    double t1 = now_s();
    for (uint32_t i = 0; i < opt.parallel; i++) sem_wait_or_die(&HPS.free_slots, 60, "the last connections");
    Result r = {0};
    r.handshakes = atomic_load(&HPS.handshakes);
    r.failures = atomic_load(&HPS.failures);
    r.seconds = t1 - t0;
    r.hps = (double)r.handshakes / r.seconds;
    r.has_hps = 1;
    report(&r);
    return r.failures != 0 || r.handshakes == 0;
}

/* idle: memory per idle connection, on both sides. The server reports its own memory on a
 * control connection's streams (OP_MEM). */
static void query_server(Conn* control, uint64_t* mem, uint64_t* conns, uint64_t* peak) {
    Bulk b;
    bulk_run(control, &b, OP_MEM, 0, 30);
    if (b.received != 24) die("bad memory reply (%llu bytes)", (unsigned long long)b.received);
    *mem = get_u64(b.reply);
    *conns = get_u64(b.reply + 8);
    *peak = get_u64(b.reply + 16);
}

static sem_t IdleInFlight;
static atomic_int IdleConnected, IdleClosed;

static QUIC_STATUS QUIC_API idle_conn_cb(HQUIC h, void* ctx, QUIC_CONNECTION_EVENT* e) {
    (void)h;
    atomic_int* ending = ctx;
    switch (e->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        atomic_fetch_add(&IdleConnected, 1);
        sem_post(&IdleInFlight);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        if (!atomic_load(ending))
            die("idle connection shut down by the transport: status 0x%x (after %d connected)",
                e->SHUTDOWN_INITIATED_BY_TRANSPORT.Status, atomic_load(&IdleConnected));
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        if (!atomic_load(ending)) die("idle connection shut down by the peer");
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        atomic_fetch_add(&IdleClosed, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static int run_idle(void) {
    uint32_t n = opt.connections;
    if (n == 0) die("-connections must be positive");
    Conn control;
    connect_one(&control);
    uint64_t s_before, s_after, s_conns, s_peak;
    query_server(&control, &s_before, &s_conns, &s_peak); /* warms the stream path */
    malloc_trim(0);
    uint64_t c_before = resident();
    long fds_before = open_fds();
    query_server(&control, &s_before, &s_conns, &s_peak);
    HQUIC* h = calloc(n, sizeof(HQUIC));
    if (h == NULL) die("out of memory");
    static atomic_int ending;
    sem_init(&IdleInFlight, 0, opt.handshakes_in_flight);
    double t0 = now_s();
    for (uint32_t i = 0; i < n; i++) {
        sem_wait_or_die(&IdleInFlight, 60, "handshakes to complete");
        CHECK(MsQuic->ConnectionOpen(Registration, idle_conn_cb, &ending, &h[i]));
        CHECK(MsQuic->ConnectionStart(h[i], Configuration, QUIC_ADDRESS_FAMILY_INET, opt.target, opt.port));
    }
    while (atomic_load(&IdleConnected) < (int)n) {
        if (now_s() - t0 > 300) die("only %d of %u connections connected", atomic_load(&IdleConnected), n);
        sleep_s(0.01);
    }
    double connect_time = now_s() - t0;
    /* Let the handshakes' leftovers settle, then measure both sides. */
    sleep_s(1.0);
    for (int tries = 0;; tries++) {
        query_server(&control, &s_after, &s_conns, &s_peak);
        if (s_conns >= (uint64_t)n + 1) break;
        if (tries > 100) die("the server reports %llu connections, expected %u", (unsigned long long)s_conns, n + 1);
        sleep_s(0.1);
    }
    malloc_trim(0);
    uint64_t c_after = resident();
    long fds_after = open_fds();
    atomic_store(&ending, 1);
    for (uint32_t i = 0; i < n; i++) MsQuic->ConnectionShutdown(h[i], QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    double t1 = now_s();
    while (atomic_load(&IdleClosed) < (int)n) {
        if (now_s() - t1 > 120) die("only %d of %u connections closed", atomic_load(&IdleClosed), n);
        sleep_s(0.01);
    }
    for (uint32_t i = 0; i < n; i++) MsQuic->ConnectionClose(h[i]);
    free(h);
    conn_shutdown(&control);
    conn_finish(&control);
    Result r = {0};
    r.seconds = connect_time;
    r.idle_client = ((double)c_after - (double)c_before) / n;
    r.idle_server = ((double)s_after - (double)s_before) / n;
    r.server_peak = s_peak;
    r.fds_per_conn = (double)(fds_after - fds_before) / n;
    r.has_idle = 1;
    report(&r);
    return 0;
}

static int run_client(void) {
    if (opt.port == 0) die("the client needs -port");
    if (opt.scenario == NULL) die("the client needs -scenario upload|download|rr|hps|idle");
    open_library();
    open_configuration(0);
    int rc;
    if (strcmp(opt.scenario, "upload") == 0) rc = run_bulk(OP_UPLOAD);
    else if (strcmp(opt.scenario, "download") == 0) rc = run_bulk(OP_DOWNLOAD);
    else if (strcmp(opt.scenario, "rr") == 0) rc = run_rr();
    else if (strcmp(opt.scenario, "hps") == 0) rc = run_hps();
    else if (strcmp(opt.scenario, "idle") == 0) rc = run_idle();
    else die("unknown scenario %s", opt.scenario);
    MsQuic->ConfigurationClose(Configuration);
    MsQuic->RegistrationClose(Registration);
    MsQuicClose(MsQuic);
    return rc;
}

/* ----------------------------------------------------------------------------------------- */

static uint64_t parse_size(const char* s) {
    char* end = NULL;
    double v = strtod(s, &end);
    uint64_t m = 1;
    if (end != NULL && *end != 0) {
        if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kib") == 0) m = 1ull << 10;
        else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mib") == 0) m = 1ull << 20;
        else if (strcasecmp(end, "g") == 0 || strcasecmp(end, "gib") == 0) m = 1ull << 30;
        else if (strcasecmp(end, "kb") == 0) m = 1000;
        else if (strcasecmp(end, "mb") == 0) m = 1000000;
        else if (strcasecmp(end, "gb") == 0) m = 1000000000;
        else die("bad size %s", s);
    }
    return (uint64_t)(v * (double)m);
}

static void usage(void) {
    fprintf(stderr,
            "usage: perf -server -port P -cert FILE -key FILE [-buffered 0|1] [-exit-after S]\n"
            "       perf -client [-target 127.0.0.1] -port P -scenario upload|download|rr|hps|idle\n"
            "            [-bytes N[KiB|MiB|GiB]] [-seconds T] [-requests N] [-parallel K]\n"
            "            [-connections N] [-request-size B] [-response-size B] [-chunk B]\n"
            "            [-outstanding N] [-window B] [-exec lowlat|maxtput] [-buffered 0|1]\n"
            "            [-label NAME] [-json]\n");
    exit(2);
}

int main(int argc, char** argv) {
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
#define VAL() (v != NULL ? (i++, v) : (usage(), ""))
        if (strcmp(a, "-server") == 0) opt.server = 1;
        else if (strcmp(a, "-client") == 0) opt.client = 1;
        else if (strcmp(a, "-json") == 0) opt.json = 1;
        else if (strcmp(a, "-port") == 0) opt.port = (uint16_t)atoi(VAL());
        else if (strcmp(a, "-target") == 0) opt.target = VAL();
        else if (strcmp(a, "-cert") == 0) opt.cert = VAL();
        else if (strcmp(a, "-key") == 0) opt.key = VAL();
        else if (strcmp(a, "-scenario") == 0) opt.scenario = VAL();
        else if (strcmp(a, "-label") == 0) opt.label = VAL();
        else if (strcmp(a, "-buffered") == 0) opt.buffered = atoi(VAL());
        else if (strcmp(a, "-bytes") == 0) opt.bytes = parse_size(VAL());
        else if (strcmp(a, "-seconds") == 0) opt.seconds = atof(VAL());
        else if (strcmp(a, "-requests") == 0) opt.requests = parse_size(VAL());
        else if (strcmp(a, "-parallel") == 0) opt.parallel = (uint32_t)atoi(VAL());
        else if (strcmp(a, "-connections") == 0) opt.connections = (uint32_t)parse_size(VAL());
        else if (strcmp(a, "-request-size") == 0) opt.req_size = (uint32_t)parse_size(VAL());
        else if (strcmp(a, "-response-size") == 0) opt.resp_size = (uint32_t)parse_size(VAL());
        else if (strcmp(a, "-chunk") == 0) opt.chunk = (uint32_t)parse_size(VAL());
        else if (strcmp(a, "-outstanding") == 0) opt.outstanding = (uint32_t)atoi(VAL());
        else if (strcmp(a, "-window") == 0) opt.window = (uint32_t)parse_size(VAL());
        else if (strcmp(a, "-exit-after") == 0) opt.exit_after = atof(VAL());
        else if (strcmp(a, "-exec") == 0) {
            const char* e = VAL();
            opt.exec = strcmp(e, "maxtput") == 0 ? QUIC_EXECUTION_PROFILE_TYPE_MAX_THROUGHPUT
                                                  : QUIC_EXECUTION_PROFILE_LOW_LATENCY;
        } else usage();
#undef VAL
    }
    if (opt.parallel == 0 || opt.chunk == 0 || opt.outstanding == 0) usage();
    if (opt.server == opt.client) usage();
    return opt.server ? run_server() : run_client();
}
