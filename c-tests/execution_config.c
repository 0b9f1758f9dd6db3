/* Worker threads as the application configures them.
 * - QUIC_PARAM_GLOBAL_EXECUTION_CONFIG: validation, read back, INVALID_STATE once a
 *   registration exists, forgotten after the last MsQuicClose; with one processor and
 *   AFFINITIZE, every callback of a LOW_LATENCY registration runs on one thread pinned there.
 * - A SCAVENGER registration's callbacks run on its own single thread at nice 19.
 * - A REAL_TIME registration's callbacks run on threads of its own, each pinned to one core. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include "support/qmux_test.h"

#define ALPN "exec"
#define SHARED_CLIENTS 4
#define MAX_TIDS 64

static const QUIC_API_TABLE* api;
static HQUIC server_config;

/* The threads that ran callbacks for one group of connections, and what was wrong there. */
typedef struct {
    pthread_mutex_t lock;
    pid_t tids[MAX_TIDS];
    int tid_count;
    int wrong_affinity; /* a callback ran outside the expected CPU set */
    int wrong_nice;     /* a callback ran at another nice value */
    int want_cpu;       /* -1: any single CPU; -2: no affinity check */
    int want_nice;      /* INT32_MIN: no check */
    Counter connected, complete;
} Group;

static Group shared_group, scavenger_group, realtime_group;

static void group_init(Group* g, int want_cpu, int want_nice) {
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->lock, NULL);
    g->want_cpu = want_cpu;
    g->want_nice = want_nice;
    counter_init(&g->connected);
    counter_init(&g->complete);
}

/* Records the calling thread in `g` and checks its affinity and priority. */
static void note_thread(Group* g) {
    pid_t tid = gettid();
    cpu_set_t set;
    CPU_ZERO(&set);
    int affinity_ok = 1;
    if (g->want_cpu != -2) {
        affinity_ok = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1 &&
                      (g->want_cpu == -1 || CPU_ISSET(g->want_cpu, &set));
    }
    int nice_ok = 1;
    if (g->want_nice != INT32_MIN) {
        errno = 0;
        int nice = getpriority(PRIO_PROCESS, (id_t)tid);
        nice_ok = errno == 0 && nice == g->want_nice;
    }
    pthread_mutex_lock(&g->lock);
    int seen = 0;
    for (int i = 0; i < g->tid_count; i++) seen |= g->tids[i] == tid;
    if (!seen && g->tid_count < MAX_TIDS) g->tids[g->tid_count++] = tid;
    if (!affinity_ok) g->wrong_affinity++;
    if (!nice_ok) g->wrong_nice++;
    pthread_mutex_unlock(&g->lock);
}

static int shares_a_thread(Group* a, Group* b) {
    for (int i = 0; i < a->tid_count; i++)
        for (int j = 0; j < b->tid_count; j++)
            if (a->tids[i] == b->tids[j]) return 1;
    return 0;
}

static QUIC_STATUS QUIC_API ServerConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    (void)ctx;
    note_thread(&shared_group);
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) api->ConnectionClose(conn);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerListener(HQUIC listener, void* ctx, QUIC_LISTENER_EVENT* ev) {
    TRACE_LISTENER(ev);
    (void)listener;
    (void)ctx;
    note_thread(&shared_group);
    if (ev->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    api->SetCallbackHandler(ev->NEW_CONNECTION.Connection, (void*)ServerConnection, NULL);
    return api->ConnectionSetConfiguration(ev->NEW_CONNECTION.Connection, server_config);
}

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    TRACE_CONN(ev);
    Group* g = ctx;
    note_thread(g);
    if (ev->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        counter_add(&g->connected, 1);
        api->ConnectionShutdown(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    } else if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&g->complete, 1);
        api->ConnectionClose(conn);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Starts `n` client connections in `reg` reporting to `g`, and waits for them to finish. */
static void run_clients(HQUIC reg, Group* g, int n, uint16_t port) {
    HQUIC cfg = client_configuration(api, reg, ALPN, 0);
    for (int i = 0; i < n; i++) {
        HQUIC conn = NULL;
        CHECK(api->ConnectionOpen(reg, ClientConnection, g, &conn) == QUIC_STATUS_SUCCESS);
        CHECK(QUIC_SUCCEEDED(
            api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "localhost", port)));
    }
    CHECK(counter_wait(&g->connected, n, 10000));
    CHECK(counter_wait(&g->complete, n, 10000));
    api->ConfigurationClose(cfg);
}

