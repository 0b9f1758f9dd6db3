/* The statuses MsQuic on Linux reports when a connection cannot start or credentials cannot
 * load, over QMux/TLS:
 * - nothing listening at the address (the TCP connect is refused): ConnectionStart returns
 *   PENDING, then SHUTDOWN_INITIATED_BY_TRANSPORT with UNREACHABLE (what MsQuic reports when
 *   ICMP port unreachable comes back) and ErrorCode 1 (QUIC_ERROR_INTERNAL_ERROR), then
 *   SHUTDOWN_COMPLETE, never CONNECTED;
 * - a server that never answers: CONNECTION_IDLE at the handshake idle timeout, ErrorCode 1;
 * - a listener's application refusing the connection: CONNECTION_REFUSED, ErrorCode 2 (the
 *   CONNECTION_REFUSED transport error MsQuic's server sends);
 * - a name that does not resolve (`.invalid`), a name that does not resolve in the family
 *   asked for, and a name that resolves to the wildcard address: MsQuic's resolver failure
 *   leaves the wildcard address, which the start refuses with INVALID_PARAMETER, reported
 *   through SHUTDOWN_INITIATED_BY_TRANSPORT (ErrorCode 1) after ConnectionStart returned
 *   PENDING;
 * - the statuses ConnectionStart returns at once: port 0, an unknown family, no server name
 *   and no CONN_REMOTE_ADDRESS, a server's connection give INVALID_PARAMETER, a second start
 *   INVALID_STATE (even with a name over QUIC_MAX_SNI_LENGTH); CONN_REMOTE_ADDRESS refuses
 *   the wildcard with INVALID_PARAMETER and, once started, anything with INVALID_STATE;
 * - ConfigurationLoadCredential with a missing certificate file, a missing key file, a file
 *   that is not PEM, a valid key that is not the certificate's (MsQuic checks the pair with
 *   SSL_CTX_check_private_key at load), or a missing CA file: TLS_ERROR (MsQuic's OpenSSL
 *   build), synchronously and with LOAD_ASYNCHRONOUS alike; with
 *   LOAD_ASYNCHRONOUS a failure is returned from the call and the handler is not called, and
 *   a success reaches the handler before the call returns PENDING;
 * - ConnectionPoolCreate with CIBIR ids but length 0, a length without ids, an unknown
 *   family, a configuration without credentials or a name over QUIC_MAX_SNI_LENGTH:
 *   INVALID_PARAMETER, with no connection opened. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/qmux_test.h"

#define ALPN "statuses"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static int refuse_all;

typedef struct {
    Counter done;
    int connected;
    int transport_events;
    QUIC_STATUS status;
    uint64_t error_code;
} Client;

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static HQUIC client_config;
static QUIC_STATUS server_start_status;

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION && refuse_all) {
        return QUIC_STATUS_CONNECTION_REFUSED;
    }
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        /* ConnectionStart is for clients. */
        server_start_status = api->ConnectionStart(ev->NEW_CONNECTION.Connection, client_config,
                                                   QUIC_ADDRESS_FAMILY_INET, "localhost", 4433);
    }
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    Client* c = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        c->connected = 1;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        c->transport_events++;
        c->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        c->error_code = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        CHECK(!ev->SHUTDOWN_COMPLETE.HandshakeCompleted);
        counter_add(&c->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Starts a client to `name`:`port` in `family` and waits for its end; checks that the
 * failure came as one SHUTDOWN_INITIATED_BY_TRANSPORT with `status` and `code`. */
static void expect_failure(HQUIC reg, HQUIC cfg, QUIC_ADDRESS_FAMILY family, const char* name,
                           uint16_t port, QUIC_STATUS status, uint64_t code) {
    Client c;
    memset(&c, 0, sizeof(c));
    counter_init(&c.done);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &c, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(api->ConnectionStart(conn, cfg, family, name, port) == QUIC_STATUS_PENDING);
    /* Generous: without a reachable DNS server, a lookup can take several resolver timeouts. */
    CHECK(counter_wait(&c.done, 1, 60000));
    printf("%s:%u family %u: status %u code %llu\n", name, port, family, c.status,
           (unsigned long long)c.error_code);
    CHECK(!c.connected);
    CHECK(c.transport_events == 1);
    CHECK(c.status == status);
    CHECK(c.error_code == code);
    api->ConnectionClose(conn);
    counter_destroy(&c.done);
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound for a moment, then released). */
static uint16_t free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr*)&a, sizeof(a)) == 0);
    socklen_t len = sizeof(a);
    CHECK(getsockname(fd, (struct sockaddr*)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A server that accepts the TCP connection and never answers: the handshake idle timeout
 * ends the attempt with CONNECTION_IDLE, ErrorCode 1. */
static void silent_server(HQUIC reg) {
    uint16_t port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr*)&a, sizeof(a)) == 0);
    CHECK(listen(fd, 4) == 0);
    socklen_t len = sizeof(a);
    CHECK(getsockname(fd, (struct sockaddr*)&a, &len) == 0);
    port = ntohs(a.sin_port);

    QUIC_BUFFER alpn = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.HandshakeIdleTimeoutMs = TRUE;
    s.HandshakeIdleTimeoutMs = 300;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    expect_failure(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port,
                   QUIC_STATUS_CONNECTION_IDLE, 1);
    api->ConfigurationClose(cfg);
    close(fd);
}

