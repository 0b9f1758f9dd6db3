/* Configuration, listener and connection parameters with no QUIC-over-UDP machinery behind
 * them over QMux, checked, stored and returned as MsQuic does on Linux:
 * - CONFIGURATION_VERSION_SETTINGS and CONN_VERSION_SETTINGS: probing, refused versions,
 *   round trip (byte-swapped, as MsQuic returns them), also through a stream handle; an
 *   accepted connection takes its configuration's lists;
 * - LISTENER_CIBIR_ID (≤ 7 bytes, offset 0 only, empty clears), DOS_MODE_EVENTS,
 *   LISTENER_PARTITION_INDEX (once, before start, below the processor count; INVALID_STATE
 *   on get until set; the accepted connection lives on that partition's worker);
 * - CONN_SHARE_UDP_BINDING, CONN_CIBIR_ID (needs a shared binding), CONN_LOCAL_INTERFACE,
 *   CONN_DISABLE_1RTT_ENCRYPTION: client before start only (INVALID_STATE after, and on a
 *   server); a server connection reads SHARE_UDP_BINDING TRUE;
 * - CONN_PEER_CERTIFICATE_VALID (set only; decides a pending certificate validation: TRUE
 *   lets CONNECTED come, FALSE ends with BAD_CERTIFICATE), CONN_ORIG_DEST_CID (INVALID_STATE: no CIDs),
 *   CONN_NETWORK_STATISTICS (probing; TCP's congestion window once connected). */
#define QUIC_API_ENABLE_INSECURE_FEATURES 1
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static HQUIC server_conn;
static Counter connected, server_connected, client_done, server_done;
static volatile int server_autoclose; /* later server connections close themselves */

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&server_connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&server_done, 1);
        if (server_autoclose) api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) server_conn = ev->NEW_CONNECTION.Connection;
    return accept_connection(api, ev, (void*)ServerConnection, NULL, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) counter_add(&connected, 1);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) counter_add(&client_done, 1);
    return QUIC_STATUS_SUCCESS;
}

/* A client that leaves the server's certificate pending, for CONN_PEER_CERTIFICATE_VALID. */
typedef struct {
    Counter cert, connected, done;
    QUIC_STATUS transport_status;
} Pending;

static QUIC_STATUS QUIC_API PendingClient(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    Pending* p = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED:
        counter_add(&p->cert, 1);
        return QUIC_STATUS_PENDING;
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&p->connected, 1);
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        p->transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&p->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* The legacy CONN_PEER_CERTIFICATE_VALID decides a pending validation: TRUE lets CONNECTED
 * come, FALSE ends the connection with BAD_CERTIFICATE. */
