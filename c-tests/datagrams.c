/* Datagrams over QMux DATAGRAM frames through the MsQuic API:
 * - CONN_DATAGRAM_RECEIVE_ENABLED set before start (INVALID_STATE after), read back;
 *   CONN_DATAGRAM_SEND_ENABLED starts TRUE;
 * - a datagram sent right after ConnectionStart waits for the handshake and goes out;
 * - DATAGRAM_STATE_CHANGED (SendEnabled, MaxSendLength) comes before CONNECTED;
 * - sends of several buffers each: SENT then ACKNOWLEDGED, the context the application set in
 *   SENT carried into ACKNOWLEDGED; the server receives every datagram intact and echoes it,
 *   and the client receives the echoes;
 * - a datagram longer than MaxSendLength, NULL or empty buffer lists: INVALID_PARAMETER;
 * - a client that did not enable receiving: the server's CONN_DATAGRAM_SEND_ENABLED reads 0
 *   at CONNECTED and its DatagramSend fails with INVALID_STATE; a server gets no
 *   DATAGRAM_STATE_CHANGED at the handshake (as MsQuic's, which has the client's limits
 *   before NEW_CONNECTION), the client gets it before CONNECTED;
 * - a datagram queued on a connection that never connects is CANCELED;
 * - a server's DatagramSend from NEW_CONNECTION to a client that takes no datagrams:
 *   INVALID_STATE in MsQuic, PENDING then CANCELED here (a documented difference). */
#include "support/qmux_test.h"

#define ALPN "dgram"
#define SENDS 3

static const QUIC_API_TABLE* api;
static HQUIC server_config;

typedef struct {
    int state_changed;  /* DATAGRAM_STATE_CHANGED seen */
    int state_before_connected;
    int send_enabled;
    int send_enabled_at_connected; /* CONN_DATAGRAM_SEND_ENABLED in CONNECTED */
    uint16_t max_len;
    int connected;
    QUIC_STATUS early_send; /* DatagramSend from NEW_CONNECTION */
    Counter acked, canceled, received, done;
    int bad_order;      /* ACKNOWLEDGED without the context set in SENT */
    char got[SENDS + 1][64];
    uint32_t got_len[SENDS + 1];
} Side;

static Side client, server, plain_server, lonely;