static void connect_statuses(HQUIC reg, HQUIC cfg, uint16_t port) {
    expect_failure(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", free_port(),
                   QUIC_STATUS_UNREACHABLE, 1);
    refuse_all = 1;
    expect_failure(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port,
                   QUIC_STATUS_CONNECTION_REFUSED, 2);
    refuse_all = 0;
    expect_failure(reg, cfg, QUIC_ADDRESS_FAMILY_UNSPEC, "qmux-test.invalid", port,
                   QUIC_STATUS_INVALID_PARAMETER, 1);
    expect_failure(reg, cfg, QUIC_ADDRESS_FAMILY_INET6, "127.0.0.1", port,
                   QUIC_STATUS_INVALID_PARAMETER, 1);
    expect_failure(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "::1", port,
                   QUIC_STATUS_INVALID_PARAMETER, 1);
    /* The listener holds the IPv4 wildcard: Linux would connect 0.0.0.0 to it. */
    expect_failure(reg, cfg, QUIC_ADDRESS_FAMILY_INET, "0.0.0.0", port,
                   QUIC_STATUS_INVALID_PARAMETER, 1);
}

static Counter quiet_connected;

static QUIC_STATUS QUIC_API QuietConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&quiet_connected, 1);
    return QUIC_STATUS_SUCCESS;
}

static void start_statuses(HQUIC reg, HQUIC cfg, uint16_t port) {
    counter_init(&quiet_connected);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, QuietConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    /* CONN_REMOTE_ADDRESS refuses the wildcard. */
    QUIC_ADDR wildcard;
    memset(&wildcard, 0, sizeof(wildcard));
    QuicAddrSetFamily(&wildcard, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetPort(&wildcard, port);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(wildcard), &wildcard) ==
          QUIC_STATUS_INVALID_PARAMETER);
    QuicAddrSetFamily(&wildcard, QUIC_ADDRESS_FAMILY_UNSPEC);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(wildcard), &wildcard) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", 0) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionStart(conn, cfg, 99, "localhost", port) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, NULL, port) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port) ==
          QUIC_STATUS_PENDING);
    CHECK(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port) ==
          QUIC_STATUS_INVALID_STATE);
    /* Started comes before the name's length, and before the address's checks. */
    char* long_name = malloc(65537);
    memset(long_name, 'a', 65536);
    long_name[65536] = 0;
    CHECK(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, long_name, port) ==
          QUIC_STATUS_INVALID_STATE);
    free(long_name);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, 1, &wildcard) ==
          QUIC_STATUS_INVALID_STATE);
    /* Connected: the server has seen NEW_CONNECTION (and tried ConnectionStart on it). */
    CHECK(counter_wait(&quiet_connected, 1, 10000));
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    api->ConnectionClose(conn);
    counter_destroy(&quiet_connected);
}

static Counter loaded;
static QUIC_STATUS loaded_status;

static void QUIC_API LoadComplete(HQUIC cfg, void* ctx, QUIC_STATUS status) {
    (void)cfg;
    CHECK(ctx == (void*)&loaded);
    loaded_status = status;
    counter_add(&loaded, 1);
}

static QUIC_STATUS load_files(HQUIC reg, const char* cert, const char* key, int asynchronous) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, &loaded, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {key, cert};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    if (asynchronous) {
        cred.Flags = QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS;
        cred.AsyncHandler = LoadComplete;
    }
    QUIC_STATUS status = api->ConfigurationLoadCredential(cfg, &cred);
    api->ConfigurationClose(cfg);
    return status;
}

/* A P-256 key of no certificate the tests use. */
static const char OTHER_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgtXGK/eTr1CXloFWR\n"
    "5yt8rvVVmtqTNisa/mPKgu20pv2hRANCAATOvZtQWmGq4Boy/nBVeROQ5LFUKa67\n"
    "xWhfz8ElM5AshEhOcAXiumypx5Qai7lBl4j/81GTtBaAnfxcanvUU0uP\n"
    "-----END PRIVATE KEY-----\n";

