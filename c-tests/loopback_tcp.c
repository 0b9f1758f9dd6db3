/* A client and a server in one process talk QMux over plain TCP on loopback through the
 * MsQuic API: listener, NEW_CONNECTION, SetConfiguration, CONNECTED, a bidirectional stream
 * echoed byte for byte (RECEIVE, SEND_COMPLETE, PEER_SEND_SHUTDOWN), an application shutdown
 * with an error code seen by the peer, SHUTDOWN_COMPLETE, and handles closed from inside
 * callbacks. A second client to a port nobody listens on sees UNREACHABLE (as MsQuic reports
 * the ICMP port unreachable its datagram draws), and so does a third to the limited broadcast
 * address, which TCP cannot reach. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;

#define PAYLOAD (3 * 1024 * 1024 + 17)
static uint8_t* payload;
static uint8_t* echoed;
static size_t echoed_len;
static HQUIC server_config;
static Counter client_done;
static Counter server_conn_done;
static Counter refused_done;
static uint64_t server_saw_peer_code = 0;
static int client_connected = 0, client_stream_fin = 0, sends_completed = 0;
static QUIC_STATUS refused_status = 0;

/* ---- server ---- */
static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    /* Echoes byte for byte and closes the stream from inside its SHUTDOWN_COMPLETE. */
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        server_saw_peer_code = ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        CHECK(ev->SHUTDOWN_COMPLETE.HandshakeCompleted);
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(conn);
        counter_add(&server_conn_done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        CHECK(ev->NEW_CONNECTION.Info->RemoteAddress != NULL);
        CHECK(QuicAddrGetFamily(ev->NEW_CONNECTION.Info->RemoteAddress) == QUIC_ADDRESS_FAMILY_INET);
        api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
        return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
    }
    return QUIC_STATUS_SUCCESS;
}

/* ---- client ---- */
static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    HQUIC conn = (HQUIC)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        CHECK(ev->START_COMPLETE.Status == QUIC_STATUS_SUCCESS);
        CHECK(ev->START_COMPLETE.ID == 0);
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        CHECK(ev->RECEIVE.AbsoluteOffset == echoed_len);
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (echoed_len + b->Length <= PAYLOAD) memcpy(echoed + echoed_len, b->Buffer, b->Length);
            echoed_len += b->Length;
        }
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        CHECK(!ev->SEND_COMPLETE.Canceled);
        CHECK(ev->SEND_COMPLETE.ClientContext == (void*)payload);
        sends_completed++;
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        client_stream_fin = 1;
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x42);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_BUFFER send_buf;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        client_connected = 1;
        CHECK(ev->CONNECTED.NegotiatedAlpnLength == 4);
        CHECK(memcmp(ev->CONNECTED.NegotiatedAlpn, "echo", 4) == 0);
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, conn, &stream) ==
              QUIC_STATUS_SUCCESS);
        send_buf.Length = PAYLOAD;
        send_buf.Buffer = payload;
        /* START via the send, with FIN: one call does it all. */
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &send_buf, 1,
                                             QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, payload)));
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&client_done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API RefusedConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        refused_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        CHECK(!ev->SHUTDOWN_COMPLETE.HandshakeCompleted);
        counter_add(&refused_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    counter_init(&client_done);
    counter_init(&server_conn_done);
    counter_init(&refused_done);
    payload = malloc(PAYLOAD);
    echoed = malloc(PAYLOAD);
    for (size_t i = 0; i < PAYLOAD; i++) payload[i] = (uint8_t)(i * 31 + (i >> 9));

    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    QUIC_REGISTRATION_CONFIG rc = {"loopback_tcp", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    CHECK(api->RegistrationOpen(&rc, &reg) == QUIC_STATUS_SUCCESS);
    uint32_t transport = QUIC_TRANSPORT_QMUX_TCP;
    CHECK(api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport), &transport) ==
          QUIC_STATUS_SUCCESS);

    QUIC_BUFFER alpn = {4, (uint8_t*)"echo"};
    QUIC_SETTINGS settings;
    memset(&settings, 0, sizeof(settings));
    settings.IsSet.IdleTimeoutMs = TRUE;
    settings.IdleTimeoutMs = 10000;
    settings.IsSet.PeerBidiStreamCount = TRUE;
    settings.PeerBidiStreamCount = 4;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &settings, sizeof(settings), NULL,
                                 &server_config) == QUIC_STATUS_SUCCESS);
    HQUIC client_config = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &settings, sizeof(settings), NULL,
                                 &client_config) == QUIC_STATUS_SUCCESS);

    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR bind_addr;
    memset(&bind_addr, 0, sizeof(bind_addr));
    CHECK(QuicAddrFromString("127.0.0.1", 0, &bind_addr));
    CHECK(api->ListenerStart(listener, &alpn, 1, &bind_addr) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = QuicAddrGetPort(&local);
    CHECK(port != 0);

    HQUIC client = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &client) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "127.0.0.1", port)));
    CHECK(counter_wait(&client_done, 1, 30000));
    CHECK(counter_wait(&server_conn_done, 1, 30000));
    CHECK(client_connected);
    CHECK(client_stream_fin);
    CHECK(sends_completed == 1);
    CHECK(echoed_len == PAYLOAD);
    CHECK(echoed_len == PAYLOAD && memcmp(echoed, payload, PAYLOAD) == 0);
    CHECK(server_saw_peer_code == 0x42);
    api->ConnectionClose(client);

    /* Nothing listening: the listener is stopped, so its port refuses connections. */
    api->ListenerStop(listener);
    api->ListenerClose(listener);
    HQUIC refused = NULL;
    CHECK(api->ConnectionOpen(reg, RefusedConnection, NULL, &refused) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(refused, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "127.0.0.1", port)));
    CHECK(counter_wait(&refused_done, 1, 30000));
    if (refused_status != QUIC_STATUS_UNREACHABLE) {
        fprintf(stderr, "refused connection ended with status %u\n", refused_status);
    }
    CHECK(refused_status == QUIC_STATUS_UNREACHABLE);
    api->ConnectionClose(refused);

    /* Linux refuses a TCP connect to 255.255.255.255 with ENETUNREACH. */
    HQUIC unreachable = NULL;
    refused_status = 0;
    CHECK(api->ConnectionOpen(reg, RefusedConnection, NULL, &unreachable) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(unreachable, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "255.255.255.255", port)));
    CHECK(counter_wait(&refused_done, 2, 30000));
    CHECK(refused_status == QUIC_STATUS_UNREACHABLE);
    api->ConnectionClose(unreachable);

    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(payload);
    free(echoed);
    return finish("loopback_tcp");
}
