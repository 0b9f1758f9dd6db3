/* A C11 program written the way MsQuic's sample applications are: registration config,
 * settings with IsSet bits, a certificate-file credential, listener/connection/stream callbacks
 * that switch over every event type and read every field, and the QUIC_ADDR helpers. It has to
 * compile unchanged against include/msquic.h; at run time it opens the table, opens and closes
 * a registration, checks the address helpers and exits 0. */
#include "msquic.h"
#include "msquic.h" /* included twice on purpose: the header must be idempotent */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef UNREFERENCED_PARAMETER
#define UNREFERENCED_PARAMETER(P) (void)(P)
#endif

const QUIC_REGISTRATION_CONFIG RegConfig = {"api_usage", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
const QUIC_BUFFER Alpn = {sizeof("sample") - 1, (uint8_t*)"sample"};
const uint16_t UdpPort = 4567;
const uint64_t IdleTimeoutMs = 1000;

const QUIC_API_TABLE* MsQuic;
HQUIC Registration;
HQUIC Configuration;

static int Failures;

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            Failures++;                                                                  \
        }                                                                                \
    } while (0)

_IRQL_requires_max_(DISPATCH_LEVEL)
_Function_class_(QUIC_STREAM_CALLBACK)
QUIC_STATUS
QUIC_API
StreamCallback(
    _In_ HQUIC Stream,
    _In_opt_ void* Context,
    _Inout_ QUIC_STREAM_EVENT* Event
    )
{
    UNREFERENCED_PARAMETER(Context);
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        printf("[strm][%p] start 0x%x id %llu accepted %u\n", (void*)Stream,
               Event->START_COMPLETE.Status, (unsigned long long)Event->START_COMPLETE.ID,
               (unsigned)Event->START_COMPLETE.PeerAccepted);
        break;
    case QUIC_STREAM_EVENT_RECEIVE: {
        uint64_t Total = 0;
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; ++i) {
            Total += Event->RECEIVE.Buffers[i].Length;
        }
        printf("[strm][%p] %llu bytes at %llu%s\n", (void*)Stream, (unsigned long long)Total,
               (unsigned long long)Event->RECEIVE.AbsoluteOffset,
               (Event->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) ? " FIN" : "");
        Event->RECEIVE.TotalBufferLength = Total;
        break;
    }
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (!Event->SEND_COMPLETE.Canceled) {
            free(Event->SEND_COMPLETE.ClientContext);
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT,
                               Event->PEER_SEND_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        printf("[strm][%p] peer stopped receiving: %llu\n", (void*)Stream,
               (unsigned long long)Event->PEER_RECEIVE_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE:
        printf("[strm][%p] send done, graceful %u\n", (void*)Stream,
               (unsigned)Event->SEND_SHUTDOWN_COMPLETE.Graceful);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        printf("[strm][%p] done conn %u app %u byapp %u remote %u code %llu status 0x%x\n",
               (void*)Stream, (unsigned)Event->SHUTDOWN_COMPLETE.ConnectionShutdown,
               (unsigned)Event->SHUTDOWN_COMPLETE.AppCloseInProgress,
               (unsigned)Event->SHUTDOWN_COMPLETE.ConnectionShutdownByApp,
               (unsigned)Event->SHUTDOWN_COMPLETE.ConnectionClosedRemotely,
               (unsigned long long)Event->SHUTDOWN_COMPLETE.ConnectionErrorCode,
               Event->SHUTDOWN_COMPLETE.ConnectionCloseStatus);
        if (!Event->SHUTDOWN_COMPLETE.AppCloseInProgress) {
            MsQuic->StreamClose(Stream);
        }
        break;
    case QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE:
        printf("[strm][%p] ideal %llu\n", (void*)Stream,
               (unsigned long long)Event->IDEAL_SEND_BUFFER_SIZE.ByteCount);
        break;
    case QUIC_STREAM_EVENT_PEER_ACCEPTED:
        break;
    case QUIC_STREAM_EVENT_CANCEL_ON_LOSS:
        Event->CANCEL_ON_LOSS.ErrorCode = 7;
        break;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    case QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED:
        printf("[strm][%p] needs %llu\n", (void*)Stream,
               (unsigned long long)Event->RECEIVE_BUFFER_NEEDED.BufferLengthNeeded);
        break;
#endif
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

_IRQL_requires_max_(DISPATCH_LEVEL)
_Function_class_(QUIC_CONNECTION_CALLBACK)
QUIC_STATUS
QUIC_API
ConnectionCallback(
    _In_ HQUIC Connection,
    _In_opt_ void* Context,
    _Inout_ QUIC_CONNECTION_EVENT* Event
    )
{
    UNREFERENCED_PARAMETER(Context);
    QUIC_ADDR_STR AddrStr;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        printf("[conn][%p] connected resumed %u alpn %.*s\n", (void*)Connection,
               (unsigned)Event->CONNECTED.SessionResumed, (int)Event->CONNECTED.NegotiatedAlpnLength,
               (const char*)Event->CONNECTED.NegotiatedAlpn);
        MsQuic->ConnectionSendResumptionTicket(Connection, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        if (Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status == QUIC_STATUS_CONNECTION_IDLE) {
            printf("[conn][%p] idle\n", (void*)Connection);
        } else {
            printf("[conn][%p] transport 0x%x %llu\n", (void*)Connection,
                   Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status,
                   (unsigned long long)Event->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode);
        }
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        printf("[conn][%p] peer %llu\n", (void*)Connection,
               (unsigned long long)Event->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        printf("[conn][%p] done %u %u %u\n", (void*)Connection,
               (unsigned)Event->SHUTDOWN_COMPLETE.HandshakeCompleted,
               (unsigned)Event->SHUTDOWN_COMPLETE.PeerAcknowledgedShutdown,
               (unsigned)Event->SHUTDOWN_COMPLETE.AppCloseInProgress);
        if (!Event->SHUTDOWN_COMPLETE.AppCloseInProgress) {
            MsQuic->ConnectionClose(Connection);
        }
        break;
    case QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED:
        if (QuicAddrToString(Event->LOCAL_ADDRESS_CHANGED.Address, &AddrStr)) {
            printf("[conn][%p] local %s\n", (void*)Connection, AddrStr.Address);
        }
        break;
    case QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED:
        if (QuicAddrToString(Event->PEER_ADDRESS_CHANGED.Address, &AddrStr)) {
            printf("[conn][%p] peer %s\n", (void*)Connection, AddrStr.Address);
        }
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        if (Event->PEER_STREAM_STARTED.Flags & QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL) {
            printf("[strm][%p] peer unidirectional\n", (void*)Event->PEER_STREAM_STARTED.Stream);
        }
        Event->PEER_STREAM_STARTED.Flags |= QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES;
        MsQuic->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)StreamCallback, NULL);
        break;
    case QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE:
        printf("[conn][%p] streams %u/%u\n", (void*)Connection,
               (unsigned)Event->STREAMS_AVAILABLE.BidirectionalCount,
               (unsigned)Event->STREAMS_AVAILABLE.UnidirectionalCount);
        break;
    case QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS:
        printf("[conn][%p] peer needs %s streams\n", (void*)Connection,
               Event->PEER_NEEDS_STREAMS.Bidirectional ? "bidi" : "unidi");
        break;
    case QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED:
        printf("[conn][%p] processor %u partition %u\n", (void*)Connection,
               (unsigned)Event->IDEAL_PROCESSOR_CHANGED.IdealProcessor,
               (unsigned)Event->IDEAL_PROCESSOR_CHANGED.PartitionIndex);
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED:
        printf("[conn][%p] datagrams %u max %u\n", (void*)Connection,
               (unsigned)Event->DATAGRAM_STATE_CHANGED.SendEnabled,
               (unsigned)Event->DATAGRAM_STATE_CHANGED.MaxSendLength);
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED:
        printf("[conn][%p] datagram %u bytes%s\n", (void*)Connection,
               Event->DATAGRAM_RECEIVED.Buffer->Length,
               (Event->DATAGRAM_RECEIVED.Flags & QUIC_RECEIVE_FLAG_0_RTT) ? " (0-RTT)" : "");
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED:
        if (QUIC_DATAGRAM_SEND_STATE_IS_FINAL(Event->DATAGRAM_SEND_STATE_CHANGED.State)) {
            free(Event->DATAGRAM_SEND_STATE_CHANGED.ClientContext);
        }
        break;
    case QUIC_CONNECTION_EVENT_RESUMED:
        printf("[conn][%p] resumed with %u bytes %p\n", (void*)Connection,
               (unsigned)Event->RESUMED.ResumptionStateLength,
               (const void*)Event->RESUMED.ResumptionState);
        break;
    case QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED:
        for (uint32_t i = 0; i < Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength; i++) {
            printf("%.2X", (uint8_t)Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicket[i]);
        }
        printf("\n");
        break;
    case QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED: {
        const QUIC_BUFFER* Cert = (const QUIC_BUFFER*)Event->PEER_CERTIFICATE_RECEIVED.Certificate;
        const QUIC_BUFFER* Chain = (const QUIC_BUFFER*)Event->PEER_CERTIFICATE_RECEIVED.Chain;
        printf("[conn][%p] certificate %u bytes, chain %u bytes, 0x%x 0x%x\n", (void*)Connection,
               Cert ? Cert->Length : 0, Chain ? Chain->Length : 0,
               Event->PEER_CERTIFICATE_RECEIVED.DeferredErrorFlags,
               Event->PEER_CERTIFICATE_RECEIVED.DeferredStatus);
        break;
    }
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    case QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED:
        printf("[conn][%p] reliable reset %u\n", (void*)Connection,
               (unsigned)Event->RELIABLE_RESET_NEGOTIATED.IsNegotiated);
        break;
    case QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED:
        printf("[conn][%p] one-way delay %u %u\n", (void*)Connection,
               (unsigned)Event->ONE_WAY_DELAY_NEGOTIATED.SendNegotiated,
               (unsigned)Event->ONE_WAY_DELAY_NEGOTIATED.ReceiveNegotiated);
        break;
    case QUIC_CONNECTION_EVENT_NETWORK_STATISTICS:
        printf("[conn][%p] in flight %u posted %llu ideal %llu rtt %llu cwnd %u bw %llu\n",
               (void*)Connection, Event->NETWORK_STATISTICS.BytesInFlight,
               (unsigned long long)Event->NETWORK_STATISTICS.PostedBytes,
               (unsigned long long)Event->NETWORK_STATISTICS.IdealBytes,
               (unsigned long long)Event->NETWORK_STATISTICS.SmoothedRTT,
               Event->NETWORK_STATISTICS.CongestionWindow,
               (unsigned long long)Event->NETWORK_STATISTICS.Bandwidth);
        break;
#endif
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

_IRQL_requires_max_(PASSIVE_LEVEL)
_Function_class_(QUIC_LISTENER_CALLBACK)
QUIC_STATUS
QUIC_API
ListenerCallback(
    _In_ HQUIC Listener,
    _In_opt_ void* Context,
    _Inout_ QUIC_LISTENER_EVENT* Event
    )
{
    UNREFERENCED_PARAMETER(Listener);
    UNREFERENCED_PARAMETER(Context);
    QUIC_STATUS Status = QUIC_STATUS_NOT_SUPPORTED;
    switch (Event->Type) {
    case QUIC_LISTENER_EVENT_NEW_CONNECTION: {
        const QUIC_NEW_CONNECTION_INFO* Info = Event->NEW_CONNECTION.Info;
        printf("new connection v%u from %p to %p, sni %.*s, alpn %.*s (%u bytes offered, %u crypto)\n",
               Info->QuicVersion, (const void*)Info->RemoteAddress, (const void*)Info->LocalAddress,
               (int)Info->ServerNameLength, Info->ServerName ? Info->ServerName : "",
               (int)Info->NegotiatedAlpnLength, (const char*)Info->NegotiatedAlpn,
               (unsigned)Info->ClientAlpnListLength, Info->CryptoBufferLength);
        (void)Info->CryptoBuffer;
        (void)Info->ClientAlpnList;
        MsQuic->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ConnectionCallback, NULL);
        Status = MsQuic->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, Configuration);
        break;
    }
    case QUIC_LISTENER_EVENT_STOP_COMPLETE:
        printf("listener stopped (app close %u)\n", (unsigned)Event->STOP_COMPLETE.AppCloseInProgress);
        Status = QUIC_STATUS_SUCCESS;
        break;
    case QUIC_LISTENER_EVENT_DOS_MODE_CHANGED:
        printf("DoS mode %u\n", (unsigned)Event->DOS_MODE_CHANGED.DosModeEnabled);
        Status = QUIC_STATUS_SUCCESS;
        break;
    default:
        break;
    }
    return Status;
}

typedef struct QUIC_CREDENTIAL_CONFIG_HELPER {
    QUIC_CREDENTIAL_CONFIG CredConfig;
    union {
        QUIC_CERTIFICATE_HASH CertHash;
        QUIC_CERTIFICATE_HASH_STORE CertHashStore;
        QUIC_CERTIFICATE_FILE CertFile;
        QUIC_CERTIFICATE_FILE_PROTECTED CertFileProtected;
        QUIC_CERTIFICATE_PKCS12 CertPkcs12;
    };
} QUIC_CREDENTIAL_CONFIG_HELPER;

static void LoadComplete(HQUIC Config, void* Context, QUIC_STATUS Status)
{
    printf("credential for %p (%p) loaded: 0x%x\n", (void*)Config, Context, Status);
}

/* Builds a server configuration the way the samples do (the library may not accept it yet). */
static void ServerConfiguration(void)
{
    QUIC_SETTINGS Settings = {0};
    Settings.IdleTimeoutMs = IdleTimeoutMs;
    Settings.IsSet.IdleTimeoutMs = TRUE;
    Settings.ServerResumptionLevel = QUIC_SERVER_RESUME_AND_ZERORTT;
    Settings.IsSet.ServerResumptionLevel = TRUE;
    Settings.PeerBidiStreamCount = 1;
    Settings.IsSet.PeerBidiStreamCount = TRUE;
    Settings.SendBufferingEnabled = FALSE;
    Settings.IsSet.SendBufferingEnabled = TRUE;
    Settings.CongestionControlAlgorithm = QUIC_CONGESTION_CONTROL_ALGORITHM_CUBIC;
    Settings.IsSet.CongestionControlAlgorithm = TRUE;
    CHECK(Settings.IsSetFlags == ((1ull << 2) | (1ull << 28) | (1ull << 18) | (1ull << 24) | (1ull << 17)));

    QUIC_CREDENTIAL_CONFIG_HELPER Config;
    memset(&Config, 0, sizeof(Config));
    Config.CredConfig.Flags = QUIC_CREDENTIAL_FLAG_NONE;
    Config.CertFile.CertificateFile = (char*)"server.cert";
    Config.CertFile.PrivateKeyFile = (char*)"server.key";
    Config.CredConfig.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Config.CredConfig.CertificateFile = &Config.CertFile;
    Config.CredConfig.AsyncHandler = LoadComplete;
    Config.CredConfig.AllowedCipherSuites =
        QUIC_ALLOWED_CIPHER_SUITE_AES_128_GCM_SHA256 | QUIC_ALLOWED_CIPHER_SUITE_AES_256_GCM_SHA384;

    if (QUIC_SUCCEEDED(MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings),
                                                  NULL, &Configuration))) {
        QUIC_STATUS Status = MsQuic->ConfigurationLoadCredential(Configuration, &Config.CredConfig);
        printf("ConfigurationLoadCredential: 0x%x\n", Status);
    } else {
        Configuration = NULL;
    }
}

