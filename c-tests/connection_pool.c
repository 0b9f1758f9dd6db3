/* ConnectionPoolCreate (preview) over QMux/TLS:
 * - four connections to one server by name, each with its own context, all CONNECTED, spread
 *   over more than one worker when there is more than one processor (CONN_IDEAL_PROCESSOR);
 * - two more to the server's address (ServerAddress) with the name kept for SNI;
 * - a pool whose starts fail (a server configuration has no client credentials): with
 *   CLOSE_ON_FAILURE the handles are closed and NULL, without it the opened one is left to
 *   the application;
 * - CIBIR ids: NOT_SUPPORTED (no connection IDs over TCP); bad arguments: INVALID_PARAMETER. */
#define _GNU_SOURCE
#include <sched.h>

#include "support/qmux_test.h"

#define ALPN "pool"
#define COUNT 4

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static Counter connected, closed;
static int connected_by[COUNT + 2];

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    int* slot = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        __atomic_fetch_add(slot, 1, __ATOMIC_SEQ_CST);
        counter_add(&connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&closed, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void close_all(HQUIC* conns, int n) {
    for (int i = 0; i < n; i++) {
        api->ConnectionShutdown(conns[i], QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        api->ConnectionClose(conns[i]);
    }
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&connected);
    counter_init(&closed);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);

    void* contexts[COUNT + 2];
    for (int i = 0; i < COUNT + 2; i++) contexts[i] = &connected_by[i];
    QUIC_CONNECTION_POOL_CONFIG pool;
    memset(&pool, 0, sizeof(pool));
    pool.Registration = reg;
    pool.Configuration = client_config;
    pool.Handler = ClientConnection;
    pool.Context = contexts;
    pool.ServerName = "localhost";
    pool.Family = QUIC_ADDRESS_FAMILY_INET;
    pool.ServerPort = port;
    pool.NumberOfConnections = COUNT;

    /* Bad arguments and CIBIR. */
    HQUIC conns[COUNT + 2];
    QUIC_CONNECTION_POOL_CONFIG bad = pool;
    bad.NumberOfConnections = 0;
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    bad = pool;
    bad.ServerPort = 0;
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    bad = pool;
    bad.Handler = NULL;
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    bad = pool;
    bad.Registration = client_config; /* wrong kind */
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    uint8_t id[2] = {1, 2};
    uint8_t* ids[COUNT] = {id, id, id, id};
    bad = pool;
    bad.CibirIds = ids;
    bad.CibirIdLength = sizeof(id);
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_NOT_SUPPORTED);

    /* By name. */
    CHECK(api->ConnectionPoolCreate(&pool, conns) == QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&connected, COUNT, 10000));
    for (int i = 0; i < COUNT; i++) CHECK(connected_by[i] == 1);
    int distinct = 0;
    uint16_t first = 0xFFFF;
    for (int i = 0; i < COUNT; i++) {
        uint16_t p = 0xFFFF;
        uint32_t len = sizeof(p);
        CHECK(api->GetParam(conns[i], QUIC_PARAM_CONN_IDEAL_PROCESSOR, &len, &p) ==
              QUIC_STATUS_SUCCESS);
        if (i == 0) first = p;
        else if (p != first) distinct = 1;
    }
    cpu_set_t cpus;
    CHECK(sched_getaffinity(0, sizeof(cpus), &cpus) == 0);
    if (CPU_COUNT(&cpus) > 1) CHECK(distinct);

    /* By address, two more, contexts 4 and 5. */
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    addr.Ipv4.sin_addr.s_addr = htonl(0x7f000001);
    QuicAddrSetPort(&addr, port);
    QUIC_CONNECTION_POOL_CONFIG by_addr = pool;
    by_addr.ServerAddress = &addr;
    by_addr.Context = contexts + COUNT;
    by_addr.NumberOfConnections = 2;
    CHECK(api->ConnectionPoolCreate(&by_addr, conns + COUNT) == QUIC_STATUS_SUCCESS);
    CHECK(counter_wait(&connected, COUNT + 2, 10000));
    CHECK(connected_by[COUNT] == 1 && connected_by[COUNT + 1] == 1);
    close_all(conns, COUNT + 2);
    CHECK(counter_wait(&closed, COUNT + 2, 10000));

    /* Starts that fail: a server configuration has no client credentials. */
    QUIC_CONNECTION_POOL_CONFIG failing = pool;
    failing.Configuration = server_config;
    failing.Flags = QUIC_CONNECTION_POOL_FLAG_CLOSE_ON_FAILURE;
    HQUIC failed[COUNT];
    memset(failed, 0xAB, sizeof(failed));
    CHECK(QUIC_FAILED(api->ConnectionPoolCreate(&failing, failed)));
    CHECK(failed[0] == NULL);
    failing.Flags = QUIC_CONNECTION_POOL_FLAG_NONE;
    CHECK(QUIC_FAILED(api->ConnectionPoolCreate(&failing, failed)));
    CHECK(failed[0] != NULL && failed[1] == NULL);
    api->ConnectionClose(failed[0]);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("connection_pool");
}
