/* DisconnectTimeoutMs: a raw TCP server (small receive buffer) accepts, sends a canned
 * QX_TRANSPORT_PARAMETERS record with plenty of credit, and never reads. A client over
 * QMux/TCP with DisconnectTimeoutMs = 1000 sends 32 MiB on a stream; once the socket stops
 * taking bytes it must see SHUTDOWN_INITIATED_BY_TRANSPORT with
 * QUIC_STATUS_CONNECTION_TIMEOUT about a second later, then SHUTDOWN_COMPLETE. */
#include "support/qmux_test.h"

#include <unistd.h>

#define DISCONNECT_MS 1000
#define PAYLOAD (32u << 20)

/* One QMux record (draft-ietf-quic-qmux-02) holding the first frame, written by hand from
 * the encoding rules:
 *   29                       record Size = 41
 *   ff 51 53 30 0d 0a 0d 0a  frame type QX_TRANSPORT_PARAMETERS (0x3f5153300d0a0d0a)
 *   20                       Length = 32 bytes of transport parameters
 *   04 04 bf ff ff ff        initial_max_data = 2^30 - 1
 *   05 04 bf ff ff ff        initial_max_stream_data_bidi_local = 2^30 - 1
 *   06 04 bf ff ff ff        initial_max_stream_data_bidi_remote = 2^30 - 1
 *   07 04 bf ff ff ff        initial_max_stream_data_uni = 2^30 - 1
 *   08 02 40 64              initial_max_streams_bidi = 100
 *   09 02 40 64              initial_max_streams_uni = 100
 * No max_idle_timeout: this side has none. */
static const uint8_t canned_tp[] = {
    0x29, 0xff, 0x51, 0x53, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x20, 0x04, 0x04, 0xbf, 0xff,
    0xff, 0xff, 0x05, 0x04, 0xbf, 0xff, 0xff, 0xff, 0x06, 0x04, 0xbf, 0xff, 0xff, 0xff,
    0x07, 0x04, 0xbf, 0xff, 0xff, 0xff, 0x08, 0x02, 0x40, 0x64, 0x09, 0x02, 0x40, 0x64,
};

static const QUIC_API_TABLE* api;
static Counter done, stream_done;
static int connected, by_transport;
static QUIC_STATUS status;
static long long connected_at, initiated_at;
static uint8_t* payload;
static QUIC_BUFFER send_buf;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
        counter_add(&stream_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        connected = 1;
        connected_at = now_ms();
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
              QUIC_STATUS_SUCCESS);
        send_buf.Length = PAYLOAD;
        send_buf.Buffer = payload;
        CHECK(QUIC_SUCCEEDED(
            api->StreamSend(stream, &send_buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        by_transport++;
        status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        initiated_at = now_ms();
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        CHECK(by_transport == 1);
        counter_add(&done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    counter_init(&done);
    counter_init(&stream_done);
    payload = calloc(PAYLOAD, 1);
    CHECK(payload != NULL);

    /* The raw server: a small receive buffer (inherited by the accepted socket). */
    int srv = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(srv >= 0);
    int small = 4096;
    CHECK(setsockopt(srv, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    CHECK(bind(srv, (struct sockaddr*)&sa, sizeof(sa)) == 0);
    CHECK(listen(srv, 4) == 0);
    socklen_t sl = sizeof(sa);
    CHECK(getsockname(srv, (struct sockaddr*)&sa, &sl) == 0);
    uint16_t port = ntohs(sa.sin_port);

    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    uint32_t transport = QUIC_TRANSPORT_QMUX_TCP;
    CHECK(api->SetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, sizeof(transport), &transport) ==
          QUIC_STATUS_SUCCESS);
    QUIC_BUFFER alpn = {2, (uint8_t*)"dt"};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.DisconnectTimeoutMs = TRUE;
    s.DisconnectTimeoutMs = DISCONNECT_MS;
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &s, sizeof(s), NULL, &cfg) == QUIC_STATUS_SUCCESS);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port)));
    int peer = accept(srv, NULL, NULL);
    CHECK(peer >= 0);
    CHECK(write(peer, canned_tp, sizeof(canned_tp)) == (ssize_t)sizeof(canned_tp));

    CHECK(counter_wait(&done, 1, 20000));
    CHECK(counter_wait(&stream_done, 1, 5000));
    long long elapsed = initiated_at - connected_at;
    printf("disconnect_timeout: connected=%d transport=%d status=%u after %lld ms\n", connected,
           by_transport, status, elapsed);
    CHECK(connected);
    CHECK(by_transport == 1);
    CHECK(status == QUIC_STATUS_CONNECTION_TIMEOUT);
    /* The socket fills within moments of CONNECTED; the timer runs a second after that. */
    CHECK(elapsed >= DISCONNECT_MS - 50);
    CHECK(elapsed < DISCONNECT_MS + 8000);

    api->ConnectionClose(conn);
    api->ConfigurationClose(cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    close(peer);
    close(srv);
    free(payload);
    counter_destroy(&done);
    counter_destroy(&stream_done);
    return finish("disconnect_timeout");
}
