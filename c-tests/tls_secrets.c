/* The handshake's key material for the application, over QMux/TLS with the harness's
 * certificate:
 * 1. QUIC_PARAM_CONN_TLS_SECRETS set on the client before ConnectionStart and on the server
 *    connection in NEW_CONNECTION (before ConnectionSetConfiguration) is zeroed by SetParam
 *    and filled before CONNECTED: SecretLength is the suite's hash length, IsSet has
 *    ClientRandom, both handshake and both application traffic secrets (no early secret
 *    without 0-RTT), the client random and every secret are the same on both ends.
 * 2. Setting it later (or after ConnectionShutdown) is INVALID_STATE; a wrong size or NULL is
 *    INVALID_PARAMETER; GetParam is INVALID_PARAMETER.
 * 3. ConnectionExportKeyingMaterial inside CONNECTED gives the same bytes on both ends;
 *    NULL and empty contexts agree, another label or context differs; before the handshake
 *    it is INVALID_STATE; bad arguments are INVALID_PARAMETER; more than HKDF can give is
 *    TLS_ERROR.
 * 4. A handshake that fails at the server's certificate leaves what was derived before it:
 *    the client random and the handshake secrets, no application secrets. */
#include "support/qmux_test.h"

#define ALPN "secrets"
#define LABEL "EXPORTER-qmux-test"
#define EKM_LEN 42

static const QUIC_API_TABLE* api;
static HQUIC server_config;

typedef struct {
    QUIC_TLS_SECRETS secrets;    /* filled by the library */
    QUIC_TLS_SECRETS at_connected; /* copied inside CONNECTED */
    uint8_t ekm[EKM_LEN], ekm_null_ctx[EKM_LEN], ekm_empty_ctx[EKM_LEN], ekm_other[EKM_LEN];
    QUIC_STATUS ekm_status, too_long_status, late_set_status;
    uint16_t cipher_suite;
    Counter connected, done;
} Side;

static Side client, server;

