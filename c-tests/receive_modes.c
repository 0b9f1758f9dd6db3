/* The receive side of MsQuic's stream model over QMux/TLS: the server sends DATA_LEN bytes
 * with FIN on a stream the client opened; the client's RECEIVE handler walks through the
 * modes MsQuic defines and checks AbsoluteOffset and the bytes at every step:
 *  1. partial consume (SUCCESS with a lower TotalBufferLength) stops RECEIVE events until
 *     StreamReceiveSetEnabled(TRUE), called from the main thread;
 *  2. CONTINUE with a partial consume keeps RECEIVE coming;
 *  3. PENDING hands the bytes to another thread, which calls StreamReceiveComplete;
 *  4. full consumes until the FIN, then PEER_SEND_SHUTDOWN.
 * The bytes not taken are offered again from where they are: RECEIVE points into the
 * library's buffers rather than at a fresh copy, so after CONTINUE took 1000 bytes of the first
 * buffer, the next RECEIVE starts 1000 bytes further into that same memory. */
#include "msquic.h"

#include "support/qmux_test.h"

#include <pthread.h>

#define DATA_LEN (256 * 1024)

static const QUIC_API_TABLE* api;
static HQUIC server_cfg;
static uint8_t pattern[DATA_LEN];

/* ---- server: sends the pattern with FIN once the client's stream arrives ---- */
static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE && (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN)) {
        static QUIC_BUFFER buf = {DATA_LEN, pattern};
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConn(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        api->SetCallbackHandler(ev->PEER_STREAM_STARTED.Stream, (void*)ServerStream, NULL);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE &&
               !ev->SHUTDOWN_COMPLETE.AppCloseInProgress) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC l, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)l;
    (void)ctx;
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConn, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_cfg);
}

/* ---- client ---- */
enum { PARTIAL, DISABLED, CONTINUE_STEP, PENDING_STEP, PENDING_WAIT, DRAIN, DONE };
static int phase = PARTIAL;
static uint64_t offset = 0; /* bytes consumed so far */
static HQUIC client_stream;
static Counter disabled_seen, pending_ready, fin_seen, conn_done;
static uint64_t pending_len;
static int receives_while_disabled = 0;
static const uint8_t* continue_first; /* the first buffer CONTINUE saw */

/* Checks that RECEIVE's buffers hold pattern[offset..] and returns their total. */
static uint64_t check_bytes(const QUIC_STREAM_EVENT* ev) {
    CHECK(ev->RECEIVE.AbsoluteOffset == offset);
    uint64_t at = offset;
    for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
        const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
        CHECK(at + b->Length <= DATA_LEN);
        if (at + b->Length <= DATA_LEN) CHECK(memcmp(b->Buffer, pattern + at, b->Length) == 0);
        at += b->Length;
    }
    CHECK(at - offset == ev->RECEIVE.TotalBufferLength);
    return ev->RECEIVE.TotalBufferLength;
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        uint64_t total = check_bytes(ev);
        switch (phase) {
        case PARTIAL:
            if (total < 200) { /* too little to split: take it all and wait for more */
                offset += total;
                return QUIC_STATUS_SUCCESS;
            }
            ev->RECEIVE.TotalBufferLength = 100;
            offset += 100;
            phase = DISABLED;
            counter_add(&disabled_seen, 1);
            return QUIC_STATUS_SUCCESS;
        case DISABLED:
            receives_while_disabled++;
            offset += total;
            return QUIC_STATUS_SUCCESS;
        case CONTINUE_STEP:
            CHECK(ev->RECEIVE.BufferCount > 0 && ev->RECEIVE.Buffers[0].Length > 1000);
            continue_first = ev->RECEIVE.Buffers[0].Buffer;
            ev->RECEIVE.TotalBufferLength = 1000;
            offset += 1000;
            phase = PENDING_STEP;
            return QUIC_STATUS_CONTINUE;
        case PENDING_STEP:
            CHECK(ev->RECEIVE.BufferCount > 0 &&
                  ev->RECEIVE.Buffers[0].Buffer == continue_first + 1000);
            pending_len = total;
            phase = PENDING_WAIT;
            counter_add(&pending_ready, 1);
            return QUIC_STATUS_PENDING;
        case PENDING_WAIT:
            CHECK(!"RECEIVE while a PENDING receive is outstanding");
            return QUIC_STATUS_SUCCESS;
        default:
            offset += total;
            if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) CHECK(offset == DATA_LEN);
            return QUIC_STATUS_SUCCESS;
        }
    }
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        CHECK(offset == DATA_LEN);
        phase = DONE;
        counter_add(&fin_seen, 1);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConn(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL,
                              &client_stream) == QUIC_STATUS_SUCCESS);
        static uint8_t go[] = "go";
        static QUIC_BUFFER buf = {2, go};
        CHECK(QUIC_SUCCEEDED(api->StreamSend(client_stream, &buf, 1,
                                             QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&conn_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static void* complete_pending(void* arg) {
    (void)arg;
    /* Another thread finishes the PENDING receive, taking all of it. */
    offset += pending_len;
    phase = DRAIN;
    api->StreamReceiveComplete(client_stream, pending_len);
    return NULL;
}

int main(void) {
    if (!have_test_cert()) return 1;
    for (size_t i = 0; i < DATA_LEN; i++) pattern[i] = (uint8_t)(i * 7 + (i >> 11));
    counter_init(&disabled_seen);
    counter_init(&pending_ready);
    counter_init(&fin_seen);
    counter_init(&conn_done);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_cfg = server_configuration(api, reg, "recv", 4, 0);
    HQUIC client_cfg = client_configuration(api, reg, "recv", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "recv");
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConn, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_cfg, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));

    /* 1. After the partial consume, receiving is off until re-enabled. */
    CHECK(counter_wait(&disabled_seen, 1, 20000));
    CHECK(receives_while_disabled == 0);
    phase = CONTINUE_STEP;
    CHECK(QUIC_SUCCEEDED(api->StreamReceiveSetEnabled(client_stream, TRUE)));

    /* 2 and 3: CONTINUE, then PENDING completed from another thread. */
    CHECK(counter_wait(&pending_ready, 1, 20000));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, complete_pending, NULL) == 0);
    pthread_join(t, NULL);

    /* 4. The rest arrives and the FIN follows. */
    CHECK(counter_wait(&fin_seen, 1, 20000));
    CHECK(offset == DATA_LEN);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&conn_done, 1, 20000));
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_cfg);
    api->ConfigurationClose(server_cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("receive_modes");
}
