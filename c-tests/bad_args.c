/* Every slot of the function table called with bad arguments: NULL handles, handles of the
 * wrong kind, closed handles, NULL required pointers and out-of-range values. Each call must
 * return a status (or nothing, for void slots), leave out-parameters untouched, and the process
 * must survive. */
#include "msquic.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

#define INVALID QUIC_STATUS_INVALID_PARAMETER
#define SENTINEL ((HQUIC)(uintptr_t)0x5a5a5a5a5a5a5a50ull)

static QUIC_STATUS QUIC_API ListenerCb(HQUIC h, void* ctx, QUIC_LISTENER_EVENT* ev) {
    (void)h; (void)ctx; (void)ev;
    return QUIC_STATUS_SUCCESS;
}
static QUIC_STATUS QUIC_API ConnectionCb(HQUIC h, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)h; (void)ctx; (void)ev;
    return QUIC_STATUS_SUCCESS;
}
static QUIC_STATUS QUIC_API StreamCb(HQUIC h, void* ctx, QUIC_STREAM_EVENT* ev) {
    (void)h; (void)ctx; (void)ev;
    return QUIC_STATUS_SUCCESS;
}
static void QUIC_API CloseCb(void* ctx) { (void)ctx; }

static const QUIC_API_TABLE* api;
static uint8_t alpn_bytes[] = {'t', 'e', 's', 't'};
static QUIC_BUFFER alpn = {sizeof(alpn_bytes), alpn_bytes};

/* The handle arguments every handle-taking slot is tried with, besides its right kind. */
enum { H_NULL, H_MISALIGNED, H_REG, H_CONFIG, H_LISTENER, H_CONN, H_STREAM, H_CLOSED, H_COUNT };
static HQUIC handles[H_COUNT];
static const char* names[H_COUNT] = {"NULL", "misaligned", "registration", "configuration",
                                     "listener", "connection", "stream", "closed"};

/* Runs `call` with every handle but the right kind and expects INVALID_PARAMETER. */
#define EACH_WRONG(right, call)                                                             \
    for (int i_ = 0; i_ < H_COUNT; i_++) {                                                  \
        if (i_ == (right)) continue;                                                        \
        HQUIC h_ = handles[i_];                                                             \
        QUIC_STATUS s_ = (call);                                                            \
        if (s_ != INVALID) {                                                                \
            fprintf(stderr, "%s:%d: %s with %s handle gave %u\n", __FILE__, __LINE__, #call, \
                    names[i_], s_);                                                         \
            failures++;                                                                     \
        }                                                                                   \
    }

/* As EACH_WRONG for the calls where a stream stands for its connection (as in MsQuic): the
 * stream handle is right too. */
#define EACH_WRONG_CONN(call)                                                               \
    for (int i_ = 0; i_ < H_COUNT; i_++) {                                                  \
        if (i_ == H_CONN || i_ == H_STREAM) continue;                                       \
        HQUIC h_ = handles[i_];                                                             \
        QUIC_STATUS s_ = (call);                                                            \
        if (s_ != INVALID) {                                                                \
            fprintf(stderr, "%s:%d: %s with %s handle gave %u\n", __FILE__, __LINE__, #call, \
                    names[i_], s_);                                                         \
            failures++;                                                                     \
        }                                                                                   \
    }

/* Runs a void `call` with every handle but the right kind; it must simply return. */
#define EACH_WRONG_VOID(right, call)                                                        \
    for (int i_ = 0; i_ < H_COUNT; i_++) {                                                  \
        if (i_ == (right)) continue;                                                        \
        HQUIC h_ = handles[i_];                                                             \
        call;                                                                               \
    }

static void context_slots(void) {
    /* SetContext/GetContext/SetCallbackHandler work on every live kind... */
    for (int i = H_REG; i <= H_STREAM; i++) {
        void* ctx = (void*)(uintptr_t)(0x1000 + i);
        api->SetContext(handles[i], ctx);
        CHECK(api->GetContext(handles[i]) == ctx);
    }
    api->SetCallbackHandler(handles[H_LISTENER], (void*)ListenerCb, (void*)0x77);
    CHECK(api->GetContext(handles[H_LISTENER]) == (void*)0x77);
    api->SetCallbackHandler(handles[H_CONN], (void*)ConnectionCb, (void*)0x78);
    CHECK(api->GetContext(handles[H_CONN]) == (void*)0x78);
    api->SetCallbackHandler(handles[H_STREAM], (void*)StreamCb, (void*)0x79);
    CHECK(api->GetContext(handles[H_STREAM]) == (void*)0x79);
    /* ...registrations and configurations have no callback: left unchanged. */
    api->SetCallbackHandler(handles[H_REG], (void*)ListenerCb, (void*)0x99);
    CHECK(api->GetContext(handles[H_REG]) == (void*)(uintptr_t)(0x1000 + H_REG));
    /* ...and bad handles are ignored or answered with NULL. */
    api->SetContext(NULL, (void*)1);
    api->SetContext(handles[H_CLOSED], (void*)1);
    api->SetContext(handles[H_MISALIGNED], (void*)1);
    api->SetCallbackHandler(NULL, (void*)StreamCb, NULL);
    api->SetCallbackHandler(handles[H_CLOSED], (void*)StreamCb, NULL);
    CHECK(api->GetContext(NULL) == NULL);
    CHECK(api->GetContext(handles[H_CLOSED]) == NULL);
    CHECK(api->GetContext(handles[H_MISALIGNED]) == NULL);
}