static void CheckAddressHelpers(void)
{
    QUIC_ADDR Addr = {0};
    QUIC_ADDR_STR Str;

    QuicAddrSetFamily(&Addr, QUIC_ADDRESS_FAMILY_UNSPEC);
    QuicAddrSetPort(&Addr, UdpPort);
    CHECK(QuicAddrGetPort(&Addr) == UdpPort);
    CHECK(QuicAddrIsWildCard(&Addr));
    CHECK(QuicAddrIsValid(&Addr));

    CHECK(QuicAddrFromString("192.0.2.7", 443, &Addr));
    CHECK(QuicAddrGetFamily(&Addr) == QUIC_ADDRESS_FAMILY_INET);
    CHECK(QuicAddrGetPort(&Addr) == 443);
    CHECK(Addr.Ipv4.sin_port == htons(443));
    CHECK(QuicAddrToString(&Addr, &Str) && strcmp(Str.Address, "192.0.2.7:443") == 0);

    CHECK(QuicAddr4FromString("10.1.2.3:8080", &Addr));
    CHECK(QuicAddrGetPort(&Addr) == 8080);
    CHECK(!QuicAddr4FromString("[::1]:5", &Addr));
    CHECK(!QuicAddr4FromString("not an address", &Addr));

    QUIC_ADDR V6 = {0};
    CHECK(QuicAddrFromString("[2001:db8::1]:4433", 0, &V6));
    CHECK(QuicAddrGetFamily(&V6) == QUIC_ADDRESS_FAMILY_INET6);
    CHECK(QuicAddrGetPort(&V6) == 4433);
    CHECK(QuicAddrToString(&V6, &Str) && strcmp(Str.Address, "[2001:db8::1]:4433") == 0);
    CHECK(QuicAddr6FromString("::", &V6));
    CHECK(QuicAddrIsWildCard(&V6));
    QuicAddrSetPort(&V6, 0);
    CHECK(QuicAddrToString(&V6, &Str) && strcmp(Str.Address, "::") == 0);

    QUIC_ADDR A = {0};
    QUIC_ADDR B = {0};
    QuicAddrSetFamily(&A, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&A);
    QuicAddrSetPort(&A, 1);
    CHECK(QuicAddrFromString("127.0.0.1", 1, &B));
    CHECK(QuicAddrCompare(&A, &B));
    CHECK(QuicAddrCompareIp(&A, &B));
    CHECK(QuicAddrHash(&A) == QuicAddrHash(&B));
    QuicAddrSetPort(&B, 2);
    CHECK(!QuicAddrCompare(&A, &B));
    CHECK(QuicAddrCompareIp(&A, &B));
    QuicAddrIncrement(&B);
    CHECK(!QuicAddrCompareIp(&A, &B));
    CHECK(QuicAddrToString(&B, &Str) && strcmp(Str.Address, "127.0.0.2:2") == 0);
    CHECK(!QuicAddrIsWildCard(&B));
    CHECK(QuicAddrFamilyIsValid(QUIC_ADDRESS_FAMILY_INET6));
    CHECK(!QuicAddrFamilyIsValid(1));
    CHECK(strcmp(QUIC_LOCALHOST_FOR_AF(QUIC_ADDRESS_FAMILY_INET), "localhost") == 0);
}

