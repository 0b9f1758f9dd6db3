/* Application-driven execution: ExecutionCreate, ExecutionPoll, ExecutionDelete.
 * - Validation: a zero count, NULL arrays, a NULL event queue or an ideal processor the
 *   machine lacks are INVALID_PARAMETER; a descriptor that is not an epoll instance fails;
 *   a second ExecutionCreate before any registration replaces the first; after
 *   RegistrationOpen it is INVALID_STATE.
 * - The application owns the only thread: it makes an epoll instance, creates one execution
 *   on it, and runs a client and a server (loopback TLS, IdleTimeoutMs 300) by its own loop of
 *   ExecutionPoll, epoll_wait for the time ExecutionPoll returned, and the completion of each
 *   entry (its own eventfd entry shares the queue, in the same QUIC_SQE format).
 * - Every callback runs on the application's thread polling, the library makes no worker
 *   thread, an echo completes, and the idle timeout fires through the loop (ExecutionPoll
 *   returned a finite wait meanwhile), polled by another thread of the application from then
 *   on: both sides see SHUTDOWN_INITIATED_BY_TRANSPORT with CONNECTION_IDLE.
 * - After everything is closed, ExecutionDelete takes the library's entry out of the queue;
 *   completing an event taken from the queue before the delete stays harmless. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "support/qmux_test.h"

#define ALPN "exec-poll"
#define IDLE_MS 300
#define MSG "hello from the application's own loop"

static const QUIC_API_TABLE* api;
static int epfd = -1;
static QUIC_EXECUTION* exec = NULL;
static pid_t app_tid;
static int in_poll = 0;
static int callbacks = 0, callbacks_in_poll = 0, off_thread = 0;
static int library_fd = -1; /* the descriptor of the library's entry in our queue */
static QUIC_SQE* library_sqe = NULL; /* that entry */

/* Every callback: on the application's thread, and counted. */
static void note_callback(void) {
    callbacks++;
    if (in_poll) callbacks_in_poll++;
    if (gettid() != app_tid) off_thread++;
}

/* One side of the connection. */
typedef struct {
    int connected;
    int idle; /* SHUTDOWN_INITIATED_BY_TRANSPORT with CONNECTION_IDLE */
    int complete;
} Side;

static Side client_side, server_side;
static char echoed[64];
static size_t echoed_len = 0;
static int echo_done = 0;

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    note_callback();
    return echo_stream_event(api, stream, ev);
}

static void note_shutdown(Side* side, QUIC_CONNECTION_EVENT* ev) {
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) side->connected = 1;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT &&
        ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status == QUIC_STATUS_CONNECTION_IDLE)
        side->idle = 1;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) side->complete = 1;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    note_callback();
    note_shutdown(&server_side, ev);
    return echo_connection_event(api, conn, ev, (void*)ServerStream, ctx);
}

static HQUIC server_config;

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    note_callback();
    return accept_connection(api, ev, (void*)ServerConnection, ctx, server_config);
}

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    (void)ctx;
    note_callback();
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (echoed_len + b->Length <= sizeof(echoed)) {
                memcpy(echoed + echoed_len, b->Buffer, b->Length);
                echoed_len += b->Length;
            }
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        echo_done = 1;
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    note_callback();
    note_shutdown(&client_side, ev);
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, NULL, &stream) ==
              QUIC_STATUS_SUCCESS);
        static QUIC_BUFFER buf = {sizeof(MSG) - 1, (uint8_t*)MSG};
        CHECK(QUIC_SUCCEEDED(api->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE)));
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

/* The application's own entry in the queue: an eventfd in the same QUIC_SQE format. */
static int app_events = 0;
static QUIC_SQE app_sqe;

static void AppCompletion(QUIC_CQE* cqe) {
    QUIC_SQE* sqe = cqe->data.ptr;
    eventfd_t v;
    CHECK(eventfd_read(sqe->fd, &v) == 0);
    app_events += (int)v;
}

/* Waits seen from ExecutionPoll. */
static int polls = 0, finite_waits = 0, infinite_waits = 0;

/* The application's loop: ExecutionPoll, then epoll_wait for what it said (at most the time
 * left), then every entry's completion; until `*done` or `ms` pass. */
static int run_until(const int* done, int ms) {
    long long deadline = now_ms() + ms;
    while (!*done) {
        long long left = deadline - now_ms();
        if (left <= 0) return 0;
        in_poll = 1;
        uint32_t wait = api->ExecutionPoll(exec);
        in_poll = 0;
        polls++;
        if (wait == UINT32_MAX) {
            infinite_waits++;
        } else if (wait > 0) {
            finite_waits++;
        }
        if (*done) break;
        int timeout = wait == UINT32_MAX || wait > left ? (int)left : (int)wait;
        struct epoll_event evs[8];
        int n = epoll_wait(epfd, evs, 8, timeout);
        for (int i = 0; i < n; i++) {
            QUIC_SQE* sqe = evs[i].data.ptr;
            if (sqe != &app_sqe) {
                library_fd = sqe->fd;
                library_sqe = sqe;
            }
            sqe->Completion(&evs[i]);
        }
    }
    return 1;
}