static QUIC_STATUS on_datagram_event(Side* s, HQUIC conn, QUIC_CONNECTION_EVENT* ev, int echo) {
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED:
        s->state_changed++;
        s->state_before_connected = !s->connected;
        s->send_enabled = ev->DATAGRAM_STATE_CHANGED.SendEnabled;
        s->max_len = ev->DATAGRAM_STATE_CHANGED.MaxSendLength;
        break;
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        s->connected = 1;
        /* A server gets no DATAGRAM_STATE_CHANGED at the handshake (MsQuic's knows the
         * client's limits before NEW_CONNECTION): it reads the state. */
        BOOLEAN enabled = 0;
        uint32_t len = sizeof(enabled);
        CHECK(api->GetParam(conn, QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED, &len, &enabled) ==
              QUIC_STATUS_SUCCESS);
        s->send_enabled_at_connected = enabled;
        break;
    }
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED: {
        intptr_t ctx = (intptr_t)ev->DATAGRAM_SEND_STATE_CHANGED.ClientContext;
        if (ev->DATAGRAM_SEND_STATE_CHANGED.State == QUIC_DATAGRAM_SEND_SENT) {
            ev->DATAGRAM_SEND_STATE_CHANGED.ClientContext = (void*)(ctx + 100);
        } else if (ev->DATAGRAM_SEND_STATE_CHANGED.State == QUIC_DATAGRAM_SEND_ACKNOWLEDGED) {
            if (ctx < 100) s->bad_order = 1;
            counter_add(&s->acked, 1);
        } else if (ev->DATAGRAM_SEND_STATE_CHANGED.State == QUIC_DATAGRAM_SEND_CANCELED) {
            counter_add(&s->canceled, 1);
        }
        break;
    }
    case QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED: {
        const QUIC_BUFFER* b = ev->DATAGRAM_RECEIVED.Buffer;
        int n = counter_get(&s->received);
        if (n <= SENDS && b->Length <= sizeof(s->got[0])) {
            memcpy(s->got[n], b->Buffer, b->Length);
            s->got_len[n] = b->Length;
        }
        if (echo) {
            /* The buffer is ours only during the callback: send a copy. */
            QUIC_BUFFER* out = malloc(sizeof(QUIC_BUFFER) + b->Length);
            out->Length = b->Length;
            out->Buffer = (uint8_t*)(out + 1);
            memcpy(out->Buffer, b->Buffer, b->Length);
            CHECK(api->DatagramSend(conn, out, 1, QUIC_SEND_FLAG_NONE, out) == QUIC_STATUS_PENDING);
        }
        counter_add(&s->received, 1);
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&s->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Side* s = ctx;
    /* The echo's copies are freed once final; their context was bumped in SENT. */
    if (ev->Type == QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED &&
        ev->DATAGRAM_SEND_STATE_CHANGED.State == QUIC_DATAGRAM_SEND_ACKNOWLEDGED) {
        free((void*)((intptr_t)ev->DATAGRAM_SEND_STATE_CHANGED.ClientContext - 100));
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED && s == &plain_server) {
        static QUIC_BUFFER one = {1, (uint8_t*)"x"};
        CHECK(api->DatagramSend(conn, &one, 1, QUIC_SEND_FLAG_NONE, NULL) ==
              QUIC_STATUS_INVALID_STATE);
    }
    on_datagram_event(s, conn, ev, s == &server);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static int accepted;

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    Side* s = accepted++ == 0 ? &server : &plain_server;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, s);
    QUIC_STATUS st = api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
    if (s == &plain_server) {
        /* Before the handshake: see the check in main(). */
        static QUIC_BUFFER one = {1, (uint8_t*)"y"};
        s->early_send =
            api->DatagramSend(ev->NEW_CONNECTION.Connection, &one, 1, QUIC_SEND_FLAG_NONE, NULL);
    }
    return st;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    return on_datagram_event(ctx, conn, ev, 0);
}

static void side_init(Side* s) {
    memset(s, 0, sizeof(*s));
    counter_init(&s->acked);
    counter_init(&s->canceled);
    counter_init(&s->received);
    counter_init(&s->done);
}

static HQUIC make_server_config(HQUIC reg) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.DatagramReceiveEnabled = TRUE;
    s.DatagramReceiveEnabled = TRUE;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.CertificateFile = &files;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

static uint8_t get_bool(HQUIC conn, uint32_t param) {
    uint8_t v = 0xAA;
    uint32_t len = sizeof(v);
    CHECK(api->GetParam(conn, param, &len, &v) == QUIC_STATUS_SUCCESS);
    CHECK(len == 1);
    return v;
}

