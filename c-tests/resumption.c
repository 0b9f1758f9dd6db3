/* TLS resumption over QMux/TLS with the harness's certificate:
 * 1. A server configuration with ServerResumptionLevel RESUME_ONLY sends a ticket when the
 *    application calls ConnectionSendResumptionTicket after CONNECTED (none before: the
 *    client raises RESUMPTION_TICKET_RECEIVED only for those); before CONNECTED it is
 *    INVALID_STATE, with NO_RESUME (the default) always INVALID_STATE, and once a FINAL
 *    ticket's (queued) call has run INVALID_STATE; bad arguments and a client handle are
 *    INVALID_PARAMETER.
 * 2. A client given the blob (QUIC_PARAM_CONN_RESUMPTION_TICKET before ConnectionStart)
 *    gets STREAMS_AVAILABLE for the server's remembered limits inside SetParam (a stream
 *    started before the handshake within them is PeerAccepted at START_COMPLETE), and resumes: the server raises RESUMED with the ticket's data before CONNECTED, and both
 *    CONNECTED events say SessionResumed.
 * 3. Another configuration with the same QUIC_PARAM_CONFIGURATION_TICKET_KEYS resumes the
 *    ticket, also in another process (a forked server); one with its own key does not (a
 *    full handshake, no RESUMED), nor one whose limits are now below those the ticket
 *    remembers (MsQuic refuses such a ticket: full handshake, no RESUMED).
 * 4. RESUMED answered with a failure refuses the ticket (full handshake); answered PENDING,
 *    ConnectionResumptionTicketValidationComplete (PENDING) decides: TRUE resumes, FALSE
 *    does not; after CONNECTED it is INVALID_STATE, on a client INVALID_PARAMETER; left
 *    unanswered, the server's handshake idle timeout ends the connection (CONNECTION_IDLE).
 * 5. Parameter checks: CONN_RESUMPTION_TICKET empty, NULL or not a ticket is
 *    INVALID_PARAMETER, after start or on a server INVALID_STATE; CONFIGURATION_TICKET_KEYS
 *    short or NULL is INVALID_PARAMETER, on a client configuration NOT_SUPPORTED, before
 *    credentials INVALID_STATE. */
#include "support/qmux_test.h"

#include <sys/wait.h>
#include <unistd.h>

#define ALPN "resume"
#define APP_DATA "app resumption state"

static const QUIC_API_TABLE* api;

enum Mode {
    SHARED_A, SHARED_B, OWN_KEY, NO_RESUME, LOWER, SLOW, REFUSE, PENDING_YES, PENDING_NO
};
static HQUIC configs[SLOW + 1];

typedef struct {
    int mode;
    int resumed_events;     /* RESUMED raised */
    int resumed_before_connected;
    uint8_t state[64];
    uint16_t state_len;
    int session_resumed;
    QUIC_STATUS early_send, sends[4], client_handle_send, late_complete, transport_status;
    HQUIC conn;
    Counter connected, resumed, done;
} ServerSide;

typedef struct {
    int session_resumed;
    uint8_t tickets[4][4096];
    uint32_t ticket_len[4];
    int streams_available; /* STREAMS_AVAILABLE raised */
    Counter connected, tickets_received, done;
} ClientSide;

static ServerSide server;
static ClientSide client;
static HQUIC client_conn;
static int stats_resumed; /* the client's ResumptionSucceeded statistic at its end */

/* Streams started before ConnectionStart (see connect_to): START_COMPLETE's PeerAccepted
 * (-1: not raised) and PEER_ACCEPTED events, by stream. */
static int streams_before_start;
typedef struct {
    int accepted_at_start, peer_accepted_events;
} EarlyStream;
static EarlyStream early[2];

