/* Application-driven execution with two executions, each polled by a thread of the
 * application with its own epoll instance (ExecutionPoll, epoll_wait, completions).
 * - Several clients echo over loopback TLS with a server in the same registration; the
 *   main thread opens, starts and configures everything while the two loops run.
 * - Every callback runs on one of the two polling threads, each connection's callbacks (and
 *   its streams') always on the same one, and both threads carry connections.
 * - The library makes no thread of its own; after everything is closed the loops end and
 *   ExecutionDelete releases both executions. */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "support/qmux_test.h"

#define ALPN "exec-threads"
#define CLIENTS 6
#define MSG "echo through an execution"

static const QUIC_API_TABLE* api;
static HQUIC server_config;

/* One execution and the application thread polling it. */
typedef struct {
    int epfd;
    QUIC_EXECUTION* exec;
    pthread_t thread;
    pid_t tid;
    QUIC_SQE stop_sqe; /* the application's own entry: written to end the loop */
    int stop;
} Loop;

static Loop loops[2];
static int off_loop = 0;      /* callbacks on neither polling thread */
static int moved = 0;         /* a connection's callback on another thread than before */
static int per_loop[2] = {0}; /* connections seen on each loop */
static Counter echoed, complete;

/* The polling thread running this callback: 0 or 1, -1 for neither. */
static int current_loop(void) {
    pid_t tid = gettid();
    for (int i = 0; i < 2; i++)
        if (__atomic_load_n(&loops[i].tid, __ATOMIC_SEQ_CST) == tid) return i;
    return -1;
}

/* Per-connection record of the thread its callbacks run on. */
typedef struct {
    int loop; /* -2: not yet seen */
} ConnCtx;

static void note(ConnCtx* c) {
    int l = current_loop();
    if (l < 0) {
        __atomic_fetch_add(&off_loop, 1, __ATOMIC_SEQ_CST);
        return;
    }
    if (c->loop == -2) {
        c->loop = l;
        __atomic_fetch_add(&per_loop[l], 1, __ATOMIC_SEQ_CST);
    } else if (c->loop != l) {
        __atomic_fetch_add(&moved, 1, __ATOMIC_SEQ_CST);
    }
}

static void StopCompletion(QUIC_CQE* cqe) {
    QUIC_SQE* sqe = cqe->data.ptr;
    eventfd_t v;
    (void)eventfd_read(sqe->fd, &v);
    Loop* loop = (Loop*)((char*)sqe - offsetof(Loop, stop_sqe));
    loop->stop = 1;
}

static void* run_loop(void* arg) {
    Loop* loop = arg;
    __atomic_store_n(&loop->tid, gettid(), __ATOMIC_SEQ_CST);
    while (!loop->stop) {
        uint32_t wait = api->ExecutionPoll(loop->exec);
        struct epoll_event evs[16];
        int n = epoll_wait(loop->epfd, evs, 16, wait == UINT32_MAX ? -1 : (int)wait);
        for (int i = 0; i < n; i++) {
            QUIC_SQE* sqe = evs[i].data.ptr;
            sqe->Completion(&evs[i]);
        }
    }
    return NULL;
}

static QUIC_STATUS QUIC_API ServerStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    note(ctx);
    return echo_stream_event(api, stream, ev);
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    note(ctx);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) free(ctx);
    return echo_connection_event(api, conn, ev, (void*)ServerStream, ctx);
}

static QUIC_STATUS QUIC_API Listener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    /* STOP_COMPLETE comes inside ListenerClose, on the main thread: a blocking call made
     * outside ExecutionPoll runs on its caller. */
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    if (current_loop() < 0) __atomic_fetch_add(&off_loop, 1, __ATOMIC_SEQ_CST);
    ConnCtx* c = malloc(sizeof(*c));
    c->loop = -2;
    return accept_connection(api, ev, (void*)ServerConnection, c, server_config);
}

typedef struct {
    ConnCtx c;
    char got[64];
    size_t len;
} Client;

