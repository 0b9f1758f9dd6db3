/* An asynchronous ConnectionClose (CONN_CLOSE_ASYNC) of a connection whose SHUTDOWN_COMPLETE
 * came already still gives the connection's place in its registration back: the registration
 * closes. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static Counter shutdown_complete;
static Counter registration_closed;

static QUIC_STATUS QUIC_API conn_cb(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&shutdown_complete, 1);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_cb(HQUIC l, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)l;
    (void)ctx;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

static void QUIC_API on_registration_closed(void* ctx) { counter_add((Counter*)ctx, 1); }

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&shutdown_complete);
    counter_init(&registration_closed);
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    HQUIC reg = NULL;
    QUIC_REGISTRATION_CONFIG rc = {"close_async_late", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rc, &reg)));
    HQUIC cfg = client_configuration(api, reg, "late", 0);

    /* A port nobody listens on: a listener's, closed again. */
    HQUIC listener = NULL;
    CHECK(QUIC_SUCCEEDED(api->ListenerOpen(reg, listener_cb, NULL, &listener)));
    uint16_t port = start_listener(api, listener, "late");
    api->ListenerClose(listener);

    HQUIC conn = NULL;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg, conn_cb, NULL, &conn)));
    uint8_t on = 1;
    CHECK(QUIC_SUCCEEDED(api->SetParam(conn, QUIC_PARAM_CONN_CLOSE_ASYNC, 1, &on)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port)));
    CHECK(counter_wait(&shutdown_complete, 1, 10000));
    api->ConnectionClose(conn);
    api->ConfigurationClose(cfg);

    api->RegistrationClose2(reg, on_registration_closed, &registration_closed);
    int closed = counter_wait(&registration_closed, 1, 10000);
    CHECK(closed);
    if (!closed) return finish("close_async_late"); /* the library would wait forever */
    MsQuicClose(api);
    CHECK(counter_get(&shutdown_complete) == 1);
    return finish("close_async_late");
}
