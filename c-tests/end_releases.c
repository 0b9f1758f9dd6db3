/* Every way a connection or stream can end lets go of the application's memory. The side
 * under test (a client, then a server) talks through a TCP proxy to a peer of this library
 * that reads nothing (small stream window). It opens a stream and makes four sends (one of two
 * buffers) that mostly wait for flow-control credit, the first partly written; the peer sends
 * a few bytes back, which the tested side holds (RECEIVE returns PENDING, or, with app-owned
 * buffers, they land in the application's memory). Then:
 *   RST          the proxy resets the tested side's TCP connection (SO_LINGER 0)
 *   EOF          the proxy ends the tested side's TCP stream (FIN) without CONNECTION_CLOSE
 *   CORRUPT      the proxy injects a corrupted TLS record after the handshake (over QMux/TCP:
 *                a record with a frame of an unknown type)
 *   HANDSHAKE    the handshake never completes: handshake timeout (a client's stream started
 *                before CONNECTED; a server's StreamStart, waiting for CONNECTED here, fails
 *                with INVALID_STATE and the application closes the stream)
 *   IDLE         the proxy stops forwarding: idle timeout
 *   SHUTDOWN     ConnectionShutdown
 *   ABORT        StreamShutdown(ABORT)
 *   PEER_ABORT   the peer's StreamShutdown(ABORT): STOP_SENDING and RESET_STREAM
 *   REGISTRATION RegistrationShutdown
 *   CLOSE        ConnectionClose without a shutdown (everything inside the call)
 *   CLOSE_INLINE the proxy resets the connection and the application closes the stream and
 *                the connection inside SHUTDOWN_INITIATED_BY_TRANSPORT
 * each with send buffering on (RECEIVE held with PENDING, completed inside SHUTDOWN_COMPLETE)
 * and off (app-owned receive buffers), the first three over QMux/TLS and QMux/TCP. Every send
 * gets exactly one SEND_COMPLETE, before the stream's SHUTDOWN_COMPLETE, Canceled for the last
 * (never written); the application frees each buffer on its SEND_COMPLETE and its receive
 * buffers at SHUTDOWN_COMPLETE, so ASan reports any buffer the library keeps (a leak) or
 * touches late (use after free). Each SEND_COMPLETE, canceled or not, also makes one more
 * send (up to PUMPS), as a bulk sender's pump would. `end_releases CASE` runs one case. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "support/qmux_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    C_RST,
    C_EOF,
    C_CORRUPT,
    C_HANDSHAKE,
    C_IDLE,
    C_SHUTDOWN,
    C_ABORT,
    C_REGISTRATION,
    C_CLOSE,
    C_CLOSE_INLINE,
    C_PEER_ABORT,
    CASES
};
static const char* case_names[CASES] = {"RST",  "EOF",   "CORRUPT",      "HANDSHAKE", "IDLE",
                                        "SHUTDOWN", "ABORT", "REGISTRATION", "CLOSE", "CLOSE_INLINE", "PEER_ABORT"};

#define SENDS 4
/* Sends the application makes from inside SEND_COMPLETE (whatever its outcome), a pump such
 * as a bulk sender's: each is refused or gets its one SEND_COMPLETE too. */
#define PUMPS 8
#define PUMP_SIZE 65536
static const uint32_t send_sizes[SENDS] = {1000, 200000, 4u << 20, 100000};
#define WINDOW 65536
#define APP_RECV 4096

static const QUIC_API_TABLE* api;

/* ---- the proxy between the client and the server; commands act on the tested side ---- */
enum { P_FORWARD, P_RST, P_EOF, P_CORRUPT, P_BLACKHOLE, P_ONEWAY };
typedef struct {
    int listen_fd;
    uint16_t server_port;
    int connect_server;
    int victim_is_server;
    int cmd;
    int plain_tcp;
} Proxy;