static void on_connected(HQUIC conn, Side* s) {
    memcpy(&s->at_connected, &s->secrets, sizeof(s->secrets));
    QUIC_KEYING_MATERIAL_CONFIG k = {LABEL, 3, (const uint8_t*)"ctx", EKM_LEN};
    s->ekm_status = api->ConnectionExportKeyingMaterial(conn, &k, s->ekm);
    QUIC_KEYING_MATERIAL_CONFIG null_ctx = {LABEL, 0, NULL, EKM_LEN};
    CHECK(api->ConnectionExportKeyingMaterial(conn, &null_ctx, s->ekm_null_ctx) ==
          QUIC_STATUS_SUCCESS);
    QUIC_KEYING_MATERIAL_CONFIG empty_ctx = {LABEL, 0, (const uint8_t*)"", EKM_LEN};
    CHECK(api->ConnectionExportKeyingMaterial(conn, &empty_ctx, s->ekm_empty_ctx) ==
          QUIC_STATUS_SUCCESS);
    QUIC_KEYING_MATERIAL_CONFIG other = {"EXPORTER-other", 3, (const uint8_t*)"ctx", EKM_LEN};
    CHECK(api->ConnectionExportKeyingMaterial(conn, &other, s->ekm_other) ==
          QUIC_STATUS_SUCCESS);
    static uint8_t big[20000];
    QUIC_KEYING_MATERIAL_CONFIG too_long = {LABEL, 0, NULL, sizeof(big)};
    s->too_long_status = api->ConnectionExportKeyingMaterial(conn, &too_long, big);
    QUIC_HANDSHAKE_INFO info;
    uint32_t len = sizeof(info);
    CHECK(api->GetParam(conn, QUIC_PARAM_TLS_HANDSHAKE_INFO, &len, &info) ==
          QUIC_STATUS_SUCCESS);
    s->cipher_suite = (uint16_t)info.CipherSuite;
    QUIC_TLS_SECRETS again;
    s->late_set_status = api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(again), &again);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        on_connected(conn, &server);
        counter_add(&server.connected, 1);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&server.done, 1);
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        HQUIC conn = ev->NEW_CONNECTION.Connection;
        memset(&server.secrets, 0xAA, sizeof(server.secrets));
        CHECK(api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(server.secrets),
                            &server.secrets) == QUIC_STATUS_SUCCESS);
        CHECK(server.secrets.IsSet.ClientRandom == 0 && server.secrets.ClientRandom[0] == 0);
        QUIC_STATUS status = accept_connection(api, ev, (void*)ServerConnection, NULL,
                                               server_config);
        CHECK(api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(server.secrets),
                            &server.secrets) == QUIC_STATUS_INVALID_STATE);
        return status;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        on_connected(conn, &client);
        counter_add(&client.connected, 1);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client.done, 1);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API Quiet(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

static int all_zero(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return 0;
    return 1;
}

static void check_filled(const QUIC_TLS_SECRETS* s, uint8_t len) {
    CHECK(s->SecretLength == len);
    CHECK(s->IsSet.ClientRandom && s->IsSet.ClientHandshakeTrafficSecret &&
          s->IsSet.ServerHandshakeTrafficSecret && s->IsSet.ClientTrafficSecret0 &&
          s->IsSet.ServerTrafficSecret0);
    CHECK(!s->IsSet.ClientEarlyTrafficSecret);
    CHECK(all_zero(s->ClientEarlyTrafficSecret, sizeof(s->ClientEarlyTrafficSecret)));
    CHECK(!all_zero(s->ClientRandom, 32));
    CHECK(!all_zero(s->ClientHandshakeTrafficSecret, len));
    CHECK(!all_zero(s->ServerTrafficSecret0, len));
    CHECK(memcmp(s->ClientHandshakeTrafficSecret, s->ServerHandshakeTrafficSecret, len) != 0);
    CHECK(memcmp(s->ClientHandshakeTrafficSecret, s->ClientTrafficSecret0, len) != 0);
    /* Nothing beyond the secret's length. */
    CHECK(all_zero(s->ClientTrafficSecret0 + len, QUIC_TLS_SECRETS_MAX_SECRET_LEN - len));
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    counter_init(&client.connected);
    counter_init(&client.done);
    counter_init(&server.connected);
    counter_init(&server.done);

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);

    /* 2. Arguments, before start. */
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(client.secrets) - 1,
                        &client.secrets) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(client.secrets), NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    uint32_t len = sizeof(client.secrets);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, &len, &client.secrets) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* 2. Shut down before start: too late. */
    HQUIC shut = NULL;
    CHECK(api->ConnectionOpen(reg, Quiet, NULL, &shut) == QUIC_STATUS_SUCCESS);
    api->ConnectionShutdown(shut, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    QUIC_TLS_SECRETS unused;
    CHECK(api->SetParam(shut, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(unused), &unused) ==
          QUIC_STATUS_INVALID_STATE);
    api->ConnectionClose(shut);

    /* 3. Export: arguments, then too early. */
    uint8_t out[EKM_LEN];
    QUIC_KEYING_MATERIAL_CONFIG k = {LABEL, 0, NULL, EKM_LEN};
    CHECK(api->ConnectionExportKeyingMaterial(NULL, &k, out) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionExportKeyingMaterial(reg, &k, out) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionExportKeyingMaterial(conn, NULL, out) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionExportKeyingMaterial(conn, &k, NULL) == QUIC_STATUS_INVALID_PARAMETER);
    QUIC_KEYING_MATERIAL_CONFIG bad = k;
    bad.Label = NULL;
    CHECK(api->ConnectionExportKeyingMaterial(conn, &bad, out) == QUIC_STATUS_INVALID_PARAMETER);
    bad = k;
    bad.OutputLength = 0;
    CHECK(api->ConnectionExportKeyingMaterial(conn, &bad, out) == QUIC_STATUS_INVALID_PARAMETER);
    bad = k;
    bad.ContextLength = 3;
    CHECK(api->ConnectionExportKeyingMaterial(conn, &bad, out) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ConnectionExportKeyingMaterial(conn, &k, out) == QUIC_STATUS_INVALID_STATE);

    /* 1. Set before start: zeroed at once. */
    memset(&client.secrets, 0xAA, sizeof(client.secrets));
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(client.secrets),
                        &client.secrets) == QUIC_STATUS_SUCCESS);
    CHECK(all_zero((const uint8_t*)&client.secrets, sizeof(client.secrets)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    QUIC_TLS_SECRETS late;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(late), &late) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(counter_wait(&client.connected, 1, 10000));
    CHECK(counter_wait(&server.connected, 1, 10000));

    uint8_t hash_len = client.cipher_suite == 0x1302 ? 48 : 32;
    CHECK(client.cipher_suite == server.cipher_suite);
    check_filled(&client.at_connected, hash_len);
    check_filled(&server.at_connected, hash_len);
    const QUIC_TLS_SECRETS* c = &client.at_connected;
    const QUIC_TLS_SECRETS* s = &server.at_connected;
    CHECK(memcmp(c->ClientRandom, s->ClientRandom, 32) == 0);
    CHECK(memcmp(c->ClientHandshakeTrafficSecret, s->ClientHandshakeTrafficSecret, hash_len) == 0);
    CHECK(memcmp(c->ServerHandshakeTrafficSecret, s->ServerHandshakeTrafficSecret, hash_len) == 0);
    CHECK(memcmp(c->ClientTrafficSecret0, s->ClientTrafficSecret0, hash_len) == 0);
    CHECK(memcmp(c->ServerTrafficSecret0, s->ServerTrafficSecret0, hash_len) == 0);
    CHECK(client.late_set_status == QUIC_STATUS_INVALID_STATE);
    CHECK(server.late_set_status == QUIC_STATUS_INVALID_STATE);

    CHECK(client.ekm_status == QUIC_STATUS_SUCCESS);
    CHECK(server.ekm_status == QUIC_STATUS_SUCCESS);
    CHECK(memcmp(client.ekm, server.ekm, EKM_LEN) == 0);
    CHECK(!all_zero(client.ekm, EKM_LEN));
    CHECK(memcmp(client.ekm_null_ctx, server.ekm_null_ctx, EKM_LEN) == 0);
    CHECK(memcmp(client.ekm_null_ctx, client.ekm_empty_ctx, EKM_LEN) == 0);
    CHECK(memcmp(client.ekm_null_ctx, client.ekm, EKM_LEN) != 0);
    CHECK(memcmp(client.ekm_other, server.ekm_other, EKM_LEN) == 0);
    CHECK(memcmp(client.ekm_other, client.ekm, EKM_LEN) != 0);
    CHECK(client.too_long_status == QUIC_STATUS_TLS_ERROR);
    CHECK(server.too_long_status == QUIC_STATUS_TLS_ERROR);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client.done, 1, 10000));
    CHECK(counter_wait(&server.done, 1, 10000));
    api->ConnectionClose(conn);

    /* 4. The server's certificate is not trusted (system roots only). */
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    HQUIC untrusting = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &untrusting) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    CHECK(api->ConfigurationLoadCredential(untrusting, &cred) == QUIC_STATUS_SUCCESS);
    memset(&client, 0, sizeof(client));
    counter_init(&client.connected);
    counter_init(&client.done);
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(client.secrets),
                        &client.secrets) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, untrusting, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client.done, 1, 10000));
    CHECK(counter_get(&client.connected) == 0);
    CHECK(client.secrets.IsSet.ClientRandom && !all_zero(client.secrets.ClientRandom, 32));
    CHECK(client.secrets.IsSet.ClientHandshakeTrafficSecret &&
          client.secrets.IsSet.ServerHandshakeTrafficSecret);
    CHECK(!client.secrets.IsSet.ClientTrafficSecret0 && !client.secrets.IsSet.ServerTrafficSecret0);
    CHECK(client.secrets.SecretLength == hash_len || client.secrets.SecretLength == 32 ||
          client.secrets.SecretLength == 48);
    api->ConnectionClose(conn);
    api->ConfigurationClose(untrusting);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("tls_secrets");
}
