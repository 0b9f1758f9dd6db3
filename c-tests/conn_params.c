/* Connection parameters after a QMux/TLS handshake, read from the application's thread:
 * TLS_HANDSHAKE_INFO (TLS 1.3, a suite and its algorithms, a key-exchange group),
 * TLS_NEGOTIATED_ALPN (with the BUFFER_TOO_SMALL probe), CONN_LOCAL_ADDRESS and
 * CONN_REMOTE_ADDRESS on both sides. Before start the addresses are not available. A second
 * client sets CONN_LOCAL_ADDRESS to 127.0.0.2 (port 0) before start: its socket is bound
 * there and the server sees it as the peer; after start the address cannot be set. A third
 * client reads both addresses right after ConnectionStart, while its connect still waits (a
 * TCP listener whose accept queue is full takes no SYN): as in MsQuic, the remote address is
 * the one resolved and the local address the one the connect was given. */
#include "support/qmux_test.h"

#include <sys/socket.h>
#include <unistd.h>

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static HQUIC server_conn;
static Counter client_connected, server_connected, client_done, server_done;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&server_connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&server_done, 1);
    (void)conn;
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    server_conn = ev->NEW_CONNECTION.Connection;
    api->SetCallbackHandler(server_conn, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(server_conn, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&client_connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static void check_side(const char* name, HQUIC conn, uint16_t local_port, uint16_t remote_port) {
    QUIC_HANDSHAKE_INFO info;
    memset(&info, 0xAB, sizeof(info));
    uint32_t len = 4;
    CHECK(api->GetParam(conn, QUIC_PARAM_TLS_HANDSHAKE_INFO, &len, &info) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(info));
    CHECK(api->GetParam(conn, QUIC_PARAM_TLS_HANDSHAKE_INFO, &len, &info) == QUIC_STATUS_SUCCESS);
    printf("%s: version %#x cipher %#x/%d hash %#x/%d suite %#x group %u\n", name,
           info.TlsProtocolVersion, info.CipherAlgorithm, info.CipherStrength, info.Hash,
           info.HashStrength, info.CipherSuite, (unsigned)info.TlsGroup);
    CHECK(info.TlsProtocolVersion == QUIC_TLS_PROTOCOL_1_3);
    CHECK(info.CipherSuite == QUIC_CIPHER_SUITE_TLS_AES_128_GCM_SHA256 ||
          info.CipherSuite == QUIC_CIPHER_SUITE_TLS_AES_256_GCM_SHA384 ||
          info.CipherSuite == QUIC_CIPHER_SUITE_TLS_CHACHA20_POLY1305_SHA256);
    if (info.CipherSuite == QUIC_CIPHER_SUITE_TLS_AES_256_GCM_SHA384) {
        CHECK(info.CipherAlgorithm == QUIC_CIPHER_ALGORITHM_AES_256 && info.CipherStrength == 256);
        CHECK(info.Hash == QUIC_HASH_ALGORITHM_SHA_384);
    } else if (info.CipherSuite == QUIC_CIPHER_SUITE_TLS_AES_128_GCM_SHA256) {
        CHECK(info.CipherAlgorithm == QUIC_CIPHER_ALGORITHM_AES_128 && info.CipherStrength == 128);
        CHECK(info.Hash == QUIC_HASH_ALGORITHM_SHA_256);
    } else {
        CHECK(info.CipherAlgorithm == QUIC_CIPHER_ALGORITHM_CHACHA20);
        CHECK(info.Hash == QUIC_HASH_ALGORITHM_SHA_256);
    }
    /* As MsQuic's OpenSSL build reports them. */
    CHECK(info.HashStrength == 0 && info.KeyExchangeAlgorithm == 0 &&
          info.KeyExchangeStrength == 0);
    CHECK(info.TlsGroup != QUIC_TLS_GROUP_UNKNOWN);

    uint8_t alpn[16];
    len = 1;
    CHECK(api->GetParam(conn, QUIC_PARAM_TLS_NEGOTIATED_ALPN, &len, alpn) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 6);
    len = 0;
    CHECK(api->GetParam(conn, QUIC_PARAM_TLS_NEGOTIATED_ALPN, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    len = sizeof(alpn);
    CHECK(api->GetParam(conn, QUIC_PARAM_TLS_NEGOTIATED_ALPN, &len, alpn) == QUIC_STATUS_SUCCESS);
    CHECK(len == 6 && memcmp(alpn, "params", 6) == 0);

    QUIC_ADDR addr;
    len = sizeof(addr);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, &len, &addr) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(addr));
    CHECK(QuicAddrGetFamily(&addr) == QUIC_ADDRESS_FAMILY_INET);
    if (local_port != 0) CHECK(QuicAddrGetPort(&addr) == local_port);
    uint16_t local = QuicAddrGetPort(&addr);
    CHECK(local != 0);
    len = sizeof(addr);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, &len, &addr) == QUIC_STATUS_SUCCESS);
    CHECK(QuicAddrGetFamily(&addr) == QUIC_ADDRESS_FAMILY_INET);
    if (remote_port != 0) CHECK(QuicAddrGetPort(&addr) == remote_port);
    CHECK(addr.Ipv4.sin_addr.s_addr == htonl(0x7f000001));
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    counter_init(&client_connected);
    counter_init(&server_connected);
    counter_init(&client_done);
    counter_init(&server_done);

    server_config = server_configuration(api, reg, "params", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "params", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "params");

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR addr;
    uint32_t len = sizeof(addr);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, &len, &addr) ==
          QUIC_STATUS_INVALID_STATE);
    QUIC_HANDSHAKE_INFO info;
    len = sizeof(info);
    CHECK(api->GetParam(conn, QUIC_PARAM_TLS_HANDSHAKE_INFO, &len, &info) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&client_connected, 1, 10000));
    CHECK(counter_wait(&server_connected, 1, 10000));

    check_side("client", conn, 0, port);
    len = sizeof(addr);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, &len, &addr) == QUIC_STATUS_SUCCESS);
    uint16_t client_port = QuicAddrGetPort(&addr);
    check_side("server", server_conn, port, client_port);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 1, 10000));
    CHECK(counter_wait(&server_done, 1, 10000));
    api->ConnectionClose(conn);
    api->ConnectionClose(server_conn);

    /* A client bound to 127.0.0.2 before start. */
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR bind_to;
    memset(&bind_to, 0, sizeof(bind_to));
    QuicAddrSetFamily(&bind_to, QUIC_ADDRESS_FAMILY_INET);
    bind_to.Ipv4.sin_addr.s_addr = htonl(0x7f000002);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, 3, &bind_to) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(bind_to), &bind_to) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(bind_to), &bind_to) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(counter_wait(&client_connected, 2, 10000));
    CHECK(counter_wait(&server_connected, 2, 10000));
    len = sizeof(addr);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, &len, &addr) == QUIC_STATUS_SUCCESS);
    CHECK(addr.Ipv4.sin_addr.s_addr == htonl(0x7f000002));
    CHECK(QuicAddrGetPort(&addr) != 0);
    client_port = QuicAddrGetPort(&addr);
    len = sizeof(addr);
    CHECK(api->GetParam(server_conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, &len, &addr) ==
          QUIC_STATUS_SUCCESS);
    CHECK(addr.Ipv4.sin_addr.s_addr == htonl(0x7f000002));
    CHECK(QuicAddrGetPort(&addr) == client_port);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 2, 10000));
    CHECK(counter_wait(&server_done, 2, 10000));
    api->ConnectionClose(conn);
    api->ConnectionClose(server_conn);

    /* Addresses while the connect waits: a plain TCP listener (backlog 0) whose one queued
     * connection fills its accept queue drops the next SYN. */
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(lfd >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(0x7f000001);
    CHECK(bind(lfd, (struct sockaddr*)&sin, sizeof(sin)) == 0);
    CHECK(listen(lfd, 0) == 0);
    socklen_t slen = sizeof(sin);
    CHECK(getsockname(lfd, (struct sockaddr*)&sin, &slen) == 0);
    uint16_t full_port = ntohs(sin.sin_port);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(filler >= 0 && connect(filler, (struct sockaddr*)&sin, sizeof(sin)) == 0);
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", full_port)));
    len = sizeof(addr);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, &len, &addr) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QuicAddrGetFamily(&addr) == QUIC_ADDRESS_FAMILY_INET);
    CHECK(addr.Ipv4.sin_addr.s_addr == htonl(0x7f000001));
    CHECK(QuicAddrGetPort(&addr) == full_port);
    len = sizeof(addr);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_ADDRESS, &len, &addr) == QUIC_STATUS_SUCCESS);
    CHECK(QuicAddrGetFamily(&addr) == QUIC_ADDRESS_FAMILY_INET);
    CHECK(addr.Ipv4.sin_addr.s_addr == htonl(0x7f000001));
    CHECK(QuicAddrGetPort(&addr) != 0);
    CHECK(counter_get(&client_connected) == 2);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
    CHECK(counter_wait(&client_done, 3, 10000));
    api->ConnectionClose(conn);
    close(filler);
    close(lfd);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("conn_params");
}
