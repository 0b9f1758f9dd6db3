/* Loads libmsquic.so.2 the way any MsQuic application does and reports what it found:
 * the library version, the commit it was built from, and the transport a registration uses. */
#include "msquic.h"

#include <stdio.h>

int main(void) {
    const QUIC_API_TABLE* api = NULL;
    QUIC_STATUS status = MsQuicOpen2(&api);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "MsQuicOpen2 failed: 0x%x\n", status);
        return 1;
    }

    uint32_t version[4] = {0};
    uint32_t len = sizeof(version);
    status = api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &len, version);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "GetParam(LIBRARY_VERSION) failed: 0x%x\n", status);
        MsQuicClose(api);
        return 1;
    }
    char hash[41] = {0};
    len = sizeof(hash);
    status = api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, &len, hash);
    printf("libmsquic %u.%u.%u (build %u), commit %s\n", version[0], version[1], version[2],
           version[3], QUIC_SUCCEEDED(status) ? hash : "?");

    const QUIC_REGISTRATION_CONFIG config = {"version-demo", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    HQUIC registration = NULL;
    status = api->RegistrationOpen(&config, &registration);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "RegistrationOpen failed: 0x%x\n", status);
        MsQuicClose(api);
        return 1;
    }
    uint32_t transport = 0;
    len = sizeof(transport);
    status = api->GetParam(registration, QUIC_PARAM_REGISTRATION_TRANSPORT, &len, &transport);
    if (QUIC_SUCCEEDED(status)) {
        printf("registration transport: %s\n",
               transport == QUIC_TRANSPORT_QMUX_TLS   ? "QMux over TLS 1.3 over TCP"
               : transport == QUIC_TRANSPORT_QMUX_TCP ? "QMux over plain TCP"
                                                      : "other");
    } else {
        printf("this libmsquic has no QMux transport parameter (status 0x%x)\n", status);
    }
    api->RegistrationClose(registration);
    MsQuicClose(api);
    return 0;
}