/* The idle phase, on another thread of the application. */
static HQUIC client_conn;

static void* idle_loop(void* arg) {
    (void)arg;
    app_tid = gettid();
    /* A call that needs the connection's state on its execution, from this thread. */
    QUIC_STATISTICS_V2 stats;
    uint32_t len = sizeof(stats);
    CHECK(api->GetParam(client_conn, QUIC_PARAM_CONN_STATISTICS_V2, &len, &stats) ==
          QUIC_STATUS_SUCCESS);
    CHECK(stats.SendTotalStreamBytes == sizeof(MSG) - 1);
    CHECK(run_until(&client_side.complete, 5000));
    CHECK(run_until(&server_side.complete, 5000));
    return NULL;
}

static void validation(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    QUIC_EXECUTION_CONFIG cfg = {0, &fd};
    QUIC_EXECUTION* e = NULL;
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 0, &cfg, &e) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, NULL, &e) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &cfg, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    QUIC_EXECUTION_CONFIG no_queue = {0, NULL};
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &no_queue, &e) ==
          QUIC_STATUS_INVALID_PARAMETER);
    QUIC_EXECUTION_CONFIG far = {0xFFFF, &fd};
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &far, &e) ==
          QUIC_STATUS_INVALID_PARAMETER);
    int not_epoll = eventfd(0, EFD_CLOEXEC);
    QUIC_EXECUTION_CONFIG wrong = {0, &not_epoll};
    CHECK(QUIC_FAILED(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &wrong,
                                           &e)));
    CHECK(e == NULL);
    close(not_epoll);
    /* A first set, replaced by the one the test runs on. */
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &cfg, &e) ==
          QUIC_STATUS_SUCCESS);
    CHECK(e != NULL);
    close(fd);
}

int main(void) {
    if (!have_test_cert()) return finish("execution_poll");
    app_tid = gettid();
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    if (api == NULL) return 1;
    validation();

    epfd = epoll_create1(EPOLL_CLOEXEC);
    CHECK(epfd >= 0);
    QUIC_EXECUTION_CONFIG cfg = {0, &epfd};
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &cfg, &exec) ==
          QUIC_STATUS_SUCCESS);
    CHECK(exec != NULL);
    if (exec == NULL) return finish("execution_poll");

    app_sqe.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    app_sqe.Completion = AppCompletion;
    struct epoll_event app_ev = {.events = EPOLLIN | EPOLLET, .data = {.ptr = &app_sqe}};
    CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, app_sqe.fd, &app_ev) == 0);
    CHECK(eventfd_write(app_sqe.fd, 1) == 0);

    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    QUIC_EXECUTION* late = NULL;
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &cfg, &late) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(late == NULL);

    server_config = server_configuration(api, reg, ALPN, 1, IDLE_MS);
    HQUIC client_config = client_configuration(api, reg, ALPN, IDLE_MS);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);

    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    client_conn = conn;
    CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                              "127.0.0.1", port)));

    /* Nothing runs until the application polls: no thread of the library drives it. */
    CHECK(library_threads() == 0);
    CHECK(!client_side.connected);

    CHECK(run_until(&echo_done, 10000));
    CHECK(client_side.connected && server_side.connected);
    CHECK(echoed_len == sizeof(MSG) - 1 && memcmp(echoed, MSG, sizeof(MSG) - 1) == 0);
    CHECK(app_events == 1);

    /* Idle: only the idle timers are left, and they fire through the loop, which another
     * thread of the application runs now (an execution may be polled from any thread, one at
     * a time). */
    int before = finite_waits;
    long long idle_from = now_ms();
    pthread_t other;
    CHECK(pthread_create(&other, NULL, idle_loop, NULL) == 0);
    pthread_join(other, NULL);
    app_tid = gettid();
    CHECK(now_ms() - idle_from >= IDLE_MS / 2);
    CHECK(client_side.idle && server_side.idle);
    CHECK(finite_waits > before);

    CHECK(library_threads() == 0);
    CHECK(callbacks > 0);
    CHECK(callbacks_in_poll > 0);
    CHECK(off_thread == 0);

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);
    CHECK(off_thread == 0);

    CHECK(library_fd >= 0);
    api->ExecutionDelete(1, &exec);
    /* The library's entry has left the queue. */
    CHECK(library_fd < 0 || epoll_ctl(epfd, EPOLL_CTL_DEL, library_fd, NULL) != 0);
    struct epoll_event evs[4];
    int n = epoll_wait(epfd, evs, 4, 0);
    for (int i = 0; i < n; i++) CHECK(evs[i].data.ptr == &app_sqe);
    /* An event taken before the delete may still be completed afterwards: harmless. */
    if (library_sqe != NULL) {
        struct epoll_event stale = {.events = EPOLLIN, .data = {.ptr = library_sqe}};
        library_sqe->Completion(&stale);
    }

    MsQuicClose(api);
    close(app_sqe.fd);
    close(epfd);
    printf("execution_poll: %d polls (%d finite waits, %d without timer), %d callbacks\n", polls,
           finite_waits, infinite_waits, callbacks);
    return finish("execution_poll");
}