static void param_slots(void) {
    uint32_t len = 16;
    uint8_t buf[16];
    /* NULL BufferLength. */
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, NULL, buf) == INVALID);
    /* Unknown ids, globally and per handle. */
    CHECK(api->GetParam(NULL, 0x01000FFF, &len, buf) == INVALID);
    CHECK(api->SetParam(NULL, 0x01000FFF, sizeof(buf), buf) == INVALID);
    /* A handle-scoped id with a NULL handle, and a global id with a handle. */
    CHECK(api->GetParam(NULL, QUIC_PARAM_CONN_SETTINGS, &len, buf) == INVALID);
    CHECK(api->GetParam(handles[H_CONN], QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &len, buf) ==
          INVALID);
    /* Read-only library parameters cannot be set. */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, sizeof(buf), buf) == INVALID);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, sizeof(buf), buf) == INVALID);
    /* Closed and misaligned handles. */
    CHECK(api->GetParam(handles[H_CLOSED], QUIC_PARAM_REGISTRATION_TRANSPORT, &len, buf) ==
          INVALID);
    CHECK(api->SetParam(handles[H_MISALIGNED], QUIC_PARAM_CONN_SETTINGS, sizeof(buf), buf) ==
          INVALID);
    /* Ids of another object's scope. */
    CHECK(api->GetParam(handles[H_LISTENER], QUIC_PARAM_STREAM_ID, &len, buf) == INVALID);
    CHECK(api->GetParam(handles[H_REG], QUIC_PARAM_CONN_SETTINGS, &len, buf) == INVALID);
    CHECK(api->GetParam(handles[H_CONFIG], QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, buf) ==
          INVALID);
    CHECK(len == 16); /* never written on failure */

    /* The registration transport parameter (this library's extension). */
    uint32_t transport = 0;
    len = 0;
    CHECK(api->GetParam(handles[H_REG], QUIC_PARAM_REGISTRATION_TRANSPORT, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(uint32_t));
    CHECK(api->GetParam(handles[H_REG], QUIC_PARAM_REGISTRATION_TRANSPORT, &len, &transport) ==
          QUIC_STATUS_SUCCESS);
    CHECK(transport == QUIC_TRANSPORT_QMUX_TLS);
    transport = QUIC_TRANSPORT_QMUX_TCP;
    CHECK(api->SetParam(handles[H_REG], QUIC_PARAM_REGISTRATION_TRANSPORT, 2, &transport) ==
          INVALID);
    CHECK(api->SetParam(handles[H_REG], QUIC_PARAM_REGISTRATION_TRANSPORT, 4, NULL) == INVALID);
    transport = 7;
    CHECK(api->SetParam(handles[H_REG], QUIC_PARAM_REGISTRATION_TRANSPORT, 4, &transport) ==
          INVALID);
    transport = QUIC_TRANSPORT_QUIC;
    CHECK(api->SetParam(handles[H_REG], QUIC_PARAM_REGISTRATION_TRANSPORT, 4, &transport) ==
          QUIC_STATUS_NOT_SUPPORTED);
    /* The registration has children already. */
    transport = QUIC_TRANSPORT_QMUX_TCP;
    CHECK(api->SetParam(handles[H_REG], QUIC_PARAM_REGISTRATION_TRANSPORT, 4, &transport) ==
          QUIC_STATUS_INVALID_STATE);
}

