/* An empty StreamSend made inside the SEND_SHUTDOWN_COMPLETE of an immediate abort
 * (ABORT | IMMEDIATE) completes before the stream's SHUTDOWN_COMPLETE (or is refused), also
 * when the abort runs while the connection delivers its events: here the abort waits behind a
 * start blocked by the peer's stream limit and runs as the limit admits the stream. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static TestServer server;
static Counter connected;
static Counter b_start_complete;  /* stream B: START_COMPLETE */
static Counter b_done;            /* stream B: SHUTDOWN_COMPLETE */
static int b_sends_made;          /* StreamSend calls that took a buffer */
static int b_sends_back;          /* SEND_COMPLETE, or the call refused */
static int b_sends_back_at_final; /* b_sends_back when SHUTDOWN_COMPLETE came */
static int b_peer_accepted = -1;

static QUIC_STATUS QUIC_API client_conn_cb(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)c;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&connected, 1);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API a_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(s);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API b_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    TRACE_STREAM(ev);
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        b_peer_accepted = ev->START_COMPLETE.PeerAccepted;
        counter_add(&b_start_complete, 1);
        break;
    case QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE: {
        static QUIC_BUFFER empty = {0, NULL};
        b_sends_made++;
        if (QUIC_FAILED(api->StreamSend(s, &empty, 1, QUIC_SEND_FLAG_NONE, &empty))) {
            b_sends_back++;
        }
        break;
    }
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        b_sends_back++;
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        b_sends_back_at_final = b_sends_back;
        counter_add(&b_done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&connected);
    counter_init(&b_start_complete);
    counter_init(&b_done);
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    HQUIC reg = NULL;
    QUIC_REGISTRATION_CONFIG rc = {"immediate_shutdown_send", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rc, &reg)));
    server.api = api;
    server.config = server_configuration(api, reg, "imm", 1, 0); /* one stream at a time */
    HQUIC client_cfg = client_configuration(api, reg, "imm", 0);
    HQUIC listener = NULL;
    CHECK(QUIC_SUCCEEDED(api->ListenerOpen(reg, test_server_listener, &server, &listener)));
    uint16_t port = start_listener(api, listener, "imm");

    HQUIC conn = NULL;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg, client_conn_cb, NULL, &conn)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port)));
    CHECK(counter_wait(&connected, 1, 10000));

    /* A takes the one stream the peer allows; B waits for it with the abort queued. */
    HQUIC a = NULL, b = NULL;
    CHECK(QUIC_SUCCEEDED(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, a_stream_cb, NULL, &a)));
    CHECK(QUIC_SUCCEEDED(api->StreamStart(a, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(QUIC_SUCCEEDED(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, b_stream_cb, NULL, &b)));
    CHECK(QUIC_SUCCEEDED(api->StreamStart(b, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(counter_wait(&b_start_complete, 1, 10000));
    CHECK(b_peer_accepted == 0);
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(
        b, QUIC_STREAM_SHUTDOWN_FLAG_ABORT | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE, 5)));

    /* A ends (the echo server answers its FIN): the peer allows B, whose abort runs then. */
    static QUIC_BUFFER none = {0, NULL};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(a, &none, 1, QUIC_SEND_FLAG_FIN, NULL)));
    CHECK(counter_wait(&b_done, 1, 10000));
    CHECK(b_sends_made == 1);
    CHECK(b_sends_back_at_final == b_sends_made);

    api->StreamClose(b);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_cfg);
    api->ConfigurationClose(server.config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    CHECK(b_sends_back == b_sends_made);
    counter_destroy(&connected);
    counter_destroy(&b_start_complete);
    counter_destroy(&b_done);
    return finish("immediate_shutdown_send");
}
