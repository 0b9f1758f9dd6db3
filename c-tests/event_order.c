/* The order and set of connection events around the handshake and the close, as MsQuic raises
 * them, over QMux/TLS and QMux/TCP. Every event of a client and of a server connection (and
 * of the client's streams) goes into one log per side.
 * 1. Datagrams and reliable reset enabled on both sides, the server allowing 2 bidirectional
 *    streams; before ConnectionStart the client starts stream S1 (INDICATE_PEER_ACCEPT) and
 *    stream S2 (FAIL_BLOCKED). The client sees: S1 START_COMPLETE (SUCCESS, ID 0, not
 *    accepted), S2 START_COMPLETE (STREAM_LIMIT_REACHED), then RELIABLE_RESET_NEGOTIATED,
 *    S1 PEER_ACCEPTED, STREAMS_AVAILABLE (1 bidirectional left), DATAGRAM_STATE_CHANGED
 *    (enabled), over TLS PEER_CERTIFICATE_RECEIVED (it asks for it), then CONNECTED, as a
 *    MsQuic client does when the server's handshake flight spans packets. The server sees
 *    IDEAL_PROCESSOR_CHANGED (MsQuic moves every accepted connection to its worker), then
 *    RELIABLE_RESET_NEGOTIATED then CONNECTED: no
 *    STREAMS_AVAILABLE or DATAGRAM_STATE_CHANGED (a MsQuic server takes the client's
 *    parameters before it has a handler). The client shuts down with code 7: a stream started
 *    after that (opened before) completes its start with INVALID_STATE; the client sees no SHUTDOWN_INITIATED
 *    event, the server SHUTDOWN_INITIATED_BY_PEER (7) then SHUTDOWN_COMPLETE.
 * 2. Datagrams disabled by the server, no reliable reset: the client sees STREAMS_AVAILABLE,
 *    DATAGRAM_STATE_CHANGED (disabled, 0), CONNECTED; the server only IDEAL_PROCESSOR_CHANGED
 *    and CONNECTED. The server
 *    shuts down with code 9: the client sees SHUTDOWN_INITIATED_BY_PEER (9), SHUTDOWN_COMPLETE;
 *    a StreamStart after that returns ABORTED.
 * 3. A server allowing no stream: the client sees DATAGRAM_STATE_CHANGED then CONNECTED.
 * 4. RegistrationShutdown with a connection that was never started: it gets no event; its
 *    ConnectionClose then delivers its only event, SHUTDOWN_COMPLETE with AppCloseInProgress.
 *    Another one started after the shutdown gets only SHUTDOWN_COMPLETE.
 * 5. Datagrams queued and a shutdown in the client's CONNECTED callback: the stream's
 *    SHUTDOWN_COMPLETE, then the datagrams' CANCELED, then the connection's SHUTDOWN_COMPLETE
 *    (MsQuic shuts streams down, then cancels datagrams). */

#include "support/qmux_test.h"

#define MAX_LOG 64
/* A log entry: `who` is 'C' for the connection, '1'/'2'/'3' for the client's streams. */
typedef struct {
    char who;
    int type;
    uint64_t a, b, c;
} Entry;

typedef struct {
    pthread_mutex_t lock;
    Entry e[MAX_LOG];
    int n;
    Counter connected;
    Counter done;
    Counter starts;
    HQUIC conn;
} Log;

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static Log client_log, server_log;
static int over_tls; /* clients ask for PEER_CERTIFICATE_RECEIVED (TLS only) */
static int close_in_connected; /* the client sends datagrams and shuts down in CONNECTED */

static void log_init(Log* l) {
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    counter_init(&l->connected);
    counter_init(&l->done);
    counter_init(&l->starts);
}

static void log_destroy(Log* l) {
    pthread_mutex_destroy(&l->lock);
    counter_destroy(&l->connected);
    counter_destroy(&l->done);
    counter_destroy(&l->starts);
}

static void log_add(Log* l, char who, int type, uint64_t a, uint64_t b, uint64_t c) {
    pthread_mutex_lock(&l->lock);
    if (l->n < MAX_LOG) l->e[l->n++] = (Entry){who, type, a, b, c};
    pthread_mutex_unlock(&l->lock);
}

static void log_print(const char* name, Log* l) {
    fprintf(stderr, "%s:", name);
    for (int i = 0; i < l->n; i++) fprintf(stderr, " %c%d", l->e[i].who, l->e[i].type);
    fprintf(stderr, "\n");
}

/* The connection events of `l` from index `from`, their types only. */
static int conn_types(Log* l, int from, int* out, int max) {
    int k = 0;
    for (int i = from; i < l->n && k < max; i++)
        if (l->e[i].who == 'C') out[k++] = l->e[i].type;
    return k;
}

