/* Closing handles from inside callbacks and from other threads, over QMux/TLS:
 * 1. the server calls ConnectionClose on its connection from inside a RECEIVE callback of one
 *    of that connection's streams: it runs inline on the worker (no deadlock), the client sees
 *    its connection end, and the server's connection and stream see no event after the close
 *    returns other than their final SHUTDOWN_COMPLETE (the stream's SEND_SHUTDOWN_COMPLETE,
 *    not graceful, before it, as MsQuic ends every stream's sending half);
 * 2. ListenerClose from the main thread while a helper thread keeps starting connections and
 *    a NEW_CONNECTION callback runs: it returns once that callback has, and no NEW_CONNECTION
 *    callback runs after it; every client connection ends;
 * 3. the same with ListenerStop: STOP_COMPLETE (exactly one) comes after the running
 *    callback has returned, and no NEW_CONNECTION follows it;
 * 4. after all that, MsQuicClose leaves no library thread behind. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

/* ---- 1. ConnectionClose inside RECEIVE ---- */

static Counter closed_in_receive, client1_complete;
static int server_conn_closed = 0;
static int events_after_close = 0;
static int conn_complete_seen = 0;
static int stream_complete_seen = 0;
/* The stream's sending half ended (not gracefully) before its SHUTDOWN_COMPLETE, as MsQuic
 * shuts every stream down at the connection's close. */
static int send_shutdown_before_complete = 0;

static QUIC_STATUS QUIC_API Server1Stream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    HQUIC conn = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        stream_complete_seen++;
        api->StreamClose(stream);
        return QUIC_STATUS_SUCCESS;
    }
    if (ev->Type == QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE && server_conn_closed &&
        stream_complete_seen == 0 && !ev->SEND_SHUTDOWN_COMPLETE.Graceful) {
        send_shutdown_before_complete++;
        return QUIC_STATUS_SUCCESS;
    }
    if (server_conn_closed) events_after_close++;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && !server_conn_closed) {
        server_conn_closed = 1;
        api->ConnectionClose(conn);
        counter_add(&closed_in_receive, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Server1Connection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        conn_complete_seen++;
        CHECK(ev->SHUTDOWN_COMPLETE.AppCloseInProgress);
        return QUIC_STATUS_SUCCESS;
    }
    if (server_conn_closed) events_after_close++;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)Server1Stream, conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Server1Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)Server1Connection, NULL, server_config);
}

static QUIC_STATUS QUIC_API Client1Stream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(stream);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Client1Connection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, Client1Stream, NULL, &stream) ==
              QUIC_STATUS_SUCCESS);
        static QUIC_BUFFER msg = {5, (uint8_t*)"hello"};
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &msg, 1, QUIC_SEND_FLAG_START, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&client1_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void close_inside_receive(HQUIC reg, HQUIC client_config) {
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Server1Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "cb");
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, Client1Connection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&closed_in_receive, 1, 10000));
    CHECK(counter_wait(&client1_complete, 1, 10000));
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    printf("1: events after close %d, stream complete %d, connection complete %d\n",
           events_after_close, stream_complete_seen, conn_complete_seen);
    CHECK(events_after_close == 0);
    CHECK(send_shutdown_before_complete == 1);
    CHECK(stream_complete_seen <= 1);
    CHECK(conn_complete_seen <= 1);
}

/* ---- 2. ListenerClose while connections arrive ---- */

#define ARRIVALS 60
/* The listener is closed (or stopped) while the callback for this connection runs. */
#define CLOSE_AFTER 4

/* One run: ListenerClose, or ListenerStop then ListenerClose. Every callback gets it as its
 * context. */
typedef struct {
    HQUIC reg;
    HQUIC config;
    uint16_t port;
    int listener_closed;
    int in_new_connection;
    int late_new_connection;
    int accepted_before_close;
    int in_flight_at_stop_complete;
    int stop_completes;
    Counter accepted, server_complete, client_complete, close_returned, stop_complete;
} Run;

