/* Connection statistics after 1 MiB echoed over QMux/TLS:
 * - GLOBAL_STATISTICS_V2_SIZES lists the five sizes (probe, then a short buffer);
 * - CONN_STATISTICS_V2: a buffer below SIZE_1 gets BUFFER_TOO_SMALL and the full size; SIZE_1
 *   and the full size are filled and reported back; stream bytes sent and received cover the
 *   payload both ways, total bytes are at least that, records were counted, RTT, congestion
 *   window and path MTU come from the kernel, and the timing is ordered;
 * - CONN_STATISTICS (v1) and the _PLAT forms give the same counts, on both sides. */
#include "support/qmux_test.h"

#define ALPN "stats"
#define PAYLOAD (1024 * 1024)

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static HQUIC server_conn;
static uint8_t* payload;
static uint64_t echoed;
static Counter server_started, echo_done, client_done;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        server_conn = conn;
        counter_add(&server_started, 1);
    }
    return echo_connection_event(api, conn, ev, (void*)ServerStream, NULL);
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        echoed += ev->RECEIVE.TotalBufferLength;
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        counter_add(&echo_done, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    (void)conn;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

/* Checks one side's V2 statistics. */
static void check_v2(HQUIC conn, const char* who) {
    QUIC_STATISTICS_V2 s;
    uint32_t len = QUIC_STATISTICS_V2_SIZE_1 - 1;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_STATISTICS_V2, &len, &s) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(QUIC_STATISTICS_V2));
    memset(&s, 0xEE, sizeof(s));
    len = QUIC_STATISTICS_V2_SIZE_1;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_STATISTICS_V2, &len, &s) == QUIC_STATUS_SUCCESS);
    CHECK(len == QUIC_STATISTICS_V2_SIZE_1);
    CHECK(s.SendTotalStreamBytes >= PAYLOAD);
    /* Past SIZE_1 nothing was written. */
    CHECK(s.RttVariance == 0xEEEEEEEE);
    len = sizeof(s);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_STATISTICS_V2_PLAT, &len, &s) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(s));
    printf("%s: rtt %u us (min %u, max %u, var %u), cwnd %u, mtu %u, records %llu/%llu, "
           "bytes %llu/%llu, stream bytes %llu/%llu, handshake %llu us\n",
           who, s.Rtt, s.MinRtt, s.MaxRtt, s.RttVariance, s.SendCongestionWindow, s.SendPathMtu,
           (unsigned long long)s.SendTotalPackets, (unsigned long long)s.RecvTotalPackets,
           (unsigned long long)s.SendTotalBytes, (unsigned long long)s.RecvTotalBytes,
           (unsigned long long)s.SendTotalStreamBytes, (unsigned long long)s.RecvTotalStreamBytes,
           (unsigned long long)(s.TimingHandshakeFlightEnd - s.TimingStart));
    CHECK(s.SendTotalStreamBytes >= PAYLOAD && s.RecvTotalStreamBytes >= PAYLOAD);
    CHECK(s.SendTotalBytes >= s.SendTotalStreamBytes);
    CHECK(s.RecvTotalBytes >= s.RecvTotalStreamBytes);
    CHECK(s.SendTotalPackets > 0 && s.RecvTotalPackets > 0);
    CHECK(s.Rtt > 0 && s.MaxRtt >= s.Rtt);
    CHECK(s.SendCongestionWindow > 0);
    CHECK(s.SendPathMtu > 0);
    CHECK(s.TimingStart > 0);
    CHECK(s.TimingStart <= s.TimingInitialFlightEnd);
    CHECK(s.TimingInitialFlightEnd <= s.TimingHandshakeFlightEnd);
    CHECK(s.TimingHandshakeFlightEnd > s.TimingStart);

    QUIC_STATISTICS v1;
    len = sizeof(v1) - 1;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_STATISTICS, &len, &v1) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(v1));
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_STATISTICS_PLAT, &len, &v1) ==
          QUIC_STATUS_SUCCESS);
    CHECK(v1.Send.TotalStreamBytes == s.SendTotalStreamBytes);
    CHECK(v1.Recv.TotalStreamBytes == s.RecvTotalStreamBytes);
    CHECK(v1.Timing.Start == s.TimingStart);
    CHECK(v1.Send.PathMtu == s.SendPathMtu);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_STATISTICS, sizeof(v1), &v1) ==
          QUIC_STATUS_INVALID_PARAMETER);
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&server_started);
    counter_init(&echo_done);
    counter_init(&client_done);
    payload = malloc(PAYLOAD);
    for (int i = 0; i < PAYLOAD; i++) payload[i] = (uint8_t)i;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);

    uint32_t sizes[8];
    uint32_t len = 0;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 5 * sizeof(uint32_t));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, &len, sizes) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 5 * sizeof(uint32_t));
    CHECK(sizes[0] == QUIC_STATISTICS_V2_SIZE_1 && sizes[3] == QUIC_STATISTICS_V2_SIZE_4 &&
          sizes[4] == QUIC_STATISTICS_V2_SIZE_5);
    len = 2 * sizeof(uint32_t);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, &len, sizes) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 2 * sizeof(uint32_t) && sizes[1] == QUIC_STATISTICS_V2_SIZE_2);

    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    /* Before start: zeros, no failure. */
    QUIC_STATISTICS_V2 early;
    len = sizeof(early);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_STATISTICS_V2, &len, &early) == QUIC_STATUS_SUCCESS);
    CHECK(early.SendTotalBytes == 0);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    QUIC_BUFFER b = {PAYLOAD, payload};
    CHECK(QUIC_SUCCEEDED(
        api->StreamSend(stream, &b, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&echo_done, 1, 20000));
    CHECK(echoed == PAYLOAD);
    CHECK(counter_wait(&server_started, 1, 1000));

    check_v2(conn, "client");
    check_v2(server_conn, "server");

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 1, 10000));
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(payload);
    return finish("conn_statistics");
}
