/* StreamSend's buffers and flags on a real connection:
 * - one send of several buffers (one of them empty) with START | DELAY_SEND | ALLOW_0_RTT |
 *   CANCEL_ON_LOSS | PRIORITY_WORK, then a send of two buffers with FIN: the server receives
 *   every byte in order and the peer's FIN; the client gets one SEND_COMPLETE per send, in
 *   order, with its context and not canceled, then SEND_SHUTDOWN_COMPLETE(Graceful);
 * - a send with no buffer and FIN ends a second stream: the server sees an empty end;
 * - a send with no buffer and no flag completes at once with its context. */
#include "support/qmux_test.h"

#define ALPN "flags"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

static uint8_t part_a[1000], part_b[70000], part_c[3], part_d[40000];
#define TOTAL (sizeof(part_a) + sizeof(part_b) + sizeof(part_c) + sizeof(part_d))
static uint8_t expected[TOTAL];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t got[TOTAL + 16];
static size_t got_len;
static int got_fin_on[2];
static Counter server_fins, client_done;
static int completions[8], completion_count, canceled_count, graceful_send_shutdowns;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    int index = (int)(intptr_t)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        pthread_mutex_lock(&lock);
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (index == 0 && got_len + b->Length <= sizeof(got)) {
                memcpy(got + got_len, b->Buffer, b->Length);
            }
            if (index == 0) got_len += b->Length;
            CHECK(index == 0 || b->Length == 0);
        }
        pthread_mutex_unlock(&lock);
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        got_fin_on[index] = 1;
        counter_add(&server_fins, 1);
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
        uint64_t id = 0;
        uint32_t len = sizeof(id);
        CHECK(api->GetParam(ev->PEER_STREAM_STARTED.Stream, QUIC_PARAM_STREAM_ID, &len, &id) ==
              QUIC_STATUS_SUCCESS);
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream,
                                (void*)(intptr_t)(id == 0 ? 0 : 1));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
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
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        pthread_mutex_lock(&lock);
        if (completion_count < 8) {
            completions[completion_count++] = (int)(intptr_t)ev->SEND_COMPLETE.ClientContext;
        }
        if (ev->SEND_COMPLETE.Canceled) canceled_count++;
        pthread_mutex_unlock(&lock);
    } else if (ev->Type == QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE) {
        if (ev->SEND_SHUTDOWN_COMPLETE.Graceful) graceful_send_shutdowns++;
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&client_done, 1);
    }
    (void)conn;
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&server_fins);
    counter_init(&client_done);
    size_t at = 0;
    uint8_t* parts[4] = {part_a, part_b, part_c, part_d};
    size_t sizes[4] = {sizeof(part_a), sizeof(part_b), sizeof(part_c), sizeof(part_d)};
    for (int p = 0; p < 4; p++) {
        for (size_t i = 0; i < sizes[p]; i++) parts[p][i] = (uint8_t)(p * 61 + i * 7 + (i >> 9));
        memcpy(expected + at, parts[p], sizes[p]);
        at += sizes[p];
    }

    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 2, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));

    /* Stream 0: two sends, the first starting the stream with every hint flag. */
    HQUIC s0 = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &s0) ==
          QUIC_STATUS_SUCCESS);
    QUIC_BUFFER first[3] = {{sizeof(part_a), part_a}, {0, NULL}, {sizeof(part_b), part_b}};
    QUIC_BUFFER second[2] = {{sizeof(part_c), part_c}, {sizeof(part_d), part_d}};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(
        s0, first, 3,
        QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_DELAY_SEND | QUIC_SEND_FLAG_ALLOW_0_RTT |
            QUIC_SEND_FLAG_CANCEL_ON_LOSS | QUIC_SEND_FLAG_PRIORITY_WORK,
        (void*)(intptr_t)1)));
    /* Nothing to send and no flag: completes by itself. */
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s0, NULL, 0, QUIC_SEND_FLAG_NONE, (void*)(intptr_t)2)));
    CHECK(QUIC_SUCCEEDED(
        api->StreamSend(s0, second, 2, QUIC_SEND_FLAG_FIN, (void*)(intptr_t)3)));

    /* Stream 4: nothing but FIN. */
    HQUIC s1 = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &s1) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(s1, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s1, NULL, 0, QUIC_SEND_FLAG_FIN, (void*)(intptr_t)4)));

    CHECK(counter_wait(&server_fins, 2, 10000));
    pthread_mutex_lock(&lock);
    CHECK(got_len == TOTAL);
    CHECK(memcmp(got, expected, TOTAL) == 0);
    CHECK(got_fin_on[0] && got_fin_on[1]);
    pthread_mutex_unlock(&lock);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 1, 10000));
    pthread_mutex_lock(&lock);
    CHECK(completion_count == 4);
    CHECK(canceled_count == 0);
    /* Stream 0's completions in order (stream 4's may fall anywhere among them). */
    int last = 0;
    for (int i = 0; i < completion_count; i++) {
        if (completions[i] == 4) continue;
        CHECK(completions[i] == last + 1);
        last = completions[i];
    }
    CHECK(last == 3);
    pthread_mutex_unlock(&lock);
    CHECK(graceful_send_shutdowns == 2);

    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("send_flags");
}
