/* Helpers shared by the end-to-end C tests: CHECK, waiting with deadlines, and the usual
 * server/client configurations over QMux/TLS with the harness's certificate
 * (MSQUIC_TEST_CERT / MSQUIC_TEST_KEY). Header-only; every function is static. */
#ifndef QMUX_TEST_H
#define QMUX_TEST_H

#include "msquic.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
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

static inline const char* test_cert(void) { return getenv("MSQUIC_TEST_CERT"); }
static inline const char* test_key(void) { return getenv("MSQUIC_TEST_KEY"); }

static inline int have_test_cert(void) {
    if (test_cert() == NULL || test_key() == NULL) {
        fprintf(stderr, "MSQUIC_TEST_CERT and MSQUIC_TEST_KEY must name a PEM certificate and key\n");
        return 0;
    }
    return 1;
}

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
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, config);
}

/* Starts `listener` on 127.0.0.1 with an ephemeral port for `alpn`; returns the port. */
static inline uint16_t start_listener(const QUIC_API_TABLE* api, HQUIC listener, const char* alpn) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    CHECK(api->ListenerStart(listener, &a, 1, &addr) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    return QuicAddrGetPort(&local);
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
