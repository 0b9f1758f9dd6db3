/* QUIC_PARAM_CONN_SETTINGS on a connected client, as MsQuic takes it:
 * - MinimumMtu, MaximumMtu and EcnEnabled are INVALID_PARAMETER (the fields before them in
 *   MsQuic's order are stored all the same, those after them not); other fields are SUCCESS
 *   and GetParam reports them, IsSet included; the start recomputed the unset MTUs;
 * - a new IdleTimeoutMs moves the idle timer at once: with 300 ms set after CONNECTED (both
 *   sides configured with 30 s), the client ends with CONNECTION_IDLE within seconds;
 * - a new KeepAliveIntervalMs starts keep-alive: a server configured with a 1 s idle timeout
 *   (so both sides time out after 1 s of silence) stays connected for 2.5 s while the client
 *   pings every 200 ms; setting 0 stops the pings, and the connection then idles out;
 * - SendBufferingEnabled = 0 set after CONNECTED makes later sends hold the application's
 *   buffer: a 128 KiB send to a peer that does not read does not complete (it is canceled
 *   at the shutdown); so it does when the same update is refused for a later field. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

typedef struct {
    Counter connected;
    Counter initiated;
    Counter complete;
    QUIC_STATUS status;
} Side;

static Side client_side;

static int probe_server;
static Counter server_probed;
static QUIC_STATUS server_mtu_before, server_mtu_after;
static QUIC_SETTINGS server_got;

/* Phase 3's server stream: never reads (its RECEIVE stays pending), so the client's stream
 * window runs out. */
static QUIC_STATUS QUIC_API HoldStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) return QUIC_STATUS_PENDING;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(stream);
    return QUIC_STATUS_SUCCESS;
}

static Counter send_complete;
static int send_canceled;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        send_canceled = ev->SEND_COMPLETE.Canceled;
        counter_add(&send_complete, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)HoldStream, NULL);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED && probe_server) {
        QUIC_SETTINGS s;
        memset(&s, 0, sizeof(s));
        s.IsSet.MinimumMtu = TRUE;
        s.MinimumMtu = 1400;
        server_mtu_after = api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(s), &s);
        uint32_t len = sizeof(server_got);
        CHECK(api->GetParam(conn, QUIC_PARAM_CONN_SETTINGS, &len, &server_got) ==
              QUIC_STATUS_SUCCESS);
        counter_add(&server_probed, 1);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

/* Phase 1's server connection: MinimumMtu set in NEW_CONNECTION, before
 * ConnectionSetConfiguration; at CONNECTED (above), a new one and what GetParam reports. */

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (!probe_server || ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
    }
    HQUIC conn = ev->NEW_CONNECTION.Connection;
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.MinimumMtu = TRUE;
    s.MinimumMtu = 1300;
    server_mtu_before = api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(s), &s);
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    Side* side = (Side*)ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&side->connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        side->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        counter_add(&side->initiated, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        counter_add(&side->initiated, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&side->complete, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void side_init(Side* s) {
    counter_init(&s->connected);
    counter_init(&s->initiated);
    counter_init(&s->complete);
    s->status = 0;
}

static void side_destroy(Side* s) {
    counter_destroy(&s->connected);
    counter_destroy(&s->initiated);
    counter_destroy(&s->complete);
}

static HQUIC connect_client(HQUIC reg, HQUIC client_config, uint16_t port) {
    side_init(&client_side);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &client_side, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&client_side.connected, 1, 10000));
    return conn;
}

static QUIC_STATUS set_conn(HQUIC conn, const QUIC_SETTINGS* s) {
    return api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(*s), s);
}