/* SetParam of a raw execution config with `count` in the header and `list_len` entries. */
static QUIC_STATUS set_config(uint32_t flags, uint32_t count, const uint16_t* list,
                              uint32_t list_len) {
    uint8_t raw[QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + 8 * sizeof(uint16_t)];
    QUIC_GLOBAL_EXECUTION_CONFIG* c = (QUIC_GLOBAL_EXECUTION_CONFIG*)raw;
    c->Flags = flags;
    c->PollingIdleTimeoutUs = 0;
    c->ProcessorCount = count;
    memcpy(c->ProcessorList, list, list_len * sizeof(uint16_t));
    return api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG,
                         QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + list_len * sizeof(uint16_t), raw);
}

int main(void) {
    if (!have_test_cert()) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);

    /* Nothing set yet: an empty answer. */
    uint32_t len = 64;
    uint8_t got[64];
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &len, got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 0);
    /* Also with no buffer at all, as MsQuic answers an unset config. */
    len = 0;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &len, NULL) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 0);

    /* The last processor this process may run on, so that "pinned there" means something. */
    cpu_set_t allowed;
    CHECK(sched_getaffinity(0, sizeof(allowed), &allowed) == 0);
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &allowed)) cpu = i;
    CHECK(cpu >= 0);
    uint16_t list[2] = {(uint16_t)cpu, (uint16_t)cpu};

    /* Too short, a list shorter than its count, a processor that does not exist. */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG,
                        QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE - 1, got) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(set_config(0, 2, list, 1) == QUIC_STATUS_INVALID_PARAMETER);
    uint16_t bogus = 65535;
    CHECK(set_config(0, 1, &bogus, 1) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, 16, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* One worker, pinned to `cpu`. Read back with the size probe. */
    CHECK(set_config(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_AFFINITIZE, 1, list, 1) ==
          QUIC_STATUS_SUCCESS);
    len = 0;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + sizeof(uint16_t));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &len, got) ==
          QUIC_STATUS_SUCCESS);
    QUIC_GLOBAL_EXECUTION_CONFIG* back = (QUIC_GLOBAL_EXECUTION_CONFIG*)got;
    CHECK(back->Flags == QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_AFFINITIZE);
    CHECK(back->ProcessorCount == 1 && back->ProcessorList[0] == cpu);

    group_init(&shared_group, cpu, INT32_MIN);
    group_init(&scavenger_group, -2, 19);
    group_init(&realtime_group, -1, INT32_MIN);

    QUIC_REGISTRATION_CONFIG rc = {"exec-shared", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(&rc, &reg) == QUIC_STATUS_SUCCESS);
    /* The workers exist now: the config is fixed. */
    CHECK(set_config(0, 1, list, 1) == QUIC_STATUS_INVALID_STATE);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, 0, NULL) ==
          QUIC_STATUS_INVALID_STATE);

    server_config = server_configuration(api, reg, ALPN, 0, 0);
    HQUIC listener = NULL;
    CHECK(api->ListenerOpen(reg, ServerListener, NULL, &listener) == QUIC_STATUS_SUCCESS);
    uint16_t port = start_listener(api, listener, ALPN);

    run_clients(reg, &shared_group, SHARED_CLIENTS, port);

    QUIC_REGISTRATION_CONFIG sc = {"exec-scavenger", QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER};
    HQUIC scavenger = NULL;
    CHECK(api->RegistrationOpen(&sc, &scavenger) == QUIC_STATUS_SUCCESS);
    run_clients(scavenger, &scavenger_group, 3, port);

    QUIC_REGISTRATION_CONFIG rt = {"exec-realtime", QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME};
    HQUIC realtime = NULL;
    CHECK(api->RegistrationOpen(&rt, &realtime) == QUIC_STATUS_SUCCESS);
    run_clients(realtime, &realtime_group, 3, port);

    api->ListenerClose(listener);
    api->ConfigurationClose(server_config);
    api->RegistrationClose(realtime);
    api->RegistrationClose(scavenger);
    api->RegistrationClose(reg);

    /* Shared: one thread for everything, pinned to `cpu`. */
    CHECK(shared_group.tid_count == 1);
    CHECK(shared_group.wrong_affinity == 0);
    /* Scavenger: one thread of its own at nice 19. */
    CHECK(scavenger_group.tid_count == 1);
    CHECK(scavenger_group.wrong_nice == 0);
    CHECK(!shares_a_thread(&scavenger_group, &shared_group));
    /* Real time: threads of its own, each pinned to one core. */
    CHECK(realtime_group.tid_count >= 1);
    CHECK(realtime_group.wrong_affinity == 0);
    CHECK(!shares_a_thread(&realtime_group, &shared_group));
    CHECK(!shares_a_thread(&realtime_group, &scavenger_group));

    MsQuicClose(api);

    /* The last close forgets the config. */
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    len = sizeof(got);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &len, got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 0);
    MsQuicClose(api);
    return finish("execution_config");
}