static void credential_statuses(HQUIC reg) {
    const char* missing = "/nonexistent/qmux-test/missing.pem";
    char garbage[] = "/tmp/qmux-statuses-XXXXXX";
    int fd = mkstemp(garbage);
    CHECK(fd >= 0);
    const char text[] = "this is not PEM\n";
    CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
    close(fd);

    CHECK(load_files(reg, missing, test_key(), 0) == QUIC_STATUS_TLS_ERROR);
    CHECK(load_files(reg, test_cert(), missing, 0) == QUIC_STATUS_TLS_ERROR);
    CHECK(load_files(reg, garbage, garbage, 0) == QUIC_STATUS_TLS_ERROR);
    CHECK(load_files(reg, test_cert(), garbage, 0) == QUIC_STATUS_TLS_ERROR);

    /* A valid key that is not the certificate's: refused at load. */
    char other_key[] = "/tmp/qmux-statuses-key-XXXXXX";
    fd = mkstemp(other_key);
    CHECK(fd >= 0);
    CHECK(write(fd, OTHER_KEY, sizeof(OTHER_KEY) - 1) == (ssize_t)(sizeof(OTHER_KEY) - 1));
    close(fd);
    CHECK(load_files(reg, test_cert(), other_key, 0) == QUIC_STATUS_TLS_ERROR);

    /* LOAD_ASYNCHRONOUS: failures come back from the call, successes through the handler
     * before the call returns. */
    counter_init(&loaded);
    CHECK(load_files(reg, missing, test_key(), 1) == QUIC_STATUS_TLS_ERROR);
    CHECK(load_files(reg, test_cert(), other_key, 1) == QUIC_STATUS_TLS_ERROR);
    CHECK(counter_get(&loaded) == 0);
    unlink(other_key);
    loaded_status = QUIC_STATUS_PENDING;
    CHECK(load_files(reg, test_cert(), test_key(), 1) == QUIC_STATUS_PENDING);
    CHECK(counter_get(&loaded) == 1);
    CHECK(loaded_status == QUIC_STATUS_SUCCESS);
    counter_destroy(&loaded);

    /* A client's CA file that does not exist. */
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    cred.CaCertificateFile = missing;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_TLS_ERROR);
    cred.CaCertificateFile = garbage;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_TLS_ERROR);
    api->ConfigurationClose(cfg);
    unlink(garbage);
}

static void pool_statuses(HQUIC reg, HQUIC cfg, uint16_t port) {
    Client c;
    memset(&c, 0, sizeof(c));
    counter_init(&c.done);
    void* contexts[2] = {&c, &c};
    QUIC_CONNECTION_POOL_CONFIG pool;
    memset(&pool, 0, sizeof(pool));
    pool.Registration = reg;
    pool.Configuration = cfg;
    pool.Handler = ClientConnection;
    pool.Context = contexts;
    pool.ServerName = "localhost";
    pool.Family = QUIC_ADDRESS_FAMILY_INET;
    pool.ServerPort = port;
    pool.NumberOfConnections = 2;
    HQUIC conns[2] = {NULL, NULL};
    uint8_t id[2] = {1, 2};
    uint8_t* ids[2] = {id, id};

    QUIC_CONNECTION_POOL_CONFIG bad = pool;
    bad.CibirIds = ids;
    bad.CibirIdLength = 0;
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    bad = pool;
    bad.CibirIdLength = sizeof(id);
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    bad = pool;
    bad.Family = 99;
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    /* A configuration with no credentials; a name over QUIC_MAX_SNI_LENGTH. */
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC bare = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &bare) == QUIC_STATUS_SUCCESS);
    bad = pool;
    bad.Configuration = bare;
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    api->ConfigurationClose(bare);
    char* long_name = malloc(65537);
    memset(long_name, 'a', 65536);
    long_name[65536] = 0;
    bad = pool;
    bad.ServerName = long_name;
    CHECK(api->ConnectionPoolCreate(&bad, conns) == QUIC_STATUS_INVALID_PARAMETER);
    free(long_name);
    CHECK(conns[0] == NULL && conns[1] == NULL);
    counter_destroy(&c.done);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC cfg = client_configuration(api, reg, ALPN, 0);
    client_config = cfg;

    connect_statuses(reg, cfg, port);
    silent_server(reg);
    start_statuses(reg, cfg, port);
    CHECK(server_start_status == QUIC_STATUS_INVALID_PARAMETER);
    credential_statuses(reg);
    pool_statuses(reg, cfg, port);

    api->ListenerClose(listener);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("connect_statuses");
}
