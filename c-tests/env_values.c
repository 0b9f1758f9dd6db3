/* The registration transport a fresh registration starts with, under the environment
 * tests/c_suite.rs gives (MSQUIC_QMUX_TRANSPORT in any case): QMUX_EXPECT_TRANSPORT names
 * the QUIC_PARAM_REGISTRATION_TRANSPORT value expected ("1": TLS, "2": TCP). */
#include "support/qmux_test.h"

int main(void) {
    const QUIC_API_TABLE* api = NULL;
    const char* expect = getenv("QMUX_EXPECT_TRANSPORT");
    if (expect == NULL) return 1;
    CHECK(MsQuicOpen2(&api) == QUIC_STATUS_SUCCESS);
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    uint32_t transport = 0;
    uint32_t len = sizeof(transport);
    CHECK(api->GetParam(reg, QUIC_PARAM_REGISTRATION_TRANSPORT, &len, &transport) ==
          QUIC_STATUS_SUCCESS);
    printf("transport %u\n", transport);
    CHECK(transport == (uint32_t)atoi(expect));
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("env_values");
}
