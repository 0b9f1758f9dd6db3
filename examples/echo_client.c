/* An MsQuic echo client: connects, sends a message on one stream, prints what comes back,
 * and closes the connection with an application error code.
 *
 * usage: echo_client -target HOST -port N [-unsecure] [-ca FILE] [-message TEXT] */
#include "msquic.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const QUIC_API_TABLE* MsQuic;
static const char* Message = "hello over QMux";
static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t Done = PTHREAD_COND_INITIALIZER;
static int Finished = 0;
static int Ok = 0;
static size_t Received = 0;

static const char* Arg(int argc, char** argv, const char* name) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    }
    return NULL;
}

static int Flag(int argc, char** argv, const char* name) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) return 1;
    }
    return 0;
}

static QUIC_STATUS QUIC_API StreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event) {
    HQUIC Connection = (HQUIC)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            printf("[client] received %u bytes: \"%.*s\"\n", Event->RECEIVE.Buffers[i].Length,
                   (int)Event->RECEIVE.Buffers[i].Length,
                   (const char*)Event->RECEIVE.Buffers[i].Buffer);
            Received += Event->RECEIVE.Buffers[i].Length;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        Ok = Received == strlen(Message);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        MsQuic->StreamClose(Stream);
        MsQuic->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x2a);
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
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        printf("[client] connected, ALPN \"%.*s\"\n", Event->CONNECTED.NegotiatedAlpnLength,
               (const char*)Event->CONNECTED.NegotiatedAlpn);
        HQUIC Stream = NULL;
        if (QUIC_FAILED(MsQuic->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback,
                                           Connection, &Stream))) {
            MsQuic->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 1);
            break;
        }
        static QUIC_BUFFER Buffer;
        Buffer.Length = (uint32_t)strlen(Message);
        Buffer.Buffer = (uint8_t*)Message;
        printf("[client] sending \"%s\"\n", Message);
        MsQuic->StreamSend(Stream, &Buffer, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL);
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        printf("[client] transport closed the connection, status 0x%x\n",
               Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        printf("[client] peer closed the connection with error 0x%llx\n",
               (unsigned long long)Event->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        printf("[client] connection done\n");
        pthread_mutex_lock(&Lock);
        Finished = 1;
        pthread_cond_signal(&Done);
        pthread_mutex_unlock(&Lock);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

int main(int argc, char** argv) {
    const char* target = Arg(argc, argv, "-target");
    const char* port = Arg(argc, argv, "-port");
    const char* ca = Arg(argc, argv, "-ca");
    if (Arg(argc, argv, "-message") != NULL) Message = Arg(argc, argv, "-message");
    if (target == NULL || port == NULL) {
        fprintf(stderr, "usage: %s -target HOST -port N [-unsecure] [-ca FILE] [-message TEXT]\n",
                argv[0]);
        return 2;
    }
    QUIC_STATUS Status = MsQuicOpen2(&MsQuic);
    if (QUIC_FAILED(Status)) return 1;
    HQUIC Registration = NULL, Configuration = NULL, Connection = NULL;
    const QUIC_REGISTRATION_CONFIG RegConfig = {"echo_client", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    if (QUIC_FAILED(Status = MsQuic->RegistrationOpen(&RegConfig, &Registration))) goto done;
    QUIC_BUFFER Alpn = {4, (uint8_t*)"echo"};
    QUIC_SETTINGS Settings;
    memset(&Settings, 0, sizeof(Settings));
    Settings.IdleTimeoutMs = 5000;
    Settings.IsSet.IdleTimeoutMs = TRUE;
    if (QUIC_FAILED(Status = MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings,
                                                       sizeof(Settings), NULL, &Configuration))) {
        goto done;
    }
    QUIC_CREDENTIAL_CONFIG Cred;
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    if (Flag(argc, argv, "-unsecure")) Cred.Flags |= QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    if (ca != NULL) {
        Cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        Cred.CaCertificateFile = ca;
    }
    Status = MsQuic->ConfigurationLoadCredential(Configuration, &Cred);
    if (QUIC_FAILED(Status)) {
        fprintf(stderr, "[client] ConfigurationLoadCredential failed, 0x%x\n", Status);
        goto done;
    }
    if (QUIC_FAILED(Status = MsQuic->ConnectionOpen(Registration, ConnectionCallback, NULL,
                                                    &Connection))) {
        goto done;
    }
    printf("[client] connecting to %s:%s\n", target, port);
    if (QUIC_FAILED(Status = MsQuic->ConnectionStart(Connection, Configuration,
                                                     QUIC_ADDRESS_FAMILY_UNSPEC, target,
                                                     (uint16_t)atoi(port)))) {
        goto done;
    }
    pthread_mutex_lock(&Lock);
    while (!Finished) pthread_cond_wait(&Done, &Lock);
    pthread_mutex_unlock(&Lock);

done:
    if (Connection != NULL) MsQuic->ConnectionClose(Connection);
    if (Configuration != NULL) MsQuic->ConfigurationClose(Configuration);
    if (Registration != NULL) MsQuic->RegistrationClose(Registration);
    MsQuicClose(MsQuic);
    if (QUIC_FAILED(Status)) {
        fprintf(stderr, "[client] failed, status 0x%x\n", Status);
        return 1;
    }
    printf(Ok ? "[client] echo verified\n" : "[client] echo incomplete\n");
    return Ok ? 0 : 1;
}