static void registration_slots(void) {
    HQUIC out = SENTINEL;
    CHECK(api->RegistrationOpen(NULL, NULL) == INVALID);
    QUIC_REGISTRATION_CONFIG bad_profile = {"x", (QUIC_EXECUTION_PROFILE)42};
    CHECK(api->RegistrationOpen(&bad_profile, &out) == INVALID);
    CHECK(out == SENTINEL);
    EACH_WRONG_VOID(H_REG, api->RegistrationClose(h_));
    EACH_WRONG_VOID(H_REG, api->RegistrationShutdown(h_, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0));
    EACH_WRONG_VOID(H_REG, api->RegistrationClose2(h_, CloseCb, NULL));
    api->RegistrationClose2(handles[H_REG], NULL, NULL); /* NULL handler: ignored */
}

static void configuration_slots(void) {
    HQUIC out = SENTINEL;
    QUIC_SETTINGS settings;
    memset(&settings, 0, sizeof(settings));
    EACH_WRONG(H_REG, api->ConfigurationOpen(h_, &alpn, 1, NULL, 0, NULL, &out));
    CHECK(api->ConfigurationOpen(handles[H_REG], &alpn, 1, NULL, 0, NULL, NULL) == INVALID);
    CHECK(api->ConfigurationOpen(handles[H_REG], NULL, 1, NULL, 0, NULL, &out) == INVALID);
    CHECK(api->ConfigurationOpen(handles[H_REG], &alpn, 0, NULL, 0, NULL, &out) == INVALID);
    QUIC_BUFFER empty = {0, alpn_bytes};
    CHECK(api->ConfigurationOpen(handles[H_REG], &empty, 1, NULL, 0, NULL, &out) == INVALID);
    uint8_t long_alpn[256];
    memset(long_alpn, 'a', sizeof(long_alpn));
    QUIC_BUFFER too_long = {sizeof(long_alpn), long_alpn};
    CHECK(api->ConfigurationOpen(handles[H_REG], &too_long, 1, NULL, 0, NULL, &out) == INVALID);
    QUIC_BUFFER null_bytes = {4, NULL};
    CHECK(api->ConfigurationOpen(handles[H_REG], &null_bytes, 1, NULL, 0, NULL, &out) == INVALID);
    /* Settings with any IsSet bit must cover at least 109 bytes (all-clear settings are
     * ignored whatever their size, as in MsQuic), and must hold valid values. */
    settings.IsSet.IdleTimeoutMs = TRUE;
    settings.IdleTimeoutMs = 1000;
    CHECK(api->ConfigurationOpen(handles[H_REG], &alpn, 1, &settings, 108, NULL, &out) ==
          INVALID);
    settings.IsSet.InitialRttMs = TRUE;
    settings.InitialRttMs = 0;
    CHECK(api->ConfigurationOpen(handles[H_REG], &alpn, 1, &settings, sizeof(settings), NULL,
                                 &out) == INVALID);
    CHECK(out == SENTINEL);
    EACH_WRONG_VOID(H_CONFIG, api->ConfigurationClose(h_));
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    EACH_WRONG(H_CONFIG, api->ConfigurationLoadCredential(h_, &cred));
    CHECK(api->ConfigurationLoadCredential(handles[H_CONFIG], NULL) == INVALID);
}

static void listener_slots(void) {
    HQUIC out = SENTINEL;
    EACH_WRONG(H_REG, api->ListenerOpen(h_, ListenerCb, NULL, &out));
    CHECK(api->ListenerOpen(handles[H_REG], NULL, NULL, &out) == INVALID);
    CHECK(api->ListenerOpen(handles[H_REG], ListenerCb, NULL, NULL) == INVALID);
    CHECK(out == SENTINEL);
    EACH_WRONG_VOID(H_LISTENER, api->ListenerClose(h_));
    EACH_WRONG(H_LISTENER, api->ListenerStart(h_, &alpn, 1, NULL));
    CHECK(api->ListenerStart(handles[H_LISTENER], NULL, 1, NULL) == INVALID);
    CHECK(api->ListenerStart(handles[H_LISTENER], &alpn, 0, NULL) == INVALID);
    EACH_WRONG_VOID(H_LISTENER, api->ListenerStop(h_));
}