static QUIC_STATUS QUIC_API ClientStream(HQUIC stream, void* ctx, QUIC_STREAM_EVENT* ev) {
    TRACE_STREAM(ev);
    Client* cl = ctx;
    note(&cl->c);
    if (ev->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t i = 0; i < ev->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* b = &ev->RECEIVE.Buffers[i];
            if (cl->len + b->Length <= sizeof(cl->got)) {
                memcpy(cl->got + cl->len, b->Buffer, b->Length);
                cl->len += b->Length;
            }
        }
    } else if (ev->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        if (cl->len == sizeof(MSG) - 1 && memcmp(cl->got, MSG, cl->len) == 0)
            counter_add(&echoed, 1);
        api->StreamClose(stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Client* cl = ctx;
    note(&cl->c);
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        HQUIC stream = NULL;
        CHECK(api->StreamOpen(conn, QUIC_STREAM_OPEN_FLAG_NONE, ClientStream, cl, &stream) ==
              QUIC_STATUS_SUCCESS);
        static QUIC_BUFFER buf = {sizeof(MSG) - 1, (uint8_t*)MSG};
        CHECK(QUIC_SUCCEEDED(api->StreamStart(stream, QUIC_STREAM_START_FLAG_NONE)));
        CHECK(QUIC_SUCCEEDED(api->StreamSend(stream, &buf, 1, QUIC_SEND_FLAG_FIN, NULL)));
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
        counter_add(&complete, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void) {
    if (!have_test_cert()) return finish("execution_threads");
    counter_init(&echoed);
    counter_init(&complete);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    if (api == NULL) return 1;

    QUIC_EXECUTION_CONFIG cfgs[2];
    for (int i = 0; i < 2; i++) {
        loops[i].epfd = epoll_create1(EPOLL_CLOEXEC);
        loops[i].tid = -1;
        cfgs[i].IdealProcessor = 0;
        cfgs[i].EventQ = &loops[i].epfd;
    }
    QUIC_EXECUTION* execs[2] = {NULL, NULL};
    CHECK(api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 2, cfgs, execs) ==
          QUIC_STATUS_SUCCESS);
    CHECK(execs[0] != NULL && execs[1] != NULL && execs[0] != execs[1]);
    if (execs[0] == NULL || execs[1] == NULL) return finish("execution_threads");
    for (int i = 0; i < 2; i++) {
        loops[i].exec = execs[i];
        loops[i].stop_sqe.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        loops[i].stop_sqe.Completion = StopCompletion;
        struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = &loops[i].stop_sqe}};
        CHECK(epoll_ctl(loops[i].epfd, EPOLL_CTL_ADD, loops[i].stop_sqe.fd, &ev) == 0);
    }

    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    for (int i = 0; i < 2; i++) pthread_create(&loops[i].thread, NULL, run_loop, &loops[i]);

    server_config = server_configuration(api, reg, ALPN, 1, 0);
    HQUIC client_config = client_configuration(api, reg, ALPN, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, Listener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);

    Client clients[CLIENTS];
    memset(clients, 0, sizeof(clients));
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].c.loop = -2;
        HQUIC conn = NULL;
        CHECK(api->ConnectionOpen(reg, ClientConnection, &clients[i], &conn) ==
              QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(api->ConnectionStart(conn, client_config, QUIC_ADDRESS_FAMILY_INET,
                                                  "127.0.0.1", port)));
    }
    CHECK(counter_wait(&echoed, CLIENTS, 10000));
    CHECK(library_threads() == 0);

    /* The main thread ends every connection: shutdowns queued to the executions, whose
     * events come in the loops. */
    api->RegistrationShutdown(reg, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&complete, CLIENTS, 10000));

    api->ListenerClose(listener);
    api->ConfigurationClose(client_config);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(reg);

    for (int i = 0; i < 2; i++) {
        CHECK(eventfd_write(loops[i].stop_sqe.fd, 1) == 0);
        pthread_join(loops[i].thread, NULL);
    }
    api->ExecutionDelete(2, execs);
    CHECK(off_loop == 0);
    CHECK(moved == 0);
    CHECK(per_loop[0] > 0 && per_loop[1] > 0);

    MsQuicClose(api);
    for (int i = 0; i < 2; i++) {
        close(loops[i].stop_sqe.fd);
        close(loops[i].epfd);
    }
    printf("execution_threads: connections per loop %d / %d\n", per_loop[0], per_loop[1]);
    return finish("execution_threads");
}
