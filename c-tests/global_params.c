/* Library-wide parameters (Handle NULL), with MsQuic's checks:
 * - before the first RegistrationOpen: MsQuic's private DATAPATH_DSCP_RECV_ENABLED is taken
 *   (its test set-up stops if not), STATELESS_RESET_KEY and DATAPATH_FEATURES are INVALID_STATE;
 * - RETRY_MEMORY_PERCENT, LOAD_BALACING_MODE, GLOBAL_SETTINGS (GLOBAL_GLOBAL_SETTINGS),
 *   VERSION_SETTINGS (byte-swapped as MsQuic returns them), STATELESS_RETRY_CONFIG and the
 *   private VERSION_NEGOTIATION_ENABLED: NULL-buffer probing, round trips, refused values
 *   and sizes;
 * - PERF_COUNTERS: the probe gives the whole array, a smaller buffer gets whole counters;
 *   while a connection with a stream runs, CONN_CREATED, CONN_ACTIVE, CONN_CONNECTED,
 *   STRM_ACTIVE, APP_SEND/RECV_BYTES, socket bytes and queued operations move; the gauges
 *   come back down once everything is closed;
 * - after RegistrationOpen: DSCP_RECV_ENABLED is INVALID_STATE, the reset key is taken;
 * - the private IN_USE is TRUE while a listener holds a socket, and LOAD_BALACING_MODE then
 *   refuses a change;
 * - the last MsQuicClose forgets the values. */
#include "support/qmux_test.h"

#define PRIVATE_VERSION_NEGOTIATION_ENABLED 0x81000003
#define PRIVATE_IN_USE 0x81000004
#define PRIVATE_DATAPATH_FEATURES 0x81000005
#define PRIVATE_DATAPATH_DSCP_RECV_ENABLED 0x81000007

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static Counter connected, client_recv, client_stream_done, server_conn_done, client_done;
static HQUIC server_conn;

static QUIC_STATUS QUIC_API EchoStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)EchoStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&server_conn_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) server_conn = ev->NEW_CONNECTION.Connection;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)stream;
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        counter_add(&client_recv, (int)ev->RECEIVE.TotalBufferLength);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&client_stream_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static uint64_t counters_now[QUIC_PERF_COUNTER_MAX];

static void read_counters(void) {
    uint32_t len = sizeof(counters_now);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &len, counters_now) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(counters_now));
}

/* Waits (bounded) for the freed-object gauges to reach `active` connections, no streams. */
static int gauges_settle(uint64_t active) {
    long long end = now_ms() + 5000;
    for (;;) {
        read_counters();
        if (counters_now[QUIC_PERF_COUNTER_CONN_ACTIVE] == active &&
            counters_now[QUIC_PERF_COUNTER_STRM_ACTIVE] == 0 &&
            counters_now[QUIC_PERF_COUNTER_CONN_CONNECTED] == 0)
            return 1;
        if (now_ms() > end) return 0;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

static void check_u16(uint32_t param, uint16_t want) {
    uint32_t len = PROBE_PARAM(api, NULL, param);
    CHECK(len == 2);
    CHECK(api->GetParam(NULL, param, &len, NULL) == QUIC_STATUS_INVALID_PARAMETER);
    uint16_t v = 0xFFFF;
    CHECK(api->GetParam(NULL, param, &len, &v) == QUIC_STATUS_SUCCESS);
    CHECK(len == 2 && v == want);
}

static void before_registration(void) {
    BOOLEAN on = TRUE;
    uint32_t on4 = 1;
    CHECK(api->SetParam(NULL, PRIVATE_DATAPATH_DSCP_RECV_ENABLED, 4, &on4) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, PRIVATE_DATAPATH_DSCP_RECV_ENABLED, sizeof(on), &on) ==
          QUIC_STATUS_SUCCESS);
    BOOLEAN got = 0;
    uint32_t len = PROBE_PARAM(api, NULL, PRIVATE_DATAPATH_DSCP_RECV_ENABLED);
    CHECK(len == 1);
    CHECK(api->GetParam(NULL, PRIVATE_DATAPATH_DSCP_RECV_ENABLED, &len, &got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(got == TRUE);

    uint8_t key[QUIC_STATELESS_RESET_KEY_LENGTH] = {1};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, sizeof(key), key) ==
          QUIC_STATUS_INVALID_STATE);
    uint32_t features = 7;
    len = sizeof(features);
    CHECK(api->GetParam(NULL, PRIVATE_DATAPATH_FEATURES, &len, &features) ==
          QUIC_STATUS_INVALID_STATE);
    BOOLEAN in_use = 1;
    len = 1;
    CHECK(api->GetParam(NULL, PRIVATE_IN_USE, &len, &in_use) == QUIC_STATUS_SUCCESS);
    CHECK(in_use == FALSE);
}

static void retry_and_load_balancing(void) {
    check_u16(QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, 65);
    uint32_t wide = 1000;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, 4, &wide) ==
          QUIC_STATUS_INVALID_PARAMETER);
    uint16_t v = 1000;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, 2, &v) ==
          QUIC_STATUS_SUCCESS);
    check_u16(QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, 1000);

    check_u16(QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, QUIC_LOAD_BALANCING_DISABLED);
    v = QUIC_LOAD_BALANCING_SERVER_ID_FIXED; /* MsQuic takes it only through GLOBAL_SETTINGS */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, 2, &v) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, 1, &v) ==
          QUIC_STATUS_INVALID_PARAMETER);
    v = QUIC_LOAD_BALANCING_SERVER_ID_IP;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, 2, &v) ==
          QUIC_STATUS_SUCCESS);
    check_u16(QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, QUIC_LOAD_BALANCING_SERVER_ID_IP);
}

