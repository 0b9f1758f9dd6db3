/* QUIC_PARAM_GLOBAL_SETTINGS: the GetParam size probe, MsQuic's defaults, IsSet semantics,
 * the 109-byte minimum, fields beyond the given size, and refused values. Also, at every
 * level (library, configuration, connection), as MsQuic: a refused value keeps the fields
 * before it (in MsQuic's order) applied, every update recomputes unset MTUs (MinimumMtu
 * becomes 1248), and configurations follow the library only after its successful changes. */
#include "msquic.h"

#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

#define MIN_SIZE 109u /* through MtuDiscoveryMissingProbeCount */

static const QUIC_API_TABLE* api;

/* Reads the library settings into `out`, probing for the size first as applications do. */
static void get_global(QUIC_SETTINGS* out) {
    uint32_t len = 0;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof(QUIC_SETTINGS));
    memset(out, 0xEE, sizeof(*out));
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &len, out) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(QUIC_SETTINGS));
}

/* The values every field not explicitly set must hold (docs/Settings.md). */
static void check_defaults(const QUIC_SETTINGS* s, int skip_idle_and_bidi) {
    if (!skip_idle_and_bidi) {
        CHECK(s->IdleTimeoutMs == 30000);
        CHECK(s->PeerBidiStreamCount == 0);
    }
    CHECK(s->MaxBytesPerKey == 274877906944ull);
    CHECK(s->HandshakeIdleTimeoutMs == 10000);
    CHECK(s->MtuDiscoverySearchCompleteTimeoutUs == 600000000ull);
    CHECK(s->TlsClientMaxSendBuffer == 4096);
    CHECK(s->TlsServerMaxSendBuffer == 8192);
    CHECK(s->StreamRecvWindowDefault == 65536);
    CHECK(s->StreamRecvBufferDefault == 4096);
    CHECK(s->ConnFlowControlWindow == 16777216);
    CHECK(s->MaxWorkerQueueDelayUs == 250000);
    CHECK(s->MaxStatelessOperations == 16);
    CHECK(s->InitialWindowPackets == 10);
    CHECK(s->SendIdleTimeoutMs == 1000);
    CHECK(s->InitialRttMs == 333);
    CHECK(s->MaxAckDelayMs == 25);
    CHECK(s->DisconnectTimeoutMs == 16000);
    CHECK(s->KeepAliveIntervalMs == 0);
    CHECK(s->CongestionControlAlgorithm == QUIC_CONGESTION_CONTROL_ALGORITHM_CUBIC);
    CHECK(s->PeerUnidiStreamCount == 0);
    CHECK(s->MaxBindingStatelessOperations == 100);
    CHECK(s->StatelessOperationExpirationMs == 100);
    /* MinimumMtu: 1288 until the first update, which recomputes it (see main). */
    CHECK(s->MaximumMtu == 1500);
    CHECK(s->SendBufferingEnabled == 1);
    CHECK(s->PacingEnabled == 1);
    CHECK(s->MigrationEnabled == 1);
    CHECK(s->ServerResumptionLevel == QUIC_SERVER_NO_RESUME);
    CHECK(s->GreaseQuicBitEnabled == 0);
    CHECK(s->EcnEnabled == 0);
    CHECK(s->MaxOperationsPerDrain == 16);
    CHECK(s->MtuDiscoveryMissingProbeCount == 3);
    CHECK(s->DestCidUpdateIdleTimeoutMs == 20000);
    CHECK(s->StreamRecvWindowBidiLocalDefault == 65536);
    CHECK(s->StreamRecvWindowBidiRemoteDefault == 65536);
    CHECK(s->StreamRecvWindowUnidiDefault == 65536);
    CHECK(s->EncryptionOffloadAllowed == 0);
    CHECK(s->ReliableResetEnabled == 0);
    CHECK(s->OneWayDelayEnabled == 0);
    CHECK(s->NetStatsEventEnabled == 0);
    CHECK(s->StreamMultiReceiveEnabled == 0);
    CHECK(s->XdpEnabled == 0);
    CHECK(s->QTIPEnabled == 0);
}

/* SetParam of one QUIC_SETTINGS on `check_cfg`, filled in by `stmt` (through `s`), answers
 * `status`. */
