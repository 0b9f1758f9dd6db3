/* RegistrationShutdown and RegistrationClose with live connections, over QMux/TLS:
 * 1. RegistrationShutdown(reg, NONE, code) on a registration with several connected clients
 *    shuts every one of them down: each gets SHUTDOWN_COMPLETE (the app closes it there) and
 *    no SHUTDOWN_INITIATED_*, the server sees SHUTDOWN_INITIATED_BY_PEER with the code on
 *    each; afterwards the registration refuses ConnectionOpen and ListenerOpen
 *    (INVALID_STATE, as MsQuic), and RegistrationClose returns.
 * 2. RegistrationClose blocks while the application still holds a connection, until another
 *    thread has it shut down and it is closed (in its SHUTDOWN_COMPLETE).
 * 3. RegistrationShutdown(reg, SILENT, 0) on the server's registration ends its accepted
 *    connections too (each server connection gets SHUTDOWN_COMPLETE, each client sees its
 *    connection end), stops its listener (STOP_COMPLETE, AppCloseInProgress 0, before
 *    ListenerClose), and a new connection to its listener fails. */
#include "support/qmux_test.h"

#define CLIENTS 5

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static Counter server_connected, server_complete, server_by_peer;
static int server_codes_ok = 1;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&server_connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER) {
        if (ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode != 0x77) server_codes_ok = 0;
        counter_add(&server_by_peer, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
        counter_add(&server_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static Counter listener_stopped;
static int listener_stop_app_close = -1;

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_STOP_COMPLETE) {
        listener_stop_app_close = ev->STOP_COMPLETE.AppCloseInProgress;
        counter_add(&listener_stopped, 1);
        return QUIC_STATUS_SUCCESS;
    }
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static Counter client_connected, client_complete;
static int client_initiated = 0;

/* Clients close their own handle in SHUTDOWN_COMPLETE. */
static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&client_connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        __atomic_fetch_add(&client_initiated, 1, __ATOMIC_SEQ_CST);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(conn);
        counter_add(&client_complete, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void connect_clients(HQUIC reg, HQUIC config, uint16_t port, int n) {
    for (int i = 0; i < n; i++) {
        HQUIC conn = NULL;
        CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(
            api->ConnectionStart(conn, config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    }
}

/* Part 3: the connection a helper thread closes while the main thread is in
 * RegistrationClose. */
static HQUIC held_conn;
static int held_closed = 0;
static int held_close_called = 0;
static Counter never;

static void* close_later(void* arg) {
    (void)arg;
    /* Give the main thread time to block in RegistrationClose (a bounded wait on a counter
     * nobody bumps). */
    counter_wait(&never, 1, 300);
    int before = counter_get(&client_complete);
    api->ConnectionShutdown(held_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x77);
    CHECK(counter_wait(&client_complete, before + 1, 10000));
    __atomic_store_n(&held_closed, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static QUIC_STATUS QUIC_API HeldConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&client_connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        /* The close happens here, on the worker, after the helper's shutdown. */
        __atomic_store_n(&held_close_called, 1, __ATOMIC_SEQ_CST);
        api->ConnectionClose(conn);
        counter_add(&client_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* A connection to a listener whose registration is shut down: it must fail. */
static Counter refused_complete;
static int refused_connected = 0;
static QUIC_STATUS refused_status = QUIC_STATUS_SUCCESS;

static QUIC_STATUS QUIC_API RefusedConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        refused_connected = 1;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        refused_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&refused_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&server_connected);
    counter_init(&listener_stopped);
    counter_init(&server_complete);
    counter_init(&server_by_peer);
    counter_init(&client_connected);
    counter_init(&client_complete);
    counter_init(&never);
    counter_init(&refused_complete);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));

    HQUIC server_reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &server_reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, server_reg, "regclose", 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(server_reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "regclose");

    /* 1. RegistrationShutdown on the clients' registration. */
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC config = client_configuration(api, reg, "regclose", 0);
    connect_clients(reg, config, port, CLIENTS);
    CHECK(counter_wait(&client_connected, CLIENTS, 20000));
    CHECK(counter_wait(&server_connected, CLIENTS, 20000));
    api->RegistrationShutdown(reg, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x77);
    CHECK(counter_wait(&client_complete, CLIENTS, 10000));
    CHECK(counter_wait(&server_by_peer, CLIENTS, 10000));
    CHECK(counter_wait(&server_complete, CLIENTS, 10000));
    CHECK(server_codes_ok);
    /* A local shutdown raises no SHUTDOWN_INITIATED_* event. */
    CHECK(client_initiated == 0);
    /* A shut-down registration takes no new connection or listener; a second shutdown is a
     * no-op. */
    HQUIC late = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &late) == QUIC_STATUS_INVALID_STATE);
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &late) == QUIC_STATUS_INVALID_STATE);
    api->RegistrationShutdown(reg, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
    api->ConfigurationClose(config);
    api->RegistrationClose(reg);
    printf("1: RegistrationShutdown ended %d connections\n", counter_get(&client_complete));

    /* 2. RegistrationClose waits for the last connection, closed from another thread. */
    reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    config = client_configuration(api, reg, "regclose", 0);
    CHECK(api->ConnectionOpen(reg, HeldConnection, NULL, &held_conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(held_conn, config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_connected, CLIENTS + 1, 10000));
    api->ConfigurationClose(config);
    pthread_t helper;
    CHECK(pthread_create(&helper, NULL, close_later, NULL) == 0);
    long long before = now_ms();
    api->RegistrationClose(reg);
    long long waited = now_ms() - before;
    CHECK(__atomic_load_n(&held_close_called, __ATOMIC_SEQ_CST) == 1);
    CHECK(waited >= 250);
    pthread_join(helper, NULL);
    CHECK(held_closed == 1);
    CHECK(counter_wait(&server_complete, CLIENTS + 1, 10000));
    printf("2: RegistrationClose waited %lld ms for the last connection\n", waited);

    /* 3. RegistrationShutdown on the server's registration, silently: its accepted
     * connections end, and its listener refuses new ones. */
    reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    config = client_configuration(api, reg, "regclose", 0);
    connect_clients(reg, config, port, CLIENTS);
    CHECK(counter_wait(&client_connected, 2 * CLIENTS + 1, 20000));
    CHECK(counter_wait(&server_connected, 2 * CLIENTS + 1, 20000));
    api->RegistrationShutdown(server_reg, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
    /* As MsQuic, it stops the registration's listener: STOP_COMPLETE comes without
     * ListenerClose (AppCloseInProgress 0). */
    CHECK(counter_wait(&listener_stopped, 1, 10000));
    CHECK(listener_stop_app_close == 0);
    CHECK(counter_wait(&server_complete, 2 * CLIENTS + 1, 10000));
    /* The clients see their connections end (the server went away silently). */
    CHECK(counter_wait(&client_complete, 2 * CLIENTS + 1, 10000));
    HQUIC refused = NULL;
    CHECK(api->ConnectionOpen(reg, RefusedConnection, NULL, &refused) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(refused, config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&refused_complete, 1, 10000));
    CHECK(!refused_connected);
    CHECK(QUIC_FAILED(refused_status));
    api->ConnectionClose(refused);
    api->ConfigurationClose(config);
    api->RegistrationClose(reg);
    printf("3: server RegistrationShutdown ended %d connections; a new one failed with %u\n",
           counter_get(&server_complete) - CLIENTS - 1, refused_status);

    api->ListenerClose(listener);
    CHECK(counter_get(&listener_stopped) == 1);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(server_reg);
    MsQuicClose(api);
    counter_destroy(&server_connected);
    counter_destroy(&server_complete);
    counter_destroy(&server_by_peer);
    counter_destroy(&client_connected);
    counter_destroy(&client_complete);
    counter_destroy(&never);
    counter_destroy(&refused_complete);
    return finish("registration_close");
}