static void global_settings(void) {
    QUIC_GLOBAL_SETTINGS g;
    uint32_t len = PROBE_PARAM(api, NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS);
    CHECK(len == sizeof(g));
    len = 8;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &len, &g) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 12);
    len = sizeof(g);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    memset(&g, 0xEE, sizeof(g));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &len, &g) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(g));
    CHECK(g.IsSet.RetryMemoryLimit && g.IsSet.LoadBalancingMode && !g.IsSet.FixedServerID);
    CHECK(g.RetryMemoryLimit == 1000 && g.LoadBalancingMode == QUIC_LOAD_BALANCING_SERVER_ID_IP);
    CHECK(g.FixedServerID == 0);

    memset(&g, 0, sizeof(g));
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, 11, &g) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(g), NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    g.IsSet.LoadBalancingMode = TRUE;
    g.LoadBalancingMode = QUIC_LOAD_BALANCING_COUNT;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(g), &g) ==
          QUIC_STATUS_INVALID_PARAMETER);
    g.LoadBalancingMode = QUIC_LOAD_BALANCING_SERVER_ID_FIXED;
    g.IsSet.FixedServerID = TRUE;
    g.FixedServerID = 0x1234;
    g.RetryMemoryLimit = 7; /* not marked set: ignored */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(g), &g) ==
          QUIC_STATUS_SUCCESS);
    len = sizeof(g);
    memset(&g, 0, sizeof(g));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &len, &g) == QUIC_STATUS_SUCCESS);
    CHECK(g.RetryMemoryLimit == 1000 && g.LoadBalancingMode == QUIC_LOAD_BALANCING_SERVER_ID_FIXED);
    CHECK(g.IsSet.FixedServerID && g.FixedServerID == 0x1234);
    check_u16(QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, QUIC_LOAD_BALANCING_SERVER_ID_FIXED);
    /* 12 bytes: FixedServerID does not fit and is not written. */
    len = 12;
    memset(&g, 0xEE, sizeof(g));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &len, &g) == QUIC_STATUS_SUCCESS);
    CHECK(len == 12 && g.FixedServerID == 0xEEEEEEEE);
    /* Back to DISABLED for the in-use checks below. */
    memset(&g, 0, sizeof(g));
    g.IsSet.LoadBalancingMode = TRUE;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, 12, &g) == QUIC_STATUS_SUCCESS);
}

