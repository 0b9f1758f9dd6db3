/* StreamClose from an application thread of a stream whose sends are still held (the peer's
 * flow control holds them back) and whose receiving half is over (the peer's FIN came): every
 * send gets its SEND_COMPLETE (Canceled) inside the call, before SHUTDOWN_COMPLETE, and so
 * does a send made from inside the first of those events. The abort the close makes ends the
 * stream in the engine at once (both halves are done), which must not raise SHUTDOWN_COMPLETE
 * ahead of the canceled sends. */
#include "support/qmux_test.h"

#define SENDS 4
#define SEND_SIZE (1024 * 1024)

static const QUIC_API_TABLE* api;
static Counter peer_fin;        /* client: PEER_SEND_SHUTDOWN */
static Counter sends_back;      /* client: SEND_COMPLETE */
static Counter client_done;     /* client: SHUTDOWN_COMPLETE */
static int canceled_sends;      /* client: SEND_COMPLETE with Canceled */
static int sends_after_final;   /* client: SEND_COMPLETE after SHUTDOWN_COMPLETE */
static Counter sends_made;      /* client: StreamSend calls that took a buffer */

static QUIC_BUFFER* new_send(uint32_t size) {
    QUIC_BUFFER* b = malloc(sizeof(QUIC_BUFFER) + size);
    b->Length = size;
    b->Buffer = (uint8_t*)(b + 1);
    memset(b->Buffer, 0x5A, size);
    return b;
}

static QUIC_STATUS QUIC_API client_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    TRACE_STREAM(ev);
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        counter_add(&peer_fin, 1);
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (ev->SEND_COMPLETE.Canceled && canceled_sends++ == 0) {
            /* Another send from inside the first cancellation: it is refused or completes
             * (canceled) too, before SHUTDOWN_COMPLETE. */
            QUIC_BUFFER* b = new_send(100);
            counter_add(&sends_made, 1);
            if (QUIC_FAILED(api->StreamSend(s, b, 1, QUIC_SEND_FLAG_NONE, b))) {
                free(b);
                counter_add(&sends_back, 1);
            }
        }
        if (counter_get(&client_done) != 0) sends_after_final++;
        free(ev->SEND_COMPLETE.ClientContext);
        counter_add(&sends_back, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&client_done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) api->StreamClose(s);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_conn_cb(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        HQUIC s = ev->PEER_STREAM_STARTED.Stream;
        api->SetCallbackHandler(s, (void*)server_stream_cb, NULL);
        /* Reads nothing (the client's data stays behind flow control) and ends its half. */
        api->StreamReceiveSetEnabled(s, FALSE);
        api->StreamShutdown(s, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(c);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_conn_cb(HQUIC c, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)c;
    (void)ctx;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&peer_fin);
    counter_init(&sends_back);
    counter_init(&client_done);
    counter_init(&sends_made);
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    HQUIC reg = NULL;
    QUIC_REGISTRATION_CONFIG rc = {"close_held_sends", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rc, &reg)));
    TestServer server = {api, server_configuration(api, reg, "held", 4, 0), server_conn_cb};
    HQUIC client_cfg = client_configuration(api, reg, "held", 0);
    HQUIC listener = NULL;
    CHECK(QUIC_SUCCEEDED(api->ListenerOpen(reg, test_server_listener, &server, &listener)));
    uint16_t port = start_listener(api, listener, "held");

    HQUIC conn = NULL;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg, client_conn_cb, NULL, &conn)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port)));
    HQUIC stream = NULL;
    CHECK(QUIC_SUCCEEDED(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, client_stream_cb,
                                         NULL, &stream)));
    for (int i = 0; i < SENDS; i++) {
        QUIC_BUFFER* b = new_send(SEND_SIZE);
        QUIC_SEND_FLAGS f = i == 0 ? QUIC_SEND_FLAG_START : QUIC_SEND_FLAG_NONE;
        counter_add(&sends_made, 1);
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, b, 1, f, b)));
    }
    CHECK(counter_wait(&peer_fin, 1, 10000));

    /* From this thread: the close runs on the worker outside any event delivery. */
    api->StreamClose(stream);
    CHECK(counter_get(&client_done) == 1);
    CHECK(counter_get(&sends_back) == counter_get(&sends_made));
    CHECK(counter_get(&sends_made) == SENDS + 1);
    CHECK(sends_after_final == 0);
    /* The peer's flow control held some of the data back: those sends were canceled. */
    CHECK(canceled_sends > 0);

    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_cfg);
    api->ConfigurationClose(server.config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&peer_fin);
    counter_destroy(&sends_back);
    counter_destroy(&client_done);
    counter_destroy(&sends_made);
    return finish("close_held_sends");
}
