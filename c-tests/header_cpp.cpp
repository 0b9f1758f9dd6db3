// include/msquic.h used from C++17 the way MsQuic applications (and msquic.hpp-style wrappers)
// use it. Only compiled (g++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only), with or without
// QUIC_API_ENABLE_PREVIEW_FEATURES.
#include "msquic.h"

#include <cstdio>
#include <cstring>
#include <memory>

static_assert(sizeof(QUIC_SETTINGS) == 144, "QUIC_SETTINGS");
static_assert(sizeof(QUIC_STREAM_EVENT) == 40, "QUIC_STREAM_EVENT");
static_assert(sizeof(QUIC_LISTENER_EVENT) == 24, "QUIC_LISTENER_EVENT");
static_assert(sizeof(QUIC_ADDR) == 28, "QUIC_ADDR");
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
static_assert(sizeof(QUIC_API_TABLE) == 312, "QUIC_API_TABLE with preview");
static_assert(sizeof(QUIC_CONNECTION_EVENT) == 56, "QUIC_CONNECTION_EVENT with preview");
#else
static_assert(sizeof(QUIC_API_TABLE) == 256, "QUIC_API_TABLE without preview");
static_assert(sizeof(QUIC_CONNECTION_EVENT) == 32, "QUIC_CONNECTION_EVENT without preview");
#endif

// An application's own flag enum, given operators by MsQuic's macro.
enum class AppFlags : uint32_t { None = 0, A = 1, B = 2 };
DEFINE_ENUM_FLAG_OPERATORS(AppFlags)

namespace {

const QUIC_API_TABLE* MsQuic = nullptr;

struct StreamContext {
    uint64_t Received = 0;
};

_IRQL_requires_max_(PASSIVE_LEVEL)
_Function_class_(QUIC_STREAM_CALLBACK)
QUIC_STATUS
QUIC_API
StreamCallback(
    _In_ HQUIC Stream,
    _In_opt_ void* Context,
    _Inout_ QUIC_STREAM_EVENT* Event
    )
{
    auto* Ctx = static_cast<StreamContext*>(Context);
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        if (QUIC_FAILED(Event->START_COMPLETE.Status) || !Event->START_COMPLETE.PeerAccepted) {
            return QUIC_STATUS_SUCCESS;
        }
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; ++i) {
            Ctx->Received += Event->RECEIVE.Buffers[i].Length;
        }
        if (Event->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) {
            MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        }
        Event->RECEIVE.TotalBufferLength = 0;
        return QUIC_STATUS_PENDING;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        delete[] static_cast<uint8_t*>(Event->SEND_COMPLETE.ClientContext);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE,
                               Event->PEER_SEND_ABORTED.ErrorCode);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        if (!Event->SHUTDOWN_COMPLETE.AppCloseInProgress) {
            MsQuic->StreamClose(Stream);
        }
        break;
    case QUIC_STREAM_EVENT_CANCEL_ON_LOSS:
        Event->CANCEL_ON_LOSS.ErrorCode = 0x42;
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

_IRQL_requires_max_(DISPATCH_LEVEL)
_Function_class_(QUIC_CONNECTION_CALLBACK)
QUIC_STATUS QUIC_API ConnectionCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        HQUIC Stream = nullptr;
        QUIC_STREAM_OPEN_FLAGS Flags = QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL | QUIC_STREAM_OPEN_FLAG_0_RTT;
        Flags |= QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES;
        auto* Ctx = new StreamContext();
        if (QUIC_FAILED(MsQuic->StreamOpen(Connection, Flags, StreamCallback, Ctx, &Stream))) {
            delete Ctx;
            break;
        }
        QUIC_STREAM_START_FLAGS StartFlags =
            QUIC_STREAM_START_FLAG_IMMEDIATE | QUIC_STREAM_START_FLAG_SHUTDOWN_ON_FAIL;
        (void)MsQuic->StreamStart(Stream, StartFlags);
        auto* Data = new uint8_t[4]{1, 2, 3, 4};
        QUIC_BUFFER Buffer{4, Data};
        QUIC_SEND_FLAGS SendFlags = QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN;
        if (QUIC_FAILED(MsQuic->StreamSend(Stream, &Buffer, 1, SendFlags, Data))) {
            delete[] Data;
        }
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        std::printf("transport: 0x%x %llu\n", Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status,
                    (unsigned long long)Event->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        if (!Event->SHUTDOWN_COMPLETE.AppCloseInProgress) {
            MsQuic->ConnectionClose(Connection);
        }
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        MsQuic->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)StreamCallback, nullptr);
        break;
    case QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED: {
        QUIC_ADDR_STR Text;
        if (QuicAddrToString(Event->PEER_ADDRESS_CHANGED.Address, &Text)) {
            std::printf("peer %s\n", Text.Address);
        }
        break;
    }
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED:
        if (QUIC_DATAGRAM_SEND_STATE_IS_FINAL(Event->DATAGRAM_SEND_STATE_CHANGED.State)) {
            Event->DATAGRAM_SEND_STATE_CHANGED.ClientContext = nullptr;
        }
        break;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    case QUIC_CONNECTION_EVENT_NETWORK_STATISTICS:
        std::printf("cwnd %u\n", Event->NETWORK_STATISTICS.CongestionWindow);
        break;
