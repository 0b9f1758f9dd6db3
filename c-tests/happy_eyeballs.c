/* ConnectionStart with a server name that resolves to several addresses, over QMux/TLS:
 * every address is tried, families interleaved (IPv4 first), the next attempt starting at
 * once when one is refused or after 250 ms without an answer, the first to connect winning;
 * all within HandshakeIdleTimeoutMs. Resolution runs off the workers, so a slow lookup does
 * not stall the other connections of the worker, and a connection shut down or closed while
 * its name resolves ends at once, with nothing after its SHUTDOWN_COMPLETE.
 *
 * The library's debug-build resolver hook (MSQUIC_QMUX_TEST_RESOLVE, set below) makes
 * `localhost` resolve to 127.0.0.1 then ::1, and `slow.test` to 127.0.0.1 after 1.5 s.
 * - listener on ::1 only: `localhost` with UNSPEC tries 127.0.0.1 (refused), then ::1, and
 *   connects; CONN_REMOTE_ADDRESS is then [::1]:port. INET tries 127.0.0.1 only (UNREACHABLE,
 *   ErrorCode 1); INET6 connects to ::1;
 * - 127.0.0.1 on the listener's port blackholed (a TCP listener whose accept queue is full
 *   drops SYNs): UNSPEC connects to ::1 after the attempt delay (CONN_REMOTE_ADDRESS is
 *   127.0.0.1 before, [::1]:port once connected); INET, with only that address, ends with
 *   CONNECTION_IDLE (ErrorCode 1) at HandshakeIdleTimeoutMs;
 * - two connections on the same worker (ConnectionOpenInPartition 0): one to `slow.test`, one
 *   to 127.0.0.1 started after it; the second connects long before the first, which connects
 *   too; a third to `slow.test`, shut down while resolving, gets SHUTDOWN_COMPLETE at once and
 *   no event afterwards; one with a HandshakeIdleTimeoutMs shorter than the lookup ends with
 *   CONNECTION_IDLE at that timeout. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/qmux_test.h"

#define ALPN "eyeballs"
#define SLOW_MS 1500

static const QUIC_API_TABLE* api;

typedef struct {
    Counter connected;
    Counter done;
    int events_after_complete;
    int complete_seen;
    QUIC_STATUS status;
    uint64_t error_code;
    long long connected_at;
    QUIC_ADDR remote;
} Client;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Client* c = ctx;
    TRACE_CONN(ev);
    if (__atomic_load_n(&c->complete_seen, __ATOMIC_SEQ_CST)) {
        __atomic_fetch_add(&c->events_after_complete, 1, __ATOMIC_SEQ_CST);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        c->connected_at = now_ms();
        uint32_t len = sizeof(c->remote);
        CHECK(api->GetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, &len, &c->remote) ==
              QUIC_STATUS_SUCCESS);
        counter_add(&c->connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
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
}

static void client_end(Client* c, HQUIC conn) {
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&c->done, 1, 10000));
    api->ConnectionClose(conn);
    counter_destroy(&c->connected);
    counter_destroy(&c->done);
}

static int is_addr(const QUIC_ADDR* a, const char* text, uint16_t port) {
    QUIC_ADDR want;
    memset(&want, 0, sizeof(want));
    CHECK(QuicAddrFromString(text, port, &want));
    return QuicAddrCompare(a, &want);
}

/* Whether a socket can be bound to ::1. */
static int have_ipv6_loopback(void) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr*)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* A listener on `ip` with an ephemeral port; returns the port. */
static uint16_t listen_on(HQUIC listener, const char* ip) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    CHECK(QuicAddrFromString(ip, 0, &addr));
    CHECK(api->ListenerStart(listener, &a, 1, &addr) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    return QuicAddrGetPort(&local);
}

static HQUIC start_client(HQUIC reg, HQUIC cfg, Client* c, QUIC_ADDRESS_FAMILY family,
                          const char* name, uint16_t port) {
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpenInPartition(reg, 0, ClientConnection, c, &conn) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->ConnectionStart(conn, cfg, family, name, port) == QUIC_STATUS_PENDING);
    return conn;
}

