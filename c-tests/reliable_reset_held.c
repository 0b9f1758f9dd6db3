/* A reliable reset cutting through a held send of several buffers. Buffered mode (the
 * default): a first send of 200,000 bytes is copied and completes; the next, two buffers of
 * 32 KiB, is held (the ideal send buffer is full) and so kept in the application's buffers.
 * The server takes nothing yet (its first RECEIVE stays pending, its 8 KiB window is used up).
 * The client sets a reliable offset inside the second buffer and aborts its sending half; the
 * application frees both buffers inside the held send's SEND_COMPLETE (as MsQuic allows). The bytes up to the offset still go, the first buffer's among them:
 * here the held send is canceled as the abort is taken, before the server lets them through,
 * so the library must have copied them out before that SEND_COMPLETE. The server receives
 * every byte up to the offset, intact (under ASan, a read of the freed buffers would abort),
 * then PEER_SEND_ABORTED. */
#include "support/qmux_test.h"

#define ALPN "rr-held"
#define FIRST 200000u
#define PIECE 32768u
#define OFFSET (FIRST + PIECE + 8000u)
#define WINDOW 8192u
#define CODE 0x2Bu

static const QUIC_API_TABLE* api;
static HQUIC server_config;

static uint8_t pattern(uint32_t i) { return (uint8_t)(i * 7 + 3 + (i >> 13)); }

static struct {
    HQUIC stream;
    uint64_t pending;
    uint32_t received;
    int bad_bytes;
    uint32_t received_at_abort;
    uint64_t abort_code;
    Counter first, aborted;
} srv;

static struct {
    uint8_t* pieces[2];
    int first_ok, other;
    Counter first_done, held_done;
} cli;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t b = 0; b < ev->RECEIVE.BufferCount; b++) {
            const QUIC_BUFFER* buf = &ev->RECEIVE.Buffers[b];
            for (uint32_t i = 0; i < buf->Length; i++) {
                if (buf->Buffer[i] != pattern(srv.received + i)) srv.bad_bytes++;
            }
            srv.received += buf->Length;
        }
        if (counter_get(&srv.first) == 0) {
            /* Kept: no credit goes back until the main thread completes it. */
            srv.stream = stream;
            srv.pending = ev->RECEIVE.TotalBufferLength;
            counter_add(&srv.first, 1);
            return QUIC_STATUS_PENDING;
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_ABORTED) {
        srv.abort_code = ev->PEER_SEND_ABORTED.ErrorCode;
        srv.received_at_abort = srv.received;
        api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        counter_add(&srv.aborted, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    return echo_connection_event(api, conn, ev, (void*)ServerStream, NULL);
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        intptr_t which = (intptr_t)ev->SEND_COMPLETE.ClientContext;
        if (which == 1) {
            cli.first_ok = !ev->SEND_COMPLETE.Canceled;
            counter_add(&cli.first_done, 1);
        } else if (which == 2) {
            /* The send is over for the application: its buffers go. */
            free(cli.pieces[0]);
            free(cli.pieces[1]);
            cli.pieces[0] = cli.pieces[1] = NULL;
            counter_add(&cli.held_done, 1);
        } else {
            cli.other = 1;
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)conn;
    (void)ctx;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

static HQUIC configuration(HQUIC reg, int server) {
    QUIC_BUFFER a = {(uint32_t)strlen(ALPN), (uint8_t*)ALPN};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.ReliableResetEnabled = TRUE;
    s.ReliableResetEnabled = TRUE;
    if (server) {
        s.IsSet.PeerBidiStreamCount = TRUE;
        s.PeerBidiStreamCount = 1;
        s.IsSet.StreamRecvWindowBidiRemoteDefault = TRUE;
        s.StreamRecvWindowBidiRemoteDefault = WINDOW;
    }
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    if (server) {
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.CertificateFile = &files;
    } else {
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
        cred.CaCertificateFile = test_cert();
    }
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    return cfg;
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    counter_init(&srv.first);
    counter_init(&srv.aborted);
    counter_init(&cli.first_done);
    counter_init(&cli.held_done);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = configuration(reg, 1);
    HQUIC client_config = configuration(reg, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    HQUIC s = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &s) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamStart(s, QUIC_STREAM_START_FLAG_NONE)));

    static uint8_t first[FIRST];
    for (uint32_t i = 0; i < FIRST; i++) first[i] = pattern(i);
    QUIC_BUFFER b1 = {FIRST, first};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s, &b1, 1, QUIC_SEND_FLAG_NONE, (void*)1)));
    CHECK(counter_wait(&cli.first_done, 1, 10000));
    CHECK(cli.first_ok);
    CHECK(counter_wait(&srv.first, 1, 10000));

    QUIC_BUFFER held[2];
    for (int p = 0; p < 2; p++) {
        cli.pieces[p] = malloc(PIECE);
        for (uint32_t i = 0; i < PIECE; i++) cli.pieces[p][i] = pattern(FIRST + p * PIECE + i);
        held[p] = (QUIC_BUFFER){PIECE, cli.pieces[p]};
    }
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s, held, 2, QUIC_SEND_FLAG_NONE, (void*)2)));
    uint64_t v = OFFSET;
    CHECK(api->SetParam(s, QUIC_PARAM_STREAM_RELIABLE_OFFSET, sizeof(v), &v) ==
          QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->StreamShutdown(s, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND, CODE)));
    /* The server reads on. Here the held send is canceled as the abort is taken, before
     * credit comes back for the reliable bytes; MsQuic completes it once they are
     * acknowledged. */
    api->StreamReceiveComplete(srv.stream, srv.pending);
    CHECK(counter_wait(&cli.held_done, 1, 10000));
    CHECK(counter_wait(&srv.aborted, 1, 10000));
    CHECK(srv.abort_code == CODE);
    CHECK(srv.received_at_abort >= OFFSET);
    CHECK(srv.received_at_abort <= FIRST + 2 * PIECE);
    CHECK(srv.bad_bytes == 0);
    CHECK(!cli.other);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("reliable_reset_held");
}
