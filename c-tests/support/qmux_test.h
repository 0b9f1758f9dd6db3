/* Helpers shared by the end-to-end C tests: CHECK, waiting with deadlines, and the usual
 * server/client configurations over QMux/TLS with the harness's certificate
 * (MSQUIC_TEST_CERT / MSQUIC_TEST_KEY). Header-only; every function is static. */
#ifndef QMUX_TEST_H
#define QMUX_TEST_H

#include "msquic.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            qt_log("CHECK", "failed line %d: %s", __LINE__, #cond);                 \
            __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);                       \
        }                                                                            \
    } while (0)

/* A counter with a condition variable: events bump it, the test waits for a value. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int value;
} Counter;

static inline void counter_init(Counter* c) {
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->value = 0;
}

static inline void counter_destroy(Counter* c) {
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
}

static inline void counter_add(Counter* c, int n) {
    pthread_mutex_lock(&c->lock);
    c->value += n;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

static inline int counter_get(Counter* c) {
    pthread_mutex_lock(&c->lock);
    int v = c->value;
    pthread_mutex_unlock(&c->lock);
    return v;
}

/* Waits until the counter reaches at least `target`, for at most `ms` milliseconds. */
static inline int counter_wait(Counter* c, int target, int ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    int rc = 0;
    while (c->value < target && rc != ETIMEDOUT) {
        rc = pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
    }
    int ok = c->value >= target;
    pthread_mutex_unlock(&c->lock);
    return ok;
}

/* Milliseconds on the monotonic clock. */
static inline long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Entries of a /proc/self directory (e.g. "/proc/self/task" for threads, "/proc/self/fd" for
 * descriptors), without "." and ".."; -1 if it cannot be read. */
static inline int count_entries(const char* path) {
    DIR* d = opendir(path);
    if (d == NULL) return -1;
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n;
}

/* Threads of this process. */
static inline int thread_count(void) { return count_entries("/proc/self/task"); }

/* Threads of the library (named msquic-qmux-*) in this process. */
static inline int library_threads(void) {
    int found = 0;
    DIR* d = opendir("/proc/self/task");
    if (d == NULL) return 0;
    struct dirent* e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[300], name[64] = {0};
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE* f = fopen(path, "r");
        if (f == NULL) continue;
        if (fgets(name, sizeof(name), f) != NULL && strncmp(name, "msquic-qmux", 11) == 0) found++;
        fclose(f);
    }
    closedir(d);
    return found;
}

/* Waits up to `wait_ms` for the process to have at most `threads` threads (a thread just
 * joined may linger in /proc for a moment); whether it got there. */