static void refused_first(HQUIC reg, HQUIC cfg, uint16_t port6) {
    Client c;
    client_init(&c);
    HQUIC conn = start_client(reg, cfg, &c, QUIC_ADDRESS_FAMILY_UNSPEC, "localhost", port6);
    CHECK(counter_wait(&c.connected, 1, 5000));
    CHECK(is_addr(&c.remote, "::1", port6));
    client_end(&c, conn);

    /* INET: 127.0.0.1 only, refused. */
    client_init(&c);
    conn = start_client(reg, cfg, &c, QUIC_ADDRESS_FAMILY_INET, "localhost", port6);
    CHECK(counter_wait(&c.done, 1, 5000));
    CHECK(counter_get(&c.connected) == 0);
    CHECK(c.status == QUIC_STATUS_UNREACHABLE);
    CHECK(c.error_code == 1);
    api->ConnectionClose(conn);
    counter_destroy(&c.connected);
    counter_destroy(&c.done);

    /* INET6: ::1 only. */
    client_init(&c);
    conn = start_client(reg, cfg, &c, QUIC_ADDRESS_FAMILY_INET6, "localhost", port6);
    CHECK(counter_wait(&c.connected, 1, 5000));
    CHECK(is_addr(&c.remote, "::1", port6));
    client_end(&c, conn);
}