static void connection_slots(void) {
    HQUIC out = SENTINEL;
    EACH_WRONG(H_REG, api->ConnectionOpen(h_, ConnectionCb, NULL, &out));
    CHECK(api->ConnectionOpen(handles[H_REG], NULL, NULL, &out) == INVALID);
    CHECK(api->ConnectionOpen(handles[H_REG], ConnectionCb, NULL, NULL) == INVALID);
    EACH_WRONG(H_REG, api->ConnectionOpenInPartition(h_, 0, ConnectionCb, NULL, &out));
    CHECK(api->ConnectionOpenInPartition(handles[H_REG], 0, NULL, NULL, &out) == INVALID);
    CHECK(api->ConnectionOpenInPartition(handles[H_REG], 0, ConnectionCb, NULL, NULL) == INVALID);
    CHECK(api->ConnectionOpenInPartition(handles[H_REG], 0xFFFF, ConnectionCb, NULL, &out) ==
          INVALID);
    CHECK(out == SENTINEL);
    EACH_WRONG_VOID(H_CONN, api->ConnectionClose(h_));
    /* ConnectionShutdown(stream) would shut the stream's connection down (as in MsQuic). */
    for (int i_ = 0; i_ < H_COUNT; i_++) {
        if (i_ == H_CONN || i_ == H_STREAM) continue;
        api->ConnectionShutdown(handles[i_], QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    }

    HQUIC conn = handles[H_CONN], config = handles[H_CONFIG];
    EACH_WRONG_CONN(api->ConnectionStart(h_, config, QUIC_ADDRESS_FAMILY_UNSPEC, "localhost",
                                            4433));
    EACH_WRONG(H_CONFIG, api->ConnectionStart(conn, h_, QUIC_ADDRESS_FAMILY_UNSPEC, "localhost",
                                              4433));
    CHECK(api->ConnectionStart(conn, config, QUIC_ADDRESS_FAMILY_UNSPEC, "localhost", 0) ==
          INVALID);
    CHECK(api->ConnectionStart(conn, config, 77, "localhost", 4433) == INVALID);
    CHECK(api->ConnectionStart(conn, config, QUIC_ADDRESS_FAMILY_INET, NULL, 4433) == INVALID);

    EACH_WRONG_CONN(api->ConnectionSetConfiguration(h_, config));
    EACH_WRONG(H_CONFIG, api->ConnectionSetConfiguration(conn, h_));

    uint8_t ticket[8] = {0};
    EACH_WRONG_CONN(api->ConnectionSendResumptionTicket(h_, QUIC_SEND_RESUMPTION_FLAG_NONE,
                                                           sizeof(ticket), ticket));
    CHECK(api->ConnectionSendResumptionTicket(conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 8, NULL) ==
          INVALID);
    CHECK(api->ConnectionSendResumptionTicket(conn, (QUIC_SEND_RESUMPTION_FLAGS)0x80, 8, ticket) ==
          INVALID);
    CHECK(api->ConnectionSendResumptionTicket(conn, QUIC_SEND_RESUMPTION_FLAG_NONE, 1001,
                                              ticket) == INVALID);

    QUIC_BUFFER dgram = {sizeof(ticket), ticket};
    EACH_WRONG(H_CONN, api->DatagramSend(h_, &dgram, 1, QUIC_SEND_FLAG_NONE, NULL));
    CHECK(api->DatagramSend(conn, NULL, 1, QUIC_SEND_FLAG_NONE, NULL) == INVALID);
    CHECK(api->DatagramSend(conn, &dgram, 0, QUIC_SEND_FLAG_NONE, NULL) == INVALID);

    EACH_WRONG_CONN(api->ConnectionResumptionTicketValidationComplete(h_, TRUE));
    EACH_WRONG_CONN(api->ConnectionCertificateValidationComplete(h_, TRUE,
                                                                     QUIC_TLS_ALERT_CODE_SUCCESS));
    CHECK(api->ConnectionCertificateValidationComplete(conn, FALSE,
                                                       (QUIC_TLS_ALERT_CODES)0x1234) == INVALID);

    QUIC_KEYING_MATERIAL_CONFIG km;
    memset(&km, 0, sizeof(km));
    km.Label = "EXPORTER-test";
    km.OutputLength = sizeof(ticket);
    EACH_WRONG(H_CONN, api->ConnectionExportKeyingMaterial(h_, &km, ticket));
    CHECK(api->ConnectionExportKeyingMaterial(conn, NULL, ticket) == INVALID);
    CHECK(api->ConnectionExportKeyingMaterial(conn, &km, NULL) == INVALID);

    CHECK(api->ConnectionPoolCreate(NULL, &out) == INVALID);
    QUIC_CONNECTION_POOL_CONFIG pool;
    memset(&pool, 0, sizeof(pool));
    CHECK(api->ConnectionPoolCreate(&pool, NULL) == INVALID);
    CHECK(out == SENTINEL);
}

static void stream_slots(void) {
    HQUIC out = SENTINEL;
    EACH_WRONG_CONN(api->StreamOpen(h_, QUIC_STREAM_OPEN_FLAG_NONE, StreamCb, NULL, &out));
    CHECK(api->StreamOpen(handles[H_CONN], QUIC_STREAM_OPEN_FLAG_NONE, NULL, NULL, &out) ==
          INVALID);
    CHECK(api->StreamOpen(handles[H_CONN], QUIC_STREAM_OPEN_FLAG_NONE, StreamCb, NULL, NULL) ==
          INVALID);
    CHECK(api->StreamOpen(handles[H_CONN], (QUIC_STREAM_OPEN_FLAGS)0x100, StreamCb, NULL, &out) ==
          INVALID);
    CHECK(out == SENTINEL);

    HQUIC stream = handles[H_STREAM];
    EACH_WRONG_VOID(H_STREAM, api->StreamClose(h_));
    EACH_WRONG(H_STREAM, api->StreamStart(h_, QUIC_STREAM_START_FLAG_NONE));
    EACH_WRONG(H_STREAM, api->StreamShutdown(h_, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0));
    CHECK(api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_NONE, 0) == INVALID);
    CHECK(api->StreamShutdown(stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, QUIC_UINT62_MAX + 1) ==
          INVALID);
    CHECK(api->StreamShutdown(stream,
                              QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL | QUIC_STREAM_SHUTDOWN_FLAG_ABORT,
                              0) == INVALID);
    CHECK(api->StreamShutdown(stream, (QUIC_STREAM_SHUTDOWN_FLAGS)0x8000, 0) == INVALID);

    uint8_t data[4] = {1, 2, 3, 4};
    QUIC_BUFFER buf = {sizeof(data), data};
    EACH_WRONG(H_STREAM, api->StreamSend(h_, &buf, 1, QUIC_SEND_FLAG_NONE, NULL));
    CHECK(api->StreamSend(stream, NULL, 1, QUIC_SEND_FLAG_NONE, NULL) == INVALID);
    EACH_WRONG_VOID(H_STREAM, api->StreamReceiveComplete(h_, 10));
    EACH_WRONG(H_STREAM, api->StreamReceiveSetEnabled(h_, TRUE));
    EACH_WRONG(H_STREAM, api->StreamProvideReceiveBuffers(h_, 1, &buf));
    CHECK(api->StreamProvideReceiveBuffers(stream, 0, &buf) == INVALID);
    CHECK(api->StreamProvideReceiveBuffers(stream, 1, NULL) == INVALID);
}