static QUIC_STATUS QUIC_API EarlyStreamEvent(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    EarlyStream* s = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_START_COMPLETE)
        s->accepted_at_start = ev->START_COMPLETE.PeerAccepted;
    if (ev->Type == QUIC_STREAM_EVENT_PEER_ACCEPTED) s->peer_accepted_events++;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(stream);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    TRACE_CONN(ev);
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_RESUMED:
        server.resumed_events++;
        server.resumed_before_connected = counter_get(&server.connected) == 0;
        server.state_len = ev->RESUMED.ResumptionStateLength;
        if (server.state_len <= sizeof(server.state) && ev->RESUMED.ResumptionState != NULL)
            memcpy(server.state, ev->RESUMED.ResumptionState, server.state_len);
        counter_add(&server.resumed, 1);
        if (server.mode == REFUSE) return QUIC_STATUS_ABORTED;
        if (server.mode == PENDING_YES || server.mode == PENDING_NO || server.mode == SLOW)
            return QUIC_STATUS_PENDING;
        return QUIC_STATUS_SUCCESS;
    case QUIC_CONNECTION_EVENT_CONNECTED:
        server.session_resumed = ev->CONNECTED.SessionResumed;
        server.sends[0] = api->ConnectionSendResumptionTicket(
            conn, QUIC_SEND_RESUMPTION_FLAG_NONE, (uint16_t)strlen(APP_DATA),
            (const uint8_t*)APP_DATA);
        server.sends[1] = api->ConnectionSendResumptionTicket(
            conn, QUIC_SEND_RESUMPTION_FLAG_FINAL, 0, NULL);
        server.sends[2] = api->ConnectionSendResumptionTicket(
            conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
        server.late_complete = api->ConnectionResumptionTicketValidationComplete(conn, TRUE);
        counter_add(&server.connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        server.transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&server.done, 1);
        api->ConnectionClose(conn);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    TRACE_LISTENER(ev);
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    HQUIC conn = ev->NEW_CONNECTION.Connection;
    server.conn = conn;
    int m = server.mode;
    HQUIC config = configs[m == SHARED_B ? SHARED_B
                           : m == OWN_KEY ? OWN_KEY
                           : m == NO_RESUME ? NO_RESUME
                           : m == LOWER     ? LOWER
                           : m == SLOW      ? SLOW
                                            : SHARED_A];
    uint8_t blob[4] = {1, 2, 3, 4};
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_RESUMPTION_TICKET, sizeof(blob), blob) ==
          QUIC_STATUS_INVALID_STATE);
    QUIC_STATUS status = accept_connection(api, ev, (void*)ServerConnection, NULL, config);
    server.early_send = api->ConnectionSendResumptionTicket(
        conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
    return status;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    TRACE_CONN(ev);
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        client.session_resumed = ev->CONNECTED.SessionResumed;
        server.client_handle_send = api->ConnectionSendResumptionTicket(
            conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
        counter_add(&client.connected, 1);
        break;
    case QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE:
        client.streams_available++;
        break;
    case QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED: {
        int n = counter_get(&client.tickets_received);
        if (n < 4 && ev->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength <= 4096) {
            memcpy(client.tickets[n], ev->RESUMPTION_TICKET_RECEIVED.ResumptionTicket,
                   ev->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength);
            client.ticket_len[n] = ev->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength;
        }
        counter_add(&client.tickets_received, 1);
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&client.done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void reset(int m) {
    counter_destroy(&server.connected);
    counter_destroy(&server.resumed);
    counter_destroy(&server.done);
    counter_destroy(&client.connected);
    counter_destroy(&client.tickets_received);
    counter_destroy(&client.done);
    memset(&server, 0, sizeof(server));
    memset(&client, 0, sizeof(client));
    server.mode = m;
    counter_init(&server.connected);
    counter_init(&server.resumed);
    counter_init(&server.done);
    counter_init(&client.connected);
    counter_init(&client.tickets_received);
    counter_init(&client.done);
}

/* Connects with `ticket` (NULL: none) to a server in mode `m`, up to CONNECTED on both. */
static void connect_to(HQUIC reg, HQUIC client_config, uint16_t port, int m,
                       const uint8_t* ticket, uint32_t ticket_len) {
    reset(m);
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &client_conn) == QUIC_STATUS_SUCCESS);
    if (ticket != NULL) {
        CHECK(api->SetParam(client_conn, QUIC_PARAM_CONN_RESUMPTION_TICKET, ticket_len,
                            ticket) == QUIC_STATUS_SUCCESS);
        /* The ticket's remembered limits are reported at once, as MsQuic does. */
        CHECK(client.streams_available == 1);
    }
    for (int i = 0; i < streams_before_start; i++) {
        early[i].accepted_at_start = -1;
        early[i].peer_accepted_events = 0;
        HQUIC s = NULL;
        CHECK(api->StreamOpen(client_conn, QUIC_STREAM_OPEN_FLAG_NONE, EarlyStreamEvent,
                              &early[i], &s) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->StreamStart(s, QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT)));
    }
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client_conn, client_config,
                                              QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    if (ticket != NULL)
        CHECK(api->SetParam(client_conn, QUIC_PARAM_CONN_RESUMPTION_TICKET, ticket_len,
                            ticket) == QUIC_STATUS_INVALID_STATE);
    if (m == PENDING_YES || m == PENDING_NO) {
        CHECK(counter_wait(&server.resumed, 1, 10000));
        CHECK(api->ConnectionResumptionTicketValidationComplete(client_conn, TRUE) ==
              QUIC_STATUS_INVALID_PARAMETER);
        CHECK(api->ConnectionResumptionTicketValidationComplete(
                  server.conn, m == PENDING_YES) == QUIC_STATUS_PENDING);
    }
    CHECK(counter_wait(&client.connected, 1, 10000));
    CHECK(counter_wait(&server.connected, 1, 10000));
}