static int index_of(Log* l, char who, int type) {
    for (int i = 0; i < l->n; i++)
        if (l->e[i].who == who && l->e[i].type == type) return i;
    return -1;
}

static QUIC_STATUS QUIC_API StreamCallback(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    char who = (char)(uintptr_t)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_START_COMPLETE) {
        log_add(&client_log, who, ev->Type, ev->START_COMPLETE.Status, ev->START_COMPLETE.ID,
                ev->START_COMPLETE.PeerAccepted);
        counter_add(&client_log.starts, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_ACCEPTED) {
        log_add(&client_log, who, ev->Type, 0, 0, 0);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        if (who != 'P') log_add(&client_log, who, ev->Type, 0, 0, 0);
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ConnCallback(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Log* l = ctx;
    uint64_t a = 0, b = 0;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE:
        a = ev->STREAMS_AVAILABLE.BidirectionalCount;
        b = ev->STREAMS_AVAILABLE.UnidirectionalCount;
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED:
        a = ev->DATAGRAM_STATE_CHANGED.SendEnabled;
        b = ev->DATAGRAM_STATE_CHANGED.MaxSendLength;
        break;
    case QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED:
        a = ev->RELIABLE_RESET_NEGOTIATED.IsNegotiated;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        a = ev->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        a = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        a = ev->SHUTDOWN_COMPLETE.AppCloseInProgress;
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED:
        a = (uint64_t)ev->DATAGRAM_SEND_STATE_CHANGED.State;
        break;
    case QUIC_CONNECTION_EVENT_CONNECTED:
        if (l == &client_log && close_in_connected) {
            /* Queued in the engine, then canceled by the shutdown. */
            static QUIC_BUFFER d = {4, (uint8_t*)"dgrm"};
            for (int i = 0; i < 3; i++)
                CHECK(api->DatagramSend(conn, &d, 1, QUIC_SEND_FLAG_NONE, NULL) ==
                      QUIC_STATUS_PENDING);
            api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 5);
        }
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)StreamCallback,
                           (void*)(uintptr_t)'P');
        break;
    default:
        break;
    }
    log_add(l, 'C', ev->Type, a, b, 0);
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&l->connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        if (!ev->SHUTDOWN_COMPLETE.AppCloseInProgress) api->ConnectionClose(conn);
        counter_add(&l->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) server_log.conn = ev->NEW_CONNECTION.Connection;
    return accept_connection(api, ev, (void*)ConnCallback, &server_log, server_config);
}

