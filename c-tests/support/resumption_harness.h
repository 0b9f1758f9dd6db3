/* The resumption tests' common parts: a server whose configuration per connection follows
 * `server.mode`, a client recording its tickets, and helpers to connect with a ticket and to
 * disconnect. Included by resumption.c and resumption_limits.c only. */
#ifndef RESUMPTION_HARNESS_H
#define RESUMPTION_HARNESS_H

#include "qmux_test.h"

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

#endif