static void get_conn(HQUIC conn, QUIC_SETTINGS* s) {
    uint32_t len = sizeof(*s);
    memset(s, 0, sizeof(*s));
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_SETTINGS, &len, s) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(*s));
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&server_probed);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC client_config = client_configuration(api, reg, "live", 30000);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);

    /* 1. What a started connection accepts, and a shorter idle timeout. */
    server_config = server_configuration(api, reg, "live", 1, 30000);
    uint16_t port = start_listener(api, listener, "live");
    probe_server = 1;
    HQUIC conn = connect_client(reg, client_config, port);
    CHECK(counter_wait(&server_probed, 1, 5000));
    probe_server = 0;
    /* A server connection takes MTU changes until its configuration is set; then it
     * reports the configuration's fields as its own, IsSet included. */
    CHECK(server_mtu_before == QUIC_STATUS_SUCCESS);
    CHECK(server_mtu_after == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(server_got.IsSet.MinimumMtu && server_got.MinimumMtu == 1300);
    CHECK(server_got.IsSet.PeerBidiStreamCount && server_got.PeerBidiStreamCount == 1);
    CHECK(server_got.IsSet.IdleTimeoutMs && server_got.IdleTimeoutMs == 30000);
    QUIC_SETTINGS s, got;
    /* So does a client after ConnectionStart. */
    get_conn(conn, &got);
    CHECK(got.IsSet.IdleTimeoutMs && got.IdleTimeoutMs == 30000);
    CHECK(!got.IsSet.PeerBidiStreamCount);
    /* Adopting the configuration at the start recomputed the unset MTUs (MsQuic's floor). */
    CHECK(got.MinimumMtu == 1248 && !got.IsSet.MinimumMtu && got.MaximumMtu == 1500);
    /* A refused MTU or ECN stops the update at its place in MsQuic's order: the fields
     * before it are stored all the same, those after it are not. */
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerUnidiStreamCount = TRUE;
    s.PeerUnidiStreamCount = 2;
    s.IsSet.MaximumMtu = TRUE;
    s.MaximumMtu = 1400;
    s.IsSet.DestCidUpdateIdleTimeoutMs = TRUE;
    s.DestCidUpdateIdleTimeoutMs = 999;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_INVALID_PARAMETER);
    get_conn(conn, &got);
    CHECK(got.IsSet.PeerUnidiStreamCount && got.PeerUnidiStreamCount == 2);
    CHECK(!got.IsSet.MaximumMtu && got.MaximumMtu == 1500);
    CHECK(!got.IsSet.DestCidUpdateIdleTimeoutMs && got.DestCidUpdateIdleTimeoutMs == 20000);
    memset(&s, 0, sizeof(s));
    s.IsSet.DestCidUpdateIdleTimeoutMs = TRUE;
    s.DestCidUpdateIdleTimeoutMs = 999;
    s.IsSet.EcnEnabled = TRUE;
    s.EcnEnabled = TRUE;
    s.IsSet.ReliableResetEnabled = TRUE;
    s.ReliableResetEnabled = TRUE;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_INVALID_PARAMETER);
    get_conn(conn, &got);
    CHECK(got.IsSet.DestCidUpdateIdleTimeoutMs && got.DestCidUpdateIdleTimeoutMs == 999);
    CHECK(!got.IsSet.EcnEnabled && !got.IsSet.ReliableResetEnabled);
    memset(&s, 0, sizeof(s));
    s.IsSet.MinimumMtu = TRUE;
    s.MinimumMtu = 1300;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_INVALID_PARAMETER);
    memset(&s, 0, sizeof(s));
    s.IsSet.EcnEnabled = TRUE;
    s.EcnEnabled = TRUE;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_INVALID_PARAMETER);
    memset(&s, 0, sizeof(s));
    s.IsSet.StreamRecvWindowDefault = TRUE;
    s.StreamRecvWindowDefault = 1 << 20;
    s.IsSet.DisconnectTimeoutMs = TRUE;
    s.DisconnectTimeoutMs = 5000;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_SUCCESS);
    get_conn(conn, &got);
    CHECK(got.IsSet.StreamRecvWindowDefault && got.StreamRecvWindowDefault == (1u << 20));
    CHECK(got.IsSet.DisconnectTimeoutMs && got.DisconnectTimeoutMs == 5000);
    CHECK(!got.IsSet.MinimumMtu && !got.IsSet.EcnEnabled && got.EcnEnabled == 0);
    CHECK(got.IdleTimeoutMs == 30000);

    long long t0 = now_ms();
    memset(&s, 0, sizeof(s));
    s.IsSet.IdleTimeoutMs = TRUE;
    s.IdleTimeoutMs = 300;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_SUCCESS);
    get_conn(conn, &got);
    CHECK(got.IsSet.IdleTimeoutMs && got.IdleTimeoutMs == 300);
    CHECK(counter_wait(&client_side.initiated, 1, 5000));
    CHECK(client_side.status == QUIC_STATUS_CONNECTION_IDLE);
    printf("idle after %lld ms\n", now_ms() - t0);
    CHECK(counter_wait(&client_side.complete, 1, 5000));
    api->ConnectionClose(conn);
    side_destroy(&client_side);
    api->ListenerClose(listener);
    api->ConfigurationClose(server_config);

    /* 2. Keep-alive started after the handshake keeps a 1 s idle timeout from expiring. */
    server_config = server_configuration(api, reg, "live", 1, 1000);
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    port = start_listener(api, listener, "live");
    conn = connect_client(reg, client_config, port);
    memset(&s, 0, sizeof(s));
    s.IsSet.KeepAliveIntervalMs = TRUE;
    s.KeepAliveIntervalMs = 200;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_SUCCESS);
    /* Waiting for a shutdown that must not come. */
    CHECK(!counter_wait(&client_side.initiated, 1, 2500));
    s.KeepAliveIntervalMs = 0;
    t0 = now_ms();
    CHECK(set_conn(conn, &s) == QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&client_side.initiated, 1, 5000));
    printf("idle %lld ms after keep-alive stopped\n", now_ms() - t0);
    CHECK(counter_wait(&client_side.complete, 1, 5000));
    api->ConnectionClose(conn);
    side_destroy(&client_side);
    api->ListenerClose(listener);
    api->ConfigurationClose(server_config);

    /* 3. SendBufferingEnabled turned off after the handshake: a 128 KiB send to a peer that
     * does not read (64 KiB stream window) is held, not copied and completed at once. */
    server_config = server_configuration(api, reg, "live", 1, 30000);
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    port = start_listener(api, listener, "live");
    conn = connect_client(reg, client_config, port);
    memset(&s, 0, sizeof(s));
    s.IsSet.SendBufferingEnabled = TRUE;
    s.SendBufferingEnabled = FALSE;
    /* Refused, but after SendBufferingEnabled in MsQuic's order: that one is taken (and
     * acts) all the same. */
    s.IsSet.MaximumMtu = TRUE;
    s.MaximumMtu = 1400;
    CHECK(set_conn(conn, &s) == QUIC_STATUS_INVALID_PARAMETER);
    counter_init(&send_complete);
    static uint8_t data[128 * 1024];
    memset(data, 0x5A, sizeof(data));
    QUIC_BUFFER buf = {sizeof(data), data};
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_START, NULL)));
    /* Waiting for a completion that must not come while the bytes cannot be sent. */
    CHECK(!counter_wait(&send_complete, 1, 1000));
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&send_complete, 1, 5000));
    CHECK(send_canceled);
    CHECK(counter_wait(&client_side.complete, 1, 5000));
    api->ConnectionClose(conn);
    side_destroy(&client_side);
    counter_destroy(&send_complete);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&server_probed);
    return finish("settings_after_start");
}