static void blackholed_first(HQUIC reg, HQUIC cfg, HQUIC short_cfg, uint16_t port6) {
    /* 127.0.0.1:port6 listens with a full accept queue: later SYNs get no answer. */
    int hole = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(hole >= 0);
    int one = 1;
    CHECK(setsockopt(hole, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port6);
    CHECK(bind(hole, (struct sockaddr*)&a, sizeof(a)) == 0);
    CHECK(listen(hole, 0) == 0);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(filler, (struct sockaddr*)&a, sizeof(a)) == 0);

    Client c;
    client_init(&c);
    long long t0 = now_ms();
    HQUIC conn = start_client(reg, cfg, &c, QUIC_ADDRESS_FAMILY_UNSPEC, "localhost", port6);
    /* Until the IPv6 attempt may start (250 ms), CONN_REMOTE_ADDRESS, once the name is
     * resolved, is the first address tried. */
    int seen_first = 0;
    while (!seen_first) {
        QUIC_ADDR remote;
        uint32_t len = sizeof(remote);
        QUIC_STATUS st = api->GetParam(conn, QUIC_PARAM_CONN_REMOTE_ADDRESS, &len, &remote);
        if (now_ms() - t0 >= 200) break;
        if (st == QUIC_STATUS_SUCCESS) {
            CHECK(is_addr(&remote, "127.0.0.1", port6));
            seen_first = 1;
        } else {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    CHECK(seen_first);
    CHECK(counter_wait(&c.connected, 1, 5000));
    printf("blackholed first: connected after %lld ms\n", c.connected_at - t0);
    /* The IPv6 attempt waited for the attempt delay. */
    CHECK(c.connected_at - t0 >= 200);
    CHECK(is_addr(&c.remote, "::1", port6));
    client_end(&c, conn);

    /* Only the blackholed address (INET): CONNECTION_IDLE at the handshake timeout. */
    client_init(&c);
    t0 = now_ms();
    conn = start_client(reg, short_cfg, &c, QUIC_ADDRESS_FAMILY_INET, "localhost", port6);
    CHECK(counter_wait(&c.done, 1, 5000));
    CHECK(now_ms() - t0 >= 400);
    CHECK(counter_get(&c.connected) == 0);
    CHECK(c.status == QUIC_STATUS_CONNECTION_IDLE);
    CHECK(c.error_code == 1);
    api->ConnectionClose(conn);
    counter_destroy(&c.connected);
    counter_destroy(&c.done);
    close(filler);
    close(hole);
}

static void slow_lookup(HQUIC reg, HQUIC cfg, HQUIC short_cfg, uint16_t port4) {
    Client slow, quick, gone;
    client_init(&slow);
    client_init(&quick);
    client_init(&gone);
    long long t0 = now_ms();
    HQUIC slow_conn = start_client(reg, cfg, &slow, QUIC_ADDRESS_FAMILY_UNSPEC, "slow.test",
                                   port4);
    HQUIC gone_conn = start_client(reg, cfg, &gone, QUIC_ADDRESS_FAMILY_UNSPEC, "slow.test",
                                   port4);
    HQUIC quick_conn = start_client(reg, cfg, &quick, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1",
                                    port4);
    /* The quick one connects while both lookups are still under way. */
    CHECK(counter_wait(&quick.connected, 1, SLOW_MS - 300));
    printf("slow lookup: the other connection connected after %lld ms\n",
           quick.connected_at - t0);
    CHECK(counter_get(&slow.connected) == 0);
    /* Shut down while resolving: over at once, silently. */
    api->ConnectionShutdown(gone_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&gone.done, 1, 1000));
    CHECK(counter_wait(&slow.connected, 1, SLOW_MS + 5000));
    CHECK(slow.connected_at - t0 >= SLOW_MS - 50);
    /* The shut-down connection's lookup has ended too: nothing followed its end. */
    CHECK(counter_get(&gone.connected) == 0);
    CHECK(__atomic_load_n(&gone.events_after_complete, __ATOMIC_SEQ_CST) == 0);
    api->ConnectionClose(gone_conn);
    counter_destroy(&gone.connected);
    counter_destroy(&gone.done);
    client_end(&slow, slow_conn);
    client_end(&quick, quick_conn);

    /* The handshake timeout counts the lookup: CONNECTION_IDLE before the name resolves. */
    Client late;
    client_init(&late);
    t0 = now_ms();
    HQUIC late_conn = start_client(reg, short_cfg, &late, QUIC_ADDRESS_FAMILY_UNSPEC,
                                   "slow.test", port4);
    CHECK(counter_wait(&late.done, 1, SLOW_MS + 5000));
    CHECK(now_ms() - t0 < SLOW_MS - 300);
    CHECK(counter_get(&late.connected) == 0);
    CHECK(late.status == QUIC_STATUS_CONNECTION_IDLE);
    CHECK(late.error_code == 1);
    api->ConnectionClose(late_conn);
    counter_destroy(&late.connected);
    counter_destroy(&late.done);

    /* Closed while resolving: SHUTDOWN_COMPLETE inside ConnectionClose, the late answer is
     * dropped. */
    client_init(&gone);
    gone_conn = start_client(reg, cfg, &gone, QUIC_ADDRESS_FAMILY_UNSPEC, "slow.test", port4);
    api->ConnectionClose(gone_conn);
    CHECK(counter_get(&gone.done) == 1);
    counter_destroy(&gone.connected);
    counter_destroy(&gone.done);
}

/* A client configuration with HandshakeIdleTimeoutMs `handshake_ms` (no certificate
 * validation: `slow.test` is not in the test certificate). */
static HQUIC client_config(HQUIC reg, uint64_t handshake_ms) {
    QUIC_BUFFER alpn = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.HandshakeIdleTimeoutMs = TRUE;
    s.HandshakeIdleTimeoutMs = handshake_ms;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

int main(void) {
    if (!have_test_cert()) return 1;
    /* Read by the library's resolver at each lookup (debug builds only). */
    setenv("MSQUIC_QMUX_TEST_RESOLVE", "localhost=127.0.0.1,::1;slow.test=127.0.0.1@1500", 1);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    TestServer server = {api, server_configuration(api, reg, ALPN, 1, 0), NULL};

    HQUIC cfg = client_config(reg, 5000);

    HQUIC listener6 = NULL, listener4 = NULL;
    CHECK(api->ListenerOpen(reg, test_server_listener, &server, &listener6) ==
          QUIC_STATUS_SUCCESS);
    HQUIC short_cfg = client_config(reg, 500);
    if (have_ipv6_loopback()) {
        uint16_t port6 = listen_on(listener6, "::1");
        refused_first(reg, cfg, port6);
        blackholed_first(reg, cfg, short_cfg, port6);
    } else {
        printf("no IPv6 loopback: the two-family cases are skipped\n");
    }

    CHECK(api->ListenerOpen(reg, test_server_listener, &server, &listener4) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port4 = listen_on(listener4, "127.0.0.1");
    slow_lookup(reg, cfg, short_cfg, port4);
    api->ConfigurationClose(short_cfg);

    api->ListenerClose(listener6);
    api->ListenerClose(listener4);
    api->ConfigurationClose(cfg);
    api->ConfigurationClose(server.config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("happy_eyeballs");
}