static HQUIC configuration(HQUIC reg, int server, int bidi, int datagrams, int reliable) {
    QUIC_BUFFER alpn = {2, (uint8_t*)"eo"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = (uint16_t)bidi;
    s.IsSet.PeerUnidiStreamCount = TRUE;
    s.PeerUnidiStreamCount = 0;
    s.IsSet.DatagramReceiveEnabled = TRUE;
    s.DatagramReceiveEnabled = (uint8_t)datagrams;
    s.IsSet.ReliableResetEnabled = TRUE;
    s.ReliableResetEnabled = (uint8_t)reliable;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    if (server) {
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
    } else {
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        if (over_tls) cred.Flags |= QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED;
        cred.CaCertificateFile = test_cert();
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static HQUIC start_stream(HQUIC conn, char who, QUIC_STREAM_START_FLAGS flags) {
    HQUIC s = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, (void*)(uintptr_t)who,
                          &s) == QUIC_STATUS_SUCCESS);
    CHECK(api->StreamStart(s, flags) == QUIC_STATUS_PENDING);
    return s;
}

#define EXPECT_SEQ(name, log, from, ...)                                                    \
    do {                                                                                    \
        int want_[] = {__VA_ARGS__};                                                        \
        int got_[MAX_LOG];                                                                  \
        int n_ = conn_types(log, from, got_, MAX_LOG);                                      \
        int w_ = (int)(sizeof(want_) / sizeof(want_[0]));                                   \
        while (w_ > 0 && want_[w_ - 1] == -1) w_--;                                         \
        int ok_ = n_ == w_;                                                                 \
        for (int i_ = 0; ok_ && i_ < n_; i_++) ok_ = got_[i_] == want_[i_];                 \
        if (!ok_) log_print(name, log);                                                     \
        CHECK(ok_);                                                                         \
    } while (0)

static void case_enabled(HQUIC reg, uint16_t port) {
    log_init(&client_log);
    log_init(&server_log);
    /* The client allows the server a stream: still no STREAMS_AVAILABLE on the server. */
    HQUIC client_config = configuration(reg, 0, 1, 1, 1);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_log, &conn) == QUIC_STATUS_SUCCESS);
    start_stream(conn, '1', QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT);
    HQUIC s2 = start_stream(conn, '2', QUIC_STREAM_START_FLAG_FAIL_BLOCKED);
    CHECK(counter_wait(&client_log.starts, 2, 5000));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_log.connected, 1, 10000));
    CHECK(counter_wait(&server_log.connected, 1, 10000));

    /* The two starts, before any connection event. */
    CHECK(client_log.e[0].who == '1' && client_log.e[0].type == QUIC_STREAM_EVENT_START_COMPLETE);
    CHECK(client_log.e[0].a == QUIC_STATUS_SUCCESS && client_log.e[0].b == 0 &&
          client_log.e[0].c == 0);
    CHECK(client_log.e[1].who == '2' && client_log.e[1].type == QUIC_STREAM_EVENT_START_COMPLETE);
    CHECK(client_log.e[1].a == QUIC_STATUS_STREAM_LIMIT_REACHED);
    if (over_tls) {
        EXPECT_SEQ("client", &client_log, 0, QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED,
                   QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE,
                   QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED,
                   QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED,
                   QUIC_CONNECTION_EVENT_CONNECTED);
    } else {
        EXPECT_SEQ("client", &client_log, 0, QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED,
                   QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE,
                   QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED, QUIC_CONNECTION_EVENT_CONNECTED);
    }
    int rr = index_of(&client_log, 'C', QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED);
    int pa = index_of(&client_log, '1', QUIC_STREAM_EVENT_PEER_ACCEPTED);
    int sa = index_of(&client_log, 'C', QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE);
    int dg = index_of(&client_log, 'C', QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED);
    CHECK(rr >= 0 && client_log.e[rr].a == 1);
    CHECK(pa > rr && sa > pa);
    CHECK(sa >= 0 && client_log.e[sa].a == 1 && client_log.e[sa].b == 0);
    CHECK(dg >= 0 && client_log.e[dg].a == 1 && client_log.e[dg].b > 0 &&
          client_log.e[dg].b < 65535);
    /* A server connection's first event is IDEAL_PROCESSOR_CHANGED, as in MsQuic. */
    EXPECT_SEQ("server", &server_log, 0, QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED,
               QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED, QUIC_CONNECTION_EVENT_CONNECTED);

    int client_mark = client_log.n;
    HQUIC s3h = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, (void*)(uintptr_t)'3',
                          &s3h) == QUIC_STATUS_SUCCESS);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 7);
    CHECK(api->StreamStart(s3h, QUIC_STREAM_START_FLAG_NONE) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&client_log.done, 1, 10000));
    CHECK(counter_wait(&server_log.done, 1, 10000));
    CHECK(counter_wait(&client_log.starts, 3, 5000));
    int s3 = index_of(&client_log, '3', QUIC_STREAM_EVENT_START_COMPLETE);
    CHECK(s3 >= 0 && client_log.e[s3].a == QUIC_STATUS_INVALID_STATE);
    EXPECT_SEQ("client", &client_log, client_mark, QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE);
    EXPECT_SEQ("server", &server_log, 0, QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED,
               QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED, QUIC_CONNECTION_EVENT_CONNECTED,
               QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER,
               QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE);
    int bp = index_of(&server_log, 'C', QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER);
    CHECK(bp >= 0 && server_log.e[bp].a == 7);
    api->StreamClose(s2);
    api->StreamClose(s3h);
    api->ConfigurationClose(client_config);
    log_destroy(&client_log);
    log_destroy(&server_log);
}

/* Case 5: datagrams queued and a shutdown in the client's CONNECTED: the stream's
 * SHUTDOWN_COMPLETE, then the datagrams' CANCELED, then the connection's SHUTDOWN_COMPLETE. */
static void case_datagrams_canceled(HQUIC reg, uint16_t port) {
    log_init(&client_log);
    log_init(&server_log);
    HQUIC client_config = configuration(reg, 0, 0, 1, 0);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_log, &conn) == QUIC_STATUS_SUCCESS);
    start_stream(conn, '5', QUIC_STREAM_START_FLAG_NONE);
    CHECK(counter_wait(&client_log.starts, 1, 5000));
    close_in_connected = 1;
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_log.done, 1, 10000));
    CHECK(counter_wait(&server_log.done, 1, 10000));
    close_in_connected = 0;
    int stream_done = index_of(&client_log, '5', QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE);
    int first_cancel = -1, cancels = 0;
    for (int i = 0; i < client_log.n; i++) {
        if (client_log.e[i].who == 'C' &&
            client_log.e[i].type == QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED &&
            client_log.e[i].a == QUIC_DATAGRAM_SEND_CANCELED) {
            if (first_cancel < 0) first_cancel = i;
            cancels++;
        }
    }
    int conn_done = index_of(&client_log, 'C', QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE);
    if (!(stream_done >= 0 && cancels == 3 && first_cancel > stream_done && conn_done > first_cancel))
        log_print("client", &client_log);
    CHECK(cancels == 3);
    CHECK(stream_done >= 0 && first_cancel > stream_done && conn_done > first_cancel);
    api->ConfigurationClose(client_config);
    log_destroy(&client_log);
    log_destroy(&server_log);
}

