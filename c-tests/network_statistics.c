/* NETWORK_STATISTICS (preview) with the setting NetStatsEventEnabled:
 * - a client whose configuration enables it and sends 1 MiB on a stream to a server that
 *   reads it gets the event after CONNECTED, on the connection's worker (not the thread that
 *   made the calls), with a non-zero ideal send buffer and congestion window and a plausible
 *   smoothed RTT (bandwidth: the window over the RTT); CONN_NETWORK_STATISTICS reports the
 *   same kind of figures (MsQuic 2.5.1 predates that parameter: INVALID_PARAMETER there).
 *   MsQuic also raises the event during the handshake (acknowledgements of handshake
 *   packets), this library only after CONNECTED: events before CONNECTED are counted apart,
 *   not checked;
 * - a client that shuts down from inside the event while 4 MiB are still being sent gets
 *   no event for the data after it: none here (nothing follows the start of the shutdown),
 *   one on MsQuic (for the acknowledgement of its CONNECTION_CLOSE, just before
 *   SHUTDOWN_COMPLETE);
 * - without the setting there is no event; the setting turned on after CONNECTED with
 *   CONN_SETTINGS makes them come. */
#include "support/qmux_test.h"

#include <pthread.h>

static const QUIC_API_TABLE* api;
static pthread_t main_thread;

typedef struct {
    Counter connected;
    Counter complete;
    /* Events after CONNECTED. */
    Counter stats;
    /* Events before CONNECTED, after the shutdown began, or on the calling thread. */
    int early, late, on_main;
    int is_connected, shutting_down;
    /* Shut the connection down from inside the next event. */
    int shutdown_on_event;
    QUIC_NETWORK_STATISTICS last;
} Client;

static QUIC_STATUS QUIC_API SinkStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)SinkStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Client* c = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        c->is_connected = 1;
        counter_add(&c->connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_NETWORK_STATISTICS:
        if (c->shutting_down) c->late++;
        if (pthread_equal(pthread_self(), main_thread)) c->on_main++;
        if (!c->is_connected) {
            c->early++;
            break;
        }
        c->last = ev->NETWORK_STATISTICS;
        counter_add(&c->stats, 1);
        if (c->shutdown_on_event) {
            c->shutdown_on_event = 0;
            c->shutting_down = 1;
            api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        }
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&c->complete, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static Counter stream_done;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
        counter_add(&stream_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static uint8_t data[4 << 20];

/* Sends `len` bytes with FIN on a new stream of `conn`; whether the stream was opened and
 * the send taken. */
static int send_on_stream(HQUIC conn, uint32_t len) {
    static QUIC_BUFFER buf;
    buf.Length = len;
    buf.Buffer = data;
    HQUIC stream = NULL;
    if (QUIC_FAILED(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL,
                                    &stream))) {
        return 0;
    }
    QUIC_STATUS st = api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN,
                                     NULL);
    if (QUIC_FAILED(st)) api->StreamClose(stream);
    return QUIC_SUCCEEDED(st);
}

/* Sends `len` bytes with FIN on a new stream of `conn` and waits until the server has read
 * them (its FIN in reply ends the stream). */
static void send_and_wait(HQUIC conn, uint32_t len) {
    int before = counter_get(&stream_done);
    CHECK(send_on_stream(conn, len));
    CHECK(counter_wait(&stream_done, before + 1, 20000));
}

/* A client configuration trusting the harness's certificate, with NetStatsEventEnabled set
 * to `net_stats` when `net_stats` >= 0. */
static HQUIC client_config(HQUIC reg, int net_stats) {
    QUIC_BUFFER alpn = {5, (uint8_t*)"stats"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.IdleTimeoutMs = TRUE;
    s.IdleTimeoutMs = 30000;
    if (net_stats >= 0) {
        s.IsSet.NetStatsEventEnabled = TRUE;
        s.NetStatsEventEnabled = (uint8_t)net_stats;
    }
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &cfg) ==
          QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    cred.CaCertificateFile = test_cert();
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static void client_init(Client* c) {
    memset(c, 0, sizeof(*c));
    counter_init(&c->connected);
    counter_init(&c->complete);
    counter_init(&c->stats);
}

static void client_destroy(Client* c) {
    counter_destroy(&c->connected);
    counter_destroy(&c->complete);
    counter_destroy(&c->stats);
}

static HQUIC connect_client(Client* c, HQUIC reg, HQUIC cfg, uint16_t port) {
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, c, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&c->connected, 1, 10000));
    return conn;
}

