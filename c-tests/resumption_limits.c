/* TLS resumption cases where this library and MsQuic 2.5.1 differ (see README's
 * differences), over QMux/TLS with the harness's certificate:
 * 1. A ticket remembering higher limits than the server (same ticket key) now advertises is
 *    refused without RESUMED, and the handshake goes on in full (MsQuic refuses it too, but
 *    its handshake then stalls).
 * 2. A RESUMED answered PENDING and never completed: the server's handshake idle timeout
 *    ends the connection (SHUTDOWN_INITIATED_BY_TRANSPORT CONNECTION_IDLE, then
 *    SHUTDOWN_COMPLETE; MsQuic's connection was seen to outlive it). */
#include "support/resumption_harness.h"

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    QUIC_TICKET_KEY_CONFIG key;
    shared_key(&key);
    configs[SHARED_A] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 1, 0);
    configs[LOWER] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 0, 0);
    configs[SLOW] = resuming_config(reg, QUIC_SERVER_RESUME_ONLY, &key, 1, 500);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    counter_init(&server.connected);
    counter_init(&server.resumed);
    counter_init(&server.done);
    counter_init(&client.connected);
    counter_init(&client.tickets_received);
    counter_init(&client.done);

    connect_to(reg, client_config, port, SHARED_A, NULL, 0);
    CHECK(counter_wait(&client.tickets_received, 3, 10000));
    static uint8_t ticket[4096];
    uint32_t ticket_len = client.ticket_len[0];
    memcpy(ticket, client.tickets[0], ticket_len);
    disconnect(3);

    /* 1. The same key, but a server that now allows fewer streams than the ticket
     * remembers: refused without RESUMED, as MsQuic. */
    connect_to(reg, client_config, port, LOWER, ticket, ticket_len);
    CHECK(server.resumed_events == 0);
    CHECK(!server.session_resumed && !client.session_resumed);
    disconnect(3);

    /* 2. PENDING never answered: the server's handshake idle timeout ends it. */
    reset(SLOW);
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &client_conn) == QUIC_STATUS_SUCCESS);
    QUIC_SETTINGS quick;
    memset(&quick, 0, sizeof(quick));
    quick.IsSet.HandshakeIdleTimeoutMs = TRUE;
    quick.HandshakeIdleTimeoutMs = 1000;
    CHECK(api->SetParam(client_conn, QUIC_PARAM_CONN_SETTINGS, sizeof(quick), &quick) ==
          QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(client_conn, QUIC_PARAM_CONN_RESUMPTION_TICKET, ticket_len,
                        ticket) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(client_conn, client_config,
                                              QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&server.resumed, 1, 10000));
    CHECK(counter_wait(&server.done, 1, 10000));
    CHECK(server.transport_status == QUIC_STATUS_CONNECTION_IDLE);
    CHECK(counter_wait(&client.done, 1, 10000));
    CHECK(counter_get(&server.connected) == 0 && counter_get(&client.connected) == 0);
    api->ConnectionClose(client_conn);

    api->ListenerClose(listener);
    api->ConfigurationClose(configs[SHARED_A]);
    api->ConfigurationClose(configs[LOWER]);
    api->ConfigurationClose(configs[SLOW]);
    api->ConfigurationClose(client_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("resumption_limits");
}
