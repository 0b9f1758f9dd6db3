/* Listeners of registrations with different worker pools sharing one port: a SCAVENGER
 * registration (a worker of its own), a default one (the library's shared workers) and a
 * REAL_TIME one (workers of its own), two at a time, each with a listener on the same port for
 * its own ALPN, in both start orders; and two default ones. The first listener has
 * LISTENER_PARTITION_INDEX 0, the second 1 (0 on a single processor). For each pair:
 * - clients of both ALPNs are accepted, each by its own listener, and every callback of an
 *   accepted connection runs on a thread of its listener's registration (nice 19 for
 *   SCAVENGER, a single-CPU thread for REAL_TIME, the process's nice for the shared workers),
 *   the one of its listener's partition (IDEAL_PROCESSOR_CHANGED; SCAVENGER has one worker);
 * - the first listener is stopped from its own NEW_CONNECTION callback: STOP_COMPLETE comes,
 *   its ALPN is then refused and the second listener still accepts;
 * - the first listener and then its whole registration are closed (RegistrationClose): the
 *   second listener still accepts new connections, and a connection it accepted before that
 *   close still lives (it shuts down cleanly afterwards);
 * - ListenerStop on the second listener gives STOP_COMPLETE and frees the port: a new
 *   listener binds it alone, accepts, and its ListenerClose gives STOP_COMPLETE.
 * The thread checks follow this library's worker model (README, RegistrationOpen); MsQuic
 * 2.5.1 places its threads otherwise and fails only them. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support/qmux_test.h"

#define WAIT_MS 10000
#define DEFAULT_PROFILE QUIC_EXECUTION_PROFILE_LOW_LATENCY

static const QUIC_API_TABLE* api;
static HQUIC client_reg;
static int base_nice;
static int cpus;

/* One registration with its listener. */
typedef struct {
    const char* alpn;
    QUIC_EXECUTION_PROFILE profile;
    HQUIC reg, config, listener;
    Counter accepted;    /* NEW_CONNECTION */
    Counter stopped;     /* STOP_COMPLETE */
    Counter server_done; /* SHUTDOWN_COMPLETE of its accepted connections */
    int stop_inside;     /* ListenerStop from inside the next NEW_CONNECTION */
    int wrong_thread;    /* callbacks of its connections seen on another pool's thread */
    uint16_t want_ideal; /* the worker its connections should report */
    int wrong_ideal;     /* IDEAL_PROCESSOR_CHANGED naming another worker */
} Side;

/* Whether the calling thread is one of `profile`'s workers. */
static int on_pool_of(QUIC_EXECUTION_PROFILE profile) {
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, (id_t)gettid());
    if (errno != 0) return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    int pinned = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1;
    switch (profile) {
    case QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER:
        return nice == 19;
    case QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME:
        /* Pinned to one processor (indistinguishable on a single-CPU machine). */
        return nice != 19 && (pinned || cpus == 1);
    default:
        return nice == base_nice && (!pinned || cpus == 1);
    }
}

static void note_thread(Side* s) {
    if (!on_pool_of(s->profile)) __atomic_fetch_add(&s->wrong_thread, 1, __ATOMIC_SEQ_CST);
}

static QUIC_STATUS QUIC_API server_conn_cb(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Side* s = ctx;
    note_thread(s);
    if (ev->Type == QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED &&
        ev->IDEAL_PROCESSOR_CHANGED.IdealProcessor != s->want_ideal) {
        __atomic_fetch_add(&s->wrong_ideal, 1, __ATOMIC_SEQ_CST);
    }
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        api->ConnectionClose(conn);
        counter_add(&s->server_done, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_cb(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    Side* s = ctx;
    if (ev->Type == QUIC_LISTENER_EVENT_STOP_COMPLETE) {
        counter_add(&s->stopped, 1);
        return QUIC_STATUS_SUCCESS;
    }
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    const QUIC_NEW_CONNECTION_INFO* info = ev->NEW_CONNECTION.Info;
    CHECK(info->NegotiatedAlpnLength == strlen(s->alpn));
    CHECK(memcmp(info->NegotiatedAlpn, s->alpn, strlen(s->alpn)) == 0);
    note_thread(s);
    counter_add(&s->accepted, 1);
    if (s->stop_inside) {
        s->stop_inside = 0;
        api->ListenerStop(listener);
    }
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)server_conn_cb, s);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, s->config);
}