/* The figures an event or GetParam reports, checked for plausibility. */
static void check_figures(const QUIC_NETWORK_STATISTICS* n, const char* what) {
    printf("%s: in flight %u, posted %llu, ideal %llu, rtt %llu us, cwnd %u, bandwidth %llu\n",
           what, n->BytesInFlight, (unsigned long long)n->PostedBytes,
           (unsigned long long)n->IdealBytes, (unsigned long long)n->SmoothedRTT,
           n->CongestionWindow, (unsigned long long)n->Bandwidth);
    CHECK(n->IdealBytes > 0);
    CHECK(n->CongestionWindow > 0);
    CHECK(n->SmoothedRTT > 0 && n->SmoothedRTT < 10 * 1000 * 1000);
    CHECK(n->Bandwidth == n->CongestionWindow / n->SmoothedRTT);
}

int main(void) {
    if (!have_test_cert()) return 1;
    main_thread = pthread_self();
    memset(data, 0x5A, sizeof(data));
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&stream_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    TestServer server = {api, server_configuration(api, reg, "stats", 8, 30000),
                         ServerConnection};
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, test_server_listener, &server, &listener) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "stats");

    /* 1. Enabled by the configuration: events while 1 MiB goes out. */
    HQUIC enabled = client_config(reg, 1);
    Client c;
    client_init(&c);
    HQUIC conn = connect_client(&c, reg, enabled, port);
    send_and_wait(conn, 1 << 20);
    CHECK(counter_wait(&c.stats, 1, 5000));
    printf("enabled: %d events, %d before CONNECTED\n", counter_get(&c.stats), c.early);
    CHECK(c.on_main == 0);
    check_figures(&c.last, "last event");
    QUIC_NETWORK_STATISTICS got;
    memset(&got, 0, sizeof(got));
    uint32_t len = sizeof(got);
    QUIC_STATUS st = TRACE_CALL("GetParam(CONN_NETWORK_STATISTICS)",
                                api->GetParam(conn, QUIC_PARAM_CONN_NETWORK_STATISTICS, &len,
                                              &got));
    CHECK(st == QUIC_STATUS_SUCCESS || st == QUIC_STATUS_INVALID_PARAMETER);
    if (st == QUIC_STATUS_SUCCESS) {
        CHECK(len == sizeof(got));
        check_figures(&got, "GetParam");
    }

    /* 2. Shut down from inside the event while 4 MiB are being sent: nothing follows. (An
     * event for phase 1's last bytes may come first and shut down before the send.) */
    c.shutdown_on_event = 1;
    int before = counter_get(&c.stats);
    (void)send_on_stream(conn, sizeof(data));
    CHECK(counter_wait(&c.stats, before + 1, 10000));
    CHECK(counter_wait(&c.complete, 1, 10000));
    CHECK(c.shutting_down);
    CHECK(c.late <= 1);
    api->ConnectionClose(conn);
    client_destroy(&c);

    /* 3. Not enabled: no event; enabled after CONNECTED with CONN_SETTINGS: events. */
    HQUIC plain = client_config(reg, -1);
    client_init(&c);
    conn = connect_client(&c, reg, plain, port);
    send_and_wait(conn, 1 << 20);
    CHECK(counter_get(&c.stats) == 0 && c.early == 0);
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.NetStatsEventEnabled = TRUE;
    s.NetStatsEventEnabled = TRUE;
    CHECK(TRACE_CALL("SetParam(CONN_SETTINGS)",
                     api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(s), &s)) ==
          QUIC_STATUS_SUCCESS);
    send_and_wait(conn, 1 << 20);
    CHECK(counter_wait(&c.stats, 1, 5000));
    printf("enabled after start: %d events\n", counter_get(&c.stats));
    CHECK(c.on_main == 0);
    check_figures(&c.last, "last event");
    c.shutting_down = 1;
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&c.complete, 1, 10000));
    api->ConnectionClose(conn);
    client_destroy(&c);

    api->ListenerClose(listener);
    api->ConfigurationClose(enabled);
    api->ConfigurationClose(plain);
    api->ConfigurationClose(server.config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&stream_done);
    return finish("network_statistics");
}