static int write_all(int fd, const uint8_t* p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void* proxy_main(void* arg) {
    Proxy* p = arg;
    int a = accept(p->listen_fd, NULL, NULL);
    int b = -1;
    if (a < 0) return NULL;
    if (p->connect_server) {
        b = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(0x7f000001);
        sa.sin_port = htons(p->server_port);
        if (connect(b, (struct sockaddr*)&sa, sizeof(sa)) != 0) {
            close(b);
            b = -1;
        }
    }
    static uint8_t buf[65536];
    int acted = P_FORWARD;
    for (;;) {
        int cmd = __atomic_load_n(&p->cmd, __ATOMIC_SEQ_CST);
        int victim = p->victim_is_server ? b : a;
        if (cmd != acted) {
            acted = cmd;
            if (cmd == P_RST) {
                struct linger l = {1, 0};
                setsockopt(victim, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
                break;
            }
            if (cmd == P_EOF) shutdown(victim, SHUT_WR);
            if (cmd == P_CORRUPT && p->plain_tcp) {
                /* A QMux record holding a frame of an unknown type (0x40). */
                static const uint8_t bad[] = {0x02, 0x40, 0x40};
                if (write_all(victim, bad, sizeof(bad)) != 0) break;
            } else if (cmd == P_CORRUPT) {
                /* A TLS application_data record whose tag cannot verify. */
                uint8_t bad[5 + 64];
                memset(bad, 0xA5, sizeof(bad));
                bad[0] = 0x17;
                bad[1] = 0x03;
                bad[2] = 0x03;
                bad[3] = 0x00;
                bad[4] = 64;
                if (write_all(victim, bad, sizeof(bad)) != 0) break;
            }
        }
        if (b < 0 || cmd == P_BLACKHOLE) {
            /* Nothing forwarded: only the tested side's end is awaited. What it still sends
             * is read and dropped, so that its FIN is not held behind a full receive buffer
             * (the kernel would end an orphaned socket that cannot send its FIN without
             * telling us). */
            struct pollfd fd = {victim < 0 ? a : victim, POLLIN | POLLRDHUP, 0};
            if (poll(&fd, 1, 10) <= 0) continue;
            if (fd.revents & (POLLRDHUP | POLLHUP | POLLERR)) break;
            if (read(fd.fd, buf, sizeof(buf)) <= 0) break;
            continue;
        }
        struct pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
        if (poll(fds, 2, 10) <= 0) continue;
        for (int i = 0; i < 2; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int from = i == 0 ? a : b, to = i == 0 ? b : a;
            ssize_t r = read(from, buf, sizeof(buf));
            if (r <= 0) goto out;
            if (acted == P_EOF && to == victim) continue;
            /* The client's first flight reaches the server; nothing comes back. */
            if (acted == P_ONEWAY && to == a) continue;
            if (write_all(to, buf, (size_t)r) != 0) goto out;
        }
    }
out:
    close(a);
    if (b >= 0) close(b);
    return NULL;
}

/* ---- the peer: reads nothing, sends a few bytes on each stream ---- */
static uint8_t peer_bytes[1000];
static Counter peer_done;
static HQUIC peer_stream;
static int server_tested;

static QUIC_STATUS QUIC_API PeerStream(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(s);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API PeerConn(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        HQUIC s = ev->PEER_STREAM_STARTED.Stream;
        peer_stream = s;
        api->SetCallbackHandler(s, (void*)PeerStream, NULL);
        api->StreamReceiveSetEnabled(s, FALSE);
        static QUIC_BUFFER b = {sizeof(peer_bytes), peer_bytes};
        api->StreamSend(s, &b, 1, QUIC_SEND_FLAG_NONE, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        /* An accepted connection is closed here; the main thread closes a client. */
        if (!server_tested && !ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(c);
        counter_add(&peer_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* ---- the side under test ---- */
typedef struct {
    uint8_t* mem;
    int completes;
    int canceled;
    int after_final;
} SendRec;

static SendRec sends[SENDS + PUMPS];
static int nsends;
static Counter connected, conn_done, stream_done, received;
static int stream_final; /* SHUTDOWN_COMPLETE raised */
static uint64_t held_len; /* bytes of the RECEIVE held (PENDING) */
static uint8_t* app_recv;  /* app-owned receive buffer */
static int app_owned;
static HQUIC tested_conn, tested_stream;
static int current_case;
static Counter closed_inline; /* the tested connection was closed from its callback */

static QUIC_STATUS QUIC_API TestStream(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    TRACE_STREAM(ev);
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_SEND_COMPLETE: {
        SendRec* r = ev->SEND_COMPLETE.ClientContext;
        if (__atomic_load_n(&stream_final, __ATOMIC_SEQ_CST)) r->after_final++;
        if (r->completes++ == 0) {
            r->canceled = ev->SEND_COMPLETE.Canceled != 0;
            free(r->mem);
        }
        int i = __atomic_fetch_add(&nsends, 1, __ATOMIC_SEQ_CST);
        if (i < SENDS + PUMPS) {
            SendRec* p = &sends[i];
            p->mem = malloc(PUMP_SIZE);
            memset(p->mem, 'p', PUMP_SIZE);
            QUIC_BUFFER b = {PUMP_SIZE, p->mem};
            if (QUIC_FAILED(api->StreamSend(s, &b, 1, QUIC_SEND_FLAG_NONE, p))) {
                p->completes = 1;
                free(p->mem);
            }
        }
        break;
    }
    case QUIC_STREAM_EVENT_START_COMPLETE:
        /* A start the connection's end refused: the stream is closed, which cancels its
         * sends (inside the call, before SHUTDOWN_COMPLETE). */
        if (QUIC_FAILED(ev->START_COMPLETE.Status)) api->StreamClose(s);
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        counter_add(&received, 1);
        held_len += ev->RECEIVE.TotalBufferLength;
        /* Held: completed only once the stream is over. */
        return QUIC_STATUS_PENDING;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        __atomic_store_n(&stream_final, 1, __ATOMIC_SEQ_CST);
        /* A completion that raced with the end (made by another thread, say) is harmless. */
        if (held_len != 0) api->StreamReceiveComplete(s, held_len);
        /* The application's receive memory is its own again. */
        free(app_recv);
        app_recv = NULL;
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->StreamClose(s);
        counter_add(&stream_done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API TestConn(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    TRACE_CONN(ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        tested_conn = c;
        counter_add(&connected, 1);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT &&
        current_case == C_CLOSE_INLINE) {
        /* Both handles closed from inside the callback: every last event inside the calls. */
        api->StreamClose(tested_stream);
        CHECK(counter_get(&stream_done) == 1);
        api->ConnectionClose(c);
        CHECK(counter_get(&conn_done) == 1);
        counter_add(&closed_inline, 1);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&conn_done, 1);
    return QUIC_STATUS_SUCCESS;
}

static HQUIC server_cfg;
static HQUIC open_stream_and_send(HQUIC conn);

static QUIC_STATUS QUIC_API ServerListener(HQUIC l, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)l;
    (void)ctx;
    QUIC_STATUS st = accept_connection(
        api, ev, server_tested ? (void*)TestConn : (void*)PeerConn, NULL, server_cfg);
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION && server_tested &&
        current_case == C_HANDSHAKE) {
        /* A server's stream started before its handshake is done. */
        tested_conn = ev->NEW_CONNECTION.Connection;
        tested_stream = open_stream_and_send(tested_conn);
    }
    return st;
}

static HQUIC open_stream_and_send(HQUIC conn) {
    HQUIC s = NULL;
    QUIC_STREAM_OPEN_FLAGS of = app_owned ? QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS
                                          : QUIC_STREAM_OPEN_FLAG_NONE;
    CHECK(api->StreamOpen(conn, of, TestStream, NULL, &s) == QUIC_STATUS_SUCCESS);
    if (app_owned) {
        app_recv = malloc(APP_RECV);
        QUIC_BUFFER rb = {APP_RECV, app_recv};
        CHECK(api->StreamProvideReceiveBuffers(s, 1, &rb) == QUIC_STATUS_SUCCESS);
    }
    memset(sends, 0, sizeof(sends));
    /* The pump starts once the first sends are made. */
    __atomic_store_n(&nsends, SENDS + PUMPS, __ATOMIC_SEQ_CST);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(s, QUIC_STREAM_START_FLAG_NONE)));
    for (int i = 0; i < SENDS; i++) {
        SendRec* r = &sends[i];
        r->mem = malloc(send_sizes[i]);
        memset(r->mem, 'a' + i, send_sizes[i]);
        QUIC_BUFFER b[2] = {{send_sizes[i], r->mem}, {0, NULL}};
        uint32_t count = 1;
        if (i == 2) {
            b[0].Length = send_sizes[i] / 2;
            b[1].Length = send_sizes[i] - b[0].Length;
            b[1].Buffer = r->mem + b[0].Length;
            count = 2;
        }
        QUIC_STATUS st = api->StreamSend(s, b, count, QUIC_SEND_FLAG_NONE, r);
        CHECK(QUIC_SUCCEEDED(st));
        if (QUIC_FAILED(st)) {
            r->completes = 1;
            free(r->mem);
        }
    }
    __atomic_store_n(&nsends, SENDS, __ATOMIC_SEQ_CST);
    return s;
}

/* A configuration: the tested side's (send buffering, timeouts) or the peer's (a small
 * stream window); a server's with the harness's certificate. */
static HQUIC configuration(HQUIC reg, int server, int tested, int which, int buffering) {
    QUIC_BUFFER alpn = {2, (uint8_t*)"er"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = 4;
    if (tested) {
        s.IsSet.SendBufferingEnabled = TRUE;
        s.SendBufferingEnabled = buffering ? 1 : 0;
        if (which == C_HANDSHAKE) {
            s.IsSet.HandshakeIdleTimeoutMs = TRUE;
            s.HandshakeIdleTimeoutMs = 500;
        }
        if (which == C_IDLE) {
            s.IsSet.IdleTimeoutMs = TRUE;
            s.IdleTimeoutMs = 700;
        }
    } else {
        s.IsSet.StreamRecvWindowDefault = TRUE;
        s.StreamRecvWindowDefault = WINDOW;
    }
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    if (server) {
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
    } else {
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = test_cert();
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static void run_case(int which, int buffering, int server, int plain_tcp) {
    fprintf(stderr, "end_releases: case %s buffering=%d tested=%s%s\n", case_names[which],
            buffering, server ? "server" : "client", plain_tcp ? " tcp" : "");
    qt_log("case", "%s buffering=%d tested=%s%s", case_names[which], buffering,
           server ? "server" : "client", plain_tcp ? " tcp" : "");
    counter_init(&connected);
    counter_init(&conn_done);
    counter_init(&stream_done);
    counter_init(&received);
    counter_init(&peer_done);
    stream_final = 0;
    counter_init(&closed_inline);
    held_len = 0;
    app_owned = !buffering;
    server_tested = server;
    tested_conn = NULL;

    HQUIC sreg = NULL, creg = NULL;
    CHECK(api->RegistrationOpen(NULL, &sreg) == QUIC_STATUS_SUCCESS);
    CHECK(api->RegistrationOpen(NULL, &creg) == QUIC_STATUS_SUCCESS);
    if (plain_tcp) {
        uint32_t transport = QUIC_TRANSPORT_QMUX_TCP;
        CHECK(api->SetParam(sreg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport),
                            &transport) == QUIC_STATUS_SUCCESS);
        CHECK(api->SetParam(creg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport),
                            &transport) == QUIC_STATUS_SUCCESS);
    }
    server_cfg = configuration(sreg, 1, server, which, buffering);
    HQUIC ccfg = configuration(creg, 0, !server, which, buffering);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(sreg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t server_port = start_listener(api, listener, "er");

    current_case = which;
    Proxy proxy = {socket(AF_INET, SOCK_STREAM, 0), server_port, which != C_HANDSHAKE || server,
                   server, which == C_HANDSHAKE ? P_ONEWAY : P_FORWARD, plain_tcp};
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    CHECK(bind(proxy.listen_fd, (struct sockaddr*)&sa, sizeof(sa)) == 0);
    CHECK(listen(proxy.listen_fd, 1) == 0);
    socklen_t sl = sizeof(sa);
    CHECK(getsockname(proxy.listen_fd, (struct sockaddr*)&sa, &sl) == 0);
    pthread_t th;
    pthread_create(&th, NULL, proxy_main, &proxy);

    HQUIC client = NULL;
    CHECK(api->ConnectionOpen(creg, server ? PeerConn : TestConn, NULL, &client) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client, ccfg, QUIC_ADDRESS_FAMILY_INET,
                                              "127.0.0.1", ntohs(sa.sin_port))));
    HQUIC stream = NULL;
    if (which == C_HANDSHAKE && !server) {
        tested_conn = client;
        stream = open_stream_and_send(client);
        tested_stream = stream;
    } else if (which != C_HANDSHAKE) {
        CHECK(counter_wait(&connected, 1, 10000));
        stream = open_stream_and_send(tested_conn);
        tested_stream = stream;
        /* The peer's bytes came back: the data reached it and its window is (nearly) used
         * up. */
        CHECK(counter_wait(&received, 1, 10000));
    }
    HQUIC reg = server ? sreg : creg;

    int closed = 0;
    switch (which) {
    case C_RST:
        __atomic_store_n(&proxy.cmd, P_RST, __ATOMIC_SEQ_CST);
        break;
    case C_CLOSE_INLINE:
        __atomic_store_n(&proxy.cmd, P_RST, __ATOMIC_SEQ_CST);
        /* The callback that closed both handles has returned. */
        CHECK(counter_wait(&closed_inline, 1, 15000));
        closed = 1;
        break;
    case C_EOF:
        __atomic_store_n(&proxy.cmd, P_EOF, __ATOMIC_SEQ_CST);
        break;
    case C_CORRUPT:
        __atomic_store_n(&proxy.cmd, P_CORRUPT, __ATOMIC_SEQ_CST);
        break;
    case C_IDLE:
        __atomic_store_n(&proxy.cmd, P_BLACKHOLE, __ATOMIC_SEQ_CST);
        break;
    case C_HANDSHAKE:
        break;
    case C_SHUTDOWN:
        api->ConnectionShutdown(tested_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x44);
        break;
    case C_ABORT:
        CHECK(QUIC_SUCCEEDED(api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0x33)));
        CHECK(counter_wait(&stream_done, 1, 10000));
        api->ConnectionShutdown(tested_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case C_PEER_ABORT:
        /* The peer aborts both directions (RESET_STREAM and STOP_SENDING). */
        CHECK(QUIC_SUCCEEDED(
            api->StreamShutdown(peer_stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0x66)));
        CHECK(counter_wait(&stream_done, 1, 10000));
        api->ConnectionShutdown(tested_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case C_REGISTRATION:
        api->RegistrationShutdown(reg, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x55);
        break;
    case C_CLOSE:
        api->ConnectionClose(tested_conn);
        closed = 1;
        /* Everything happened inside the call. */
        CHECK(counter_get(&stream_done) == 1);
        CHECK(counter_get(&conn_done) == 1);
        break;
    }
    CHECK(counter_wait(&conn_done, 1, 15000));
    if (!counter_wait(&stream_done, 1, 5000)) {
        CHECK(!"the stream's SHUTDOWN_COMPLETE");
        /* Closed here so that RegistrationClose does not wait for it forever. */
        api->StreamClose(tested_stream);
    }
    int made = __atomic_load_n(&nsends, __ATOMIC_SEQ_CST);
    if (made > SENDS + PUMPS) made = SENDS + PUMPS;
    for (int i = 0; i < made; i++) {
        SendRec* r = &sends[i];
        if (r->completes != 1 || r->after_final != 0) {
            fprintf(stderr, "  send %d: completes=%d after_final=%d canceled=%d\n", i,
                    r->completes, r->after_final, r->canceled);
        }
        CHECK(r->completes == 1);
        CHECK(r->after_final == 0);
    }
    /* The last send (behind megabytes of data and a 64 KiB window) was never written. */
    CHECK(sends[SENDS - 1].canceled);
    if (!closed) api->ConnectionClose(tested_conn);
    if (which != C_HANDSHAKE || server) CHECK(counter_wait(&peer_done, 1, 15000));
    if (server) api->ConnectionClose(client);
    api->ListenerClose(listener);
    api->ConfigurationClose(ccfg);
    api->ConfigurationClose(server_cfg);
    api->RegistrationClose(creg);
    api->RegistrationClose(sreg);
    pthread_join(th, NULL);
    close(proxy.listen_fd);
    counter_destroy(&connected);
    counter_destroy(&conn_done);
    counter_destroy(&stream_done);
    counter_destroy(&received);
    counter_destroy(&peer_done);
    counter_destroy(&closed_inline);
}

int main(int argc, char** argv) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    /* `end_releases CASE` runs one case (both modes, both sides). */
    for (int which = 0; which < CASES; which++) {
        if (argc > 1 && strcmp(argv[1], case_names[which]) != 0) continue;
        for (int server = 0; server <= 1; server++) {
            for (int buffering = 1; buffering >= 0; buffering--) {
                run_case(which, buffering, server, 0);
                /* The hostile peer's cases over QMux/TCP too (a corrupted record is then a
                 * QMux protocol error, answered with CONNECTION_CLOSE). */
                if (which <= C_CORRUPT) run_case(which, buffering, server, 1);
            }
        }
    }
    MsQuicClose(api);
    return finish("end_releases");
}