/* Waits for the server's three tickets (sent in its CONNECTED), then shuts down. */
static void disconnect(int tickets) {
    CHECK(counter_wait(&client.tickets_received, tickets, 10000));
    api->ConnectionShutdown(client_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client.done, 1, 10000));
    CHECK(counter_wait(&server.done, 1, 10000));
    QUIC_STATISTICS_V2 stats;
    uint32_t stats_len = sizeof(stats);
    CHECK(api->GetParam(client_conn, QUIC_PARAM_CONN_STATISTICS_V2, &stats_len, &stats) ==
          QUIC_STATUS_SUCCESS);
    stats_resumed = stats.ResumptionSucceeded;
    api->ConnectionClose(client_conn);
}

static HQUIC resuming_config(HQUIC reg, int level, const QUIC_TICKET_KEY_CONFIG* key,
                             uint16_t bidi, uint64_t handshake_ms) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.PeerBidiStreamCount = TRUE;
    s.PeerBidiStreamCount = bidi;
    if (handshake_ms != 0) {
        s.IsSet.HandshakeIdleTimeoutMs = TRUE;
        s.HandshakeIdleTimeoutMs = handshake_ms;
    }
    if (level != 0) {
        s.IsSet.ServerResumptionLevel = TRUE;
        s.ServerResumptionLevel = (uint8_t)level;
    }
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    if (key != NULL)
        CHECK(api->SetParam(cfg, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(*key), key) ==
              QUIC_STATUS_INVALID_STATE);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    if (key != NULL) {
        CHECK(api->SetParam(cfg, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(*key) - 1, key) ==
              QUIC_STATUS_INVALID_PARAMETER);
        CHECK(api->SetParam(cfg, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(*key), NULL) ==
              QUIC_STATUS_INVALID_PARAMETER);
        CHECK(api->SetParam(cfg, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(*key), key) ==
              QUIC_STATUS_SUCCESS);
    }
    return cfg;
}

static void shared_key(QUIC_TICKET_KEY_CONFIG* key) {
    memset(key, 0, sizeof(*key));
    for (int i = 0; i < 16; i++) key->Id[i] = (uint8_t)(0x40 + i);
    for (int i = 0; i < 64; i++) key->Material[i] = (uint8_t)(i * 7 + 1);
    key->MaterialLength = 64;
}

/* The forked server: the shared key, one connection; its port goes up the pipe, and it exits
 * 0 if that connection was resumed with the data of the parent's ticket. */
static int run_other_process(int to_parent, int from_parent) {
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    QUIC_TICKET_KEY_CONFIG key;
    shared_key(&key);
    configs[SHARED_A] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 1, 0);
    reset(SHARED_A);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    CHECK(write(to_parent, &port, sizeof(port)) == (ssize_t)sizeof(port));
    CHECK(counter_wait(&server.done, 1, 20000));
    CHECK(server.resumed_events == 1 && server.session_resumed);
    CHECK(server.state_len == strlen(APP_DATA) &&
          memcmp(server.state, APP_DATA, server.state_len) == 0);
    char end;
    (void)read(from_parent, &end, 1);
    api->ListenerClose(listener);
    api->ConfigurationClose(configs[SHARED_A]);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return failures == 0 ? 0 : 1;
}