static void version_settings(void) {
    uint8_t out[sizeof(QUIC_VERSION_SETTINGS) + 3 * 4 * sizeof(uint32_t)];
    QUIC_VERSION_SETTINGS* o = (QUIC_VERSION_SETTINGS*)out;
    uint32_t len = PROBE_PARAM(api, NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS);
    CHECK(len == sizeof(QUIC_VERSION_SETTINGS));
    memset(out, 0xEE, sizeof(out));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, &len, out) ==
          QUIC_STATUS_SUCCESS);
    CHECK(o->AcceptableVersionsLength == 0 && o->AcceptableVersions == NULL);

    const uint32_t valid[] = {0x00000001, 0xabcd0000, 0xff00001d, 0x0a0a0a0a};
    const uint32_t invalid[] = {0x00000001, 0x00000002};
    const uint32_t zero[] = {0};
    QUIC_VERSION_SETTINGS in = {invalid, invalid, invalid, 2, 2, 2};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(in), &in) ==
          QUIC_STATUS_INVALID_PARAMETER);
    QUIC_VERSION_SETTINGS z = {zero, zero, zero, 1, 1, 1};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(z), &z) ==
          QUIC_STATUS_INVALID_PARAMETER);
    QUIC_VERSION_SETTINGS v = {valid, valid, valid, 4, 4, 4};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(v) - 1, &v) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(v), NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(v), &v) ==
          QUIC_STATUS_SUCCESS);
    len = PROBE_PARAM(api, NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS);
    CHECK(len == sizeof(out));
    memset(out, 0, sizeof(out));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, &len, out) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(out));
    CHECK(o->AcceptableVersionsLength == 4 && o->OfferedVersionsLength == 4 &&
          o->FullyDeployedVersionsLength == 4);
    CHECK((uint8_t*)o->AcceptableVersions == out + sizeof(QUIC_VERSION_SETTINGS));
    for (int i = 0; i < 4; i++) {
        /* MsQuic returns the versions byte-swapped (its internal, network order). */
        CHECK(o->AcceptableVersions[i] == __builtin_bswap32(valid[i]));
        CHECK(o->OfferedVersions[i] == __builtin_bswap32(valid[i]));
        CHECK(o->FullyDeployedVersions[i] == __builtin_bswap32(valid[i]));
    }
    /* Setting versions turns the version negotiation extension on. */
    BOOLEAN vn = 0;
    len = 1;
    CHECK(api->GetParam(NULL, PRIVATE_VERSION_NEGOTIATION_ENABLED, &len, &vn) ==
          QUIC_STATUS_SUCCESS);
    CHECK(vn == TRUE);
    vn = FALSE;
    CHECK(api->SetParam(NULL, PRIVATE_VERSION_NEGOTIATION_ENABLED, 1, &vn) == QUIC_STATUS_SUCCESS);
    vn = 9;
    CHECK(api->GetParam(NULL, PRIVATE_VERSION_NEGOTIATION_ENABLED, &len, &vn) ==
          QUIC_STATUS_SUCCESS);
    CHECK(vn == FALSE);
    /* Empty lists: back to the default. */
    QUIC_VERSION_SETTINGS none = {NULL, NULL, NULL, 0, 0, 0};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(none), &none) ==
          QUIC_STATUS_SUCCESS);
    len = PROBE_PARAM(api, NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS);
    CHECK(len == sizeof(QUIC_VERSION_SETTINGS));
}

static void retry_config(void) {
    uint8_t secret[32] = {1, 2, 3};
    QUIC_STATELESS_RETRY_CONFIG c = {QUIC_AEAD_ALGORITHM_AES_256_GCM, 30000, 32, secret};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(c) - 1, &c) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(c), &c) ==
          QUIC_STATUS_SUCCESS);
    c.SecretLength = 16;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(c), &c) ==
          QUIC_STATUS_INVALID_PARAMETER);
    c.Algorithm = QUIC_AEAD_ALGORITHM_AES_128_GCM;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(c), &c) ==
          QUIC_STATUS_SUCCESS);
    c.RotationMs = 0;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(c), &c) ==
          QUIC_STATUS_INVALID_PARAMETER);
    c.RotationMs = 1000;
    c.Secret = NULL;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(c), &c) ==
          QUIC_STATUS_INVALID_PARAMETER);
    c.Secret = secret;
    c.Algorithm = (QUIC_AEAD_ALGORITHM_TYPE)2;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(c), &c) ==
          QUIC_STATUS_INVALID_PARAMETER);
    uint32_t len = sizeof(c);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, &len, &c) ==
          QUIC_STATUS_INVALID_PARAMETER);
}

