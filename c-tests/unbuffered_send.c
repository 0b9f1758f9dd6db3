/* Unbuffered sending (SendBufferingEnabled = 0 on the client's configuration), as
 * secnetperf does it:
 *  1. the client starts a stream and waits for IDEAL_SEND_BUFFER_SIZE (whose ByteCount must
 *     match QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE), then sends DATA_LEN bytes out of ONE
 *     application buffer, each StreamSend split into three QUIC_BUFFERs, keeping two sends
 *     outstanding and issuing the next from SEND_COMPLETE. Every send gets exactly one
 *     SEND_COMPLETE, in order, with its ClientContext and Canceled = FALSE. After each
 *     SEND_COMPLETE the client scribbles over the bytes of that send: the library holds the
 *     application's buffers by pointer, so a completion raised before the bytes were written
 *     would put the scribble on the wire, and the server checks every byte it receives.
 *  2. a second stream whose receiver stops reading (flow control then holds the send back):
 *     StreamShutdown(ABORT_SEND) with the send outstanding gives SEND_COMPLETE with
 *     Canceled = TRUE and the send's ClientContext, and the peer sees PEER_SEND_ABORTED. */
#include "msquic.h"

#include "support/qmux_test.h"

#include <stdint.h>
#include <stdlib.h>

#define DATA_LEN (8u * 1024 * 1024)
#define MAX_SEND (1024u * 1024)
#define ABORT_LEN (1024u * 1024)
#define ABORT_CTX ((void*)(uintptr_t)0xAB0A7)

static const QUIC_API_TABLE* api;
static HQUIC server_cfg;

static uint8_t expected(uint64_t i) { return (uint8_t)(i * 7 + (i >> 11)); }