static void execution_slots(void) {
    QUIC_EXECUTION_CONFIG cfg = {0, NULL};
    QUIC_EXECUTION* exec = NULL;
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 0, &cfg, &exec) ==
          INVALID);
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, NULL, &exec) ==
          INVALID);
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &cfg, NULL) ==
          INVALID);
    /* No event queue. */
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &cfg, &exec) ==
          INVALID);
    CHECK(exec == NULL);
    api->ExecutionDelete(0, NULL);
    api->ExecutionDelete(1, &exec);
    (void)api->ExecutionPoll(NULL);
}

int main(void) {
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    if (api == NULL) return 1;

    HQUIC reg = NULL, config = NULL, listener = NULL, conn = NULL, stream = NULL, dead = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    CHECK(api->RegistrationOpen(NULL, &dead) == QUIC_STATUS_SUCCESS);
    api->RegistrationClose(dead);
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, NULL, 0, NULL, &config) == QUIC_STATUS_SUCCESS);
    CHECK(api->ListenerOpen(reg, ListenerCb, NULL, &listener) == QUIC_STATUS_SUCCESS);
    CHECK(api->ConnectionOpen(reg, ConnectionCb, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, StreamCb, NULL, &stream) ==
          QUIC_STATUS_SUCCESS);
    handles[H_NULL] = NULL;
    handles[H_MISALIGNED] = (HQUIC)((uint8_t*)reg + 1);
    handles[H_REG] = reg;
    handles[H_CONFIG] = config;
    handles[H_LISTENER] = listener;
    handles[H_CONN] = conn;
    handles[H_STREAM] = stream;
    handles[H_CLOSED] = dead;

    context_slots();
    param_slots();
    registration_slots();
    configuration_slots();
    listener_slots();
    connection_slots();
    stream_slots();
    execution_slots();

    /* Closing twice: the second close sees a closed handle and does nothing. */
    api->StreamClose(stream);
    api->StreamClose(stream);
    api->ConnectionClose(conn);
    api->ConnectionClose(conn);
    api->ListenerClose(listener);
    api->ListenerClose(listener);
    api->ConfigurationClose(config);
    api->ConfigurationClose(config);
    api->RegistrationClose(reg);
    api->RegistrationClose(reg);
    MsQuicClose(api);

    if (failures != 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("bad_args: ok\n");
    return 0;
}
