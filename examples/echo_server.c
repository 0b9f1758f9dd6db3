/* An MsQuic echo server: accepts connections on the given port and echoes every stream back
 * to its sender. Written against the plain MsQuic 2.7 API; with msquic-qmux it speaks QMux
 * over TLS on TCP (or over plain TCP with MSQUIC_QMUX_TRANSPORT=tcp).
 *
 * usage: echo_server -port N [-cert FILE -key FILE] [-count N]
 * With -port 0 the system picks a free port; the line "listening on port P" names it.
 * It exits after serving `count` connections (default 1). */
#include "msquic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const QUIC_API_TABLE* MsQuic;
static HQUIC Configuration;
static volatile int Remaining = 1;

static const char* Arg(int argc, char** argv, const char* name) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    }
    return NULL;
}

static QUIC_STATUS QUIC_API StreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event) {
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        uint64_t total = Event->RECEIVE.TotalBufferLength;
        if (total == 0) break;
        QUIC_BUFFER* copy = malloc(sizeof(QUIC_BUFFER) + total);
        copy->Length = (uint32_t)total;
        copy->Buffer = (uint8_t*)(copy + 1);
        uint64_t at = 0;
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            memcpy(copy->Buffer + at, Event->RECEIVE.Buffers[i].Buffer,
                   Event->RECEIVE.Buffers[i].Length);
            at += Event->RECEIVE.Buffers[i].Length;
        }
        printf("[server] stream received %llu bytes: \"%.*s\"\n", (unsigned long long)total,
               (int)(total > 60 ? 60 : total), (const char*)copy->Buffer);
        if (QUIC_FAILED(MsQuic->StreamSend(Stream, copy, 1, QUIC_SEND_FLAG_NONE, copy))) {
            free(copy);
        }
        break;
    }
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        free(Event->SEND_COMPLETE.ClientContext);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        MsQuic->StreamClose(Stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ConnectionCallback(HQUIC Connection, void* Context,
                                               QUIC_CONNECTION_EVENT* Event) {
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        printf("[server] connected, ALPN \"%.*s\"\n", Event->CONNECTED.NegotiatedAlpnLength,
               (const char*)Event->CONNECTED.NegotiatedAlpn);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        MsQuic->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)StreamCallback, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        printf("[server] peer closed the connection with error 0x%llx\n",
               (unsigned long long)Event->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        printf("[server] transport closed the connection, status 0x%x\n",
               Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        printf("[server] connection done\n");
        if (!Event->SHUTDOWN_COMPLETE.AppCloseInProgress) MsQuic->ConnectionClose(Connection);
        __atomic_fetch_sub(&Remaining, 1, __ATOMIC_SEQ_CST);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ListenerCallback(HQUIC Listener, void* Context,
                                             QUIC_LISTENER_EVENT* Event) {
    (void)Listener;
    (void)Context;
    if (Event->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    MsQuic->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ConnectionCallback, NULL);
    return MsQuic->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, Configuration);
}

int main(int argc, char** argv) {
    const char* port_arg = Arg(argc, argv, "-port");
    const char* cert = Arg(argc, argv, "-cert");
    const char* key = Arg(argc, argv, "-key");
    const char* count = Arg(argc, argv, "-count");
    if (port_arg == NULL) {
        fprintf(stderr, "usage: %s -port N [-cert FILE -key FILE] [-count N]\n", argv[0]);
        return 2;
    }
    if (count != NULL) Remaining = atoi(count);

    QUIC_STATUS Status = MsQuicOpen2(&MsQuic);
    if (QUIC_FAILED(Status)) return 1;
    HQUIC Registration = NULL;
    const QUIC_REGISTRATION_CONFIG RegConfig = {"echo_server", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    if (QUIC_FAILED(Status = MsQuic->RegistrationOpen(&RegConfig, &Registration))) goto done;

    QUIC_BUFFER Alpn = {4, (uint8_t*)"echo"};
    QUIC_SETTINGS Settings;
    memset(&Settings, 0, sizeof(Settings));
    Settings.IdleTimeoutMs = 5000;
    Settings.IsSet.IdleTimeoutMs = TRUE;
    Settings.PeerBidiStreamCount = 16;
    Settings.IsSet.PeerBidiStreamCount = TRUE;
    if (QUIC_FAILED(Status = MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings,
                                                       sizeof(Settings), NULL, &Configuration))) {
        goto done;
    }
    if (cert != NULL && key != NULL) {
        QUIC_CERTIFICATE_FILE CertFile = {key, cert};
        QUIC_CREDENTIAL_CONFIG Cred;
        memset(&Cred, 0, sizeof(Cred));
        Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        Cred.CertificateFile = &CertFile;
        if (QUIC_FAILED(Status = MsQuic->ConfigurationLoadCredential(Configuration, &Cred))) {
            fprintf(stderr, "[server] ConfigurationLoadCredential failed, 0x%x\n", Status);
            goto done;
        }
    }

    HQUIC Listener = NULL;
    if (QUIC_FAILED(Status = MsQuic->ListenerOpen(Registration, ListenerCallback, NULL, &Listener))) {
        goto done;
    }
    QUIC_ADDR Address;
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_UNSPEC);
    QuicAddrSetPort(&Address, (uint16_t)atoi(port_arg));
    if (QUIC_FAILED(Status = MsQuic->ListenerStart(Listener, &Alpn, 1, &Address))) {
        fprintf(stderr, "[server] ListenerStart failed, 0x%x\n", Status);
        MsQuic->ListenerClose(Listener);
        goto done;
    }
    QUIC_ADDR Bound;
    uint32_t BoundLength = sizeof(Bound);
    if (QUIC_FAILED(Status = MsQuic->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS,
                                              &BoundLength, &Bound))) {
        fprintf(stderr, "[server] QUIC_PARAM_LISTENER_LOCAL_ADDRESS failed, 0x%x\n", Status);
        MsQuic->ListenerClose(Listener);
        goto done;
    }
    printf("[server] listening on port %u\n", (unsigned)QuicAddrGetPort(&Bound));
    fflush(stdout);
    while (__atomic_load_n(&Remaining, __ATOMIC_SEQ_CST) > 0) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MsQuic->ListenerClose(Listener);

done:
    if (Configuration != NULL) MsQuic->ConfigurationClose(Configuration);
    if (Registration != NULL) MsQuic->RegistrationClose(Registration);
    MsQuicClose(MsQuic);
    return QUIC_FAILED(Status) ? 1 : 0;
}
