/* A plugin host: the library is not linked in but loaded with
 * dlopen("libmsquic.so.2", RTLD_NOW | RTLD_LOCAL); MsQuicOpenVersion and MsQuicClose come from
 * dlsym. A short echo over QMux/TLS runs through the table, then the table is closed and the
 * library unloaded. Built without -lmsquic (tests/c_suite.rs links "dlopen*" programs with -ldl
 * only), so no MsQuic symbol is referenced directly. */
#include "support/qmux_test.h"

#include <dlfcn.h>

static const QUIC_API_TABLE* api;
static HQUIC server_config;
static const char message[] = "hello from a plugin host";
static char echoed[64];
static size_t echoed_len = 0;
static Counter echo_done, client_complete;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    return echo_stream_event(api, stream, ev);
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
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (echoed_len + b->Length <= sizeof(echoed)) {
                memcpy(echoed + echoed_len, b->Buffer, b->Length);
            }
            echoed_len += b->Length;
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        counter_add(&echo_done, 1);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
              QUIC_STATUS_SUCCESS);
        static QUIC_BUFFER buf = {sizeof(message) - 1, (uint8_t*)message};
        CHECK(QUIC_SUCCEEDED(
            api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&client_complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&echo_done);
    counter_init(&client_complete);

    void* lib = dlopen("libmsquic.so.2", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    /* dlsym returns a data pointer; copying its bytes into the function pointer avoids the
     * object-to-function pointer conversion ISO C leaves undefined. */
    MsQuicOpenVersionFn open_version = NULL;
    MsQuicCloseFn close_table = NULL;
    void* sym = dlsym(lib, "MsQuicOpenVersion");
    CHECK(sym != NULL);
    memcpy(&open_version, &sym, sizeof(sym));
    sym = dlsym(lib, "MsQuicClose");
    CHECK(sym != NULL);
    memcpy(&close_table, &sym, sizeof(sym));
    if (open_version == NULL || close_table == NULL) return 1;

    CHECK(QUIC_SUCCEEDED(open_version(QUIC_API_VERSION_2, (const void**)&api)));
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    server_config = server_configuration(api, reg, "plugin", 1, 0);
    HQUIC client_config = client_configuration(api, reg, "plugin", 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, "plugin");

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                               "localhost", port)));
    CHECK(counter_wait(&echo_done, 1, 10000));
    CHECK(echoed_len == sizeof(message) - 1 && memcmp(echoed, message, echoed_len) == 0);
    api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&client_complete, 1, 10000));
    api->ConnectionClose(conn);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    close_table(api);
    api = NULL;
    CHECK(dlclose(lib) == 0);
    counter_destroy(&echo_done);
    counter_destroy(&client_complete);
    return finish("dlopen_host");
}