int main(void) {
    if (!have_test_cert()) return 1;
    side_init(&client);
    side_init(&server);
    side_init(&plain_server);
    side_init(&lonely);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = make_server_config(reg);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &client, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(get_bool(conn, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED) == 0);
    CHECK(get_bool(conn, QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED) == 1);
    BOOLEAN on = TRUE;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED, sizeof(on), &on) ==
          QUIC_STATUS_SUCCESS);
    CHECK(get_bool(conn, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED) == 1);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED, sizeof(on), &on) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED, sizeof(on), &on) ==
          QUIC_STATUS_INVALID_STATE);

    /* Datagram 0 goes before the handshake is done. */
    static const char* texts[SENDS + 1] = {"early bird", "one", "two:parts", "three"};
    static QUIC_BUFFER early = {10, (uint8_t*)"early bird"};
    CHECK(api->DatagramSend(conn, &early, 1, QUIC_SEND_FLAG_NONE, (void*)1) ==
          QUIC_STATUS_PENDING);
    CHECK(counter_wait(&client.acked, 1, 10000));
    CHECK(client.connected);
    CHECK(client.state_changed == 1);
    CHECK(client.state_before_connected);
    CHECK(client.send_enabled == 1);
    CHECK(client.max_len >= 1000);
    CHECK(get_bool(conn, QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED) == 1);

    /* Bad arguments. */
    uint8_t* big = calloc(1, (size_t)client.max_len + 1);
    QUIC_BUFFER too_long = {(uint32_t)client.max_len + 1, big};
    CHECK(api->DatagramSend(conn, &too_long, 1, QUIC_SEND_FLAG_NONE, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->DatagramSend(conn, NULL, 1, QUIC_SEND_FLAG_NONE, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->DatagramSend(conn, &early, 0, QUIC_SEND_FLAG_NONE, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    free(big);

    /* Several buffers per datagram. */
    static QUIC_BUFFER parts[SENDS][2] = {
        {{2, (uint8_t*)"on"}, {1, (uint8_t*)"e"}},
        {{4, (uint8_t*)"two:"}, {5, (uint8_t*)"parts"}},
        {{0, NULL}, {5, (uint8_t*)"three"}},
    };
    for (int i = 0; i < SENDS; i++) {
        CHECK(api->DatagramSend(conn, parts[i], 2, QUIC_SEND_FLAG_NONE, (void*)(intptr_t)(2 + i)) ==
              QUIC_STATUS_PENDING);
    }
    CHECK(counter_wait(&client.acked, 1 + SENDS, 10000));
    CHECK(!client.bad_order);
    CHECK(counter_wait(&server.received, 1 + SENDS, 10000));
    CHECK(counter_wait(&client.received, 1 + SENDS, 10000));
    for (int i = 0; i <= SENDS; i++) {
        size_t n = strlen(texts[i]);
        CHECK(server.got_len[i] == n && memcmp(server.got[i], texts[i], n) == 0);
        CHECK(client.got_len[i] == n && memcmp(client.got[i], texts[i], n) == 0);
    }
    CHECK(counter_get(&client.canceled) == 0);
    CHECK(server.state_changed == 0 && server.send_enabled_at_connected == 1);

    /* A client that does not take datagrams: the server may not send any. */
    HQUIC plain = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, &lonely, &plain) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(plain, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    static QUIC_BUFFER hello = {5, (uint8_t*)"hello"};
    CHECK(api->DatagramSend(plain, &hello, 1, QUIC_SEND_FLAG_NONE, (void*)7) ==
          QUIC_STATUS_PENDING);
    CHECK(counter_wait(&lonely.acked, 1, 10000));
    CHECK(counter_wait(&plain_server.received, 1, 10000));
    CHECK(plain_server.state_changed == 0 && plain_server.send_enabled_at_connected == 0);
    /* Its DatagramSend from NEW_CONNECTION: MsQuic, which has the client's transport
     * parameters then, refuses it (INVALID_STATE); here they come after the TLS handshake, so
     * the datagram is queued (PENDING) and CANCELED once they show the client takes none (see
     * README's differences). */
    CHECK(plain_server.early_send == QUIC_STATUS_INVALID_STATE ||
          (plain_server.early_send == QUIC_STATUS_PENDING &&
           counter_wait(&plain_server.canceled, 1, 10000)));

    /* Nothing listens here: the queued datagram is canceled with the connection. */
    HQUIC nowhere = NULL;
    Side* l = &lonely;
    CHECK(api->ConnectionOpen(reg, ClientConnection, l, &nowhere) == QUIC_STATUS_SUCCESS);
    api->ListenerStop(listener);
    /* Queued before the start, so it is still waiting when the connect fails. */
    CHECK(api->DatagramSend(nowhere, &hello, 1, QUIC_SEND_FLAG_NONE, (void*)8) ==
          QUIC_STATUS_PENDING);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(nowhere, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", (uint16_t)(port ^ 1))));
    CHECK(counter_wait(&lonely.canceled, 1, 10000));
    CHECK(counter_wait(&lonely.done, 1, 10000));

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    api->ConnectionShutdown(plain, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client.done, 1, 10000));
    CHECK(counter_wait(&lonely.done, 2, 10000));
    api->ConnectionClose(conn);
    api->ConnectionClose(plain);
    api->ConnectionClose(nowhere);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("datagrams");
}