static HQUIC check_cfg;
#define EXPECT_SET(status, stmt)                                                          \
    do {                                                                                  \
        QUIC_SETTINGS one_;                                                               \
        memset(&one_, 0, sizeof(one_));                                                   \
        QUIC_SETTINGS* s = &one_;                                                         \
        stmt;                                                                             \
        CHECK(api->SetParam(check_cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, sizeof(one_), \
                            &one_) == (status));                                          \
    } while (0)

/* MsQuic's range checks, one field at a time, on a configuration of its own. */
static void check_values(void) {
    const QUIC_STATUS bad = QUIC_STATUS_INVALID_PARAMETER, ok = QUIC_STATUS_SUCCESS;
    EXPECT_SET(bad, (s->IsSet.IdleTimeoutMs = 1, s->IdleTimeoutMs = 1ull << 62));
    EXPECT_SET(ok, (s->IsSet.IdleTimeoutMs = 1, s->IdleTimeoutMs = (1ull << 62) - 1));
    EXPECT_SET(ok, (s->IsSet.IdleTimeoutMs = 1, s->IdleTimeoutMs = 0));
    EXPECT_SET(bad, (s->IsSet.HandshakeIdleTimeoutMs = 1, s->HandshakeIdleTimeoutMs = 1ull << 62));
    EXPECT_SET(bad, (s->IsSet.MaxBytesPerKey = 1, s->MaxBytesPerKey = 274877906945ull));
    EXPECT_SET(ok, (s->IsSet.MaxBytesPerKey = 1, s->MaxBytesPerKey = 274877906944ull));
    EXPECT_SET(bad, (s->IsSet.MaxAckDelayMs = 1, s->MaxAckDelayMs = 16384));
    EXPECT_SET(ok, (s->IsSet.MaxAckDelayMs = 1, s->MaxAckDelayMs = 16383));
    EXPECT_SET(bad, (s->IsSet.DisconnectTimeoutMs = 1, s->DisconnectTimeoutMs = 0));
    EXPECT_SET(bad, (s->IsSet.DisconnectTimeoutMs = 1, s->DisconnectTimeoutMs = 600001));
    EXPECT_SET(ok, (s->IsSet.DisconnectTimeoutMs = 1, s->DisconnectTimeoutMs = 600000));
    EXPECT_SET(bad, (s->IsSet.InitialRttMs = 1, s->InitialRttMs = 0));
    EXPECT_SET(bad, (s->IsSet.StreamRecvBufferDefault = 1, s->StreamRecvBufferDefault = 4095));
    EXPECT_SET(bad, (s->IsSet.StreamRecvWindowDefault = 1, s->StreamRecvWindowDefault = 0));
    EXPECT_SET(bad, (s->IsSet.StreamRecvWindowBidiLocalDefault = 1,
                     s->StreamRecvWindowBidiLocalDefault = 3));
    EXPECT_SET(bad, (s->IsSet.StreamRecvWindowBidiRemoteDefault = 1,
                     s->StreamRecvWindowBidiRemoteDefault = 0));
    EXPECT_SET(bad, (s->IsSet.StreamRecvWindowUnidiDefault = 1,
                     s->StreamRecvWindowUnidiDefault = 65537));
    EXPECT_SET(bad, (s->IsSet.MaxOperationsPerDrain = 1, s->MaxOperationsPerDrain = 0));
    EXPECT_SET(bad, (s->IsSet.ServerResumptionLevel = 1, s->ServerResumptionLevel = 3));
    EXPECT_SET(bad, (s->IsSet.MinimumMtu = 1, s->MinimumMtu = 1400, s->IsSet.MaximumMtu = 1,
                     s->MaximumMtu = 1300));
    /* Out-of-range MTUs are brought into 1248..1500, not refused. */
    EXPECT_SET(ok, (s->IsSet.MinimumMtu = 1, s->MinimumMtu = 100, s->IsSet.MaximumMtu = 1,
                    s->MaximumMtu = 9000));
    QUIC_SETTINGS got;
    uint32_t len = sizeof(got);
    CHECK(api->GetParam(check_cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, &len, &got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(got.MinimumMtu == 1248 && got.MaximumMtu == 1500);
    CHECK(got.IdleTimeoutMs == 0 && got.MaxAckDelayMs == 16383);
    CHECK(got.DisconnectTimeoutMs == 600000 && got.InitialRttMs == 333);
    CHECK(got.StreamRecvWindowDefault == 65536 && got.StreamRecvBufferDefault == 4096);
}

static QUIC_STATUS QUIC_API ConnCb(HQUIC h, void* ctx, QUIC_CONNECTION_EVENT* ev) {
    (void)h;
    (void)ctx;
    (void)ev;
    return QUIC_STATUS_SUCCESS;
}

/* GetParam of a whole QUIC_SETTINGS (`param` on `h`). */
static QUIC_SETTINGS get_on(HQUIC h, uint32_t param) {
    QUIC_SETTINGS out;
    memset(&out, 0xEE, sizeof(out));
    uint32_t len = sizeof(out);
    CHECK(api->GetParam(h, param, &len, &out) == QUIC_STATUS_SUCCESS);
    return out;
}

/* SetParam of `in` (`param` on `h`). */
static QUIC_STATUS set_on(HQUIC h, uint32_t param, const QUIC_SETTINGS* in) {
    return api->SetParam(h, param, sizeof(*in), in);
}

/* Partial updates and MTU recomputation on a configuration and a connection, and when a
 * configuration sees library changes. Sets the library's MinimumMtu to 1300. */
static void check_levels(HQUIC reg, const QUIC_BUFFER* alpn) {
    QUIC_SETTINGS in, got;
    memset(&in, 0, sizeof(in));
    in.IsSet.MinimumMtu = 1;
    in.MinimumMtu = 1300;
    CHECK(set_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &in) == QUIC_STATUS_SUCCESS);

    HQUIC cfg = NULL;
    CHECK(api->ConfigurationOpen(reg, alpn, 1, NULL, 0, NULL, &cfg) == QUIC_STATUS_SUCCESS);
    got = get_on(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.MinimumMtu == 1300 && !got.IsSet.MinimumMtu); /* the library's */
    /* Its own update, without MTUs, recomputes them: the floor, not the library's value. */
    memset(&in, 0, sizeof(in));
    in.IsSet.PeerUnidiStreamCount = 1;
    in.PeerUnidiStreamCount = 1;
    CHECK(set_on(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, &in) == QUIC_STATUS_SUCCESS);
    got = get_on(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.MinimumMtu == 1248 && !got.IsSet.MinimumMtu && got.MaximumMtu == 1500);
    /* A refused value: the fields before it stay (PeerBidi), those after it do not. */
    memset(&in, 0, sizeof(in));
    in.IsSet.PeerBidiStreamCount = 1;
    in.PeerBidiStreamCount = 5;
    in.IsSet.StreamRecvBufferDefault = 1;
    in.StreamRecvBufferDefault = 100;
    in.IsSet.DestCidUpdateIdleTimeoutMs = 1;
    in.DestCidUpdateIdleTimeoutMs = 777;
    CHECK(set_on(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, &in) == QUIC_STATUS_INVALID_PARAMETER);
    got = get_on(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.IsSet.PeerBidiStreamCount && got.PeerBidiStreamCount == 5);
    CHECK(!got.IsSet.StreamRecvBufferDefault && got.StreamRecvBufferDefault == 4096);
    CHECK(!got.IsSet.DestCidUpdateIdleTimeoutMs && got.DestCidUpdateIdleTimeoutMs == 4321);

    /* A refused library update keeps its first field in the library, but configurations
     * only follow the library after a change that succeeds. */
    memset(&in, 0, sizeof(in));
    in.IsSet.KeepAliveIntervalMs = 1;
    in.KeepAliveIntervalMs = 3000;
    in.IsSet.MaxAckDelayMs = 1;
    in.MaxAckDelayMs = 20000; /* refused, and taken before KeepAliveIntervalMs */
    CHECK(set_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &in) == QUIC_STATUS_INVALID_PARAMETER);
    CHECK(get_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS).KeepAliveIntervalMs == 2500);
    memset(&in, 0, sizeof(in));
    in.IsSet.HandshakeIdleTimeoutMs = 1;
    in.HandshakeIdleTimeoutMs = 9000;
    in.IsSet.MaxBytesPerKey = 1;
    in.MaxBytesPerKey = ~0ull; /* refused, after HandshakeIdleTimeoutMs */
    CHECK(set_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &in) == QUIC_STATUS_INVALID_PARAMETER);
    got = get_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS);
    CHECK(got.HandshakeIdleTimeoutMs == 9000 && got.IsSet.HandshakeIdleTimeoutMs);
    got = get_on(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.HandshakeIdleTimeoutMs == 10000 && got.MinimumMtu == 1248);
    HQUIC fresh = NULL;
    CHECK(api->ConfigurationOpen(reg, alpn, 1, NULL, 0, NULL, &fresh) == QUIC_STATUS_SUCCESS);
    CHECK(get_on(fresh, QUIC_PARAM_CONFIGURATION_SETTINGS).HandshakeIdleTimeoutMs == 9000);
    api->ConfigurationClose(fresh);
    memset(&in, 0, sizeof(in));
    in.IsSet.SendIdleTimeoutMs = 1;
    in.SendIdleTimeoutMs = 900;
    CHECK(set_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &in) == QUIC_STATUS_SUCCESS);
    got = get_on(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.HandshakeIdleTimeoutMs == 9000 && got.SendIdleTimeoutMs == 900);
    CHECK(got.MinimumMtu == 1300 && !got.IsSet.MinimumMtu); /* refreshed from the library */
    CHECK(got.PeerBidiStreamCount == 5 && got.PeerUnidiStreamCount == 1);

    /* A connection not yet started: opened with the library's values, recomputed by its own
     * update, partly applied when a value is refused. */
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCb, NULL, &conn) == QUIC_STATUS_SUCCESS);
    got = get_on(conn, QUIC_PARAM_CONN_SETTINGS);
    CHECK(got.MinimumMtu == 1300 && got.IsSetFlags == 0);
    memset(&in, 0, sizeof(in));
    in.IsSet.SendBufferingEnabled = 1;
    in.SendBufferingEnabled = 0;
    in.IsSet.DisconnectTimeoutMs = 1;
    in.DisconnectTimeoutMs = 0; /* refused */
    in.IsSet.IdleTimeoutMs = 1;
    in.IdleTimeoutMs = 1234; /* after the refusal */
    CHECK(set_on(conn, QUIC_PARAM_CONN_SETTINGS, &in) == QUIC_STATUS_INVALID_PARAMETER);
    got = get_on(conn, QUIC_PARAM_CONN_SETTINGS);
    CHECK(got.IsSet.SendBufferingEnabled && got.SendBufferingEnabled == 0);
    CHECK(!got.IsSet.IdleTimeoutMs && got.IdleTimeoutMs == 7000); /* the library's */
    CHECK(got.MinimumMtu == 1300); /* refused before the MTU step */
    memset(&in, 0, sizeof(in));
    in.IsSet.IdleTimeoutMs = 1;
    in.IdleTimeoutMs = 1234;
    CHECK(set_on(conn, QUIC_PARAM_CONN_SETTINGS, &in) == QUIC_STATUS_SUCCESS);
    got = get_on(conn, QUIC_PARAM_CONN_SETTINGS);
    CHECK(got.IdleTimeoutMs == 1234 && got.MinimumMtu == 1248 && !got.IsSet.MinimumMtu);
    /* MTUs out of order against the connection's own maximum: what comes before the MTU
     * step stays, the MTUs and what comes after do not. */
    memset(&in, 0, sizeof(in));
    in.IsSet.MaximumMtu = 1;
    in.MaximumMtu = 1300;
    CHECK(set_on(conn, QUIC_PARAM_CONN_SETTINGS, &in) == QUIC_STATUS_SUCCESS);
    memset(&in, 0, sizeof(in));
    in.IsSet.PeerBidiStreamCount = 1;
    in.PeerBidiStreamCount = 3;
    in.IsSet.MinimumMtu = 1;
    in.MinimumMtu = 1400;
    in.IsSet.GreaseQuicBitEnabled = 1;
    in.GreaseQuicBitEnabled = 1;
    CHECK(set_on(conn, QUIC_PARAM_CONN_SETTINGS, &in) == QUIC_STATUS_INVALID_PARAMETER);
    got = get_on(conn, QUIC_PARAM_CONN_SETTINGS);
    CHECK(got.IsSet.PeerBidiStreamCount && got.PeerBidiStreamCount == 3);
    CHECK(got.MinimumMtu == 1248 && !got.IsSet.MinimumMtu && got.MaximumMtu == 1300);
    CHECK(!got.IsSet.GreaseQuicBitEnabled && got.GreaseQuicBitEnabled == 0);
    api->ConnectionClose(conn);

    /* A configuration that sets only StreamRecvWindowDefault: its own updates spread it to
     * the per-type windows it did not set, but those follow the library's per-type windows
     * at open and after each library change. */
    HQUIC wcfg = NULL;
    memset(&in, 0, sizeof(in));
    in.IsSet.StreamRecvWindowDefault = 1;
    in.StreamRecvWindowDefault = 1u << 20;
    CHECK(api->ConfigurationOpen(reg, alpn, 1, &in, sizeof(in), NULL, &wcfg) ==
          QUIC_STATUS_SUCCESS);
    got = get_on(wcfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.StreamRecvWindowDefault == (1u << 20));
    CHECK(got.StreamRecvWindowBidiLocalDefault == 65536);
    CHECK(got.StreamRecvWindowUnidiDefault == 65536);
    in.StreamRecvWindowDefault = 1u << 18;
    CHECK(set_on(wcfg, QUIC_PARAM_CONFIGURATION_SETTINGS, &in) == QUIC_STATUS_SUCCESS);
    got = get_on(wcfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.StreamRecvWindowBidiRemoteDefault == (1u << 18));
    CHECK(!got.IsSet.StreamRecvWindowBidiRemoteDefault);
    memset(&in, 0, sizeof(in));
    in.IsSet.SendIdleTimeoutMs = 1;
    in.SendIdleTimeoutMs = 901;
    CHECK(set_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &in) == QUIC_STATUS_SUCCESS);
    got = get_on(wcfg, QUIC_PARAM_CONFIGURATION_SETTINGS);
    CHECK(got.StreamRecvWindowDefault == (1u << 18));
    CHECK(got.StreamRecvWindowBidiRemoteDefault == 65536);
    api->ConfigurationClose(wcfg);

    /* The version settings go through the same settings code: on a configuration, and on a
     * connection not yet started, they recompute unset MTUs too (the library's MinimumMtu is
     * 1300 here). */
    const uint32_t v1[] = {0x00000001};
    QUIC_VERSION_SETTINGS vs = {v1, v1, v1, 1, 1, 1};
    HQUIC vcfg = NULL;
    CHECK(api->ConfigurationOpen(reg, alpn, 1, NULL, 0, NULL, &vcfg) == QUIC_STATUS_SUCCESS);
    CHECK(get_on(vcfg, QUIC_PARAM_CONFIGURATION_SETTINGS).MinimumMtu == 1300);
    CHECK(api->SetParam(vcfg, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, sizeof(vs), &vs) ==
          QUIC_STATUS_SUCCESS);
    CHECK(get_on(vcfg, QUIC_PARAM_CONFIGURATION_SETTINGS).MinimumMtu == 1248);
    api->ConfigurationClose(vcfg);
    CHECK(api->ConnectionOpen(reg, ConnCb, NULL, &conn) == QUIC_STATUS_SUCCESS);
    CHECK(get_on(conn, QUIC_PARAM_CONN_SETTINGS).MinimumMtu == 1300);
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_VERSION_SETTINGS, sizeof(vs), &vs) ==
          QUIC_STATUS_SUCCESS);
    CHECK(get_on(conn, QUIC_PARAM_CONN_SETTINGS).MinimumMtu == 1248);
    api->ConnectionClose(conn);
    api->ConfigurationClose(cfg);
}

