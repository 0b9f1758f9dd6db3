/* The library's own version, QUIC_PARAM_GLOBAL_QMUX_VERSION (a msquic-qmux extension):
 * - its id is 0x01000100, in the global prefix, clear of MsQuic's global ids;
 * - GetParam answers the NUL-terminated semantic version the harness passes in
 *   QMUX_EXPECTED_VERSION (Cargo's `version`), with MsQuic's buffer rules for strings: a short
 *   buffer gets BUFFER_TOO_SMALL and the length with the NUL, a NULL buffer that is long enough
 *   is INVALID_PARAMETER, a longer buffer gets the string and the length with the NUL;
 * - it is read-only (SetParam INVALID_PARAMETER) and global only (a registration handle gets
 *   INVALID_PARAMETER);
 * - QUIC_PARAM_GLOBAL_LIBRARY_VERSION still answers MsQuic's API version, 2.7.0. */
#include "support/qmux_test.h"

int main(void) {
    const char* expected = getenv("QMUX_EXPECTED_VERSION");
    if (expected == NULL || expected[0] == '\0') {
        fprintf(stderr, "QMUX_EXPECTED_VERSION is not set\n");
        return 1;
    }
    const uint32_t want = (uint32_t)strlen(expected) + 1;

    CHECK(QUIC_PARAM_GLOBAL_QMUX_VERSION == 0x01000100);

    const QUIC_API_TABLE* api = NULL;
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    if (api == NULL) {
        return 1;
    }

    /* Probing: no room at all, then one byte short (the NUL). */
    uint32_t len = 0;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_QMUX_VERSION, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == want);
    char text[64];
    memset(text, 'x', sizeof(text));
    len = want - 1;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_QMUX_VERSION, &len, text) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == want && text[0] == 'x');

    /* Long enough but NULL. */
    len = sizeof(text);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_QMUX_VERSION, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* Exactly long enough, then longer. */
    len = want;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_QMUX_VERSION, &len, text) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == want && text[want - 1] == '\0' && strcmp(text, expected) == 0);
    memset(text, 'x', sizeof(text));
    len = sizeof(text);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_QMUX_VERSION, &len, text) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == want && strcmp(text, expected) == 0);
    printf("qmux version %s\n", text);

    /* Read-only, and global only. */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_QMUX_VERSION, want, expected) ==
          QUIC_STATUS_INVALID_PARAMETER);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS && reg != NULL);
    len = sizeof(text);
    CHECK(api->GetParam(reg, QUIC_PARAM_GLOBAL_QMUX_VERSION, &len, text) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* MsQuic's API version is unchanged. */
    uint32_t version[4] = {0};
    len = sizeof(version);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &len, version) ==
          QUIC_STATUS_SUCCESS);
    CHECK(version[0] == 2 && version[1] == 7 && version[2] == 0);

    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("qmux_version");
}