static void peer_certificate_valid(HQUIC reg, uint16_t port) {
    QUIC_BUFFER a = {7, (uint8_t*)"objects"};
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &a, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION |
                 QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    server_autoclose = 1;
    for (int accept = 1; accept >= 0; accept--) {
        Pending p;
        memset(&p, 0, sizeof(p));
        counter_init(&p.cert);
        counter_init(&p.connected);
        counter_init(&p.done);
        HQUIC conn = NULL;
        CHECK(api->ConnectionOpen(reg, PendingClient, &p, &conn) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(
            api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
        CHECK(counter_wait(&p.cert, 1, 10000));
        CHECK(!counter_wait(&p.connected, 1, 200)); /* waits for the application */
        BOOLEAN valid = (BOOLEAN)accept;
        CHECK(api->SetParam(conn, QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID, 1, &valid) ==
              QUIC_STATUS_SUCCESS);
        CHECK(counter_wait(&p.done, 1, 10000));
        if (accept) {
            CHECK(counter_get(&p.connected) == 1);
        } else {
            CHECK(counter_get(&p.connected) == 0);
            CHECK(p.transport_status == QUIC_STATUS_BAD_CERTIFICATE);
        }
        api->ConnectionClose(conn);
    }
    api->ConfigurationClose(cfg);
}

static QUIC_STATUS QUIC_API NoStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)stream;
    (void)ctx;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

static const uint32_t valid[] = {0x00000001, 0xabcd0000, 0xff00001d, 0x0a0a0a0a};

/* Version settings on handle `h` with id `param`; `fresh`: none were set before. */
static void versions(HQUIC h, uint32_t param, int fresh) {
    uint8_t out[sizeof(QUIC_VERSION_SETTINGS) + 3 * sizeof(valid)];
    QUIC_VERSION_SETTINGS* o = (QUIC_VERSION_SETTINGS*)out;
    uint32_t len = PROBE_PARAM(api, h, param);
    CHECK(len == (fresh ? sizeof(QUIC_VERSION_SETTINGS) : sizeof(out)));
    const uint32_t invalid[] = {0x00000001, 0x00000002};
    QUIC_VERSION_SETTINGS bad = {invalid, invalid, invalid, 2, 2, 2};
    CHECK(api->SetParam(h, param, sizeof(bad), &bad) == QUIC_STATUS_INVALID_PARAMETER);
    QUIC_VERSION_SETTINGS v = {valid, valid, valid, 4, 4, 4};
    CHECK(api->SetParam(h, param, sizeof(v) - 8, &v) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(h, param, sizeof(v), &v) == QUIC_STATUS_SUCCESS);
    len = PROBE_PARAM(api, h, param);
    CHECK(len == sizeof(out));
    CHECK(api->GetParam(h, param, &len, NULL) == QUIC_STATUS_INVALID_PARAMETER);
    memset(out, 0, sizeof(out));
    CHECK(api->GetParam(h, param, &len, out) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(out) && o->OfferedVersionsLength == 4);
    for (int i = 0; i < 4; i++) CHECK(o->OfferedVersions[i] == __builtin_bswap32(valid[i]));
}

static void listener_params(HQUIC reg) {
    HQUIC l = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &l) == QUIC_STATUS_SUCCESS);
    uint8_t cibir[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    uint32_t len = 5;
    CHECK(api->GetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, &len, NULL) == QUIC_STATUS_SUCCESS);
    CHECK(len == 0);
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, 8, cibir) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, 1, cibir) ==
          QUIC_STATUS_INVALID_PARAMETER);
    uint8_t offset1[2] = {1, 9};
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, 2, offset1) ==
          QUIC_STATUS_NOT_SUPPORTED);
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, 4, cibir) == QUIC_STATUS_SUCCESS);
    len = PROBE_PARAM(api, l, QUIC_PARAM_LISTENER_CIBIR_ID);
    CHECK(len == 4);
    uint8_t got[8] = {0xEE, 0xEE, 0xEE, 0xEE};
    CHECK(api->GetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, &len, got) == QUIC_STATUS_SUCCESS);
    CHECK(len == 4 && got[0] == 0 && got[1] == 1 && got[2] == 2);
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, 0, NULL) == QUIC_STATUS_SUCCESS);
    len = 4;
    CHECK(api->GetParam(l, QUIC_PARAM_LISTENER_CIBIR_ID, &len, got) == QUIC_STATUS_SUCCESS);
    CHECK(len == 0);

    BOOLEAN dos = 7;
    len = PROBE_PARAM(api, l, QUIC_PARAM_DOS_MODE_EVENTS);
    CHECK(len == 1);
    CHECK(api->GetParam(l, QUIC_PARAM_DOS_MODE_EVENTS, &len, &dos) == QUIC_STATUS_SUCCESS);
    CHECK(dos == FALSE);
    uint16_t wide = 1;
    CHECK(api->SetParam(l, QUIC_PARAM_DOS_MODE_EVENTS, 2, &wide) == QUIC_STATUS_INVALID_PARAMETER);
    dos = TRUE;
    CHECK(api->SetParam(l, QUIC_PARAM_DOS_MODE_EVENTS, 1, &dos) == QUIC_STATUS_SUCCESS);
    dos = 0;
    CHECK(api->GetParam(l, QUIC_PARAM_DOS_MODE_EVENTS, &len, &dos) == QUIC_STATUS_SUCCESS);
    CHECK(dos == TRUE);

    uint16_t part = 0xEEEE;
    len = PROBE_PARAM(api, l, QUIC_PARAM_LISTENER_PARTITION_INDEX);
    CHECK(len == 2);
    CHECK(api->GetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->GetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, &len, &part) ==
          QUIC_STATUS_INVALID_STATE);
    part = 0xFFFF;
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &part) ==
          QUIC_STATUS_INVALID_PARAMETER);
    part = 0;
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, 1, &part) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &part) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &part) ==
          QUIC_STATUS_INVALID_PARAMETER);
    part = 0xEEEE;
    CHECK(api->GetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, &len, &part) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 2 && part == 0);
    api->ListenerClose(l);

    /* A started listener takes no partition. */
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &l) == QUIC_STATUS_SUCCESS);
    start_listener(api, l, "objects");
    part = 0;
    CHECK(api->SetParam(l, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &part) ==
          QUIC_STATUS_INVALID_PARAMETER);
    api->ListenerClose(l);
}