#endif
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

} // namespace

int main()
{
    // A captureless lambda converts to a handler, as in many C++ wrappers.
    QUIC_LISTENER_CALLBACK_HANDLER Listener = [](HQUIC, void*, QUIC_LISTENER_EVENT* Event) -> QUIC_STATUS {
        if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
            MsQuic->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ConnectionCallback, nullptr);
            return QUIC_STATUS_SUCCESS;
        }
        return Event->STOP_COMPLETE.AppCloseInProgress ? QUIC_STATUS_SUCCESS : QUIC_STATUS_NOT_SUPPORTED;
    };
    QUIC_CONNECTION_CALLBACK* FunctionType = ConnectionCallback;
    QUIC_CONNECTION_CALLBACK_HANDLER Handler = FunctionType;

    AppFlags Mine = AppFlags::A | AppFlags::B;
    Mine &= AppFlags::B;

    QUIC_STATUS Status = MsQuicOpen2(&MsQuic);
    if (QUIC_FAILED(Status)) {
        return 1;
    }

    const QUIC_REGISTRATION_CONFIG RegConfig = {"header_cpp", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    HQUIC Registration = nullptr;
    if (QUIC_SUCCEEDED(MsQuic->RegistrationOpen(&RegConfig, &Registration))) {
        QUIC_SETTINGS Settings{};
        Settings.IdleTimeoutMs = 1000;
        Settings.IsSet.IdleTimeoutMs = TRUE;
        Settings.ServerResumptionLevel = QUIC_SERVER_RESUME_AND_ZERORTT;
        Settings.IsSet.ServerResumptionLevel = TRUE;
        Settings.PeerBidiStreamCount = 16;
        Settings.IsSet.PeerBidiStreamCount = TRUE;
        Settings.HyStartEnabled = TRUE;
        Settings.IsSet.HyStartEnabled = TRUE;

        QUIC_BUFFER Alpn = {sizeof("sample") - 1, (uint8_t*)"sample"};
        HQUIC Configuration = nullptr;
        if (QUIC_SUCCEEDED(MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), nullptr,
                                                     &Configuration))) {
            QUIC_CREDENTIAL_CONFIG Cred;
            std::memset(&Cred, 0, sizeof(Cred));
            Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
            Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
            Cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES;
            Cred.AllowedCipherSuites = QUIC_ALLOWED_CIPHER_SUITE_AES_128_GCM_SHA256;
            (void)MsQuic->ConfigurationLoadCredential(Configuration, &Cred);

            HQUIC Connection = nullptr;
            if (QUIC_SUCCEEDED(MsQuic->ConnectionOpen(Registration, Handler, nullptr, &Connection))) {
                QUIC_ADDR Remote{};
                if (QuicAddrFromString("127.0.0.1", 4567, &Remote)) {
                    (void)MsQuic->SetParam(Connection, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(Remote), &Remote);
                }
                (void)MsQuic->ConnectionStart(Connection, Configuration, QUIC_ADDRESS_FAMILY_UNSPEC, "localhost",
                                              QuicAddrGetPort(&Remote));
                MsQuic->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
                MsQuic->ConnectionClose(Connection);
            }

            HQUIC ListenerHandle = nullptr;
            if (QUIC_SUCCEEDED(MsQuic->ListenerOpen(Registration, Listener, nullptr, &ListenerHandle))) {
                QUIC_ADDR Local{};
                QuicAddrSetFamily(&Local, QUIC_ADDRESS_FAMILY_INET6);
                QuicAddrSetPort(&Local, 4567);
                QuicAddrSetToLoopback(&Local);
                (void)QuicAddrIsWildCard(&Local);
                (void)QuicAddrHash(&Local);
                (void)MsQuic->ListenerStart(ListenerHandle, &Alpn, 1, &Local);
                MsQuic->ListenerClose(ListenerHandle);
            }
            MsQuic->ConfigurationClose(Configuration);
        }

        uint32_t Version[4];
        uint32_t Length = sizeof(Version);
        (void)MsQuic->GetParam(nullptr, QUIC_PARAM_GLOBAL_LIBRARY_VERSION | QUIC_PARAM_HIGH_PRIORITY, &Length,
                               Version);
        uint32_t Transport = QUIC_TRANSPORT_QMUX_TLS;
        (void)MsQuic->SetParam(Registration, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(Transport), &Transport);
        MsQuic->RegistrationClose(Registration);
    }

    // dlsym-style function pointer types.
    MsQuicOpenVersionFn Open = MsQuicOpenVersion;
    MsQuicCloseFn Close = MsQuicClose;
    (void)Open;
    Close(MsQuic);
    return Mine == AppFlags::B ? 0 : 1;
}
