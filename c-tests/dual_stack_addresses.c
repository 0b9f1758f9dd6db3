/* Addresses as MsQuic reports them on Linux, over QMux/TCP:
 * - a listener started with no address (the dual-stack wildcard): LISTENER_LOCAL_ADDRESS is
 *   family UNSPEC with the chosen port (all zero before the first start, kept after a stop);
 *   a second start is INVALID_STATE, and so is a start from inside STOP_COMPLETE;
 * - a client to 127.0.0.1 on that listener: the server sees plain IPv4 addresses (not
 *   ::ffff:127.0.0.1) in NEW_CONNECTION's LocalAddress and RemoteAddress and in the
 *   connection's CONN_LOCAL_ADDRESS and CONN_REMOTE_ADDRESS, matching the client's own;
 *   a client to ::1 is seen as IPv6;
 * - ListenerStart with an UNSPEC address and a port, the IPv6 wildcard with port 0, and a
 *   specific IPv4 address with port 0: each reports the address it was given, port filled in;
 *   the IPv6 wildcard takes IPv6 peers only, so the IPv4 wildcard on its port can be started
 *   too (MsQuic matches listeners by family);
 * - an unknown family or an ALPN list over 65535 bytes encoded is INVALID_PARAMETER, a port
 *   another socket listens on ADDRESS_IN_USE. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

/* What the server saw of its latest connection. */
static QUIC_ADDR seen_info_local, seen_info_remote, seen_param_local, seen_param_remote;
static QUIC_STATUS seen_local_status, seen_remote_status;
static Counter accepted, client_connected, client_closed, stopped;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS restart_in_stop_complete;

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_STOP_COMPLETE) {
        /* Still stopping while STOP_COMPLETE runs, as in MsQuic. */
        QUIC_BUFFER alpn = {4, (uint8_t*)"addr"};
        restart_in_stop_complete = api->ListenerStart(listener, &alpn, 1, NULL);
        counter_add(&stopped, 1);
    }
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        HQUIC conn = ev->NEW_CONNECTION.Connection;
        seen_info_local = *ev->NEW_CONNECTION.Info->LocalAddress;
        seen_info_remote = *ev->NEW_CONNECTION.Info->RemoteAddress;
        uint32_t len = sizeof(QUIC_ADDR);
        seen_local_status = api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, &len,
                                          &seen_param_local);
        len = sizeof(QUIC_ADDR);
        seen_remote_status = api->GetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, &len,
                                           &seen_param_remote);
        counter_add(&accepted, 1);
    }
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&client_connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&client_closed, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static int is_zero(const QUIC_ADDR* a) {
    static const QUIC_ADDR zero;
    return memcmp(a, &zero, sizeof(zero)) == 0;
}

static int is_ipv4(const QUIC_ADDR* a, const char* text, uint16_t port) {
    QUIC_ADDR want;
    memset(&want, 0, sizeof(want));
    return QuicAddrFromString(text, port, &want) && a->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET &&
           a->Ipv4.sin_addr.s_addr == want.Ipv4.sin_addr.s_addr &&
           (port == 0 || QuicAddrGetPort(a) == port);
}

static int is_ipv6_loopback(const QUIC_ADDR* a, uint16_t port) {
    return a->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET6 &&
           IN6_IS_ADDR_LOOPBACK(&a->Ipv6.sin6_addr) && (port == 0 || QuicAddrGetPort(a) == port);
}

static QUIC_ADDR listener_address(HQUIC listener) {
    QUIC_ADDR a;
    memset(&a, 0xAB, sizeof(a));
    uint32_t len = sizeof(a);
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &a) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(a));
    return a;
}

/* Connects to `host`:`port` and returns the client's local address once CONNECTED. */
static QUIC_ADDR connect_once(HQUIC reg, HQUIC cfg, QUIC_ADDRESS_FAMILY family, const char* host,
                              uint16_t port, HQUIC* out) {
    int before = counter_get(&client_connected);
    int accepted_before = counter_get(&accepted);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, cfg, family, host, port)));
    CHECK(counter_wait(&client_connected, before + 1, 10000));
    CHECK(counter_wait(&accepted, accepted_before + 1, 10000));
    QUIC_ADDR local;
    memset(&local, 0, sizeof(local));
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    *out = conn;
    return local;
}