/* The pre-start connection options on a client that is not started. */
static void client_before_start(HQUIC conn) {
    BOOLEAN b = 7;
    uint32_t len = PROBE_PARAM(api, conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING);
    CHECK(len == 1);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING, &len, &b) == QUIC_STATUS_SUCCESS);
    CHECK(b == FALSE);
    uint8_t cibir[8] = {0, 5, 6};
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, 3, cibir) == QUIC_STATUS_INVALID_STATE);
    uint16_t wide = 1;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING, 2, &wide) ==
          QUIC_STATUS_INVALID_PARAMETER);
    b = TRUE;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING, 1, &b) == QUIC_STATUS_SUCCESS);
    b = 0;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING, &len, &b) == QUIC_STATUS_SUCCESS);
    CHECK(b == TRUE);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, 8, cibir) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, 1, cibir) == QUIC_STATUS_INVALID_PARAMETER);
    uint8_t offset1[2] = {1, 9};
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, 2, offset1) == QUIC_STATUS_NOT_SUPPORTED);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, 3, cibir) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, 0, NULL) == QUIC_STATUS_SUCCESS);
    len = sizeof(cibir);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, &len, cibir) ==
          QUIC_STATUS_INVALID_PARAMETER);

    len = PROBE_PARAM(api, conn, QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION);
    CHECK(len == 1);
    b = 7;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION, &len, &b) ==
          QUIC_STATUS_SUCCESS);
    CHECK(b == FALSE);
    uint32_t four = 1;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION, 4, &four) ==
          QUIC_STATUS_INVALID_PARAMETER);
    b = TRUE;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION, 1, &b) ==
          QUIC_STATUS_SUCCESS);
    b = 0;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION, &len, &b) ==
          QUIC_STATUS_SUCCESS);
    CHECK(b == TRUE);

    uint32_t ifindex = 1;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_LOCAL_INTERFACE, 2, &ifindex) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_LOCAL_INTERFACE, 4, &ifindex) ==
          QUIC_STATUS_SUCCESS);
    len = 4;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_LOCAL_INTERFACE, &len, &ifindex) ==
          QUIC_STATUS_INVALID_PARAMETER);

    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID, 4, &four) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID, 1, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    b = TRUE; /* nothing is pending: accepted, no effect */
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID, 1, &b) ==
          QUIC_STATUS_SUCCESS);
    len = 1;
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID, &len, &b) ==
          QUIC_STATUS_INVALID_PARAMETER);

    uint8_t cid[20];
    len = sizeof(cid);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_ORIG_DEST_CID, &len, cid) ==
          QUIC_STATUS_INVALID_STATE);

    QUIC_NETWORK_STATISTICS ns;
    len = PROBE_PARAM(api, conn, QUIC_PARAM_CONN_NETWORK_STATISTICS);
    CHECK(len == sizeof(ns));
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_NETWORK_STATISTICS, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_NETWORK_STATISTICS, sizeof(ns), &ns) ==
          QUIC_STATUS_INVALID_PARAMETER);
}