/* A client connection. */
typedef struct {
    Counter connected;
    Counter done;
    int shut_on_connect; /* shut down as soon as connected */
    QUIC_STATUS transport_status;
    HQUIC conn, config;
} Client;

static QUIC_STATUS QUIC_API client_cb(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Client* c = ctx;
    switch (ev->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        counter_add(&c->connected, 1);
        if (c->shut_on_connect) api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        c->transport_status = ev->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        counter_add(&c->done, 1);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void client_start(Client* c, const char* alpn, uint16_t port, int shut_on_connect) {
    memset(c, 0, sizeof(*c));
    counter_init(&c->connected);
    counter_init(&c->done);
    c->shut_on_connect = shut_on_connect;
    c->config = client_configuration(api, client_reg, alpn, 0);
    CHECK(api->ConnectionOpen(client_reg, client_cb, c, &c->conn) == QUIC_STATUS_SUCCESS);
    CHECK(QUIC_SUCCEEDED(
        api->ConnectionStart(c->conn, c->config, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
}

static void client_end(Client* c) {
    CHECK(counter_wait(&c->done, 1, WAIT_MS));
    api->ConnectionClose(c->conn);
    api->ConfigurationClose(c->config);
    counter_destroy(&c->connected);
    counter_destroy(&c->done);
}

/* Connects with `alpn` (shutting down once connected) and waits for the end; returns whether it
 * connected, and the transport's status in `status`. */
static int connect_with(const char* alpn, uint16_t port, QUIC_STATUS* status) {
    Client c;
    client_start(&c, alpn, port, 1);
    CHECK(counter_wait(&c.done, 1, WAIT_MS));
    int connected = counter_get(&c.connected);
    *status = c.transport_status;
    client_end(&c);
    printf("client %s: connected=%d status=%u\n", alpn, connected, *status);
    return connected;
}

/* Connects with `alpn` and checks that `side` accepted it (and no one else). */
static void accepted_by(Side* side, Side* other, uint16_t port) {
    int before = counter_get(&side->accepted);
    int other_before = other != NULL ? counter_get(&other->accepted) : 0;
    QUIC_STATUS status;
    CHECK(connect_with(side->alpn, port, &status));
    CHECK(counter_get(&side->accepted) == before + 1);
    if (other != NULL) CHECK(counter_get(&other->accepted) == other_before);
}

static QUIC_STATUS start_on(HQUIC listener, const char* alpn, uint16_t port) {
    QUIC_BUFFER a = {(uint32_t)strlen(alpn), (uint8_t*)alpn};
    QUIC_ADDR addr;
    memset(&addr, 0, sizeof(addr));
    QuicAddrSetFamily(&addr, QUIC_ADDRESS_FAMILY_INET);
    addr.Ipv4.sin_addr.s_addr = htonl(0x7f000001);
    QuicAddrSetPort(&addr, port);
    return TRACE_CALL("ListenerStart", api->ListenerStart(listener, &a, 1, &addr));
}

/* Sets the listener's partition: `partition`, or 0 if the machine has too few processors. */
static void set_partition(Side* s, HQUIC listener, uint16_t partition) {
    if (api->SetParam(listener, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &partition) !=
        QUIC_STATUS_SUCCESS) {
        partition = 0;
        CHECK(api->SetParam(listener, QUIC_PARAM_LISTENER_PARTITION_INDEX, 2, &partition) ==
              QUIC_STATUS_SUCCESS);
    }
    /* SCAVENGER has a single worker. */
    s->want_ideal = s->profile == QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER ? 0 : partition;
}

static void side_open(Side* s, const char* alpn, QUIC_EXECUTION_PROFILE profile,
                      uint16_t partition) {
    memset(s, 0, sizeof(*s));
    s->alpn = alpn;
    s->profile = profile;
    counter_init(&s->accepted);
    counter_init(&s->stopped);
    counter_init(&s->server_done);
    QUIC_REGISTRATION_CONFIG rc = {"listener_shared_pools", profile};
    CHECK(api->RegistrationOpen(&rc, &s->reg) == QUIC_STATUS_SUCCESS);
    s->config = server_configuration(api, s->reg, alpn, 1, 0);
    CHECK(api->ListenerOpen(s->reg, listener_cb, s, &s->listener) == QUIC_STATUS_SUCCESS);
    set_partition(s, s->listener, partition);
}

/* Closes what is left of the side (its listener is closed already) and its registration. */
static void side_close(Side* s) {
    api->ConfigurationClose(s->config);
    api->RegistrationClose(s->reg);
    if (s->wrong_thread != 0) {
        fprintf(stderr, "%s: %d callbacks on another pool's thread\n", s->alpn, s->wrong_thread);
    }
    CHECK(s->wrong_thread == 0);
    if (s->wrong_ideal != 0) {
        fprintf(stderr, "%s: %d connections not on worker %u\n", s->alpn, s->wrong_ideal,
                s->want_ideal);
    }
    CHECK(s->wrong_ideal == 0);
    counter_destroy(&s->accepted);
    counter_destroy(&s->stopped);
    counter_destroy(&s->server_done);
}

static void run_case(QUIC_EXECUTION_PROFILE first_profile, QUIC_EXECUTION_PROFILE second_profile) {
    printf("case: first profile %d, second profile %d\n", (int)first_profile,
           (int)second_profile);
    Side first, second;
    side_open(&first, "first", first_profile, 0);
    side_open(&second, "second", second_profile, 1);
    CHECK(start_on(first.listener, first.alpn, 0) == QUIC_STATUS_SUCCESS);
    QUIC_ADDR local;
    uint32_t len = sizeof(local);
    CHECK(api->GetParam(first.listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &len, &local) ==
          QUIC_STATUS_SUCCESS);
    uint16_t port = QuicAddrGetPort(&local);
    CHECK(start_on(second.listener, second.alpn, port) == QUIC_STATUS_SUCCESS);

    accepted_by(&first, &second, port);
    accepted_by(&second, &first, port);

    /* A connection to the second listener kept open across the first's close. */
    Client held;
    client_start(&held, second.alpn, port, 0);
    CHECK(counter_wait(&held.connected, 1, WAIT_MS));

    /* The first listener stops from its own NEW_CONNECTION callback. */
    first.stop_inside = 1;
    accepted_by(&first, &second, port);
    CHECK(counter_wait(&first.stopped, 1, WAIT_MS));
    QUIC_STATUS status;
    CHECK(!connect_with(first.alpn, port, &status));
    CHECK(status == QUIC_STATUS_ALPN_NEG_FAILURE);
    accepted_by(&second, &first, port);

    /* The first listener and its whole registration go; the second listener stays. */
    api->ListenerClose(first.listener);
    CHECK(counter_get(&first.stopped) == 1);
    side_close(&first);
    accepted_by(&second, NULL, port);
    accepted_by(&second, NULL, port);
    api->ConnectionShutdown(held.conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(counter_wait(&held.done, 1, WAIT_MS));
    CHECK(held.transport_status == 0);
    /* Every connection the second listener accepted, the held one too, has ended. */
    CHECK(counter_wait(&second.server_done, counter_get(&second.accepted), WAIT_MS));
    client_end(&held);

    /* ListenerStop on the second listener completes, and the port is free again. */
    api->ListenerStop(second.listener);
    CHECK(counter_wait(&second.stopped, 1, WAIT_MS));
    api->ListenerClose(second.listener);
    CHECK(counter_get(&second.stopped) == 1);
    HQUIC again = NULL;
    int again_before = counter_get(&second.accepted);
    CHECK(api->ListenerOpen(second.reg, listener_cb, &second, &again) == QUIC_STATUS_SUCCESS);
    set_partition(&second, again, 1);
    CHECK(start_on(again, second.alpn, port) == QUIC_STATUS_SUCCESS);
    CHECK(connect_with(second.alpn, port, &status));
    CHECK(counter_get(&second.accepted) == again_before + 1);
    api->ListenerClose(again);
    CHECK(counter_get(&second.stopped) == 2);
    side_close(&second);
}

int main(void) {
    if (!have_test_cert()) return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    errno = 0;
    base_nice = getpriority(PRIO_PROCESS, (id_t)gettid());
    cpu_set_t set;
    CPU_ZERO(&set);
    CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
    cpus = CPU_COUNT(&set);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    CHECK(api->RegistrationOpen(NULL, &client_reg) == QUIC_STATUS_SUCCESS);

    run_case(QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER, DEFAULT_PROFILE);
    run_case(DEFAULT_PROFILE, QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER);
    run_case(QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER, QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME);
    run_case(QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME, QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER);
    run_case(DEFAULT_PROFILE, QUIC_EXECUTION_PROFILE_TYPE_MAX_THROUGHPUT);

    api->RegistrationClose(client_reg);
    MsQuicClose(api);
    return finish("listener_shared_pools");
}