int main(void) {
    if (!have_test_cert()) return 1;
    /* The other process is forked before this one has any thread. */
    int up[2], down[2];
    CHECK(pipe(up) == 0 && pipe(down) == 0);
    pid_t child = fork();
    if (child == 0) {
        close(up[0]);
        close(down[1]);
        counter_init(&server.connected);
        counter_init(&server.resumed);
        counter_init(&server.done);
        counter_init(&client.connected);
        counter_init(&client.tickets_received);
        counter_init(&client.done);
        return run_other_process(up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    QUIC_TICKET_KEY_CONFIG key;
    shared_key(&key);
    configs[SHARED_A] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 1, 0);
    configs[SHARED_B] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 1, 0);
    configs[OWN_KEY] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, NULL, 1, 0);
    configs[NO_RESUME] = resuming_config(reg, 0, NULL, 1, 0);
    configs[LOWER] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 0, 0);
    configs[SLOW] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 1, 500);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    CHECK(api->SetParam(client_config, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(key),
                        &key) == QUIC_STATUS_NOT_SUPPORTED);

    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    counter_init(&server.connected);
    counter_init(&server.resumed);
    counter_init(&server.done);
    counter_init(&client.connected);
    counter_init(&client.tickets_received);
    counter_init(&client.done);

    /* 5. The client parameter's checks. */
    HQUIC c = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &c) == QUIC_STATUS_SUCCESS);
    uint8_t junk[16] = {0};
    CHECK(api->SetParam(c, QUIC_PARAM_CONN_RESUMPTION_TICKET, 0, junk) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(c, QUIC_PARAM_CONN_RESUMPTION_TICKET, sizeof(junk), NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(c, QUIC_PARAM_CONN_RESUMPTION_TICKET, sizeof(junk), junk) ==
          QUIC_STATUS_INVALID_PARAMETER);
    uint8_t data[1001] = {0};
    CHECK(api->ConnectionSendResumptionTicket(c, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionResumptionTicketValidationComplete(c, TRUE) ==
          QUIC_STATUS_INVALID_PARAMETER);
    api->ConnectionClose(c);

    /* 1. The first connection: tickets on demand. */
    connect_to(reg, client_config, port, SHARED_A, NULL, 0);
    CHECK(server.early_send == QUIC_STATUS_INVALID_STATE);
    CHECK(api->ConnectionSendResumptionTicket(server.conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 1001,
                                              data) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionSendResumptionTicket(server.conn, 2, 0, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionSendResumptionTicket(server.conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 1,
                                              NULL) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(server.client_handle_send == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(server.sends[0] == QUIC_STATUS_SUCCESS);
    CHECK(server.sends[1] == QUIC_STATUS_SUCCESS);
    /* FINAL takes effect when the queued call runs: the call after it in the same callback
     * still sends, later ones are refused. */
    CHECK(server.sends[2] == QUIC_STATUS_SUCCESS);
    CHECK(server.late_complete == QUIC_STATUS_INVALID_STATE);
    CHECK(server.resumed_events == 0);
    CHECK(!server.session_resumed && !client.session_resumed);
    CHECK(counter_wait(&client.tickets_received, 3, 10000));
    CHECK(api->ConnectionSendResumptionTicket(server.conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 0,
                                              NULL) == QUIC_STATUS_INVALID_STATE);
    static uint8_t ticket[4096], empty_ticket[4096];
    uint32_t ticket_len = client.ticket_len[0], empty_len = client.ticket_len[1];
    CHECK(ticket_len > 0 && empty_len > 0);
    memcpy(ticket, client.tickets[0], ticket_len);
    memcpy(empty_ticket, client.tickets[1], empty_len);
    disconnect(3);
    CHECK(counter_get(&client.tickets_received) == 3);

    /* 2. Resumed, with the data; counted, and in the statistics after CONNECTED. */
    uint64_t counters[QUIC_PERF_COUNTER_MAX];
    uint32_t counters_len = sizeof(counters);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &counters_len, counters) ==
          QUIC_STATUS_SUCCESS);
    uint64_t resumed_before = counters[QUIC_PERF_COUNTER_CONN_RESUMED];
    streams_before_start = 2;
    connect_to(reg, client_config, port, SHARED_A, ticket, ticket_len);
    streams_before_start = 0;
    CHECK(server.resumed_events == 1 && server.resumed_before_connected);
    /* Streams started before the handshake: MsQuic's limits are the ticket's (one
     * bidirectional stream), so the first is accepted at START_COMPLETE (no PEER_ACCEPTED
     * later) and the second is blocked (the server still allows one). */
    CHECK(early[0].accepted_at_start == 1 && early[0].peer_accepted_events == 0);
    CHECK(early[1].accepted_at_start == 0 && early[1].peer_accepted_events == 0);
    CHECK(server.state_len == strlen(APP_DATA) &&
          memcmp(server.state, APP_DATA, server.state_len) == 0);
    CHECK(server.session_resumed && client.session_resumed);
    disconnect(3);
    CHECK(stats_resumed == 1);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &counters_len, counters) ==
          QUIC_STATUS_SUCCESS);
    CHECK(counters[QUIC_PERF_COUNTER_CONN_RESUMED] == resumed_before + 2);

    /* 3. Another configuration with the same key; then one with its own. */
    connect_to(reg, client_config, port, SHARED_B, empty_ticket, empty_len);
    CHECK(server.resumed_events == 1 && server.state_len == 0);
    CHECK(server.session_resumed && client.session_resumed);
    disconnect(3);
    uint16_t other_port = 0;
    CHECK(read(up[0], &other_port, sizeof(other_port)) == (ssize_t)sizeof(other_port));
    reset(SHARED_A);
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &client_conn) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(client_conn, QUIC_PARAM_CONN_RESUMPTION_TICKET, ticket_len, ticket) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client_conn, client_config,
                                              QUIC_ADDRESS_FAMILY_INET, "localhost", other_port)));
    CHECK(counter_wait(&client.connected, 1, 10000));
    CHECK(client.session_resumed);
    CHECK(counter_wait(&client.tickets_received, 3, 10000));
    api->ConnectionShutdown(client_conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client.done, 1, 10000));
    api->ConnectionClose(client_conn);
    close(down[1]);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    connect_to(reg, client_config, port, OWN_KEY, ticket, ticket_len);
    CHECK(server.resumed_events == 0);
    CHECK(!server.session_resumed && !client.session_resumed);
    disconnect(3);
    CHECK(stats_resumed == 0);

    /* 3. The same key, but a server that now allows fewer streams than the ticket
     * remembers: refused without RESUMED, as MsQuic. */
    connect_to(reg, client_config, port, LOWER, ticket, ticket_len);
    CHECK(server.resumed_events == 0);
    CHECK(!server.session_resumed && !client.session_resumed);
    disconnect(3);

    /* 1. NO_RESUME: no tickets. */
    connect_to(reg, client_config, port, NO_RESUME, NULL, 0);
    CHECK(server.sends[0] == QUIC_STATUS_INVALID_STATE);
    CHECK(server.sends[1] == QUIC_STATUS_INVALID_STATE);
    disconnect(0);
    CHECK(counter_get(&client.tickets_received) == 0);

    /* 4. Refused, then decided later. */
    connect_to(reg, client_config, port, REFUSE, ticket, ticket_len);
    CHECK(server.resumed_events == 1);
    CHECK(!server.session_resumed && !client.session_resumed);
    disconnect(3);
    connect_to(reg, client_config, port, PENDING_YES, ticket, ticket_len);
    CHECK(server.resumed_events == 1);
    CHECK(server.session_resumed && client.session_resumed);
    disconnect(3);
    connect_to(reg, client_config, port, PENDING_NO, ticket, ticket_len);
    CHECK(server.resumed_events == 1);
    CHECK(!server.session_resumed && !client.session_resumed);
    disconnect(3);

    /* 4. PENDING never answered: the server's handshake idle timeout ends it. */
    reset(SLOW);
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &client_conn) == QUIC_STATUS_SUCCESS);
    QUIC_SETTINGS quick;
    memset(&quick, 0, sizeof(quick));
    quick.IsSet.HandshakeIdleTimeoutMs = TRUE;
    quick.HandshakeIdleTimeoutMs = 1000;
    CHECK(api->SetParam(client_conn, QUIC_PARAM_CONN_SETTINGS, sizeof(quick), &quick) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(client_conn, QUIC_PARAM_CONN_RESUMPTION_TICKET, empty_len,
                        empty_ticket) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client_conn, client_config,
                                              QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&server.resumed, 1, 10000));
    CHECK(counter_wait(&server.done, 1, 10000));
    CHECK(server.transport_status == QUIC_STATUS_CONNECTION_IDLE);
    CHECK(counter_wait(&client.done, 1, 10000));
    CHECK(counter_get(&server.connected) == 0 && counter_get(&client.connected) == 0);
    api->ConnectionClose(client_conn);

    api->ListenerClose(listener);
    for (int i = 0; i <= SLOW; i++) api->ConfigurationClose(configs[i]);
    api->ConfigurationClose(client_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("resumption");
}
