/* RegistrationClose inside a callback (on a worker thread) while the registration still has
 * open objects: MsQuic forbids it (it deadlocks). Debug builds of this library say so on
 * stderr ("RegistrationClose called on a worker thread"; the suite checks the line) and then
 * wait as the call must: here another thread closes the last child, a configuration (whose
 * close needs no worker), and the call returns. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;
static HQUIC doomed_reg, doomed_cfg;
static Counter closing, closed;

static QUIC_STATUS QUIC_API ClientConnection(HQUIC conn, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)conn;
    (void)ctx;
    if (ev->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        counter_add(&closing, 1);
        /* Forbidden by MsQuic: doomed_cfg is still open. */
        api->RegistrationClose(doomed_reg);
        counter_add(&closed, 1);
    }
    return QUIC_STATUS_SUCCESS;
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound for a moment, then released). */
static uint16_t free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr*)&a, sizeof(a)) == 0);
    socklen_t len = sizeof(a);
    CHECK(getsockname(fd, (struct sockaddr*)&a, &len) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* What GetParam answers for the registration: it changes once the handle is closed. */
static QUIC_STATUS registration_status(HQUIC reg) {
    uint32_t transport = 0;
    uint32_t len = sizeof(transport);
    return api->GetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, &len, &transport);
}

static QUIC_STATUS live_status;

int main(void) {
    counter_init(&closing);
    counter_init(&closed);
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    CHECK(api->RegistrationOpen(NULL, &doomed_reg) == QUIC_STATUS_SUCCESS);
    QUIC_BUFFER alpn = {4, (uint8_t*)"doom"};
    CHECK(api->ConfigurationOpen(doomed_reg, &alpn, 1, NULL, 0, NULL, &doomed_cfg) ==
          QUIC_STATUS_SUCCESS);

    live_status = registration_status(doomed_reg);
    CHECK(live_status != QUIC_STATUS_INVALID_PARAMETER);
    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    QUIC_CREDENTIAL_CONFIG cred;
    memset(&cred, 0, sizeof(cred));
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK(api->ConfigurationLoadCredential(cfg, &cred) == QUIC_STATUS_SUCCESS);
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ClientConnection, NULL, &conn) == QUIC_STATUS_SUCCESS);
    /* Refused: SHUTDOWN_COMPLETE comes on the worker. */
    CHECK(api->ConnectionStart(conn, cfg, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", free_port()) ==
          QUIC_STATUS_PENDING);
    CHECK(counter_wait(&closing, 1, 5000));
    /* Once the registration's handle is closed the callback is inside RegistrationClose (its
     * warning written): the last child goes. */
    long long deadline = now_ms() + 5000;
    while (registration_status(doomed_reg) == live_status && now_ms() < deadline) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    CHECK(registration_status(doomed_reg) != live_status);
    api->ConfigurationClose(doomed_cfg);
    CHECK(counter_wait(&closed, 1, 5000));

    api->ConnectionClose(conn);
    api->ConfigurationClose(cfg);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    counter_destroy(&closing);
    counter_destroy(&closed);
    return finish("blocking_in_callback");
}