static inline int threads_back_to(int threads, long long wait_ms) {
    long long deadline = now_ms() + wait_ms;
    while (thread_count() > threads) {
        if (now_ms() > deadline) return 0;
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
    return 1;
}

static inline const char* test_cert(void) { return getenv("MSQUIC_TEST_CERT"); }
static inline const char* test_key(void) { return getenv("MSQUIC_TEST_KEY"); }

static inline int have_test_cert(void) {
    if (test_cert() == NULL || test_key() == NULL) {
        fprintf(stderr, "MSQUIC_TEST_CERT and MSQUIC_TEST_KEY must name a PEM certificate and key\n");
        return 0;
    }
    return 1;
}

/* ---- Opt-in event transcript ------------------------------------------------------------
 * With QMUX_TEST_TRANSCRIPT=path set, the tests append one line per event (and per API call
 * status they choose to log) to that file: "<role> <EVENT> <fields>", with no pointers and no
 * timing, so that runs against MsQuic and against this library can be compared
 * (scripts/differential.sh). The role is the callback's name (TRACE_* macros use __func__) or a
 * name the test gives; the harness groups lines by role, keeping their order within a role.
 * Without the variable nothing is written. */
static pthread_mutex_t qt_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE* qt_file = NULL;
static int qt_state = 0; /* 0: not looked at yet, 1: writing, -1: off */

static inline void qt_log(const char* role, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void qt_log(const char* role, const char* fmt, ...) {
    pthread_mutex_lock(&qt_lock);
    if (qt_state == 0) {
        const char* path = getenv("QMUX_TEST_TRANSCRIPT");
        qt_file = (path != NULL && path[0] != '\0') ? fopen(path, "a") : NULL;
        qt_state = qt_file != NULL ? 1 : -1;
    }
    if (qt_state == 1) {
        va_list args;
        va_start(args, fmt);
        fprintf(qt_file, "%s ", role);
        vfprintf(qt_file, fmt, args);
        fputc('\n', qt_file);
        fflush(qt_file);
        va_end(args);
    }
    pthread_mutex_unlock(&qt_lock);
}

/* A status by its name in msquic.h (without QUIC_STATUS_), a TLS alert by number, or else
 * its value in hex, written into `buf`. */
static inline const char* qt_status_name(QUIC_STATUS st, char buf[16]) {
#define QT_STATUS(name) \
    if (st == name) return #name + 12;
    QT_STATUS(QUIC_STATUS_SUCCESS)
    QT_STATUS(QUIC_STATUS_PENDING)
    QT_STATUS(QUIC_STATUS_CONTINUE)
    QT_STATUS(QUIC_STATUS_OUT_OF_MEMORY)
    QT_STATUS(QUIC_STATUS_INVALID_PARAMETER)
    QT_STATUS(QUIC_STATUS_INVALID_STATE)
    QT_STATUS(QUIC_STATUS_NOT_SUPPORTED)
    QT_STATUS(QUIC_STATUS_NOT_FOUND)
    QT_STATUS(QUIC_STATUS_FILE_NOT_FOUND)
    QT_STATUS(QUIC_STATUS_BUFFER_TOO_SMALL)
    QT_STATUS(QUIC_STATUS_HANDSHAKE_FAILURE)
    QT_STATUS(QUIC_STATUS_ABORTED)
    QT_STATUS(QUIC_STATUS_ADDRESS_IN_USE)
    QT_STATUS(QUIC_STATUS_INVALID_ADDRESS)
    QT_STATUS(QUIC_STATUS_CONNECTION_TIMEOUT)
    QT_STATUS(QUIC_STATUS_CONNECTION_IDLE)
    QT_STATUS(QUIC_STATUS_INTERNAL_ERROR)
    QT_STATUS(QUIC_STATUS_CONNECTION_REFUSED)
    QT_STATUS(QUIC_STATUS_PROTOCOL_ERROR)
    QT_STATUS(QUIC_STATUS_VER_NEG_ERROR)
    QT_STATUS(QUIC_STATUS_UNREACHABLE)
    QT_STATUS(QUIC_STATUS_TLS_ERROR)
    QT_STATUS(QUIC_STATUS_USER_CANCELED)
    QT_STATUS(QUIC_STATUS_ALPN_NEG_FAILURE)
    QT_STATUS(QUIC_STATUS_STREAM_LIMIT_REACHED)
    QT_STATUS(QUIC_STATUS_ALPN_IN_USE)
    QT_STATUS(QUIC_STATUS_ADDRESS_NOT_AVAILABLE)
    QT_STATUS(QUIC_STATUS_CLOSE_NOTIFY)
    QT_STATUS(QUIC_STATUS_BAD_CERTIFICATE)
    QT_STATUS(QUIC_STATUS_UNSUPPORTED_CERTIFICATE)
    QT_STATUS(QUIC_STATUS_REVOKED_CERTIFICATE)
    QT_STATUS(QUIC_STATUS_EXPIRED_CERTIFICATE)
    QT_STATUS(QUIC_STATUS_UNKNOWN_CERTIFICATE)
    QT_STATUS(QUIC_STATUS_REQUIRED_CERTIFICATE)
    QT_STATUS(QUIC_STATUS_CERT_EXPIRED)
    QT_STATUS(QUIC_STATUS_CERT_UNTRUSTED_ROOT)
    QT_STATUS(QUIC_STATUS_CERT_NO_CERT)
#undef QT_STATUS
    if (st >= TLS_ERROR_BASE && st < TLS_ERROR_BASE + 256) {
        snprintf(buf, 16, "TLS_ALERT(%u)", (unsigned)(st - TLS_ERROR_BASE));
    } else {
        snprintf(buf, 16, "0x%x", (unsigned)st);
    }
    return buf;
}

/* Logs the status an API call returned, under `what` (e.g. "StreamStart"); returns it. */
static inline QUIC_STATUS qt_call(const char* role, const char* what, QUIC_STATUS st) {
    char b[16];
    qt_log(role, "call %s -> %s", what, qt_status_name(st, b));
    return st;
}

static inline void qt_conn_event(const char* role, const QUIC_CONNECTION_EVENT* ev) {
    char b[16];
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        qt_log(role, "CONNECTED resumed=%d alpn=%.*s", ev->CONNECTED.SessionResumed != 0,
               (int)ev->CONNECTED.NegotiatedAlpnLength, (const char*)ev->CONNECTED.NegotiatedAlpn);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        qt_log(role, "SHUTDOWN_INITIATED_BY_TRANSPORT status=%s error=0x%llx",
               qt_status_name(ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status, b),
               (unsigned long long)ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        qt_log(role, "SHUTDOWN_INITIATED_BY_PEER error=0x%llx",
               (unsigned long long)ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        qt_log(role, "SHUTDOWN_COMPLETE handshake=%d peer_acked=%d app_close=%d",
               ev->SHUTDOWN_COMPLETE.HandshakeCompleted, ev->SHUTDOWN_COMPLETE.PeerAcknowledgedShutdown,
               ev->SHUTDOWN_COMPLETE.AppCloseInProgress);
        break;
    case QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED:
        qt_log(role, "LOCAL_ADDRESS_CHANGED");
        break;
    case QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED:
        qt_log(role, "PEER_ADDRESS_CHANGED");
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        qt_log(role, "PEER_STREAM_STARTED flags=0x%x", (unsigned)ev->PEER_STREAM_STARTED.Flags);
        break;
    case QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE:
        qt_log(role, "STREAMS_AVAILABLE bidi=%u uni=%u", ev->STREAMS_AVAILABLE.BidirectionalCount,
               ev->STREAMS_AVAILABLE.UnidirectionalCount);
        break;
    case QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS:
        qt_log(role, "PEER_NEEDS_STREAMS bidi=%d", ev->PEER_NEEDS_STREAMS.Bidirectional != 0);
        break;
    case QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED:
        qt_log(role, "IDEAL_PROCESSOR_CHANGED");
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED:
        qt_log(role, "DATAGRAM_STATE_CHANGED send_enabled=%d",
               ev->DATAGRAM_STATE_CHANGED.SendEnabled != 0);
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED:
        qt_log(role, "DATAGRAM_RECEIVED length=%u flags=0x%x", ev->DATAGRAM_RECEIVED.Buffer->Length,
               (unsigned)ev->DATAGRAM_RECEIVED.Flags);
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED:
        qt_log(role, "DATAGRAM_SEND_STATE_CHANGED state=%d",
               (int)ev->DATAGRAM_SEND_STATE_CHANGED.State);
        break;
    case QUIC_CONNECTION_EVENT_RESUMED:
        qt_log(role, "RESUMED");
        break;
    case QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED:
        qt_log(role, "RESUMPTION_TICKET_RECEIVED");
        break;
    case QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED:
        qt_log(role, "PEER_CERTIFICATE_RECEIVED deferred=%s flags=0x%x cert=%d",
               qt_status_name(ev->PEER_CERTIFICATE_RECEIVED.DeferredStatus, b),
               (unsigned)ev->PEER_CERTIFICATE_RECEIVED.DeferredErrorFlags,
               ev->PEER_CERTIFICATE_RECEIVED.Certificate != NULL);
        break;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    case QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED:
        qt_log(role, "RELIABLE_RESET_NEGOTIATED negotiated=%d",
               ev->RELIABLE_RESET_NEGOTIATED.IsNegotiated != 0);
        break;
    case QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED:
        qt_log(role, "ONE_WAY_DELAY_NEGOTIATED send=%d receive=%d",
               ev->ONE_WAY_DELAY_NEGOTIATED.SendNegotiated != 0,
               ev->ONE_WAY_DELAY_NEGOTIATED.ReceiveNegotiated != 0);
        break;
    case QUIC_CONNECTION_EVENT_NETWORK_STATISTICS:
        qt_log(role, "NETWORK_STATISTICS");
        break;
#endif
    default:
        qt_log(role, "CONNECTION_EVENT_%d", (int)ev->Type);
        break;
    }
}

static inline void qt_stream_event(const char* role, const QUIC_STREAM_EVENT* ev) {
    char b[16];
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        qt_log(role, "START_COMPLETE status=%s id=%llu peer_accepted=%d",
               qt_status_name(ev->START_COMPLETE.Status, b),
               (unsigned long long)ev->START_COMPLETE.ID, ev->START_COMPLETE.PeerAccepted);
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        /* How bytes are split into events is the transport's business: only the flags (the
         * harness folds a run of RECEIVE lines into one). */
        qt_log(role, "RECEIVE%s%s", (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_0_RTT) ? " 0RTT" : "",
               (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) ? " FIN" : "");
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        qt_log(role, "SEND_COMPLETE canceled=%d", ev->SEND_COMPLETE.Canceled != 0);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        qt_log(role, "PEER_SEND_SHUTDOWN");
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        qt_log(role, "PEER_SEND_ABORTED error=0x%llx",
               (unsigned long long)ev->PEER_SEND_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        qt_log(role, "PEER_RECEIVE_ABORTED error=0x%llx",
               (unsigned long long)ev->PEER_RECEIVE_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE:
        qt_log(role, "SEND_SHUTDOWN_COMPLETE graceful=%d", ev->SEND_SHUTDOWN_COMPLETE.Graceful != 0);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        qt_log(role,
               "SHUTDOWN_COMPLETE conn_shutdown=%d app_close=%d by_app=%d remotely=%d "
               "error=0x%llx status=%s",
               ev->SHUTDOWN_COMPLETE.ConnectionShutdown != 0, ev->SHUTDOWN_COMPLETE.AppCloseInProgress,
               ev->SHUTDOWN_COMPLETE.ConnectionShutdownByApp,
               ev->SHUTDOWN_COMPLETE.ConnectionClosedRemotely,
               (unsigned long long)ev->SHUTDOWN_COMPLETE.ConnectionErrorCode,
               qt_status_name(ev->SHUTDOWN_COMPLETE.ConnectionCloseStatus, b));
        break;
    case QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE:
        /* The size follows the transport's congestion window: only the event. */
        qt_log(role, "IDEAL_SEND_BUFFER_SIZE");
        break;
    case QUIC_STREAM_EVENT_PEER_ACCEPTED:
        qt_log(role, "PEER_ACCEPTED");
        break;
    case QUIC_STREAM_EVENT_CANCEL_ON_LOSS:
        qt_log(role, "CANCEL_ON_LOSS");
        break;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    case QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED:
        qt_log(role, "RECEIVE_BUFFER_NEEDED");
        break;
#endif
    default:
        qt_log(role, "STREAM_EVENT_%d", (int)ev->Type);
        break;
    }
}

static inline void qt_listener_event(const char* role, const QUIC_LISTENER_EVENT* ev) {
    switch (ev->Type) {
    case QUIC_LISTENER_EVENT_NEW_CONNECTION: {
        const QUIC_NEW_CONNECTION_INFO* i = ev->NEW_CONNECTION.Info;
        qt_log(role, "NEW_CONNECTION sni=%.*s alpn_list=%u", (int)i->ServerNameLength,
               i->ServerName != NULL ? i->ServerName : "", (unsigned)i->ClientAlpnListLength);
        break;
    }
    case QUIC_LISTENER_EVENT_STOP_COMPLETE:
        qt_log(role, "STOP_COMPLETE app_close=%d", ev->STOP_COMPLETE.AppCloseInProgress);
        break;
    case QUIC_LISTENER_EVENT_DOS_MODE_CHANGED:
        qt_log(role, "DOS_MODE_CHANGED enabled=%d", ev->DOS_MODE_CHANGED.DosModeEnabled);
        break;
    default:
        qt_log(role, "LISTENER_EVENT_%d", (int)ev->Type);
        break;
    }
}

/* One line per callback: the role is the callback's name. */
#define TRACE_CONN(ev) qt_conn_event(__func__, (ev))
#define TRACE_STREAM(ev) qt_stream_event(__func__, (ev))
#define TRACE_LISTENER(ev) qt_listener_event(__func__, (ev))
/* Logs the status of an API call made in the current function, e.g.
 * TRACE_CALL("StreamStart", api->StreamStart(s, flags)); evaluates to that status. */
#define TRACE_CALL(what, call) qt_call(__func__, (what), (call))

/* An echo server's stream event: what arrives goes back on the same stream (one send per
 * RECEIVE, freed on SEND_COMPLETE), the peer's FIN is answered with ours, and the stream is
 * closed once it is done. `api` is the table the program uses (dlopen hosts have their own). */
static inline QUIC_STATUS echo_stream_event(const QUIC_API_TABLE* api, HQUIC stream,
                                            QUIC_STREAM_EVENT* ev) {
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && ev->RECEIVE.TotalBufferLength > 0) {
        QUIC_BUFFER* out = malloc(sizeof(QUIC_BUFFER) + ev->RECEIVE.TotalBufferLength);
        out->Length = (uint32_t)ev->RECEIVE.TotalBufferLength;
        out->Buffer = (uint8_t*)(out + 1);
        uint32_t at = 0;
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            memcpy(out->Buffer + at, ev->RECEIVE.Buffers[i].Buffer, ev->RECEIVE.Buffers[i].Length);
            at += ev->RECEIVE.Buffers[i].Length;
        }
        if (QUIC_FAILED(api->StreamSend(stream, out, 1, QUIC_SEND_FLAG_NONE, out))) free(out);
    } else if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        free(ev->SEND_COMPLETE.ClientContext);
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

/* An echo server's connection event: each peer stream gets `stream_handler` with `stream_ctx`
 * (e.g. a callback around echo_stream_event), and the connection is closed from inside its
 * SHUTDOWN_COMPLETE. */
static inline QUIC_STATUS echo_connection_event(const QUIC_API_TABLE* api, HQUIC conn,
                                                QUIC_CONNECTION_EVENT* ev, void* stream_handler,
                                                void* stream_ctx) {
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, stream_handler, stream_ctx);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

/* A server made of the callbacks below: give a TestServer as the listener's context
 * (ListenerOpen(reg, test_server_listener, &server, &listener)). Each accepted connection
 * gets `connection` (NULL: echo_server_connection) with the TestServer as its context and is
 * configured with `config`. */
typedef struct {
    const QUIC_API_TABLE* api;
    HQUIC config;
    QUIC_CONNECTION_CALLBACK_HANDLER connection;
} TestServer;

/* An echo server's stream callback (context: the TestServer). */
static inline QUIC_STATUS QUIC_API echo_server_stream(HQUIC stream, void* ctx,
                                                      QUIC_STREAM_EVENT* ev) {
    return echo_stream_event(((const TestServer*)ctx)->api, stream, ev);
}

/* An echo server's connection callback (context: the TestServer): echo_connection_event
 * with echo_server_stream on every peer stream. */
static inline QUIC_STATUS QUIC_API echo_server_connection(HQUIC conn, void* ctx,
                                                          QUIC_CONNECTION_EVENT* ev) {
    return echo_connection_event(((const TestServer*)ctx)->api, conn, ev,
                                 (void*)echo_server_stream, ctx);
}

/* A server configuration for ALPN `alpn` with the harness's certificate. `idle_ms` 0 leaves
 * the idle timeout at its default. */
static inline HQUIC server_configuration(const QUIC_API_TABLE* api, HQUIC reg, const char* alpn,
                                  uint16_t bidi_streams, uint64_t idle_ms) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = bidi_streams;
    if (idle_ms != 0) {
        s.IsSet.IdleTimeoutMs = TRUE;
        s.IdleTimeoutMs = idle_ms;
    }
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

/* A client configuration for ALPN `alpn` trusting the harness's certificate. */
static inline HQUIC client_configuration(const QUIC_API_TABLE* api, HQUIC reg, const char* alpn,
                                  uint64_t idle_ms) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    if (idle_ms != 0) {
        s.IsSet.IdleTimeoutMs = TRUE;
        s.IdleTimeoutMs = idle_ms;
    }
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    cred.CaCertificateFile = test_cert();
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

/* A listener callback's usual answer: a NEW_CONNECTION gets `handler` with `ctx` and is
 * configured with `config` (the status of ConnectionSetConfiguration accepts it); any other
 * listener event is acknowledged. */
static inline QUIC_STATUS accept_connection(const QUIC_API_TABLE* api, QUIC_LISTENER_EVENT* ev,
                                            void* handler, void* ctx, HQUIC config) {
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, handler, ctx);
    return TRACE_CALL("ConnectionSetConfiguration",
                      api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, config));
}

/* A TestServer's listener callback (context: the TestServer): accept_connection with its
 * connection callback and configuration. */
static inline QUIC_STATUS QUIC_API test_server_listener(HQUIC listener, void* ctx,
                                                        QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    TestServer* server = ctx;
    void* handler = server->connection != NULL ? (void*)server->connection
                                               : (void*)echo_server_connection;
    return accept_connection(server->api, ev, handler, server, server->config);
}

/* One client connection attempt (see qt_connect_once). */
typedef struct {
    const QUIC_API_TABLE* api;
    int connected;      /* CONNECTED came */
    QUIC_STATUS status; /* SHUTDOWN_INITIATED_BY_TRANSPORT's status, if it came */
    Counter done;
} ConnectAttempt;

/* qt_connect_once's client callback (its transcript role is ClientConnection). */
static inline QUIC_STATUS QUIC_API qt_connect_event(HQUIC conn, void* ctx,
                                                    QUIC_CONNECTION_EVENT* ev) {
    qt_conn_event("ClientConnection", ev);
    ConnectAttempt* c = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        c->connected = 1;
        c->api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        c->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&c->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Connects a client of `reg` with `cfg` to `server_name`:`port` (at `remote` instead of the
 * name's address when not NULL), shuts it down once connected and waits (10 s at most) for
 * its end; returns whether CONNECTED came, and the transport's status in `status` (if not
 * NULL; 0 when it ended without one). */
static inline int qt_connect_once(const QUIC_API_TABLE* api, HQUIC reg, HQUIC cfg,
                                  const QUIC_ADDR* remote, const char* server_name,
                                  uint16_t port, QUIC_STATUS* status) {
    ConnectAttempt c;
    memset(&c, 0, sizeof(c));
    c.api = api;
    counter_init(&c.done);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, qt_connect_event, &c, &conn) == QUIC_STATUS_SUCCESS);
    if (remote != NULL) {
        CHECK(api->SetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(*remote), remote) ==
              QUIC_STATUS_SUCCESS);
    }
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, server_name, port)));
    CHECK(counter_wait(&c.done, 1, 10000));
    api->ConnectionClose(conn);
    counter_destroy(&c.done);
    if (status != NULL) *status = c.status;
    return c.connected;
}

