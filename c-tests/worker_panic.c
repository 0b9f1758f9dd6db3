/* A panic inside the library while it works for one connection (a bug; injected here with
 * the debug-build hook MSQUIC_QMUX_TEST_PANIC=receive:TEXT, which panics while delivering a
 * RECEIVE whose data begins with TEXT; the server sends it when asked) ends that connection only, as MsQuic ends a
 * connection on an internal failure:
 * - the connection gets SHUTDOWN_INITIATED_BY_TRANSPORT with QUIC_STATUS_INTERNAL_ERROR and
 *   ErrorCode 1, its streams end (one still waiting for the peer's stream limit too), then
 *   SHUTDOWN_COMPLETE, and nothing after it;
 * - the peer gets CONNECTION_CLOSE with INTERNAL_ERROR: SHUTDOWN_INITIATED_BY_TRANSPORT with
 *   ErrorCode 1;
 * - another connection on the same worker (ConnectionOpenInPartition 0 for both) goes on:
 *   it echoes data after the panic, and new connections on that worker still connect. */
#define _GNU_SOURCE
#include "support/qmux_test.h"

#define ALPN "panic"
#define TRIGGER "QMUX-TEST-PANIC"

static const QUIC_API_TABLE* api;
static TestServer server;
static Counter server_internal_errors;

typedef struct {
    Counter connected;
    Counter done;
    Counter echoed;
    Counter stream_ends;
    int complete_seen;
    int events_after_complete;
    int transport_events;
    QUIC_STATUS status;
    uint64_t error_code;
} Client;

/* The server echoes, except that "please" is answered with the trigger (the server's own
 * deliveries never see it). */
static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    static QUIC_BUFFER trigger = {sizeof(TRIGGER) - 1, (uint8_t*)TRIGGER};
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && ev->RECEIVE.BufferCount > 0 &&
        ev->RECEIVE.Buffers[0].Length >= 6 &&
        memcmp(ev->RECEIVE.Buffers[0].Buffer, "please", 6) == 0) {
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &trigger, 1, QUIC_SEND_FLAG_NONE, NULL)));
        return QUIC_STATUS_SUCCESS;
    }
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE && ev->SEND_COMPLETE.ClientContext == NULL) {
        return QUIC_STATUS_SUCCESS;
    }
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT &&
        ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode == 1) {
        counter_add(&server_internal_errors, 1);
    }
    return echo_connection_event(api, conn, ev, (void*)ServerStream, ctx);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    Client* c = ctx;
    TRACE_STREAM(ev);
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        counter_add(&c->echoed, (int)ev->RECEIVE.TotalBufferLength);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        if (ev->SHUTDOWN_COMPLETE.ConnectionShutdown) counter_add(&c->stream_ends, 1);
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    Client* c = ctx;
    TRACE_CONN(ev);
    if (__atomic_load_n(&c->complete_seen, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_add(&c->events_after_complete, 1, __ATOMIC_SEQ_CST);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&c->connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        c->transport_events++;
        c->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        c->error_code = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        __atomic_store_n(&c->complete_seen, 1, __ATOMIC_SEQ_CST);
        counter_add(&c->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void client_init(Client* c) {
    memset(c, 0, sizeof(*c));
    counter_init(&c->connected);
    counter_init(&c->done);
    counter_init(&c->echoed);
    counter_init(&c->stream_ends);
}

static void client_destroy(Client* c) {
    counter_destroy(&c->connected);
    counter_destroy(&c->done);
    counter_destroy(&c->echoed);
    counter_destroy(&c->stream_ends);
}

static HQUIC connect_client(HQUIC reg, HQUIC cfg, Client* c, uint16_t port) {
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpenInPartition(reg, 0, ClientConnection, c, &conn) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port) ==
          QUIC_STATUS_PENDING);
    CHECK(counter_wait(&c->connected, 1, 5000));
    return conn;
}

/* Opens a stream on `conn` and sends `text` (static), with FIN if `fin`. */
static HQUIC send_on_new_stream(HQUIC conn, Client* c, const char* text, int fin) {
    static QUIC_BUFFER bufs[8];
    static int next;
    QUIC_BUFFER* b = &bufs[next++ % 8];
    b->Length = (uint32_t)strlen(text);
    b->Buffer = (uint8_t*)text;
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, c, &stream) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(QUIC_SUCCEEDED(
        api->StreamSend(stream, b, 1, fin ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE, NULL)));
    return stream;
}

static void echo_works(HQUIC conn, Client* c) {
    int before = counter_get(&c->echoed);
    send_on_new_stream(conn, c, "hello", 1);
    CHECK(counter_wait(&c->echoed, before + 5, 5000));
}

static void end_client(HQUIC conn, Client* c) {
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&c->done, 1, 5000));
    api->ConnectionClose(conn);
    client_destroy(c);
}

int main(void) {
    if (!have_test_cert()) return 1;
    /* Read once by the library (debug builds only). */
    setenv("MSQUIC_QMUX_TEST_PANIC", "receive:" TRIGGER, 1);
    counter_init(&server_internal_errors);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    /* One bidirectional stream at a time per connection. */
    server = (TestServer){api, server_configuration(api, reg, ALPN, 1, 0), ServerConnection};
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, test_server_listener, &server, &listener) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC cfg = client_configuration(api, reg, ALPN, 0);

    Client victim, bystander;
    client_init(&victim);
    client_init(&bystander);
    HQUIC victim_conn = connect_client(reg, cfg, &victim, port);
    HQUIC bystander_conn = connect_client(reg, cfg, &bystander, port);
    echo_works(bystander_conn, &bystander);

    /* The first stream holds the peer's only stream (no FIN); the second waits for the limit
     * with its send queued; the echo of the first stream's data panics the victim. */
    HQUIC held = send_on_new_stream(victim_conn, &victim, "x", 0);
    CHECK(counter_wait(&victim.echoed, 1, 5000));
    send_on_new_stream(victim_conn, &victim, "waiting", 0);
    static QUIC_BUFFER please = {6, (uint8_t*)"please"};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(held, &please, 1, QUIC_SEND_FLAG_NONE, NULL)));

    CHECK(counter_wait(&victim.done, 1, 30000));
    CHECK(victim.transport_events == 1);
    CHECK(victim.status == QUIC_STATUS_INTERNAL_ERROR);
    CHECK(victim.error_code == 1);
    /* The stream waiting for the peer's limit ended with the connection. */
    CHECK(counter_wait(&victim.stream_ends, 2, 1000));
    CHECK(counter_wait(&server_internal_errors, 1, 5000));

    /* The worker goes on: the other connection still echoes, a new one connects. */
    echo_works(bystander_conn, &bystander);
    Client late;
    client_init(&late);
    HQUIC late_conn = connect_client(reg, cfg, &late, port);
    echo_works(late_conn, &late);
    end_client(late_conn, &late);
    end_client(bystander_conn, &bystander);

    CHECK(__atomic_load_n(&victim.events_after_complete, __ATOMIC_SEQ_CST) == 0);
    api->ConnectionClose(victim_conn);
    client_destroy(&victim);

    api->ListenerClose(listener);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(server.config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&server_internal_errors);
    return finish("worker_panic");
}
