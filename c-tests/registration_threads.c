/* The worker threads of a SCAVENGER or REAL_TIME registration (threads of its own) end when
 * the registration's close completes: after each RegistrationClose (or RegistrationClose2's
 * handler) the process's thread count and descriptor count come back to where they were,
 * however the registration's connection was closed:
 * - ConnectionClose from the application thread after SHUTDOWN_COMPLETE;
 * - ConnectionClose from inside SHUTDOWN_COMPLETE, on one of the registration's own threads;
 * - ConnectionClose from another application thread while the connection is up;
 * and with RegistrationClose2 (the close completing on a thread of the library's), and with
 * ConnectionClose and RegistrationClose both from inside SHUTDOWN_COMPLETE, on the
 * registration's own thread (MsQuic forbids RegistrationClose in a callback, and would wait
 * there forever; here, with nothing left open, the close returns without waiting for the
 * thread it runs on, which ends once the callback returns).
 * Each registration carries a real connection over loopback TLS that echoes a stream. */
#include <dirent.h>

#include "support/qmux_test.h"

#define ROUNDS 50
#define WAIT_MS 10000

static const QUIC_API_TABLE* api;

/* One registration's client connection. */
typedef struct {
    Counter connected;
    Counter echoed;    /* bytes back on the stream */
    Counter done;      /* SHUTDOWN_COMPLETE */
    int close_inside;  /* close the connection from inside SHUTDOWN_COMPLETE */
    HQUIC reg;         /* and then this registration, if set */
    HQUIC conn;
} Client;

static QUIC_STATUS QUIC_API client_stream_cb(HQUIC s, void* ctx, QUIC_STREAM_EVENT* ev) {
    Client* c = ctx;
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        counter_add(&c->echoed, (int)ev->RECEIVE.TotalBufferLength);
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        api->StreamClose(s);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_conn_cb(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    Client* c = ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&c->connected, 1);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        if (c->close_inside && !ev->SHUTDOWN_COMPLETE.AppCloseInProgress) {
            api->ConnectionClose(conn);
            if (c->reg != NULL) api->RegistrationClose(c->reg);
        }
        counter_add(&c->done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Waits until the thread and descriptor counts are back at most at the given levels (a thread
 * just joined may linger in /proc for a moment). */
static int back_to(int threads, int fds, int* now_threads, int* now_fds) {
    long long deadline = now_ms() + WAIT_MS;
    for (;;) {
        *now_threads = count_entries("/proc/self/task");
        *now_fds = count_entries("/proc/self/fd");
        if (*now_threads <= threads && *now_fds <= fds) return 1;
        if (now_ms() > deadline) return 0;
        struct timespec t = {0, 1000000};
        nanosleep(&t, NULL);
    }
}

static void* close_conn_thread(void* arg) {
    api->ConnectionClose((HQUIC)arg);
    return NULL;
}

static Counter reg_closed;

static void QUIC_API reg_close_handler(void* ctx) {
    (void)ctx;
    counter_add(&reg_closed, 1);
}

/* One round: a registration with `profile`, a connection echoing a stream, everything closed
 * as `mode` says (0..4, in the order listed at the top). */
static void round_trip(uint16_t port, QUIC_EXECUTION_PROFILE profile, int mode) {
    QUIC_REGISTRATION_CONFIG rc = {"registration_threads", profile};
    HQUIC reg = NULL;
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rc, &reg)));
    if (reg == NULL) return;
    HQUIC cfg = client_configuration(api, reg, "thr", 0);
    Client c;
    memset(&c, 0, sizeof(c));
    counter_init(&c.connected);
    counter_init(&c.echoed);
    counter_init(&c.done);
    c.close_inside = mode == 1 || mode == 4;
    CHECK(QUIC_SUCCEEDED(api->ConnectionOpen(reg, client_conn_cb, &c, &c.conn)));
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(c.conn, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", port)));
    CHECK(counter_wait(&c.connected, 1, WAIT_MS));
    HQUIC s = NULL;
    CHECK(QUIC_SUCCEEDED(api->StreamOpen(c.conn, QUIC_STREAM_OPEN_FLAG_NONE, client_stream_cb,
                                         &c, &s)));
    static uint8_t bytes[5] = "hello";
    static QUIC_BUFFER buf = {sizeof(bytes), bytes};
    CHECK(QUIC_SUCCEEDED(api->StreamSend(s, &buf, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN,
                                         NULL)));
    CHECK(counter_wait(&c.echoed, (int)sizeof(bytes), WAIT_MS));

    if (mode == 4) {
        /* Everything else is closed: the registration closes from inside SHUTDOWN_COMPLETE. */
        api->ConfigurationClose(cfg);
        c.reg = reg;
        api->ConnectionShutdown(c.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        CHECK(counter_wait(&c.done, 1, WAIT_MS));
    } else if (mode == 2) {
        /* Closed from another application thread while still connected. */
        pthread_t t;
        CHECK(pthread_create(&t, NULL, close_conn_thread, c.conn) == 0);
        CHECK(pthread_join(t, NULL) == 0);
    } else {
        api->ConnectionShutdown(c.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        CHECK(counter_wait(&c.done, 1, WAIT_MS));
        if (mode != 1) api->ConnectionClose(c.conn);
    }
    if (mode == 4) {
        /* Closed already. */
    } else if (mode == 3) {
        api->ConfigurationClose(cfg);
        int before = counter_get(&reg_closed);
        api->RegistrationClose2(reg, reg_close_handler, NULL);
        CHECK(counter_wait(&reg_closed, before + 1, WAIT_MS));
    } else {
        api->ConfigurationClose(cfg);
        api->RegistrationClose(reg);
    }
    counter_destroy(&c.connected);
    counter_destroy(&c.echoed);
    counter_destroy(&c.done);
}

int main(void) {
    if (!have_test_cert()) return 1;
    counter_init(&reg_closed);
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    HQUIC server_reg = NULL;
    QUIC_REGISTRATION_CONFIG rc = {"registration_threads_server",
                                   QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&rc, &server_reg)));
    TestServer server = {api, server_configuration(api, server_reg, "thr", 4, 0), NULL};
    HQUIC listener = NULL;
    CHECK(QUIC_SUCCEEDED(api->ListenerOpen(server_reg, test_server_listener, &server, &listener)));
    uint16_t port = start_listener(api, listener, "thr");

    /* The starting level: the library's shared workers run, the server listens. */
    int threads = count_entries("/proc/self/task");
    int fds = count_entries("/proc/self/fd");
    CHECK(threads > 0 && fds > 0);
    for (int i = 0; i < ROUNDS; i++) {
        QUIC_EXECUTION_PROFILE profile =
            i % 2 == 0 ? QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER : QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME;
        int mode = (i / 2) % 5;
        round_trip(port, profile, mode);
        int now_threads = 0, now_fds = 0;
        if (!back_to(threads, fds, &now_threads, &now_fds)) {
            fprintf(stderr, "round %d (profile %d, mode %d): %d threads (from %d), %d fds (from %d)\n",
                    i, (int)profile, mode, now_threads, threads, now_fds, fds);
            CHECK(now_threads <= threads);
            CHECK(now_fds <= fds);
            break;
        }
    }

    api->ListenerClose(listener);
    api->ConfigurationClose(server.config);
    api->RegistrationClose(server_reg);
    MsQuicClose(api);
    counter_destroy(&reg_closed);
    return finish("registration_threads");
}