/* ---- server: checks every byte of stream 0; stops reading stream 4 ---- */
static uint64_t server_received = 0; /* stream 0 bytes seen (worker thread only) */
static Counter server_fin, server_aborted, server_stalled;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    uintptr_t id = (uintptr_t)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        if (id != 0) {
            /* Stream 4: consume nothing; receiving stays off and flow control stalls. */
            ev->RECEIVE.TotalBufferLength = 0;
            counter_add(&server_stalled, 1);
            return QUIC_STATUS_SUCCESS;
        }
        CHECK(ev->RECEIVE.AbsoluteOffset == server_received);
        uint64_t at = ev->RECEIVE.AbsoluteOffset;
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            for (uint32_t j = 0; j < b->Length; j++) {
                if (b->Buffer[j] != expected(at + j)) {
                    CHECK(!"server received a wrong byte");
                    break;
                }
            }
            at += b->Length;
        }
        server_received = at;
        if (ev->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) {
            CHECK(server_received == DATA_LEN);
            counter_add(&server_fin, 1);
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_ABORTED) {
        CHECK(id == 4);
        CHECK(ev->PEER_SEND_ABORTED.ErrorCode == 77);
        counter_add(&server_aborted, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConn(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        HQUIC s = ev->PEER_STREAM_STARTED.Stream;
        uint64_t id = 0;
        uint32_t len = sizeof(id);
        CHECK(api->GetParam(s, QUIC_PARAM_STREAM_ID, &len, &id) == QUIC_STATUS_SUCCESS);
        api->SetCallbackHandler(s, (void*)ServerStream, (void*)(uintptr_t)id);
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

/* ---- client: stream 0 (everything below runs on the connection's worker) ---- */
static uint8_t* app_buf; /* the ONE application buffer */
static QUIC_BUFFER slots[2][3]; /* each outstanding send's QUIC_BUFFER array */
static uint64_t send_start[1024], send_end[1024];
static int sends = 0, completes = 0, outstanding = 0, max_outstanding = 0;
static uint64_t next_offset = 0, ideal = 0;
static int ideal_events = 0, bad_ideal_param = 0;
static Counter connected, all_complete, conn_done;

static void pump(HQUIC stream) {
    while (outstanding < 2 && next_offset < DATA_LEN) {
        uint64_t n = ideal < MAX_SEND ? ideal : MAX_SEND;
        if (n > DATA_LEN - next_offset) n = DATA_LEN - next_offset;
        QUIC_BUFFER* b = slots[sends % 2];
        uint32_t a = (uint32_t)(n / 4), c = (uint32_t)(n / 3);
        b[0].Buffer = app_buf + next_offset;
        b[0].Length = a;
        b[1].Buffer = app_buf + next_offset + a;
        b[1].Length = c;
        b[2].Buffer = app_buf + next_offset + a + c;
        b[2].Length = (uint32_t)n - a - c;
        send_start[sends] = next_offset;
        send_end[sends] = next_offset + n;
        next_offset += n;
        int k = sends++;
        outstanding++;
        if (outstanding > max_outstanding) max_outstanding = outstanding;
        QUIC_SEND_FLAGS f = next_offset == DATA_LEN ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE;
        CHECK(api->StreamSend(stream, b, 3, f, (void*)(uintptr_t)(k + 1)) ==
              QUIC_STATUS_PENDING);
    }
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE: {
        CHECK(ev->IDEAL_SEND_BUFFER_SIZE.ByteCount >= 16 * 1024);
        ideal = ev->IDEAL_SEND_BUFFER_SIZE.ByteCount;
        ideal_events++;
        uint64_t p = 0;
        uint32_t len = sizeof(p);
        CHECK(api->GetParam(stream, QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE, &len, &p) ==
              QUIC_STATUS_SUCCESS);
        if (p != ideal) bad_ideal_param++;
        pump(stream); /* the first sends go out once the size is known */
        break;
    }
    case QUIC_STREAM_EVENT_SEND_COMPLETE: {
        CHECK(!ev->SEND_COMPLETE.Canceled);
        uintptr_t k = (uintptr_t)ev->SEND_COMPLETE.ClientContext;
        CHECK(k == (uintptr_t)completes + 1); /* one per send, in order */
        if (k >= 1 && k <= (uintptr_t)sends) {
            /* The bytes were written: the buffer is the application's again. */
            memset(app_buf + send_start[k - 1], 0xEE, send_end[k - 1] - send_start[k - 1]);
        }
        completes++;
        outstanding--;
        pump(stream);
        if (next_offset == DATA_LEN && outstanding == 0) counter_add(&all_complete, 1);
        break;
    }
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        api->StreamClose(stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* ---- client: stream 4, aborted with a send outstanding ---- */
static uint8_t* abort_buf;
static Counter abort_started, abort_canceled;
static int abort_completes = 0;

static QUIC_STATUS QUIC_API AbortStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        CHECK(ev->START_COMPLETE.Status == QUIC_STATUS_SUCCESS);
        counter_add(&abort_started, 1);
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        abort_completes++;
        CHECK(ev->SEND_COMPLETE.Canceled);
        CHECK(ev->SEND_COMPLETE.ClientContext == ABORT_CTX);
        counter_add(&abort_canceled, 1);
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
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&conn_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* A client configuration with SendBufferingEnabled = 0. */
static HQUIC unbuffered_configuration(HQUIC reg, const char* alpn) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.SendBufferingEnabled = TRUE;
    s.SendBufferingEnabled = 0;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    cred.CaCertificateFile = test_cert();
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

int main(void) {
    if (!have_test_cert()) return 1;
    app_buf = malloc(DATA_LEN);
    abort_buf = malloc(ABORT_LEN);
    CHECK(app_buf != NULL && abort_buf != NULL);
    for (uint64_t i = 0; i < DATA_LEN; i++) app_buf[i] = expected(i);
    memset(abort_buf, 0x5A, ABORT_LEN);
    counter_init(&server_fin);
    counter_init(&server_aborted);
    counter_init(&server_stalled);
    counter_init(&connected);
    counter_init(&all_complete);
    counter_init(&conn_done);
    counter_init(&abort_started);
    counter_init(&abort_canceled);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_cfg = server_configuration(api, reg, "unbuf", 4, 0);
    HQUIC client_cfg = unbuffered_configuration(reg, "unbuf");
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "unbuf");
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConn, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_cfg, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&connected, 1, 20000));

    /* 1. 8 MiB from one buffer, two sends outstanding, paced by IDEAL_SEND_BUFFER_SIZE. */
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(counter_wait(&all_complete, 1, 60000));
    CHECK(counter_wait(&server_fin, 1, 60000));
    CHECK(ideal_events >= 1);
    CHECK(bad_ideal_param == 0);
    CHECK(completes == sends);
    CHECK(sends >= 8);
    CHECK(max_outstanding == 2);
    CHECK(server_received == DATA_LEN);

    /* 2. ABORT_SEND with a send held back by the peer's flow control. */
    HQUIC s2 = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, AbortStream, NULL, &s2) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(s2, QUIC_STREAM_START_FLAG_NONE)));
    CHECK(counter_wait(&abort_started, 1, 20000));
    QUIC_BUFFER ab = {ABORT_LEN, abort_buf};
    CHECK(api->StreamSend(s2, &ab, 1, QUIC_SEND_FLAG_NONE, ABORT_CTX) == QUIC_STATUS_PENDING);
    CHECK(counter_wait(&server_stalled, 1, 20000));
    CHECK(counter_get(&abort_canceled) == 0);
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(s2, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND, 77)));
    CHECK(counter_wait(&abort_canceled, 1, 20000));
    CHECK(counter_wait(&server_aborted, 1, 20000));
    CHECK(abort_completes == 1);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&conn_done, 1, 20000));
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_cfg);
    api->ConfigurationClose(server_cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    free(app_buf);
    free(abort_buf);
    return finish("unbuffered_send");
}
