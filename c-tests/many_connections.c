/* 200 concurrent client connections over QMux/TLS to one listener: each opens a stream, sends
 * a short message naming itself with FIN, and gets it echoed back; all within a deadline. Then
 * every connection is shut down and closed, and both sides see every SHUTDOWN_COMPLETE. */
#include "support/qmux_test.h"

#define CONNECTIONS 200

static const QUIC_API_TABLE* api;
static HQUIC server_config;

static Counter server_accepted, server_complete, client_echoed, client_complete;

typedef struct {
    HQUIC conn;
    char message[32];
    size_t message_len;
    char echoed[64];
    size_t echoed_len;
    int echo_ok;
    int connected;
} Client;

static Client clients[CONNECTIONS];

/* The server echoes each stream: data back, FIN when the peer's FIN arrives. */
static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    QUIC_STATUS status = echo_connection_event(api, conn, ev, (void*)ServerStream, NULL);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&server_complete, 1);
    return status;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    counter_add(&server_accepted, 1);
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    Client* c = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (c->echoed_len + b->Length <= sizeof(c->echoed)) {
                memcpy(c->echoed + c->echoed_len, b->Buffer, b->Length);
            }
            c->echoed_len += b->Length;
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        c->echo_ok = c->echoed_len == c->message_len &&
                     memcmp(c->echoed, c->message, c->message_len) == 0;
        counter_add(&client_echoed, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Client* c = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        c->connected = 1;
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, c, &stream) ==
              QUIC_STATUS_SUCCESS);
        static QUIC_BUFFER bufs[CONNECTIONS];
        QUIC_BUFFER* b = &bufs[c - clients];
        b->Length = (uint32_t)c->message_len;
        b->Buffer = (uint8_t*)c->message;
        CHECK(QUIC_SUCCEEDED(
            api->StreamSend(stream, b, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&client_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&server_accepted);
    counter_init(&server_complete);
    counter_init(&client_echoed);
    counter_init(&client_complete);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "many", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "many", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "many");

    long long started = now_ms();
    for (int i = 0; i < CONNECTIONS; i++) {
        Client* c = &clients[i];
        c->message_len = (size_t)snprintf(c->message, sizeof(c->message), "connection %d", i);
        CHECK(api->ConnectionOpen(reg, ClientConnection, c, &c->conn) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->ConnectionStart(c->conn, client_config,
                                                   QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    }
    CHECK(counter_wait(&client_echoed, CONNECTIONS, 60000));
    printf("%d echoes in %lld ms\n", counter_get(&client_echoed), now_ms() - started);
    CHECK(counter_get(&server_accepted) == CONNECTIONS);
    int ok = 0;
    for (int i = 0; i < CONNECTIONS; i++) ok += clients[i].connected && clients[i].echo_ok;
    CHECK(ok == CONNECTIONS);

    for (int i = 0; i < CONNECTIONS; i++) {
        api->ConnectionShutdown(clients[i].conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    }
    CHECK(counter_wait(&client_complete, CONNECTIONS, 30000));
    CHECK(counter_wait(&server_complete, CONNECTIONS, 30000));
    for (int i = 0; i < CONNECTIONS; i++) api->ConnectionClose(clients[i].conn);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&server_accepted);
    counter_destroy(&server_complete);
    counter_destroy(&client_echoed);
    counter_destroy(&client_complete);
    return finish("many_connections");
}