static void close_client(HQUIC conn) {
    int before = counter_get(&client_closed);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_closed, before + 1, 10000));
    api->ConnectionClose(conn);
}

/* A TCP socket on 127.0.0.1 with a port the OS picked; listening if `listening`. */
static int tcp_socket(int listening, uint16_t* port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr*)&a, sizeof(a)) == 0);
    if (listening) CHECK(listen(fd, 1) == 0);
    socklen_t len = sizeof(a);
    CHECK(getsockname(fd, (struct sockaddr*)&a, &len) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* ListenerStop, waiting for STOP_COMPLETE (a listener starts again only after it). */
static void stop_listener(HQUIC listener) {
    int before = counter_get(&stopped);
    restart_in_stop_complete = QUIC_STATUS_SUCCESS;
    api->ListenerStop(listener);
    CHECK(counter_wait(&stopped, before + 1, 10000));
    CHECK(restart_in_stop_complete == QUIC_STATUS_INVALID_STATE);
}

static void dual_stack_wildcard(HQUIC reg, HQUIC cfg, QUIC_BUFFER* alpn) {
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR before = listener_address(listener);
    CHECK(is_zero(&before));

    CHECK(api->ListenerStart(listener, alpn, 1, NULL) == QUIC_STATUS_SUCCESS);
    CHECK(api->ListenerStart(listener, alpn, 1, NULL) == QUIC_STATUS_INVALID_STATE);
    QUIC_ADDR bound = listener_address(listener);
    uint16_t port = QuicAddrGetPort(&bound);
    printf("NULL listener: family %u port %u\n", bound.Ip.sa_family, port);
    CHECK(bound.Ip.sa_family == QUIC_ADDRESS_FAMILY_UNSPEC);
    CHECK(port != 0);
    QUIC_ADDR expected;
    memset(&expected, 0, sizeof(expected));
    QuicAddrSetPort(&expected, port);
    CHECK(memcmp(&bound, &expected, sizeof(expected)) == 0);

    /* IPv4 client: plain IPv4 on the server side, everywhere. */
    HQUIC conn = NULL;
    QUIC_ADDR client_local = connect_once(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port,
                                          &conn);
    uint16_t client_port = QuicAddrGetPort(&client_local);
    printf("IPv4 client: info local family %u, remote family %u\n",
           seen_info_local.Ip.sa_family, seen_info_remote.Ip.sa_family);
    CHECK(is_ipv4(&client_local, "127.0.0.1", 0));
    CHECK(is_ipv4(&seen_info_local, "127.0.0.1", port));
    CHECK(is_ipv4(&seen_info_remote, "127.0.0.1", client_port));
    CHECK(seen_local_status == QUIC_STATUS_SUCCESS);
    CHECK(seen_remote_status == QUIC_STATUS_SUCCESS);
    CHECK(is_ipv4(&seen_param_local, "127.0.0.1", port));
    CHECK(is_ipv4(&seen_param_remote, "127.0.0.1", client_port));
    QUIC_ADDR client_remote;
    uint32_t len = sizeof(client_remote);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, &len, &client_remote) ==
          QUIC_STATUS_SUCCESS);
    CHECK(is_ipv4(&client_remote, "127.0.0.1", port));
    close_client(conn);

    /* IPv6 client: IPv6 addresses. */
    client_local = connect_once(reg, cfg, QUIC_ADDRESS_FAMILY_INET6, "::1", port, &conn);
    client_port = QuicAddrGetPort(&client_local);
    CHECK(is_ipv6_loopback(&client_local, 0));
    CHECK(is_ipv6_loopback(&seen_info_local, port));
    CHECK(is_ipv6_loopback(&seen_info_remote, client_port));
    CHECK(is_ipv6_loopback(&seen_param_local, port));
    CHECK(is_ipv6_loopback(&seen_param_remote, client_port));
    close_client(conn);

    /* Kept after a stop, as MsQuic keeps it. */
    stop_listener(listener);
    QUIC_ADDR after = listener_address(listener);
    CHECK(memcmp(&after, &expected, sizeof(expected)) == 0);
    api->ListenerClose(listener);
}