static void perf_counter_probing(void) {
    uint32_t len = PROBE_PARAM(api, NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS);
    CHECK(len == sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX);
    len = 7;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &len, counters_now) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX);
    len = 8;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    uint64_t few[QUIC_PERF_COUNTER_MAX + 1];
    few[QUIC_PERF_COUNTER_MAX - 4] = 0xABABABAB;
    len = sizeof(uint64_t) * (QUIC_PERF_COUNTER_MAX - 4) + 1;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &len, few) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(uint64_t) * (QUIC_PERF_COUNTER_MAX - 4));
    CHECK(few[QUIC_PERF_COUNTER_MAX - 4] == 0xABABABAB);
    len = sizeof(few);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &len, few) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, len, few) ==
          QUIC_STATUS_INVALID_PARAMETER);
}

static void connection_with_stream(HQUIC reg) {
    read_counters();
    uint64_t base[QUIC_PERF_COUNTER_MAX];
    memcpy(base, counters_now, sizeof(base));

    server_config = server_configuration(api, reg, "globals", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "globals", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "globals");

    BOOLEAN in_use = 0;
    uint32_t len = 1;
    CHECK(api->GetParam(NULL, PRIVATE_IN_USE, &len, &in_use) == QUIC_STATUS_SUCCESS);
    CHECK(in_use == TRUE);
    uint16_t mode = QUIC_LOAD_BALANCING_SERVER_ID_IP;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, 2, &mode) ==
          QUIC_STATUS_INVALID_STATE);
    mode = QUIC_LOAD_BALANCING_DISABLED; /* the same mode is fine */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, 2, &mode) ==
          QUIC_STATUS_SUCCESS);

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&connected, 1, 10000));
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    static uint8_t data[1000];
    static QUIC_BUFFER buf = {sizeof(data), data};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &buf, 1,
                                          QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&client_recv, sizeof(data), 10000));
    CHECK(counter_wait(&client_stream_done, 1, 10000));

    read_counters();
    printf("created %llu active %llu connected %llu streams %llu app send %llu recv %llu\n",
           (unsigned long long)counters_now[QUIC_PERF_COUNTER_CONN_CREATED],
           (unsigned long long)counters_now[QUIC_PERF_COUNTER_CONN_ACTIVE],
           (unsigned long long)counters_now[QUIC_PERF_COUNTER_CONN_CONNECTED],
           (unsigned long long)counters_now[QUIC_PERF_COUNTER_STRM_ACTIVE],
           (unsigned long long)counters_now[QUIC_PERF_COUNTER_APP_SEND_BYTES],
           (unsigned long long)counters_now[QUIC_PERF_COUNTER_APP_RECV_BYTES]);
    CHECK(counters_now[QUIC_PERF_COUNTER_CONN_CREATED] == base[QUIC_PERF_COUNTER_CONN_CREATED] + 2);
    CHECK(counters_now[QUIC_PERF_COUNTER_CONN_ACTIVE] == base[QUIC_PERF_COUNTER_CONN_ACTIVE] + 2);
    CHECK(counters_now[QUIC_PERF_COUNTER_CONN_CONNECTED] == 2);
    /* The client's stream is not closed yet. */
    CHECK(counters_now[QUIC_PERF_COUNTER_STRM_ACTIVE] >= 1);
    CHECK(counters_now[QUIC_PERF_COUNTER_APP_SEND_BYTES] >=
          base[QUIC_PERF_COUNTER_APP_SEND_BYTES] + 2 * sizeof(data));
    CHECK(counters_now[QUIC_PERF_COUNTER_APP_RECV_BYTES] >=
          base[QUIC_PERF_COUNTER_APP_RECV_BYTES] + 2 * sizeof(data));
    CHECK(counters_now[QUIC_PERF_COUNTER_UDP_SEND_BYTES] >
          base[QUIC_PERF_COUNTER_UDP_SEND_BYTES] + 2 * sizeof(data));
    CHECK(counters_now[QUIC_PERF_COUNTER_UDP_RECV_BYTES] >
          base[QUIC_PERF_COUNTER_UDP_RECV_BYTES] + 2 * sizeof(data));
    /* UDP_SEND / UDP_RECV count QMux records: at least the transport parameters and the
     * stream's data each way. */
    CHECK(counters_now[QUIC_PERF_COUNTER_UDP_SEND] >= base[QUIC_PERF_COUNTER_UDP_SEND] + 4);
    CHECK(counters_now[QUIC_PERF_COUNTER_UDP_RECV] >= base[QUIC_PERF_COUNTER_UDP_RECV] + 4);
    CHECK(counters_now[QUIC_PERF_COUNTER_UDP_SEND_CALLS] > base[QUIC_PERF_COUNTER_UDP_SEND_CALLS]);
    CHECK(counters_now[QUIC_PERF_COUNTER_UDP_RECV_EVENTS] >
          base[QUIC_PERF_COUNTER_UDP_RECV_EVENTS]);
    CHECK(counters_now[QUIC_PERF_COUNTER_CONN_OPER_QUEUED] >
          base[QUIC_PERF_COUNTER_CONN_OPER_QUEUED]);
    CHECK(counters_now[QUIC_PERF_COUNTER_WORK_OPER_QUEUED] >
          base[QUIC_PERF_COUNTER_WORK_OPER_QUEUED]);
    CHECK(counters_now[QUIC_PERF_COUNTER_CONN_RESUMED] == 0);
    CHECK(counters_now[QUIC_PERF_COUNTER_CONN_HANDSHAKE_FAIL] == 0);

    api->StreamClose(stream);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 1, 10000));
    CHECK(counter_wait(&server_conn_done, 1, 10000));
    api->ConnectionClose(conn);
    api->ConnectionClose(server_conn);
    api->ListenerClose(listener);
    CHECK(gauges_settle(base[QUIC_PERF_COUNTER_CONN_ACTIVE]));
    CHECK(counters_now[QUIC_PERF_COUNTER_CONN_OPER_QUEUE_DEPTH] == 0);

    len = 1;
    CHECK(api->GetParam(NULL, PRIVATE_IN_USE, &len, &in_use) == QUIC_STATUS_SUCCESS);
    CHECK(in_use == FALSE);
    mode = QUIC_LOAD_BALANCING_SERVER_ID_IP;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, 2, &mode) ==
          QUIC_STATUS_SUCCESS);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&connected);
    counter_init(&client_recv);
    counter_init(&client_stream_done);
    counter_init(&server_conn_done);
    counter_init(&client_done);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    before_registration();
    retry_and_load_balancing();
    global_settings();
    version_settings();
    retry_config();
    perf_counter_probing();

    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    BOOLEAN on = TRUE;
    CHECK(api->SetParam(NULL, PRIVATE_DATAPATH_DSCP_RECV_ENABLED, 1, &on) ==
          QUIC_STATUS_INVALID_STATE);
    uint32_t features = 7;
    uint32_t len = PROBE_PARAM(api, NULL, PRIVATE_DATAPATH_FEATURES);
    CHECK(len == 4);
    CHECK(api->GetParam(NULL, PRIVATE_DATAPATH_FEATURES, &len, &features) == QUIC_STATUS_SUCCESS);
    CHECK(features == 0);
    uint8_t key[QUIC_STATELESS_RESET_KEY_LENGTH] = {1};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, sizeof(key) - 1, key) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, sizeof(key), key) ==
          QUIC_STATUS_SUCCESS);
    len = sizeof(key);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, &len, key) ==
          QUIC_STATUS_INVALID_PARAMETER);

    connection_with_stream(reg);
    api->RegistrationClose(reg);
    MsQuicClose(api);

    /* A fresh library: MsQuic's defaults again. */
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    check_u16(QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, 65);
    check_u16(QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, QUIC_LOAD_BALANCING_DISABLED);
    BOOLEAN got = 1;
    len = 1;
    CHECK(api->GetParam(NULL, PRIVATE_DATAPATH_DSCP_RECV_ENABLED, &len, &got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(got == FALSE);
    MsQuicClose(api);
    return finish("global_params");
}