/* Cases 2 and 3 (the server's configuration allows `server_bidi` streams, no datagrams); the
 * server ends the connection with code 9. */
static void case_plain(HQUIC reg, uint16_t port, int server_bidi) {
    log_init(&client_log);
    log_init(&server_log);
    HQUIC client_config = configuration(reg, 0, 0, 0, 0);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_log, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_log.connected, 1, 10000));
    CHECK(counter_wait(&server_log.connected, 1, 10000));
    const int CERT = QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED;
    const int CONN = QUIC_CONNECTION_EVENT_CONNECTED;
    if (server_bidi > 0) {
        EXPECT_SEQ("client", &client_log, 0, QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE,
                   QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED, over_tls ? CERT : CONN,
                   over_tls ? CONN : -1);
    } else {
        EXPECT_SEQ("client", &client_log, 0, QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED,
                   over_tls ? CERT : CONN, over_tls ? CONN : -1);
    }
    int dg = index_of(&client_log, 'C', QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED);
    CHECK(dg >= 0 && client_log.e[dg].a == 0 && client_log.e[dg].b == 0);
    EXPECT_SEQ("server", &server_log, 0, QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED,
               QUIC_CONNECTION_EVENT_CONNECTED);
    int mark = client_log.n;
    HQUIC late = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, (void*)(uintptr_t)'4',
                          &late) == QUIC_STATUS_SUCCESS);
    api->ConnectionShutdown(server_log.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 9);
    CHECK(counter_wait(&client_log.done, 1, 10000));
    CHECK(counter_wait(&server_log.done, 1, 10000));
    /* Once the peer closed the connection, StreamStart is refused at the call. */
    CHECK(api->StreamStart(late, QUIC_STREAM_START_FLAG_NONE) == QUIC_STATUS_ABORTED);
    api->StreamClose(late);
    EXPECT_SEQ("client", &client_log, mark, QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER,
               QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE);
    CHECK(client_log.e[mark].a == 9);
    EXPECT_SEQ("server", &server_log, 0, QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED,
               QUIC_CONNECTION_EVENT_CONNECTED, QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE);
    api->ConfigurationClose(client_config);
    log_destroy(&client_log);
    log_destroy(&server_log);
}

static void case_registration_shutdown(void) {
    log_init(&client_log);
    log_init(&server_log);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC cfg = configuration(reg, 0, 0, 0, 0);
    HQUIC conn = NULL, later = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_log, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(api->ConnectionOpen(reg, ConnCallback, &server_log, &later) == QUIC_STATUS_SUCCESS);
    api->RegistrationShutdown(reg, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 3);
    /* ConnectionClose runs after the shutdown on the connection's worker. */
    api->ConnectionClose(conn);
    EXPECT_SEQ("unstarted", &client_log, 0, QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE);
    CHECK(client_log.n == 1 && client_log.e[0].a == 1);
    /* Started after the registration's shutdown: shut down at once, silently. */
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(later, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", 9)));
    CHECK(counter_wait(&server_log.done, 1, 5000));
    EXPECT_SEQ("started late", &server_log, 0, QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE);
    api->ConfigurationClose(cfg);
    api->RegistrationClose(reg);
    log_destroy(&client_log);
    log_destroy(&server_log);
}

static void run_transport(int tcp) {
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    over_tls = !tcp;
    if (tcp) {
        uint32_t transport = QUIC_TRANSPORT_QMUX_TCP;
        CHECK(api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport),
                            &transport) == QUIC_STATUS_SUCCESS);
    }
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "eo");

    server_config = configuration(reg, 1, 2, 1, 1);
    case_enabled(reg, port);
    api->ConfigurationClose(server_config);

    server_config = configuration(reg, 1, 2, 1, 0);
    case_datagrams_canceled(reg, port);
    api->ConfigurationClose(server_config);

    server_config = configuration(reg, 1, 2, 0, 0);
    case_plain(reg, port, 2);
    api->ConfigurationClose(server_config);

    server_config = configuration(reg, 1, 0, 0, 0);
    case_plain(reg, port, 0);
    api->ConfigurationClose(server_config);

    api->ListenerClose(listener);
    api->RegistrationClose(reg);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    run_transport(0);
    run_transport(1);
    over_tls = 0;
    case_registration_shutdown();
    MsQuicClose(api);
    return finish("event_order");
}
