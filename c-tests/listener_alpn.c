/* Listeners sharing one address with disjoint ALPN lists: "a1" and "b1" on the same port each
 * get the clients that offer their protocol; a third listener for "a1" on that port is refused
 * with ALPN_IN_USE; a client offering only "zz" fails with ALPN_NEG_FAILURE. Once the "a1"
 * listener is closed, "b1" still works on the port and "a1" clients are refused. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC config_a, config_b;
static Counter new_a, new_b;

/* One client connection's outcome. */
typedef struct {
    Counter done;
    int connected;
    QUIC_STATUS status;
} Client;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    int is_a = ctx == (void*)&new_a;
    const QUIC_NEW_CONNECTION_INFO* info = ev->NEW_CONNECTION.Info;
    CHECK(info->NegotiatedAlpnLength == 2);
    CHECK(memcmp(info->NegotiatedAlpn, is_a ? "a1" : "b1", 2) == 0);
    counter_add(is_a ? &new_a : &new_b, 1);
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection,
                                           is_a ? config_a : config_b);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Client* c = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        c->connected = 1;
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        c->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&c->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* Connects with ALPN `alpn` to `port` and waits for the end; returns whether it connected and
 * stores the transport status. */
static int connect_with(HQUIC reg, const char* alpn, uint16_t port, QUIC_STATUS* status) {
    HQUIC cfg = client_configuration(api, reg, alpn, 0);
    Client c;
    memset(&c, 0, sizeof(c));
    counter_init(&c.done);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &c, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&c.done, 1, 10000));
    api->ConnectionClose(conn);
    api->ConfigurationClose(cfg);
    counter_destroy(&c.done);
    *status = c.status;
    printf("client %s: connected=%d status=%u\n", alpn, c.connected, c.status);
    return c.connected;
}

static QUIC_STATUS start_on(HQUIC listener, const char* alpn, uint16_t port) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    addr.Ipv4.sin_addr.s_addr = htonl(0x7f000001);
    QuicAddrSetPort(&addr, port);
    return api->ListenerStart(listener, &a, 1, &addr);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    counter_init(&new_a);
    counter_init(&new_b);
    config_a = server_configuration(api, reg, "a1", 1, 0);
    config_b = server_configuration(api, reg, "b1", 1, 0);

    HQUIC la = NULL, lb = NULL, lc = NULL;
    CHECK(api->ListenerOpen(reg, Listener, &new_a, &la) == QUIC_STATUS_SUCCESS);
    CHECK(api->ListenerOpen(reg, Listener, &new_b, &lb) == QUIC_STATUS_SUCCESS);
    CHECK(api->ListenerOpen(reg, Listener, &new_a, &lc) == QUIC_STATUS_SUCCESS);
    CHECK(start_on(la, "a1", 0) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(la, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = QuicAddrGetPort(&local);
    CHECK(start_on(lb, "b1", port) == QUIC_STATUS_SUCCESS);
    CHECK(start_on(lc, "a1", port) == QUIC_STATUS_ALPN_IN_USE);
    len = sizeof(local);
    CHECK(api->GetParam(lb, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QuicAddrGetPort(&local) == port);

    QUIC_STATUS status;
    CHECK(connect_with(reg, "a1", port, &status));
    CHECK(counter_get(&new_a) == 1 && counter_get(&new_b) == 0);
    CHECK(connect_with(reg, "b1", port, &status));
    CHECK(counter_get(&new_a) == 1 && counter_get(&new_b) == 1);
    CHECK(!connect_with(reg, "zz", port, &status));
    CHECK(status == QUIC_STATUS_ALPN_NEG_FAILURE);
    CHECK(counter_get(&new_a) == 1 && counter_get(&new_b) == 1);

    /* The "a1" listener leaves; the socket stays for "b1". */
    api->ListenerClose(la);
    CHECK(connect_with(reg, "b1", port, &status));
    CHECK(counter_get(&new_b) == 2);
    CHECK(!connect_with(reg, "a1", port, &status));
    CHECK(status == QUIC_STATUS_ALPN_NEG_FAILURE);
    CHECK(counter_get(&new_a) == 1);

    api->ListenerClose(lb);
    api->ListenerClose(lc);
    api->ConfigurationClose(config_a);
    api->ConfigurationClose(config_b);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&new_a);
    counter_destroy(&new_b);
    return finish("listener_alpn");
}
