/* Opening and closing the function table: versions, NULL arguments, reference counting,
 * every slot filled, library parameters, and opens and closes from several threads at once. */
#include "msquic.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);             \
        }                                                                  \
    } while (0)

#define THREADS 8
#define ROUNDS 200

static void check_table(const QUIC_API_TABLE* api) {
    void* slots[sizeof(QUIC_API_TABLE) / sizeof(void*)];
    CHECK(sizeof(QUIC_API_TABLE) == 312);
    memcpy(slots, api, sizeof(slots));
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        if (slots[i] == NULL) {
            fprintf(stderr, "slot %zu is NULL\n", i);
            __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);
        }
    }
}

static void* worker(void* arg) {
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        const QUIC_API_TABLE* api = NULL;
        if (QUIC_FAILED(MsQuicOpen2(&api))) {
            __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        HQUIC reg = NULL;
        QUIC_REGISTRATION_CONFIG cfg = {"open_close", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
        if (QUIC_FAILED(api->RegistrationOpen(&cfg, &reg))) {
            __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);
        } else {
            api->SetContext(reg, (void*)(uintptr_t)(i + 1));
            if (api->GetContext(reg) != (void*)(uintptr_t)(i + 1)) {
                __atomic_fetch_add(&failures, 1, __ATOMIC_SEQ_CST);
            }
            api->RegistrationClose(reg);
        }
        MsQuicClose(api);
    }
    return NULL;
}

int main(void) {
    const void* raw = (const void*)0x1;
    CHECK(MsQuicOpenVersion(1, &raw) == QUIC_STATUS_NOT_SUPPORTED);
    CHECK(MsQuicOpenVersion(3, &raw) == QUIC_STATUS_NOT_SUPPORTED);
    CHECK(MsQuicOpenVersion(0, &raw) == QUIC_STATUS_NOT_SUPPORTED);
    CHECK(raw == (const void*)0x1); /* out-parameter untouched on failure */
    CHECK(MsQuicOpenVersion(QUIC_API_VERSION_2, NULL) == QUIC_STATUS_INVALID_PARAMETER);
    MsQuicClose(NULL);

    /* Two opens are two references: closing one leaves the other usable. */
    const QUIC_API_TABLE* a = NULL;
    const QUIC_API_TABLE* b = NULL;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&a)) && a != NULL);
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(QUIC_API_VERSION_2, (const void**)&b)) && b != NULL);
    CHECK(a != b); /* each open returns its own heap table */
    check_table(a);
    check_table(b);
    MsQuicClose(a);

    HQUIC reg = NULL;
    CHECK(b->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS && reg != NULL);

    /* Library version: probe the size, then read it. */
    uint32_t len = 0;
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 4 * sizeof(uint32_t));
    uint32_t version[4] = {0};
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &len, version) ==
          QUIC_STATUS_SUCCESS);
    CHECK(version[0] == 2 && version[1] == 7 && version[2] == 0);
    len = sizeof(version);
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* Git hash: 40 hex digits and a NUL. */
    len = 0;
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 41);
    char hash[64];
    memset(hash, 'x', sizeof(hash));
    len = sizeof(hash);
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, &len, hash) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 41 && hash[40] == '\0' && strlen(hash) == 40);
    for (int i = 0; i < 40; i++) {
        CHECK((hash[i] >= '0' && hash[i] <= '9') || (hash[i] >= 'a' && hash[i] <= 'f'));
    }

    /* TLS provider: OpenSSL's value, as MsQuic on Linux; read-only. */
    QUIC_TLS_PROVIDER provider = QUIC_TLS_PROVIDER_SCHANNEL;
    len = sizeof(provider);
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_TLS_PROVIDER, &len, &provider) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(provider) && provider == QUIC_TLS_PROVIDER_OPENSSL);
    CHECK(b->SetParam(NULL, QUIC_PARAM_GLOBAL_TLS_PROVIDER, sizeof(provider), &provider) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* Supported versions: QUIC v1 in network byte order. */
    len = 0;
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len >= sizeof(uint32_t) && len % sizeof(uint32_t) == 0);
    uint32_t versions[8] = {0};
    len = sizeof(versions);
    CHECK(b->GetParam(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &len, versions) ==
          QUIC_STATUS_SUCCESS);
    CHECK(versions[0] == htonl(1));

    b->RegistrationClose(reg);
    MsQuicClose(b);

    /* Re-opening after the last close initialises the library again. */
    for (int i = 0; i < 50; i++) {
        const QUIC_API_TABLE* t = NULL;
        CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&t)));
        MsQuicClose(t);
    }

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_create(&threads[i], NULL, worker, NULL) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }

    if (failures != 0) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("open_close: ok\n");
    return 0;
}
