/* The server's choice of ALPN, as MsQuic makes it. A listener for "a1" and "b1"; clients offer
 * "a1" then "b1". The listener's match is "a1" (NEW_CONNECTION's NegotiatedAlpn); then:
 * 1. the callback points Info->NegotiatedAlpn at the client's "b1" entry and configures
 *    ["a1", "b1"]: the connection negotiates "b1" (both sides' CONNECTED and
 *    TLS_NEGOTIATED_ALPN);
 * 2. no change, configuration ["a1", "b1"]: "a1";
 * 3. no change, configuration ["b1", "a1"]: "b1" (the configuration's first token the client
 *    offered, as MsQuic renegotiates when the match is not the configuration's first);
 * 4. the callback points at "a1" but configures ["b1"] only: "b1";
 * 5, 6. a configuration with no ALPN in common with the client's (from NEW_CONNECTION, then
 *    from the application's thread after NEW_CONNECTION): PENDING, then ALPN_NEG_FAILURE on
 *    both sides;
 * 7, 8. a configuration without credentials, in the same two ways: INVALID_PARAMETER from
 *    the call itself. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static const char* point_at; /* the client entry NEW_CONNECTION points NegotiatedAlpn at */

typedef struct {
    Counter connected;
    Counter done;
    char alpn[16];
    char param_alpn[16];
    Counter initiated;  /* SHUTDOWN_INITIATED_BY_TRANSPORT */
    QUIC_STATUS status; /* its Status and ErrorCode */
    QUIC_UINT62 error;
} Side;

static Side client_side, server_side;

static void side_init(Side* s) {
    memset(s, 0, sizeof(*s));
    counter_init(&s->connected);
    counter_init(&s->done);
    counter_init(&s->initiated);
}

static void side_destroy(Side* s) {
    counter_destroy(&s->connected);
    counter_destroy(&s->done);
    counter_destroy(&s->initiated);
}

static QUIC_STATUS QUIC_API ConnCallback(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Side* s = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        s->status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        s->error = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
        counter_add(&s->initiated, 1);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        uint8_t n = ev->CONNECTED.NegotiatedAlpnLength;
        if (n < sizeof(s->alpn)) memcpy(s->alpn, ev->CONNECTED.NegotiatedAlpn, n);
        uint32_t len = sizeof(s->param_alpn) - 1;
        CHECK(api->GetParam(conn, QUIC_PARAM_TLS_NEGOTIATED_ALPN, &len, s->param_alpn) ==
              QUIC_STATUS_SUCCESS);
        counter_add(&s->connected, 1);
        if (s == &client_side) api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        if (s == &server_side) api->ConnectionClose(conn);
        counter_add(&s->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS set_config_status;
static int configure_later;
static HQUIC accepted_conn;
static Counter accepted;
static Counter configured; /* NEW_CONNECTION's ConnectionSetConfiguration returned */

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        QUIC_NEW_CONNECTION_INFO* info = (QUIC_NEW_CONNECTION_INFO*)ev->NEW_CONNECTION.Info;
        CHECK(info->NegotiatedAlpnLength == 2 && memcmp(info->NegotiatedAlpn, "a1", 2) == 0);
        if (point_at != NULL) {
            /* Find the entry in the client's list (length-prefixed tokens). */
            size_t want = strlen(point_at);
            int found = 0;
            for (uint16_t i = 0; i < info->ClientAlpnListLength;
                 i += 1 + info->ClientAlpnList[i]) {
                uint8_t n = info->ClientAlpnList[i];
                if (n == want && memcmp(info->ClientAlpnList + i + 1, point_at, n) == 0) {
                    info->NegotiatedAlpn = info->ClientAlpnList + i + 1;
                    info->NegotiatedAlpnLength = n;
                    found = 1;
                    break;
                }
            }
            CHECK(found);
        }
    }
    if (ev->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION && configure_later) {
        /* Accepted without a configuration: main() gives it one. */
        api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ConnCallback, &server_side);
        __atomic_store_n(&accepted_conn, ev->NEW_CONNECTION.Connection, __ATOMIC_SEQ_CST);
        counter_add(&accepted, 1);
        return QUIC_STATUS_SUCCESS;
    }
    QUIC_STATUS st = accept_connection(api, ev, (void*)ConnCallback, &server_side, server_config);
    __atomic_store_n(&set_config_status, st, __ATOMIC_SEQ_CST);
    counter_add(&configured, 1);
    return st;
}

static HQUIC config_with(HQUIC reg, const char* first, const char* second, int server) {
    QUIC_BUFFER alpns[2] = {{2, (uint8_t*)first}, {2, (uint8_t*)second}};
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, alpns, second ? 2 : 1, &s, sizeof(s), NULL, &cfg) ==
          QUIC_STATUS_SUCCESS);
    QUIC_CERTIFICATE_FILE files = {test_key(), test_cert()};
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
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

static void run_case(HQUIC reg, HQUIC client_config, uint16_t port, const char* pointed,
                     const char* first, const char* second, const char* expect) {
    side_init(&client_side);
    side_init(&server_side);
    point_at = pointed;
    server_config = config_with(reg, first, second, 1);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_side, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    CHECK(counter_wait(&client_side.done, 1, 10000));
    CHECK(counter_wait(&server_side.done, 1, 10000));
    printf("pointed=%s config=[%s,%s]: client %s/%s server %s/%s\n", pointed ? pointed : "-",
           first, second ? second : "-", client_side.alpn, client_side.param_alpn,
           server_side.alpn, server_side.param_alpn);
    CHECK(strcmp(client_side.alpn, expect) == 0 && strcmp(client_side.param_alpn, expect) == 0);
    CHECK(strcmp(server_side.alpn, expect) == 0 && strcmp(server_side.param_alpn, expect) == 0);
    api->ConnectionClose(conn);
    api->ConfigurationClose(server_config);
    side_destroy(&client_side);
    side_destroy(&server_side);
}