/* Starts `listener` on 127.0.0.1 with an ephemeral port for `alpn`; returns the port. */
static inline uint16_t start_listener(const QUIC_API_TABLE* api, HQUIC listener, const char* alpn) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    CHECK(TRACE_CALL("ListenerStart", api->ListenerStart(listener, &a, 1, &addr)) ==
          QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    return QuicAddrGetPort(&local);
}

/* GetParam's size probe: asked with length 0 and no buffer, parameter `param` of `handle`
 * (NULL: a global one) must answer BUFFER_TOO_SMALL, CHECKed and reported at the caller's
 * line; PROBE_PARAM gives the length it answered with (the size the parameter needs). */
#define PROBE_PARAM(api, handle, param) \
    qt_probe_param((api), (handle), (param), #param, __FILE__, __LINE__)

static inline uint32_t qt_probe_param(const QUIC_API_TABLE* api, HQUIC handle, uint32_t param,
                                      const char* name, const char* file, int line) {
    uint32_t len = 0;
    QUIC_STATUS st = api->GetParam(handle, param, &len, NULL);
    if (st != QUIC_STATUS_BUFFER_TOO_SMALL) {
        char b[16];
        fprintf(stderr, "%s:%d: CHECK failed: probing %s gave %s, not BUFFER_TOO_SMALL\n", file,
                line, name, qt_status_name(st, b));
        qt_log("CHECK", "failed line %d: probing %s", line, name);
        __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);
    }
    return len;
}

/* Ends a test program: reports and returns the exit status. */
static inline int finish(const char* name) {
    if (failures != 0) {
        fprintf(stderr, "%s: %d failures\n", name, failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif
