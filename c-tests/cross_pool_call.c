/* A call made from a callback on one worker thread on an object that lives on another
 * worker with the same index in another pool (the library's single shared worker and a
 * SCAVENGER registration's own worker are both worker 0) is queued to the right thread: a
 * StreamSend from a CONNECTED callback of a LOW_LATENCY connection on a stream of a
 * SCAVENGER connection is sent, not canceled. */
#define _GNU_SOURCE
#include <sched.h>

#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static TestServer server;
static HQUIC stream_b;
static Counter b_connected;
static Counter b_started;
static Counter b_sent;
static int b_canceled = -1;
static QUIC_STATUS send_status = QUIC_STATUS_SUCCESS;

/* Connection B (SCAVENGER registration). */
static QUIC_STATUS QUIC_API b_conn_cb(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)c;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&b_connected, 1);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API b_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)s;
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_START_COMPLETE) counter_add(&b_started, 1);
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        b_canceled = ev->SEND_COMPLETE.Canceled;
        counter_add(&b_sent, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Connection A (LOW_LATENCY registration, the shared worker): sends on B's stream. */
static QUIC_STATUS QUIC_API a_conn_cb(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)c;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        static uint8_t bytes[10] = "0123456789";
        static QUIC_BUFFER buf = {sizeof(bytes), bytes};
        send_status = api->StreamSend(stream_b, &buf, 1, QUIC_SEND_FLAG_NONE, &buf);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&b_connected);
    counter_init(&b_started);
    counter_init(&b_sent);
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    /* One shared worker (worker 0). */
    cpu_set_t allowed;
    CHECK(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
    uint16_t cpu = 0;
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &allowed)) {
            cpu = (uint16_t)i;
            break;
        }
    }
    uint8_t raw[QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + sizeof(uint16_t)];
    QUIC_GLOBAL_EXECUTION_CONFIG* ec = (QUIC_GLOBAL_EXECUTION_CONFIG*)raw;
    ec->Flags = QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE;
    ec->PollingIdleTimeoutUs = 0;
    ec->ProcessorCount = 1;
    ec->ProcessorList[0] = cpu;
    CHECK(QUIC_SUCCEEDED(
        api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, sizeof(raw), raw)));

    HQUIC reg_a = NULL, reg_b = NULL;
    QUIC_REGISTRATION_CONFIG ra = {"cross_pool_a", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    QUIC_REGISTRATION_CONFIG rb = {"cross_pool_b", QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER};
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&ra, &reg_a)));
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rb, &reg_b)));
    server.api = api;
    server.config = server_configuration(api, reg_a, "xp", 4, 0);
    HQUIC cfg_a = client_configuration(api, reg_a, "xp", 0);
    HQUIC cfg_b = client_configuration(api, reg_b, "xp", 0);
    HQUIC listener = NULL;
    CHECK(QUIC_SUCCEEDED(api->ListenerOpen(reg_a, test_server_listener, &server, &listener)));
    uint16_t port = start_listener(api, listener, "xp");

    HQUIC conn_b = NULL;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg_b, b_conn_cb, NULL, &conn_b)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn_b, cfg_b, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port)));
    CHECK(counter_wait(&b_connected, 1, 10000));
    CHECK(QUIC_SUCCEEDED(
        api->StreamOpen(conn_b, QUIC_STREAM_OPEN_FLAG_NONE, b_stream_cb, NULL, &stream_b)));
    CHECK(QUIC_SUCCEEDED(api->StreamStart(stream_b, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(counter_wait(&b_started, 1, 10000));

    HQUIC conn_a = NULL;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg_a, a_conn_cb, NULL, &conn_a)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn_a, cfg_a, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port)));
    CHECK(counter_wait(&b_sent, 1, 10000));
    CHECK(QUIC_SUCCEEDED(send_status));
    CHECK(b_canceled == 0);

    api->ConnectionClose(conn_a);
    api->StreamClose(stream_b);
    api->ConnectionClose(conn_b);
    api->ListenerClose(listener);
    api->ConfigurationClose(cfg_a);
    api->ConfigurationClose(cfg_b);
    api->ConfigurationClose(server.config);
    api->RegistrationClose(reg_a);
    api->RegistrationClose(reg_b);
    MsQuicClose(api);
    counter_destroy(&b_connected);
    counter_destroy(&b_started);
    counter_destroy(&b_sent);
    return finish("cross_pool_call");
}