/* The configuration ["c1"] has nothing in common with the client's ["a1", "b1"]: as in MsQuic,
 * ConnectionSetConfiguration returns PENDING and both sides end with
 * SHUTDOWN_INITIATED_BY_TRANSPORT, ALPN_NEG_FAILURE, ErrorCode 0x178 (the TLS alert
 * no_application_protocol), without CONNECTED. */
static void mismatch_case(HQUIC reg, HQUIC client_config, uint16_t port, int later) {
    side_init(&client_side);
    side_init(&server_side);
    point_at = NULL;
    configure_later = later;
    set_config_status = QUIC_STATUS_SUCCESS;
    server_config = config_with(reg, "c1", NULL, 1);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_side, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    if (later) {
        CHECK(counter_wait(&accepted, 1, 10000));
        set_config_status = TRACE_CALL(
            "ConnectionSetConfiguration",
            api->ConnectionSetConfiguration(__atomic_load_n(&accepted_conn, __ATOMIC_SEQ_CST),
                                            server_config));
    }
    if (!later) CHECK(counter_wait(&configured, 1, 10000));
    CHECK(counter_wait(&client_side.done, 1, 10000));
    CHECK(counter_wait(&server_side.initiated, 1, 10000));
    printf("mismatch (later %d): ConnectionSetConfiguration 0x%x, client 0x%x/0x%llx, server "
           "0x%x/0x%llx\n",
           later, (unsigned)set_config_status, (unsigned)client_side.status,
           (unsigned long long)client_side.error, (unsigned)server_side.status,
           (unsigned long long)server_side.error);
    CHECK(set_config_status == QUIC_STATUS_PENDING);
    CHECK(counter_get(&client_side.connected) == 0 && counter_get(&server_side.connected) == 0);
    CHECK(client_side.status == QUIC_STATUS_ALPN_NEG_FAILURE && client_side.error == 0x178);
    CHECK(server_side.status == QUIC_STATUS_ALPN_NEG_FAILURE && server_side.error == 0x178);
    CHECK(counter_wait(&server_side.done, 1, 10000));
    api->ConnectionClose(conn);
    api->ConfigurationClose(server_config);
    side_destroy(&client_side);
    side_destroy(&server_side);
    configure_later = 0;
    counter_destroy(&accepted);
    counter_init(&accepted);
    counter_destroy(&configured);
    counter_init(&configured);
}

/* 7, 8. A configuration without credentials, from NEW_CONNECTION and later: as in MsQuic,
 * INVALID_PARAMETER from the call itself. */
static void nocred_case(HQUIC reg, HQUIC client_config, uint16_t port, int later) {
    side_init(&client_side);
    side_init(&server_side);
    point_at = NULL;
    configure_later = later;
    set_config_status = QUIC_STATUS_SUCCESS;
    QUIC_BUFFER alpn = {2, (uint8_t*)"a1"};
    QUIC_SETTINGS st;
    memset(&st, 0, sizeof(st));
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &st, sizeof(st), NULL, &server_config) ==
          QUIC_STATUS_SUCCESS);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCallback, &client_side, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    if (later) {
        CHECK(counter_wait(&accepted, 1, 10000));
        HQUIC sc = __atomic_load_n(&accepted_conn, __ATOMIC_SEQ_CST);
        set_config_status = TRACE_CALL("ConnectionSetConfiguration",
                                       api->ConnectionSetConfiguration(sc, server_config));
        api->ConnectionClose(sc);
    } else {
        /* The listener's callback failed, so the connection was refused. */
        CHECK(counter_wait(&configured, 1, 10000));
        CHECK(counter_wait(&client_side.done, 1, 10000));
        CHECK(counter_get(&client_side.connected) == 0);
    }
    CHECK(set_config_status == QUIC_STATUS_INVALID_PARAMETER);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
    CHECK(counter_wait(&client_side.done, 1, 10000));
    api->ConnectionClose(conn);
    api->ConfigurationClose(server_config);
    side_destroy(&client_side);
    side_destroy(&server_side);
    configure_later = 0;
    counter_destroy(&accepted);
    counter_init(&accepted);
    counter_destroy(&configured);
    counter_init(&configured);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    QUIC_BUFFER alpns[2] = {{2, (uint8_t*)"a1"}, {2, (uint8_t*)"b1"}};
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    CHECK(api->ListenerStart(listener, alpns, 2, &addr) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = QuicAddrGetPort(&local);
    HQUIC client_config = config_with(reg, "a1", "b1", 0);
    counter_init(&accepted);
    counter_init(&configured);

    run_case(reg, client_config, port, "b1", "a1", "b1", "b1");
    run_case(reg, client_config, port, NULL, "a1", "b1", "a1");
    run_case(reg, client_config, port, NULL, "b1", "a1", "b1");
    run_case(reg, client_config, port, "a1", "b1", NULL, "b1");

    /* 5-8: see the cases. */
    counter_destroy(&configured);
    counter_init(&configured);
    mismatch_case(reg, client_config, port, 0);
    mismatch_case(reg, client_config, port, 1);
    nocred_case(reg, client_config, port, 0);
    nocred_case(reg, client_config, port, 1);
    counter_destroy(&accepted);
    counter_destroy(&configured);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("listener_alpn_choice");
}