static void start_variants(HQUIC reg, HQUIC cfg, QUIC_BUFFER* alpn) {
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);

    /* UNSPEC with a port: reported as given; IPv4 clients reach it. */
    uint16_t port = 0;
    close(tcp_socket(0, &port));
    QUIC_ADDR given;
    memset(&given, 0, sizeof(given));
    QuicAddrSetPort(&given, port);
    CHECK(api->ListenerStart(listener, alpn, 1, &given) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR reported = listener_address(listener);
    CHECK(memcmp(&reported, &given, sizeof(given)) == 0);
    HQUIC conn = NULL;
    connect_once(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port, &conn);
    CHECK(is_ipv4(&seen_info_remote, "127.0.0.1", 0));
    close_client(conn);
    stop_listener(listener);

    /* The IPv6 wildcard, port 0: IPv6 peers only, as MsQuic matches listeners by family, so
     * the IPv4 wildcard on the same port is another listener's. */
    memset(&given, 0, sizeof(given));
    QuicAddrSetFamily(&given, QUIC_ADDRESS_FAMILY_INET6);
    CHECK(api->ListenerStart(listener, alpn, 1, &given) == QUIC_STATUS_SUCCESS);
    reported = listener_address(listener);
    CHECK(reported.Ip.sa_family == QUIC_ADDRESS_FAMILY_INET6);
    CHECK(QuicAddrIsWildCard(&reported));
    port = QuicAddrGetPort(&reported);
    CHECK(port != 0);
    HQUIC v4_listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &v4_listener) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR v4_any;
    memset(&v4_any, 0, sizeof(v4_any));
    QuicAddrSetFamily(&v4_any, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetPort(&v4_any, port);
    CHECK(api->ListenerStart(v4_listener, alpn, 1, &v4_any) == QUIC_STATUS_SUCCESS);
    connect_once(reg, cfg, QUIC_ADDRESS_FAMILY_INET6, "::1", port, &conn);
    CHECK(is_ipv6_loopback(&seen_info_local, port));
    close_client(conn);
    connect_once(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port, &conn);
    CHECK(is_ipv4(&seen_info_local, "127.0.0.1", port));
    close_client(conn);
    stop_listener(v4_listener);
    api->ListenerClose(v4_listener);
    stop_listener(listener);

    /* A specific IPv4 address, port 0. */
    memset(&given, 0, sizeof(given));
    CHECK(QuicAddrFromString("127.0.0.1", 0, &given));
    CHECK(api->ListenerStart(listener, alpn, 1, &given) == QUIC_STATUS_SUCCESS);
    reported = listener_address(listener);
    CHECK(is_ipv4(&reported, "127.0.0.1", 0));
    CHECK(QuicAddrGetPort(&reported) != 0);
    stop_listener(listener);

    /* An ALPN list over 65535 bytes encoded (257 tokens of 255 bytes). */
    static uint8_t token[255];
    static QUIC_BUFFER many[257];
    memset(token, 'x', sizeof(token));
    for (int i = 0; i < 257; i++) {
        many[i].Length = sizeof(token);
        many[i].Buffer = token;
    }
    CHECK(api->ListenerStart(listener, many, 257, NULL) == QUIC_STATUS_INVALID_PARAMETER);

    /* An unknown family; a port another socket listens on. */
    memset(&given, 0, sizeof(given));
    given.Ip.sa_family = 99;
    CHECK(api->ListenerStart(listener, alpn, 1, &given) == QUIC_STATUS_INVALID_PARAMETER);
    int busy = tcp_socket(1, &port);
    memset(&given, 0, sizeof(given));
    CHECK(QuicAddrFromString("127.0.0.1", port, &given));
    CHECK(api->ListenerStart(listener, alpn, 1, &given) == QUIC_STATUS_ADDRESS_IN_USE);
    close(busy);
    api->ListenerClose(listener);
}

int main(void) {
    counter_init(&accepted);
    counter_init(&client_connected);
    counter_init(&client_closed);
    counter_init(&stopped);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    uint32_t transport = QUIC_TRANSPORT_QMUX_TCP;
    CHECK(api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport), &transport) ==
          QUIC_STATUS_SUCCESS);
    QUIC_BUFFER alpn = {4, (uint8_t*)"addr"};
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, NULL, 0, NULL, &server_config) ==
          QUIC_STATUS_SUCCESS);
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);

    dual_stack_wildcard(reg, cfg, &alpn);
    start_variants(reg, cfg, &alpn);

    api->ConfigurationClose(cfg);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("dual_stack_addresses");
}