int main(void) {
    if (QUIC_FAILED(MsQuicOpen2(&api))) {
        fprintf(stderr, "MsQuicOpen2 failed\n");
        return 1;
    }

    /* The probe conventions: 0 gets the full size, anything below 109 gets 109, a NULL
     * buffer of sufficient length is invalid. */
    uint32_t len = 0;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 144 && len == sizeof(QUIC_SETTINGS));
    len = 50;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &len, NULL) ==
          QUIC_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == MIN_SIZE);
    len = sizeof(QUIC_SETTINGS);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &len, NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);

    /* Nothing is set at first: every value is MsQuic's default. */
    QUIC_SETTINGS s;
    get_global(&s);
    CHECK(s.IsSetFlags == 0);
    CHECK(s.DatagramReceiveEnabled == 0);
    CHECK(s.HyStartEnabled == 0);
    check_defaults(&s, 0);
    CHECK(s.MinimumMtu == 1288);

    /* Set a few fields, including a bitfield and a Flags bit. */
    QUIC_SETTINGS set;
    memset(&set, 0, sizeof(set));
    set.IsSet.IdleTimeoutMs = 1;
    set.IdleTimeoutMs = 5000;
    set.IsSet.PeerBidiStreamCount = 1;
    set.PeerBidiStreamCount = 7;
    set.IsSet.DatagramReceiveEnabled = 1;
    set.DatagramReceiveEnabled = 1;
    set.IsSet.HyStartEnabled = 1;
    set.HyStartEnabled = 1;
    /* Values without their IsSet bit are ignored. */
    set.HandshakeIdleTimeoutMs = 1;
    set.InitialRttMs = 0;
    set.PacingEnabled = 0;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(set), &set) ==
          QUIC_STATUS_SUCCESS);

    get_global(&s);
    uint64_t expected = 0;
    {
        QUIC_SETTINGS bits;
        memset(&bits, 0, sizeof(bits));
        bits.IsSet.IdleTimeoutMs = 1;
        bits.IsSet.PeerBidiStreamCount = 1;
        bits.IsSet.DatagramReceiveEnabled = 1;
        bits.IsSet.HyStartEnabled = 1;
        expected = bits.IsSetFlags;
    }
    CHECK(s.IsSetFlags == expected);
    CHECK(s.IsSet.IdleTimeoutMs && s.IsSet.PeerBidiStreamCount);
    CHECK(!s.IsSet.HandshakeIdleTimeoutMs && !s.IsSet.PacingEnabled);
    CHECK(s.IdleTimeoutMs == 5000);
    CHECK(s.PeerBidiStreamCount == 7);
    CHECK(s.DatagramReceiveEnabled == 1);
    CHECK(s.HyStartEnabled == 1);
    check_defaults(&s, 1);
    /* Every update recomputes the MTU pair: an unset MinimumMtu becomes the floor. */
    CHECK(s.MinimumMtu == 1248 && !s.IsSet.MinimumMtu && !s.IsSet.MaximumMtu);

    /* Too small a SetParam is invalid and changes nothing; so is NULL. A refused value stops
     * the update there: the fields before it in MsQuic's order stay applied. */
    QUIC_SETTINGS other;
    memset(&other, 0, sizeof(other));
    other.IsSet.IdleTimeoutMs = 1;
    other.IdleTimeoutMs = 6000;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, MIN_SIZE - 1, &other) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, 0, &other) ==
          QUIC_STATUS_INVALID_PARAMETER);
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(other), NULL) ==
          QUIC_STATUS_INVALID_PARAMETER);
    other.IsSet.InitialRttMs = 1;
    other.InitialRttMs = 0; /* MsQuic refuses a zero initial RTT, and takes it before idle */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(other), &other) ==
          QUIC_STATUS_INVALID_PARAMETER);
    get_global(&s);
    CHECK(s.IdleTimeoutMs == 5000 && s.InitialRttMs == 333);
    other.IsSet.InitialRttMs = 0;
    other.IsSet.StreamRecvWindowDefault = 1;
    other.StreamRecvWindowDefault = 100000; /* not a power of two; taken after idle */
    other.IsSet.StreamRecvBufferDefault = 1;
    other.StreamRecvBufferDefault = 8192; /* valid, but after the refused window */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(other), &other) ==
          QUIC_STATUS_INVALID_PARAMETER);
    get_global(&s);
    CHECK(s.IdleTimeoutMs == 6000);
    CHECK(s.StreamRecvWindowDefault == 65536 && !s.IsSet.StreamRecvWindowDefault);
    CHECK(s.StreamRecvBufferDefault == 4096 && !s.IsSet.StreamRecvBufferDefault);
    CHECK(s.IsSetFlags == expected);

    /* 109 bytes: fields past MtuDiscoveryMissingProbeCount are not read. */
    memset(&other, 0, sizeof(other));
    other.IsSet.KeepAliveIntervalMs = 1;
    other.KeepAliveIntervalMs = 2500;
    other.IsSet.DestCidUpdateIdleTimeoutMs = 1;
    other.DestCidUpdateIdleTimeoutMs = 1234;
    other.IsSet.StreamRecvWindowUnidiDefault = 1;
    other.StreamRecvWindowUnidiDefault = 3; /* invalid, but beyond the size: ignored */
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, MIN_SIZE, &other) ==
          QUIC_STATUS_SUCCESS);
    get_global(&s);
    CHECK(s.KeepAliveIntervalMs == 2500 && s.IsSet.KeepAliveIntervalMs);
    CHECK(s.DestCidUpdateIdleTimeoutMs == 20000 && !s.IsSet.DestCidUpdateIdleTimeoutMs);
    CHECK(s.StreamRecvWindowUnidiDefault == 65536 && !s.IsSet.StreamRecvWindowUnidiDefault);

    /* A 109-byte GetParam fills only the fixed part and leaves the rest of the buffer. */
    unsigned char raw[sizeof(QUIC_SETTINGS)];
    memset(raw, 0xAB, sizeof(raw));
    len = MIN_SIZE;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &len, raw) == QUIC_STATUS_SUCCESS);
    CHECK(len == MIN_SIZE);
    for (size_t i = MIN_SIZE; i < sizeof(raw); i++) {
        if (raw[i] != 0xAB) {
            fprintf(stderr, "byte %zu written by a 109-byte GetParam\n", i);
            failures++;
            break;
        }
    }
    QUIC_SETTINGS fixed;
    memcpy(&fixed, raw, sizeof(fixed));
    CHECK(fixed.IdleTimeoutMs == 6000 && fixed.KeepAliveIntervalMs == 2500);
    CHECK(!fixed.IsSet.HyStartEnabled); /* its field did not fit */

    /* 120 bytes (an older struct, through DestCidUpdateIdleTimeoutMs): that field is read and
     * written, the Flags word after it is not. */
    memset(&other, 0, sizeof(other));
    other.IsSet.DestCidUpdateIdleTimeoutMs = 1;
    other.DestCidUpdateIdleTimeoutMs = 4321;
    other.IsSet.NetStatsEventEnabled = 1;
    other.NetStatsEventEnabled = 1;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, 120, &other) == QUIC_STATUS_SUCCESS);
    memset(raw, 0xAB, sizeof(raw));
    len = 116;
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &len, raw) == QUIC_STATUS_SUCCESS);
    CHECK(len == 116);
    memcpy(&fixed, raw, sizeof(fixed));
    CHECK(fixed.IsSet.DestCidUpdateIdleTimeoutMs && fixed.DestCidUpdateIdleTimeoutMs == 4321);
    CHECK(!fixed.IsSet.NetStatsEventEnabled);
    CHECK(raw[116] == 0xAB && raw[120] == 0xAB);
    get_global(&s);
    CHECK(s.DestCidUpdateIdleTimeoutMs == 4321);
    CHECK(!s.IsSet.NetStatsEventEnabled && s.NetStatsEventEnabled == 0);

    /* Larger buffers get the whole struct and its size. */
    unsigned char bigger[sizeof(QUIC_SETTINGS) + 16];
    len = sizeof(bigger);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS | QUIC_PARAM_HIGH_PRIORITY, &len,
                        bigger) == QUIC_STATUS_SUCCESS);
    CHECK(len == sizeof(QUIC_SETTINGS));

    /* A configuration takes the application's settings over the library-wide ones, and its
     * own settings can be read and changed through QUIC_PARAM_CONFIGURATION_SETTINGS. */
    HQUIC reg = NULL, cfg = NULL;
    uint8_t alpn_bytes[] = {'s'};
    QUIC_BUFFER alpn = {sizeof(alpn_bytes), alpn_bytes};
    QUIC_SETTINGS mine;
    memset(&mine, 0, sizeof(mine));
    mine.IsSet.PeerBidiStreamCount = TRUE;
    mine.PeerBidiStreamCount = 7;
    CHECK(api->RegistrationOpen(NULL, &reg) == QUIC_STATUS_SUCCESS);
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, &mine, sizeof(mine), NULL, &cfg) ==
          QUIC_STATUS_SUCCESS);
    QUIC_SETTINGS got;
    memset(&got, 0, sizeof(got));
    len = sizeof(got);
    CHECK(api->GetParam(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, &len, &got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(got.IsSet.PeerBidiStreamCount && got.PeerBidiStreamCount == 7);
    CHECK(got.IdleTimeoutMs == 6000); /* inherited from the library-wide settings above */
    memset(&mine, 0, sizeof(mine));
    mine.IsSet.PeerUnidiStreamCount = TRUE;
    mine.PeerUnidiStreamCount = 3;
    CHECK(api->SetParam(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, sizeof(mine), &mine) ==
          QUIC_STATUS_SUCCESS);
    len = sizeof(got);
    CHECK(api->GetParam(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, &len, &got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(got.PeerUnidiStreamCount == 3 && got.PeerBidiStreamCount == 7);
    CHECK(api->SetParam(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, 100, &mine) ==
          QUIC_STATUS_INVALID_PARAMETER);
    /* A change of the library-wide settings reaches the configuration's unset fields (MsQuic
     * refreshes its configurations), never the ones it set. */
    memset(&other, 0, sizeof(other));
    other.IsSet.IdleTimeoutMs = 1;
    other.IdleTimeoutMs = 7000;
    other.IsSet.PeerBidiStreamCount = 1;
    other.PeerBidiStreamCount = 9;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(other), &other) ==
          QUIC_STATUS_SUCCESS);
    len = sizeof(got);
    CHECK(api->GetParam(cfg, QUIC_PARAM_CONFIGURATION_SETTINGS, &len, &got) ==
          QUIC_STATUS_SUCCESS);
    CHECK(got.IdleTimeoutMs == 7000 && !got.IsSet.IdleTimeoutMs);
    CHECK(got.PeerBidiStreamCount == 7 && got.IsSet.PeerBidiStreamCount);
    CHECK(api->ConfigurationOpen(reg, &alpn, 1, NULL, 0, NULL, &check_cfg) ==
          QUIC_STATUS_SUCCESS);
    check_values();
    api->ConfigurationClose(check_cfg);
    /* A connection's own settings, before it starts. */
    HQUIC conn = NULL;
    CHECK(api->ConnectionOpen(reg, ConnCb, NULL, &conn) == QUIC_STATUS_SUCCESS);
    memset(&mine, 0, sizeof(mine));
    mine.IsSet.KeepAliveIntervalMs = TRUE;
    mine.KeepAliveIntervalMs = 1234;
    CHECK(api->SetParam(conn, QUIC_PARAM_CONN_SETTINGS, sizeof(mine), &mine) ==
          QUIC_STATUS_SUCCESS);
    len = sizeof(got);
    CHECK(api->GetParam(conn, QUIC_PARAM_CONN_SETTINGS, &len, &got) == QUIC_STATUS_SUCCESS);
    CHECK(got.IsSet.KeepAliveIntervalMs && got.KeepAliveIntervalMs == 1234);
    api->ConnectionClose(conn);

    check_levels(reg, &alpn);

    api->ConfigurationClose(cfg);
    api->RegistrationClose(reg);

    MsQuicClose(api);

    /* QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS goes through the same settings code: the library
     * settings start over (the last MsQuicClose), and a change recomputes the MTU pair; a
     * refused LoadBalancingMode keeps the RetryMemoryLimit before it. */
    if (QUIC_FAILED(MsQuicOpen2(&api))) {
        fprintf(stderr, "MsQuicOpen2 failed\n");
        return 1;
    }
    CHECK(get_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS).MinimumMtu == 1288);
    QUIC_GLOBAL_SETTINGS g;
    memset(&g, 0, sizeof(g));
    g.IsSet.RetryMemoryLimit = 1;
    g.RetryMemoryLimit = 100;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(g), &g) ==
          QUIC_STATUS_SUCCESS);
    s = get_on(NULL, QUIC_PARAM_GLOBAL_SETTINGS);
    CHECK(s.MinimumMtu == 1248 && s.IsSetFlags == 0);
    g.RetryMemoryLimit = 101;
    g.IsSet.LoadBalancingMode = 1;
    g.LoadBalancingMode = 7;
    CHECK(api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(g), &g) ==
          QUIC_STATUS_INVALID_PARAMETER);
    memset(&g, 0, sizeof(g));
    len = sizeof(g);
    CHECK(api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &len, &g) ==
          QUIC_STATUS_SUCCESS);
    CHECK(g.RetryMemoryLimit == 101 && g.LoadBalancingMode == QUIC_LOAD_BALANCING_DISABLED);
    MsQuicClose(api);
    if (failures != 0) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("settings: ok\n");
    return 0;
}
