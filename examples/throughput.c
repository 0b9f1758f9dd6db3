/* One-connection throughput through the MsQuic API: a client sends SIZE bytes on one stream to
 * a server in the same process over loopback, and the time until the server has received it
 * all is reported in GB/s. Used for BENCHMARKS.md; not a test.
 *
 * usage: throughput [-mib N] [-tcp] [-cert FILE -key FILE] [-window BYTES] [-unbuffered]
 * (TLS needs -cert/-key; -unbuffered sets SendBufferingEnabled to 0) */
#include "msquic.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK (1 << 20)
#define OUTSTANDING 8

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static uint64_t total, sent, received;
static struct timespec started, finished;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done;
static uint8_t* chunk;
static QUIC_BUFFER chunk_buf;

static const char* Arg(int argc, char** argv, const char* name) {
    for (int i = 1; i + 1 < argc; i++) if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return NULL;
}
static int Has(int argc, char** argv, const char* name) {
    for (int i = 1; i < argc; i++) if (strcmp(argv[i], name) == 0) return 1;
    return 0;
}

static QUIC_STATUS QUIC_API ServerStream(HQUIC s, void* c, QUIC_STREAM_EVENT* e) {
    (void)c;
    if (e->Type == QUIC_STREAM_EVENT_RECEIVE) {
        received += e->RECEIVE.TotalBufferLength;
    } else if (e->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        clock_gettime(CLOCK_MONOTONIC, &finished);
        pthread_mutex_lock(&lock);
        done = 1;
        pthread_cond_signal(&done_cond);
        pthread_mutex_unlock(&lock);
        api->StreamShutdown(s, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (e->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(s);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConn(HQUIC h, void* c, QUIC_CONNECTION_EVENT* e) {
    (void)c;
    if (e->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(e->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
    } else if (e->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        if (!e->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(h);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC l, void* c, QUIC_LISTENER_EVENT* e) {
    (void)l;
    (void)c;
    if (e->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    api->SetCallbackHandler(e->NEW_CONNECTION.Connection, (void*)ServerConn, NULL);
    return api->ConnectionSetConfiguration(e->NEW_CONNECTION.Connection, server_config);
}

static void send_next(HQUIC stream) {
    if (sent >= total) return;
    uint64_t n = total - sent < CHUNK ? total - sent : CHUNK;
    sent += n;
    QUIC_SEND_FLAGS flags = sent >= total ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
    chunk_buf.Length = (uint32_t)n;
    api->StreamSend(stream, &chunk_buf, 1, flags, NULL);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC s, void* c, QUIC_STREAM_EVENT* e) {
    (void)c;
    if (e->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        send_next(s);
    } else if (e->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(s);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConn(HQUIC h, void* c, QUIC_CONNECTION_EVENT* e) {
    (void)c;
    if (e->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        HQUIC s = NULL;
        api->StreamOpen(h, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &s);
        api->StreamStart(s, QUIC_STREAM_START_FLAG_IMMEDIATE);
        clock_gettime(CLOCK_MONOTONIC, &started);
        for (int i = 0; i < OUTSTANDING; i++) send_next(s);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(int argc, char** argv) {
    const char* mib = Arg(argc, argv, "-mib");
    total = (uint64_t)(mib ? atoi(mib) : 1024) << 20;
    int tcp = Has(argc, argv, "-tcp");
    const char* cert = Arg(argc, argv, "-cert");
    const char* key = Arg(argc, argv, "-key");
    if (!tcp && (cert == NULL || key == NULL)) {
        fprintf(stderr, "TLS needs -cert and -key (or use -tcp)\n");
        return 2;
    }
    chunk = malloc(CHUNK);
    memset(chunk, 0x5a, CHUNK);
    chunk_buf.Buffer = chunk;
    if (QUIC_FAILED(MsQuicOpen2(&api))) return 1;
    HQUIC reg = NULL;
    QUIC_REGISTRATION_CONFIG rc = {"throughput", QUIC_EXECUTION_PROFILE_TYPE_MAX_THROUGHPUT};
    api->RegistrationOpen(&rc, &reg);
    if (tcp) {
        uint32_t t = QUIC_TRANSPORT_QMUX_TCP;
        api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(t), &t);
    }
    QUIC_BUFFER alpn = {5, (uint8_t*)"bench"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = 1;
    s.IsSet.IdleTimeoutMs = TRUE;
    s.IdleTimeoutMs = 30000;
    const char* window = Arg(argc, argv, "-window");
    if (window != NULL) {
        s.IsSet.StreamRecvWindowDefault = TRUE;
        s.StreamRecvWindowDefault = (uint32_t)atoi(window);
        s.IsSet.ConnFlowControlWindow = TRUE;
        s.ConnFlowControlWindow = (uint32_t)atoi(window) * 2;
    }
    if (Has(argc, argv, "-unbuffered")) {
        s.IsSet.SendBufferingEnabled = TRUE;
        s.SendBufferingEnabled = 0;
    }
    HQUIC client_config = NULL;
    api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &server_config);
    api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &client_config);
    if (!tcp) {
        QUIC_CERTIFICATE_FILE f = {key, cert};
        QUIC_CREDENTIAL_CONFIG cred;
        memset(&cred, 0, sizeof(cred));
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &f;
        if (QUIC_FAILED(api->ConfigurationLoadCredential(server_config, &cred))) return 1;
        memset(&cred, 0, sizeof(cred));
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
        if (QUIC_FAILED(api->ConfigurationLoadCredential(client_config, &cred))) return 1;
    }
    HQUIC listener = NULL;
    api->ListenerOpen(reg, ServerListener, NULL, &listener);
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    if (QUIC_FAILED(api->ListenerStart(listener, &alpn, 1, &addr))) return 1;
    uint32_t len = sizeof(addr);
    api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &addr);
    HQUIC conn = NULL;
    api->ConnectionOpen(reg, ClientConn, NULL, &conn);
    api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1",
                         QuicAddrGetPort(&addr));
    pthread_mutex_lock(&lock);
    while (!done) pthread_cond_wait(&done_cond, &lock);
    pthread_mutex_unlock(&lock);
    double secs = (double)(finished.tv_sec - started.tv_sec) +
                  (double)(finished.tv_nsec - started.tv_nsec) / 1e9;
    printf("%s, %s sends, stream window %s: %llu MiB in %.3f s = %.2f GB/s (received %llu bytes)\n",
           tcp ? "QMux/TCP" : "QMux/TLS", Has(argc, argv, "-unbuffered") ? "unbuffered" : "buffered",
           window != NULL ? window : "default", (unsigned long long)(total >> 20), secs,
           (double)total / secs / 1e9, (unsigned long long)received);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(chunk);
    return received == total ? 0 : 1;
}
