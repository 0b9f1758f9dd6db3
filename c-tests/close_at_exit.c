/* MsQuicClose from an exit handler, as a program (or a language runtime: the Rust msquic crate
 * closes its table from a library destructor) does at exit. glibc runs the main thread's
 * thread-local destructors before the atexit handlers, so the library must not need this
 * thread's thread-locals then. The table is used from the main thread first (a registration
 * opened and closed), closed in the handler, then opened and closed again there to see that
 * the close completed. The harness checks that nothing reports a panic. */
#include "support/qmux_test.h"

#include <unistd.h>

static const QUIC_API_TABLE* api = NULL;

static void close_at_exit(void) {
    MsQuicClose(api);
    const QUIC_API_TABLE* again = NULL;
    QUIC_STATUS status = MsQuicOpenVersion(2, (const void**)&again);
    if (QUIC_FAILED(status) || again == NULL) {
        fprintf(stderr, "reopening at exit failed: 0x%x\n", status);
        _exit(1);
    }
    MsQuicClose(again);
    printf("closed at exit\n");
    fflush(stdout);
}

int main(void) {
    CHECK(QUIC_SUCCEEDED(MsQuicOpenVersion(2, (const void**)&api)));
    if (api == NULL) {
        return finish("close_at_exit");
    }
    const QUIC_REGISTRATION_CONFIG config = {"close_at_exit", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    HQUIC registration = NULL;
    CHECK(QUIC_SUCCEEDED(api->RegistrationOpen(&config, &registration)));
    if (registration != NULL) {
        api->RegistrationClose(registration);
    }
    CHECK(atexit(close_at_exit) == 0);
    return finish("close_at_exit");
}
