/* TLS resumption over QMux/TLS with the harness's certificate:
 * 1. A server configuration with ServerResumptionLevel RESUME_ONLY sends a ticket when the
 *    application calls ConnectionSendResumptionTicket after CONNECTED (none before: the
 *    client raises RESUMPTION_TICKET_RECEIVED only for those); before CONNECTED it is
 *    INVALID_STATE, with NO_RESUME (the default) always INVALID_STATE, and once a FINAL
 *    ticket's (queued) call has run INVALID_STATE; bad arguments and a client handle are
 *    INVALID_PARAMETER.
 * 2. A client given the blob (QUIC_PARAM_CONN_RESUMPTION_TICKET before ConnectionStart)
 *    gets STREAMS_AVAILABLE for the server's remembered limits inside SetParam (a stream
 *    started before the handshake within them is PeerAccepted at START_COMPLETE), and
 *    resumes: the server raises RESUMED with the ticket's data before CONNECTED, and both
 *    CONNECTED events say SessionResumed.
 * 3. Another configuration with the same QUIC_PARAM_CONFIGURATION_TICKET_KEYS resumes the
 *    ticket, also in another process (a forked server); one with its own key does not (a
 *    full handshake, no RESUMED).
 * 4. RESUMED answered with a failure refuses the ticket (full handshake); answered PENDING,
 *    ConnectionResumptionTicketValidationComplete (PENDING) decides: TRUE resumes, FALSE
 *    does not; after CONNECTED it is INVALID_STATE, on a client INVALID_PARAMETER.
 * 5. Parameter checks: CONN_RESUMPTION_TICKET empty, NULL or not a ticket is
 *    INVALID_PARAMETER, after start or on a server INVALID_STATE; CONFIGURATION_TICKET_KEYS
 *    short or NULL is INVALID_PARAMETER, on a client configuration NOT_SUPPORTED, before
 *    credentials INVALID_STATE.
 * (resumption_limits.c has the cases where MsQuic 2.5.1 behaves differently.) */
#include "support/resumption_harness.h"

#include <sys/wait.h>
#include <unistd.h>

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

    api->ListenerClose(listener);
    for (int i = 0; i <= NO_RESUME; i++) api->ConfigurationClose(configs[i]);
    api->ConfigurationClose(client_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("resumption");
}