int
QUIC_MAIN_EXPORT
main(
    _In_ int argc,
    _In_reads_(argc) _Null_terminated_ char* argv[]
    )
{
    UNREFERENCED_PARAMETER(argc);
    UNREFERENCED_PARAMETER(argv);
    QUIC_STATUS Status = QUIC_STATUS_SUCCESS;

    CheckAddressHelpers();

    if (QUIC_FAILED(Status = MsQuicOpen2(&MsQuic))) {
        printf("MsQuicOpen2 failed, 0x%x!\n", Status);
        return 1;
    }
    if (QUIC_FAILED(Status = MsQuic->RegistrationOpen(&RegConfig, &Registration))) {
        printf("RegistrationOpen failed, 0x%x!\n", Status);
        Failures++;
        goto Error;
    }

    /* Exercise the calls a sample makes; slots the library has not built yet answer with a
     * status, which is fine here: this program checks that the code compiles and runs. */
    ServerConfiguration();
    HQUIC Listener = NULL;
    if (QUIC_SUCCEEDED(MsQuic->ListenerOpen(Registration, ListenerCallback, NULL, &Listener))) {
        MsQuic->ListenerClose(Listener);
    }
    HQUIC Connection = NULL;
    if (QUIC_SUCCEEDED(MsQuic->ConnectionOpen(Registration, ConnectionCallback, NULL, &Connection))) {
        MsQuic->ConnectionClose(Connection);
    }

    uint32_t Versions[8];
    uint32_t Length = sizeof(Versions);
    Status = MsQuic->GetParam(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &Length, Versions);
    CHECK(QUIC_SUCCEEDED(Status));

Error:
    if (Configuration != NULL) {
        MsQuic->ConfigurationClose(Configuration);
    }
    if (Registration != NULL) {
        MsQuic->RegistrationClose(Registration);
    }
    MsQuicClose(MsQuic);
    return Failures == 0 ? 0 : 1;
}