static QUIC_STATUS QUIC_API Server2Connection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Run* r = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
        counter_add(&r->server_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Server2Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    Run* r = ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_STOP_COMPLETE) {
        /* The listener's last event: no NEW_CONNECTION callback may still be running. */
        r->in_flight_at_stop_complete = __atomic_load_n(&r->in_new_connection, __ATOMIC_SEQ_CST);
        r->stop_completes++;
        __atomic_store_n(&r->listener_closed, 1, __ATOMIC_SEQ_CST);
        counter_add(&r->stop_complete, 1);
        return QUIC_STATUS_SUCCESS;
    }
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    __atomic_fetch_add(&r->in_new_connection, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&r->listener_closed, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_add(&r->late_new_connection, 1, __ATOMIC_SEQ_CST);
    }
    int n = __atomic_add_fetch(&r->accepted_before_close, 1, __ATOMIC_SEQ_CST);
    counter_add(&r->accepted, 1);
    if (n == CLOSE_AFTER) {
        /* The main thread closes (or stops) the listener now. Stay until ListenerClose has
         * returned, for at most 500 ms: ListenerClose must wait for this callback (and
         * STOP_COMPLETE must follow it), so the wait times out. A close that returns, or a
         * STOP_COMPLETE that comes, while the callback runs (on another worker than the
         * listener's) is caught by the checks. */
        counter_wait(&r->close_returned, 1, 500);
    }
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)Server2Connection, r);
    QUIC_STATUS status =
        api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
    __atomic_fetch_sub(&r->in_new_connection, 1, __ATOMIC_SEQ_CST);
    return status;
}

static QUIC_STATUS QUIC_API Client2Connection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Run* r = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
        counter_add(&r->client_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void* keep_connecting(void* arg) {
    Run* r = arg;
    for (int i = 0; i < ARRIVALS; i++) {
        HQUIC conn = NULL;
        CHECK(api->ConnectionOpen(r->reg, Client2Connection, r, &conn) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, r->config, QUIC_ADDRESS_FAMILY_INET,
                                                   "localhost", r->port)));
    }
    return NULL;
}

/* Both runs' state lives until the end of the program: late unlocks of their counters by
 * library threads never meet a destroyed mutex. */
static Run runs[2];

/* With `stop`, ListenerStop (which does not wait) and then ListenerClose after STOP_COMPLETE;
 * else ListenerClose straight away. */
static void close_listener_while_connecting(HQUIC reg, HQUIC client_config, int stop) {
    Run* r = &runs[stop];
    r->reg = reg;
    r->config = client_config;
    counter_init(&r->accepted);
    counter_init(&r->server_complete);
    counter_init(&r->client_complete);
    counter_init(&r->close_returned);
    counter_init(&r->stop_complete);

    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Server2Listener, r, &listener) == QUIC_STATUS_SUCCESS);
    r->port = start_listener(api, listener, "cb");
    pthread_t helper;
    CHECK(pthread_create(&helper, NULL, keep_connecting, r) == 0);
    /* Close once a few connections were accepted, while more are arriving and one
     * NEW_CONNECTION callback is running. */
    CHECK(counter_wait(&r->accepted, CLOSE_AFTER, 20000));
    if (stop) {
        api->ListenerStop(listener);
        CHECK(counter_wait(&r->stop_complete, 1, 10000));
        api->ListenerClose(listener);
    } else {
        api->ListenerClose(listener);
        __atomic_store_n(&r->listener_closed, 1, __ATOMIC_SEQ_CST);
        CHECK(__atomic_load_n(&r->in_new_connection, __ATOMIC_SEQ_CST) == 0);
    }
    counter_add(&r->close_returned, 1);
    pthread_join(helper, NULL);
    /* Every client connection ends, accepted or not. */
    CHECK(counter_wait(&r->client_complete, ARRIVALS, 30000));
    int n = counter_get(&r->accepted);
    CHECK(counter_wait(&r->server_complete, n, 10000));
    printf("%s: %d of %d accepted; %d late callbacks; %d running at STOP_COMPLETE\n",
           stop ? "3 (ListenerStop)" : "2 (ListenerClose)", n, ARRIVALS, r->late_new_connection,
           r->in_flight_at_stop_complete);
    CHECK(r->late_new_connection == 0);
    CHECK(r->in_flight_at_stop_complete == 0);
    CHECK(r->stop_completes == 1);
    CHECK(counter_get(&r->accepted) == n);
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&closed_in_receive);
    counter_init(&client1_complete);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "cb", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "cb", 0);

    close_inside_receive(reg, client_config);
    close_listener_while_connecting(reg, client_config, 0);
    close_listener_while_connecting(reg, client_config, 1);

    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    /* Every connection has let go of the library: its worker threads end with the last
     * MsQuicClose, leaving the main thread alone. */
    int threads_ended = threads_back_to(1, 10000);
    if (!threads_ended) printf("threads left after MsQuicClose: %d\n", thread_count());
    CHECK(threads_ended);
    counter_destroy(&closed_in_receive);
    counter_destroy(&client1_complete);
    for (int i = 0; i < 2; i++) {
        counter_destroy(&runs[i].accepted);
        counter_destroy(&runs[i].server_complete);
        counter_destroy(&runs[i].client_complete);
        counter_destroy(&runs[i].close_returned);
        counter_destroy(&runs[i].stop_complete);
    }
    return finish("close_in_callbacks");
}