/* After start: the pre-start options are INVALID_STATE (on the server too). */
static void started(HQUIC conn) {
    BOOLEAN b = TRUE;
    uint32_t ifindex = 1;
    uint8_t cibir[3] = {0, 5, 6};
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING, 1, &b) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION, 1, &b) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_LOCAL_INTERFACE, 4, &ifindex) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_CIBIR_ID, 3, cibir) == QUIC_STATUS_INVALID_STATE);
    QUIC_NETWORK_STATISTICS ns;
    memset(&ns, 0, sizeof(ns));
    uint32_t len = sizeof(ns);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_NETWORK_STATISTICS, &len, &ns) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(ns));
    printf("network statistics: rtt %llu us, window %u, bandwidth %llu\n",
           (unsigned long long)ns.SmoothedRTT, ns.CongestionWindow,
           (unsigned long long)ns.Bandwidth);
    CHECK(ns.CongestionWindow > 0);
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&connected);
    counter_init(&server_connected);
    counter_init(&client_done);
    counter_init(&server_done);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "objects", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "objects", 0);
    versions(client_config, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, 1);
    /* Schannel's attribute: Windows only; MsQuic on Linux refuses it both ways. */
    uint8_t attr[24] = {0};
    uint32_t attr_len = sizeof(attr);
    CHECK(api->SetParam(client_config, QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W,
                        sizeof(attr), attr) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->GetParam(client_config, QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W,
                        &attr_len, attr) == QUIC_STATUS_INVALID_PARAMETER);
    /* The server's connections take their configuration's lists. */
    const uint32_t v1 = 1;
    QUIC_VERSION_SETTINGS only_v1 = {&v1, &v1, &v1, 1, 1, 1};
    CHECK(api->SetParam(server_config, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS,
                        sizeof(only_v1), &only_v1) == QUIC_STATUS_SUCCESS);
    listener_params(reg);

    /* The listener's partition is the worker its connections live on. */
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t partition = 1;
    if (api->SetParam(listener, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &partition) !=
        QUIC_STATUS_SUCCESS) {
        partition = 0; /* a single processor */
        CHECK(api->SetParam(listener, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &partition) ==
              QUIC_STATUS_SUCCESS);
    }
    uint16_t port = start_listener(api, listener, "objects");
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    client_before_start(conn);
    versions(conn, QUIC_PARAM_CONN_VERSION_SETTINGS, 1);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&connected, 1, 10000));
    CHECK(counter_wait(&server_connected, 1, 10000));
    started(conn);
    started(server_conn);
    BOOLEAN b = 0;
    uint32_t len = 1;
    CHECK(api->GetParam(server_conn, QUIC_PARAM_CONN_SHARE_UDP_BINDING, &len, &b) ==
          QUIC_STATUS_SUCCESS);
    CHECK(b == TRUE);
    uint8_t vs[sizeof(QUIC_VERSION_SETTINGS) + 3 * sizeof(uint32_t)];
    len = sizeof(vs);
    CHECK(api->GetParam(server_conn, QUIC_PARAM_CONN_VERSION_SETTINGS, &len, vs) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(vs) && ((QUIC_VERSION_SETTINGS*)vs)->AcceptableVersionsLength == 1);
    CHECK(((QUIC_VERSION_SETTINGS*)vs)->AcceptableVersions[0] == 0x01000000);
    uint16_t ideal = 0xEEEE;
    len = sizeof(ideal);
    CHECK(api->GetParam(server_conn, QUIC_PARAM_CONN_IDEAL_PROCESSOR, &len, &ideal) ==
          QUIC_STATUS_SUCCESS);
    CHECK(ideal == partition);
    /* Through a stream handle, as MsQuic routes connection ids. */
    HQUIC stream = NULL;
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, NoStream, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    versions(stream, QUIC_PARAM_CONN_VERSION_SETTINGS, 0);
    api->StreamClose(stream);

    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_done, 1, 10000));
    CHECK(counter_wait(&server_done, 1, 10000));
    api->ConnectionClose(conn);
    api->ConnectionClose(server_conn);
    peer_certificate_valid(reg, port);
    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("object_params");
}
