/* An application built without QUIC_API_ENABLE_PREVIEW_FEATURES sees MsQuic 2.7's non-preview
 * sizes (shared/msquic-abi.md §2, §3.4, §3.7, §3.10) and none of the preview names. */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#error "abi_layout_nopreview.c must be compiled without QUIC_API_ENABLE_PREVIEW_FEATURES"
#endif
#include "msquic.h"

#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(QUIC_API_TABLE) == 256, "32 slots without preview");
_Static_assert(offsetof(QUIC_API_TABLE, ConnectionOpenInPartition) == 31 * 8, "last slot");
_Static_assert(sizeof(QUIC_CONNECTION_EVENT) == 32, "connection event without preview");
_Static_assert(offsetof(QUIC_CONNECTION_EVENT, PEER_CERTIFICATE_RECEIVED.Chain) == 24, "chain");
_Static_assert(sizeof(QUIC_STREAM_EVENT) == 40, "stream event");
_Static_assert(sizeof(QUIC_LISTENER_EVENT) == 24, "listener event");
_Static_assert(sizeof(QUIC_SETTINGS) == 144, "settings: same size either way");
_Static_assert(offsetof(QUIC_SETTINGS, Flags) == 120, "settings flags");
_Static_assert(offsetof(QUIC_SETTINGS, StreamRecvWindowUnidiDefault) == 136, "last field");
_Static_assert(sizeof(QUIC_STATISTICS_V2) == 208, "statistics v2 without preview");
_Static_assert(offsetof(QUIC_STATISTICS_V2, RttVariance) == 204, "RttVariance");
_Static_assert(QUIC_STATISTICS_V2_SIZE_4 == 208, "SIZE_4");
_Static_assert(sizeof(QUIC_CREDENTIAL_CONFIG) == 56, "credential config");
_Static_assert(sizeof(QUIC_ADDR) == 28, "addr");

/* Preview-only names must not be visible. */
#ifdef QUIC_PARAM_CONN_CLOSE_ASYNC
#error "preview parameter visible without preview"
#endif
#ifdef QUIC_PARAM_GLOBAL_EXECUTION_CONFIG
#error "preview parameter visible without preview"
#endif
#ifdef QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS
#error "preview flag visible without preview"
#endif
#ifdef QUIC_CONNECTION_EVENT_NETWORK_STATISTICS
#error "preview event visible without preview"
#endif
#ifdef QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED
#error "preview event visible without preview"
#endif
#ifdef QUIC_STATISTICS_V2_SIZE_5
#error "preview size visible without preview"
#endif
#ifdef QUIC_CONGESTION_CONTROL_ALGORITHM_BBR
#error "preview algorithm visible without preview"
#endif

int main(void)
{
    int failures = 0;
    if (QUIC_CONGESTION_CONTROL_ALGORITHM_MAX != 1) {
        fprintf(stderr, "QUIC_CONGESTION_CONTROL_ALGORITHM_MAX is %d, want 1\n",
                (int)QUIC_CONGESTION_CONTROL_ALGORITHM_MAX);
        failures++;
    }
    if (QUIC_PERF_COUNTER_MAX != 33) {
        fprintf(stderr, "QUIC_PERF_COUNTER_MAX is %d, want 33\n", (int)QUIC_PERF_COUNTER_MAX);
        failures++;
    }
    QUIC_SETTINGS s;
    memset(&s, 0, sizeof(s));
    s.IsSet.StreamRecvWindowUnidiDefault = 1;
    s.HyStartEnabled = 1;
    if (s.IsSetFlags != (1ull << 37) || s.Flags != 1) {
        fprintf(stderr, "settings bits differ without preview\n");
        failures++;
    }

    /* The library itself always hands out the full 39-slot table; a non-preview app uses the
     * first 32 slots. */
    const QUIC_API_TABLE* api = NULL;
    QUIC_STATUS status = MsQuicOpen2(&api);
    if (QUIC_FAILED(status) || api == NULL) {
        fprintf(stderr, "MsQuicOpen2 failed: 0x%x\n", status);
        return 1;
    }
    HQUIC reg = NULL;
    QUIC_REGISTRATION_CONFIG cfg = {"abi_layout_nopreview", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    status = api->RegistrationOpen(&cfg, &reg);
    if (QUIC_FAILED(status)) {
        fprintf(stderr, "RegistrationOpen failed: 0x%x\n", status);
        failures++;
    } else {
        api->RegistrationClose(reg);
    }
    MsQuicClose(api);
    return failures == 0 ? 0 : 1;
}
