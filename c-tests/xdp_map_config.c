/* QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG (preview), which must run before any registration in its
 * process:
 * - unset, GetParam answers a length of 0 and SUCCESS;
 * - SetParam takes an array of QUIC_XDP_MAP_CONFIG any number of times (each replacing the
 *   last) before the first RegistrationOpen; a length of 0 clears it; a length that is not a
 *   whole number of entries, or a NULL buffer with a length, is INVALID_PARAMETER;
 * - GetParam returns the array with the usual probing (0 or too small a length gets the size
 *   and BUFFER_TOO_SMALL, a NULL buffer of the right size is INVALID_PARAMETER);
 * - after RegistrationOpen, SetParam is INVALID_STATE (a bad length still INVALID_PARAMETER)
 *   and GetParam still returns the array;
 * - the last MsQuicClose forgets it, and a new MsQuicOpen2 takes a new one. */
#include "support/qmux_test.h"

static const QUIC_API_TABLE* api;

/* Reads the stored array into `out` (room for `cap` entries); returns its byte length. */
static uint32_t get_maps(QUIC_XDP_MAP_CONFIG* out, uint32_t cap) {
    uint32_t len = 0;
    QUIC_STATUS st = api->GetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, &len, NULL);
    if (st == QUIC_STATUS_SUCCESS) {
        CHECK(len == 0);
        return 0;
    }
    CHECK(st == QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len % sizeof(QUIC_XDP_MAP_CONFIG) == 0 && len <= cap * sizeof(QUIC_XDP_MAP_CONFIG));
    uint32_t want = len;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    len = cap * sizeof(QUIC_XDP_MAP_CONFIG);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, &len, out) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == want);
    return len;
}

static void expect_maps(const QUIC_XDP_MAP_CONFIG* want, uint32_t n) {
    QUIC_XDP_MAP_CONFIG got[8];
    memset(got, 0xEE, sizeof(got));
    uint32_t len = get_maps(got, 8);
    CHECK(len == n * sizeof(QUIC_XDP_MAP_CONFIG));
    for (uint32_t i = 0; i < n && i < 8; i++) {
        CHECK(got[i].InterfaceIndex == want[i].InterfaceIndex);
        CHECK(got[i].MapHandle == want[i].MapHandle);
    }
}

int main(void) {
    CHECK(sizeof(QUIC_XDP_MAP_CONFIG) == 8);
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));

    /* Unset: nothing to return, even into no buffer. */
    uint32_t len = 0;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, &len, NULL) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 0);
    QUIC_XDP_MAP_CONFIG scratch[2];
    len = sizeof(scratch);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, &len, scratch) ==
          QUIC_STATUS_SUCCESS);
    CHECK(len == 0);

    /* Refused shapes. */
    QUIC_XDP_MAP_CONFIG maps[3] = {{2, 7}, {3, 9}, {5, 11}};
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, 5, maps) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps[0]) + 4, maps) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps[0]), NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    expect_maps(maps, 0);

    /* Set, read back, overwrite, clear, set again. */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, 2 * sizeof(maps[0]), maps) ==
          QUIC_STATUS_SUCCESS);
    len = sizeof(maps[0]); /* too small for two */
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, &len, scratch) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 2 * sizeof(maps[0]));
    expect_maps(maps, 2);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps[0]), &maps[2]) ==
          QUIC_STATUS_SUCCESS);
    expect_maps(&maps[2], 1);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, 0, NULL) == QUIC_STATUS_SUCCESS);
    expect_maps(maps, 0);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps), maps) ==
          QUIC_STATUS_SUCCESS);
    expect_maps(maps, 3);

    /* The first registration initializes the library: no more changes. */
    HQUIC reg = NULL;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps[0]), maps) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, 0, NULL) ==
          QUIC_STATUS_INVALID_STATE);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, 3, maps) ==
          QUIC_STATUS_INVALID_PARAMETER);
    expect_maps(maps, 3);
    api->RegistrationClose(reg);
    expect_maps(maps, 3); /* still initialized while the library is open */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps[0]), maps) ==
          QUIC_STATUS_INVALID_STATE);
    MsQuicClose(api);

    /* A new open starts over: nothing set, and setting works again until a registration. */
    CHECK(QUIC_SUCCEEDED(MsQuicOpen2(&api)));
    expect_maps(maps, 0);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps[0]), &maps[1]) ==
          QUIC_STATUS_SUCCESS);
    expect_maps(&maps[1], 1);
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, sizeof(maps[0]), maps) ==
          QUIC_STATUS_INVALID_STATE);
    api->RegistrationClose(reg);
    MsQuicClose(api);
    return finish("xdp_map_config");
}
