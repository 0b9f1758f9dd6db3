use core::ffi::c_void;
use core::ptr::{null, null_mut};
use std::time::Duration;

use parking_lot::Mutex;

use super::*;
use crate::api::abi::{
    QUIC_SETTINGS as C, QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_SUCCESS,
};

/// Serializes the tests that use the library-wide settings.
static GLOBAL_TESTS: Mutex<()> = Mutex::new(());

fn update(c: &C) -> SettingsUpdate {
    SettingsUpdate::from_c(c, 144).expect("valid settings")
}

/// A C struct with only `IsSetFlags` and the given edits.
fn c_with(f: impl FnOnce(&mut C)) -> C {
    let mut c = C::default();
    f(&mut c);
    c
}

/// The bytes of `c` as C lays them out, padding zeroed.
fn c_bytes(c: &C) -> [u8; 144] {
    let mut b = [0u8; 144];
    macro_rules! put {
        ($($field:ident),* $(,)?) => {
            $(
                let v = c.$field.to_ne_bytes();
                let at = core::mem::offset_of!(C, $field);
                b[at..at + v.len()].copy_from_slice(&v);
            )*
        };
    }
    put!(
        IsSetFlags,
        MaxBytesPerKey,
        HandshakeIdleTimeoutMs,
        IdleTimeoutMs,
        MtuDiscoverySearchCompleteTimeoutUs,
        TlsClientMaxSendBuffer,
        TlsServerMaxSendBuffer,
        StreamRecvWindowDefault,
        StreamRecvBufferDefault,
        ConnFlowControlWindow,
        MaxWorkerQueueDelayUs,
        MaxStatelessOperations,
        InitialWindowPackets,
        SendIdleTimeoutMs,
        InitialRttMs,
        MaxAckDelayMs,
        DisconnectTimeoutMs,
        KeepAliveIntervalMs,
        CongestionControlAlgorithm,
        PeerBidiStreamCount,
        PeerUnidiStreamCount,
        MaxBindingStatelessOperations,
        StatelessOperationExpirationMs,
        MinimumMtu,
        MaximumMtu,
        Bitfields,
        MaxOperationsPerDrain,
        MtuDiscoveryMissingProbeCount,
        DestCidUpdateIdleTimeoutMs,
        Flags,
        StreamRecvWindowBidiLocalDefault,
        StreamRecvWindowBidiRemoteDefault,
        StreamRecvWindowUnidiDefault,
    );
    b
}

/// `c`'s first `size` bytes after one spare byte, so `[1..]` is at an odd address, as an
/// application's buffer might be, and holds exactly `size` bytes.
fn unaligned_copy(c: &C, size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; 1];
    bytes.extend_from_slice(&c_bytes(c)[..size]);
    bytes
}

#[test]
fn defaults_are_msquics() {
    let s = Settings::default();
    assert_eq!(s.is_set, 0);
    assert_eq!(s.max_bytes_per_key, 274_877_906_944);
    assert_eq!(s.handshake_idle_timeout_ms, 10_000);
    assert_eq!(s.idle_timeout_ms, 30_000);
    assert_eq!(s.mtu_discovery_search_complete_timeout_us, 600_000_000);
    assert_eq!(s.tls_client_max_send_buffer, 4096);
    assert_eq!(s.tls_server_max_send_buffer, 8192);
    assert_eq!(s.stream_recv_window_default, 65_536);
    assert_eq!(s.stream_recv_window_bidi_local_default, 65_536);
    assert_eq!(s.stream_recv_window_bidi_remote_default, 65_536);
    assert_eq!(s.stream_recv_window_unidi_default, 65_536);
    assert_eq!(s.stream_recv_buffer_default, 4096);
    assert_eq!(s.conn_flow_control_window, 16_777_216);
    assert_eq!(s.max_worker_queue_delay_us, 250_000);
    assert_eq!(s.max_stateless_operations, 16);
    assert_eq!(s.initial_window_packets, 10);
    assert_eq!(s.send_idle_timeout_ms, 1000);
    assert_eq!(s.initial_rtt_ms, 333);
    assert_eq!(s.max_ack_delay_ms, 25);
    assert_eq!(s.disconnect_timeout_ms, 16_000);
    assert_eq!(s.keep_alive_interval_ms, 0);
    assert_eq!(s.congestion_control_algorithm, 0);
    assert_eq!(s.peer_bidi_stream_count, 0);
    assert_eq!(s.peer_unidi_stream_count, 0);
    assert_eq!(s.max_binding_stateless_operations, 100);
    assert_eq!(s.stateless_operation_expiration_ms, 100);
    assert_eq!(s.minimum_mtu, 1288);
    assert_eq!(s.maximum_mtu, 1500);
    assert!(s.send_buffering_enabled);
    assert!(s.pacing_enabled);
    assert!(s.migration_enabled);
    assert!(!s.datagram_receive_enabled);
    assert_eq!(s.server_resumption_level, 0);
    assert!(!s.grease_quic_bit_enabled);
    assert!(!s.ecn_enabled);
    assert_eq!(s.max_operations_per_drain, 16);
    assert_eq!(s.mtu_discovery_missing_probe_count, 3);
    assert_eq!(s.dest_cid_update_idle_timeout_ms, 20_000);
    assert!(!s.hy_start_enabled);
    assert!(!s.encryption_offload_allowed);
    assert!(!s.reliable_reset_enabled);
    assert!(!s.one_way_delay_enabled);
    assert!(!s.net_stats_event_enabled);
    assert!(!s.stream_multi_receive_enabled);
    assert!(!s.xdp_enabled);
    assert!(!s.qtip_enabled);
    assert!(!s.reserved_rio_enabled);
}

#[test]
fn only_fields_with_their_isset_bit_are_taken() {
    let c = c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_ECN_ENABLED;
        c.IdleTimeoutMs = 1234;
        c.set_ecn_enabled(true);
        // Values without their bit, some of them invalid: all ignored.
        c.HandshakeIdleTimeoutMs = 1;
        c.InitialRttMs = 0;
        c.StreamRecvWindowDefault = 3;
        c.PeerBidiStreamCount = 9;
        c.set_datagram_receive_enabled(true);
    });
    let u = update(&c);
    assert_eq!(u.mask(), C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_ECN_ENABLED);
    let mut s = Settings::default();
    s.apply(&u).unwrap();
    assert_eq!(s.idle_timeout_ms, 1234);
    assert!(s.ecn_enabled);
    assert_eq!(s.handshake_idle_timeout_ms, 10_000);
    assert_eq!(s.peer_bidi_stream_count, 0);
    assert!(!s.datagram_receive_enabled);
    assert!(s.is_set(C::IS_SET_IDLE_TIMEOUT_MS));
    assert!(!s.is_set(C::IS_SET_PEER_BIDI_STREAM_COUNT));
}

#[test]
fn bits_are_read_from_their_own_isset_positions() {
    // Bitfield and Flags values sit at bits that differ from field order.
    let c = c_with(|c| {
        c.IsSetFlags = C::IS_SET_SERVER_RESUMPTION_LEVEL
            | C::IS_SET_SEND_BUFFERING_ENABLED
            | C::IS_SET_HY_START_ENABLED
            | C::IS_SET_RELIABLE_RESET_ENABLED
            | C::IS_SET_STREAM_MULTI_RECEIVE_ENABLED;
        c.set_server_resumption_level(2);
        c.set_send_buffering_enabled(false);
        c.set_flag(C::FLAG_HY_START_ENABLED, true);
        c.set_flag(C::FLAG_RELIABLE_RESET_ENABLED, true);
        c.set_flag(C::FLAG_STREAM_MULTI_RECEIVE_ENABLED, true);
    });
    let mut s = Settings::default();
    s.apply(&update(&c)).unwrap();
    assert_eq!(s.server_resumption_level, 2);
    assert!(!s.send_buffering_enabled);
    assert!(s.hy_start_enabled && s.reliable_reset_enabled && s.stream_multi_receive_enabled);
    assert!(!s.xdp_enabled && !s.net_stats_event_enabled);
}

/// A struct setting one field in each size band, with every IsSet bit on.
fn banded() -> C {
    c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS
            | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS
            | C::IS_SET_HY_START_ENABLED
            | C::IS_SET_RELIABLE_RESET_ENABLED
            | C::IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT
            | C::IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT
            | C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT;
        c.IdleTimeoutMs = 5000;
        c.DestCidUpdateIdleTimeoutMs = 777;
        c.set_flag(C::FLAG_HY_START_ENABLED, true);
        c.set_flag(C::FLAG_RELIABLE_RESET_ENABLED, true);
        c.StreamRecvWindowBidiLocalDefault = 1 << 20;
        c.StreamRecvWindowBidiRemoteDefault = 1 << 21;
        c.StreamRecvWindowUnidiDefault = 1 << 22;
    })
}

#[test]
fn size_108_is_refused_and_109_reads_only_the_fixed_part() {
    let c = banded();
    let bytes = unaligned_copy(&c, 144);
    let ptr = bytes[1..].as_ptr().cast::<C>();
    // SAFETY: `ptr` is readable for 144 bytes.
    let err = unsafe { Settings::read_from(ptr, 108) };
    assert!(err.is_err());
    for size in [0, 8, 100] {
        // SAFETY: as above.
        assert!(unsafe { Settings::read_from(ptr, size) }.is_err());
    }
    // Exactly 109 readable bytes: nothing after them may be read or taken.
    let short = unaligned_copy(&c, 109);
    // SAFETY: `short[1..]` holds 109 readable bytes.
    let u = unsafe { Settings::read_from(short[1..].as_ptr().cast(), 109) }.unwrap();
    assert_eq!(u.mask(), C::IS_SET_IDLE_TIMEOUT_MS);
    assert_eq!(u.values().idle_timeout_ms, 5000);
}

#[test]
fn sized_fields_are_read_only_when_wholly_inside() {
    let c = banded();
    let cases: [(u32, u64); 6] = [
        (115, C::IS_SET_IDLE_TIMEOUT_MS),
        (
            116,
            C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS,
        ),
        (
            127,
            C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS,
        ),
        (
            131,
            C::IS_SET_IDLE_TIMEOUT_MS
                | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS
                | C::IS_SET_HY_START_ENABLED
                | C::IS_SET_RELIABLE_RESET_ENABLED,
        ),
        (
            139,
            banded().IsSetFlags & !C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT,
        ),
        (144, banded().IsSetFlags),
    ];
    for (size, mask) in cases {
        let bytes = unaligned_copy(&c, size as usize);
        // SAFETY: `bytes[1..]` holds `size` readable bytes.
        let u = unsafe { Settings::read_from(bytes[1..].as_ptr().cast(), size) }.unwrap();
        assert_eq!(u.mask(), mask, "size {size}");
    }
}

#[test]
fn full_144_bytes_are_read() {
    let c = banded();
    let bytes = unaligned_copy(&c, 144);
    // SAFETY: `bytes[1..]` holds 144 readable bytes.
    let u = unsafe { Settings::read_from(bytes[1..].as_ptr().cast(), 144) }.unwrap();
    let mut s = Settings::default();
    s.apply(&u).unwrap();
    assert_eq!(s.idle_timeout_ms, 5000);
    assert_eq!(s.dest_cid_update_idle_timeout_ms, 777);
    assert!(s.hy_start_enabled && s.reliable_reset_enabled);
    assert_eq!(s.stream_recv_window_bidi_local_default, 1 << 20);
    assert_eq!(s.stream_recv_window_bidi_remote_default, 1 << 21);
    assert_eq!(s.stream_recv_window_unidi_default, 1 << 22);
    // Larger sizes read the 144 bytes we know.
    let mut padded = unaligned_copy(&c, 144);
    padded.extend_from_slice(&[0xFF; 16]);
    // SAFETY: `padded[1..]` holds 160 readable bytes.
    let u2 = unsafe { Settings::read_from(padded[1..].as_ptr().cast(), 160) }.unwrap();
    assert_eq!(u2, u);
}

#[test]
fn read_optional_skips_null_and_empty() {
    // SAFETY: NULL is accepted.
    assert_eq!(unsafe { Settings::read_optional(null(), 0) }, Ok(None));
    let empty = C::default();
    // SAFETY: `empty` is 144 readable bytes; MsQuic skips the size check when nothing is set.
    assert_eq!(unsafe { Settings::read_optional(&empty, 50) }, Ok(None));
    let c = banded();
    // SAFETY: as above.
    assert!(unsafe { Settings::read_optional(&c, 108) }.is_err());
    // SAFETY: as above.
    assert!(unsafe { Settings::read_optional(&c, 4) }.is_err());
    // SAFETY: as above.
    let u = unsafe { Settings::read_optional(&c, 144) }
        .unwrap()
        .unwrap();
    assert_eq!(u.mask(), c.IsSetFlags);
}

/// `f` applied to a struct with `bit` set must be read, then refused when applied, with
/// nothing changed.
fn refused(bit: u64, f: impl FnOnce(&mut C)) {
    let c = c_with(|c| {
        c.IsSetFlags = bit;
        f(c);
    });
    let mut s = Settings::default();
    assert!(
        s.apply(&SettingsUpdate::from_c(&c, 144).expect("read"))
            .is_err(),
        "bit {bit:#x} accepted"
    );
    // Refusals after the MTU step (CongestionControlAlgorithm) come after the MTU pair was
    // recomputed; nothing else may change.
    let mut recomputed = Settings::default();
    recomputed.recompute_mtus();
    assert!(
        s == Settings::default() || s == recomputed,
        "bit {bit:#x}: a refused field changed something"
    );
}

/// `f` applied to a struct with `bit` set must be accepted.
fn accepted(bit: u64, f: impl FnOnce(&mut C)) -> Settings {
    let c = c_with(|c| {
        c.IsSetFlags = bit;
        f(c);
    });
    let mut s = Settings::default();
    s.apply(&SettingsUpdate::from_c(&c, 144).expect("accepted"))
        .unwrap();
    s
}

#[test]
fn values_are_validated_as_msquic_does() {
    const MAX62: u64 = (1 << 62) - 1;
    refused(C::IS_SET_IDLE_TIMEOUT_MS, |c| c.IdleTimeoutMs = MAX62 + 1);
    accepted(C::IS_SET_IDLE_TIMEOUT_MS, |c| c.IdleTimeoutMs = MAX62);
    accepted(C::IS_SET_IDLE_TIMEOUT_MS, |c| c.IdleTimeoutMs = 0);
    refused(C::IS_SET_HANDSHAKE_IDLE_TIMEOUT_MS, |c| {
        c.HandshakeIdleTimeoutMs = u64::MAX
    });
    accepted(C::IS_SET_HANDSHAKE_IDLE_TIMEOUT_MS, |c| {
        c.HandshakeIdleTimeoutMs = MAX62
    });
    refused(C::IS_SET_MAX_BYTES_PER_KEY, |c| {
        c.MaxBytesPerKey = 0x40_0000_0001
    });
    for bit in [
        C::IS_SET_STREAM_RECV_WINDOW_DEFAULT,
        C::IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT,
        C::IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT,
        C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT,
    ] {
        let set_all = |c: &mut C, w: u32| {
            c.StreamRecvWindowDefault = w;
            c.StreamRecvWindowBidiLocalDefault = w;
            c.StreamRecvWindowBidiRemoteDefault = w;
            c.StreamRecvWindowUnidiDefault = w;
        };
        refused(bit, |c| set_all(c, 0));
        refused(bit, |c| set_all(c, 65_535));
        refused(bit, |c| set_all(c, 3 << 20));
        accepted(bit, |c| set_all(c, 1));
        accepted(bit, |c| set_all(c, 1 << 31));
    }
    refused(C::IS_SET_STREAM_RECV_BUFFER_DEFAULT, |c| {
        c.StreamRecvBufferDefault = 4095
    });
    accepted(C::IS_SET_STREAM_RECV_BUFFER_DEFAULT, |c| {
        c.StreamRecvBufferDefault = 4096
    });
    refused(C::IS_SET_INITIAL_RTT_MS, |c| c.InitialRttMs = 0);
    refused(C::IS_SET_MAX_ACK_DELAY_MS, |c| c.MaxAckDelayMs = 16_384);
    accepted(C::IS_SET_MAX_ACK_DELAY_MS, |c| c.MaxAckDelayMs = 16_383);
    refused(C::IS_SET_DISCONNECT_TIMEOUT_MS, |c| {
        c.DisconnectTimeoutMs = 0
    });
    refused(C::IS_SET_DISCONNECT_TIMEOUT_MS, |c| {
        c.DisconnectTimeoutMs = 600_001
    });
    accepted(C::IS_SET_DISCONNECT_TIMEOUT_MS, |c| {
        c.DisconnectTimeoutMs = 600_000
    });
    refused(C::IS_SET_MAX_OPERATIONS_PER_DRAIN, |c| {
        c.MaxOperationsPerDrain = 0
    });
    refused(C::IS_SET_SERVER_RESUMPTION_LEVEL, |c| {
        c.set_server_resumption_level(3)
    });
    accepted(C::IS_SET_SERVER_RESUMPTION_LEVEL, |c| {
        c.set_server_resumption_level(2)
    });
    refused(C::IS_SET_CONGESTION_CONTROL_ALGORITHM, |c| {
        c.CongestionControlAlgorithm = 2
    });
    accepted(C::IS_SET_CONGESTION_CONTROL_ALGORITHM, |c| {
        c.CongestionControlAlgorithm = 1
    });
    // Stream counts take the whole u16 range.
    let s = accepted(
        C::IS_SET_PEER_BIDI_STREAM_COUNT | C::IS_SET_PEER_UNIDI_STREAM_COUNT,
        |c| {
            c.PeerBidiStreamCount = u16::MAX;
            c.PeerUnidiStreamCount = u16::MAX;
        },
    );
    assert_eq!(s.peer_bidi_stream_count, 65_535);
}

#[test]
fn mtus_are_clamped_and_ordered() {
    let both = C::IS_SET_MINIMUM_MTU | C::IS_SET_MAXIMUM_MTU;
    let s = accepted(both, |c| {
        c.MinimumMtu = 100;
        c.MaximumMtu = 9000;
    });
    assert_eq!((s.minimum_mtu, s.maximum_mtu), (1248, 1500));
    refused(both, |c| {
        c.MinimumMtu = 1400;
        c.MaximumMtu = 1300;
    });
    // Against what is already set: a minimum above the set maximum is refused, the MTUs
    // are left as they were, and the field before them in MsQuic's order stays applied.
    let mut s = accepted(C::IS_SET_MAXIMUM_MTU, |c| c.MaximumMtu = 1300);
    assert_eq!((s.minimum_mtu, s.maximum_mtu), (1248, 1300));
    let raise = c_with(|c| {
        c.IsSetFlags = C::IS_SET_MINIMUM_MTU | C::IS_SET_IDLE_TIMEOUT_MS;
        c.MinimumMtu = 1400;
        c.IdleTimeoutMs = 1;
    });
    assert!(s.apply(&update(&raise)).is_err());
    assert_eq!((s.minimum_mtu, s.maximum_mtu), (1248, 1300));
    assert!(!s.is_set(C::IS_SET_MINIMUM_MTU));
    assert_eq!(s.idle_timeout_ms, 1);
    // A maximum below the default (unset) minimum lowers it, as MsQuic does.
    let s = accepted(C::IS_SET_MAXIMUM_MTU, |c| c.MaximumMtu = 1260);
    assert_eq!((s.minimum_mtu, s.maximum_mtu), (1248, 1260));
}

#[test]
fn every_update_recomputes_unset_mtus() {
    let idle = update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS;
        c.IdleTimeoutMs = 5;
    }));
    // Neither MTU set: the pair becomes MsQuic's floor and ceiling, still unset.
    let mut s = Settings::default();
    assert_eq!(s.minimum_mtu, 1288);
    s.apply(&idle).unwrap();
    assert_eq!((s.minimum_mtu, s.maximum_mtu), (1248, 1500));
    assert_eq!(s.is_set, C::IS_SET_IDLE_TIMEOUT_MS);
    // An empty update does it too.
    let mut s = Settings::default();
    s.apply(&SettingsUpdate::empty()).unwrap();
    assert_eq!((s.minimum_mtu, s.is_set), (1248, 0));
    let mut s = Settings::default();
    s.recompute_mtus();
    assert_eq!(s.minimum_mtu, 1248);
    // One MTU set: it stays, the other is recomputed.
    let mut s = accepted(C::IS_SET_MINIMUM_MTU, |c| c.MinimumMtu = 1300);
    s.maximum_mtu = 1400; // as inherited from a level above
    s.apply(&idle).unwrap();
    assert_eq!((s.minimum_mtu, s.maximum_mtu), (1300, 1500));
    // Once started (no MTU changes), nothing is recomputed.
    let mut s = Settings::default();
    s.apply_with(&idle, Apply::STARTED).unwrap();
    assert_eq!(s.minimum_mtu, 1288);
    // A refusal before the MTU step leaves the MTUs alone.
    let mut s = Settings::default();
    let bad = update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_INITIAL_RTT_MS;
        c.InitialRttMs = 0;
    }));
    assert!(s.apply(&bad).is_err());
    assert_eq!(s.minimum_mtu, 1288);
}

#[test]
fn a_refused_value_keeps_the_fields_before_it_in_msquics_order() {
    // Fields before a refused stream window are applied (and marked set), those after it
    // are not, whatever their place in the struct.
    let mut s = Settings::default();
    let u = update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_SEND_BUFFERING_ENABLED
            | C::IS_SET_IDLE_TIMEOUT_MS
            | C::IS_SET_PEER_UNIDI_STREAM_COUNT
            | C::IS_SET_STREAM_RECV_WINDOW_DEFAULT
            | C::IS_SET_STREAM_RECV_BUFFER_DEFAULT
            | C::IS_SET_MAX_BYTES_PER_KEY
            | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS;
        c.set_send_buffering_enabled(false);
        c.IdleTimeoutMs = 6000;
        c.PeerUnidiStreamCount = 4;
        c.StreamRecvWindowDefault = 100_000;
        c.StreamRecvBufferDefault = 8192;
        c.MaxBytesPerKey = 1;
        c.DestCidUpdateIdleTimeoutMs = 7;
    }));
    assert_eq!(
        s.apply(&u),
        Err(Invalid("StreamRecvWindowDefault not a power of two"))
    );
    assert!(!s.send_buffering_enabled);
    assert_eq!(s.idle_timeout_ms, 6000);
    assert_eq!(s.peer_unidi_stream_count, 4);
    assert_eq!(
        s.is_set,
        C::IS_SET_SEND_BUFFERING_ENABLED
            | C::IS_SET_IDLE_TIMEOUT_MS
            | C::IS_SET_PEER_UNIDI_STREAM_COUNT
    );
    assert_eq!(s.stream_recv_window_default, 65_536);
    assert_eq!(s.stream_recv_buffer_default, 4096);
    assert_eq!(s.max_bytes_per_key, 0x40_0000_0000);
    assert_eq!(s.dest_cid_update_idle_timeout_ms, 20_000);
    assert_eq!(s.minimum_mtu, 1288, "the MTU step comes after the refusal");

    // InitialRttMs comes before IdleTimeoutMs: a zero RTT stops the update before it.
    let mut s = Settings::default();
    let u = update(&c_with(|c| {
        c.IsSetFlags =
            C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_INITIAL_RTT_MS | C::IS_SET_PACING_ENABLED;
        c.IdleTimeoutMs = 6000;
        c.InitialRttMs = 0;
        c.set_pacing_enabled(false);
    }));
    assert!(s.apply(&u).is_err());
    assert_eq!(s.idle_timeout_ms, 30_000);
    assert!(!s.pacing_enabled, "Pacing comes first");
    assert_eq!(s.is_set, C::IS_SET_PACING_ENABLED);

    // The general window spreads to the per-type windows before a refused per-type one.
    let mut s = Settings::default();
    let u = update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_STREAM_RECV_WINDOW_DEFAULT
            | C::IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT
            | C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT;
        c.StreamRecvWindowDefault = 1 << 20;
        c.StreamRecvWindowBidiLocalDefault = 1 << 10;
        c.StreamRecvWindowUnidiDefault = 3;
    }));
    assert!(s.apply(&u).is_err());
    assert_eq!(s.stream_recv_window_bidi_local_default, 1 << 10);
    assert_eq!(s.stream_recv_window_bidi_remote_default, 1 << 20);
    assert_eq!(s.stream_recv_window_unidi_default, 1 << 20);
    assert!(!s.is_set(C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT));

    // MTUs out of order: everything before the MTU step stays, nothing after it is applied.
    let mut s = Settings::default();
    let u = update(&c_with(|c| {
        c.IsSetFlags = ALL_FIELDS;
        c.MaxBytesPerKey = 1;
        c.IdleTimeoutMs = 8;
        c.StreamRecvWindowDefault = 1 << 12;
        c.StreamRecvBufferDefault = 1 << 13;
        c.StreamRecvWindowBidiLocalDefault = 1 << 12;
        c.StreamRecvWindowBidiRemoteDefault = 1 << 12;
        c.StreamRecvWindowUnidiDefault = 1 << 12;
        c.InitialRttMs = 9;
        c.DisconnectTimeoutMs = 10;
        c.MaxOperationsPerDrain = 11;
        c.MinimumMtu = 1400;
        c.MaximumMtu = 1300;
        c.MtuDiscoveryMissingProbeCount = 12;
        c.MaxBindingStatelessOperations = 13;
        c.DestCidUpdateIdleTimeoutMs = 14;
        c.set_grease_quic_bit_enabled(true);
        c.set_ecn_enabled(true);
        c.set_flag(C::FLAG_RELIABLE_RESET_ENABLED, true);
        c.set_flag(C::FLAG_HY_START_ENABLED, true);
    }));
    assert_eq!(s.apply(&u), Err(Invalid("MinimumMtu above MaximumMtu")));
    assert_eq!((s.idle_timeout_ms, s.max_bytes_per_key), (8, 1));
    assert_eq!(
        (s.initial_rtt_ms, s.stream_recv_buffer_default),
        (9, 1 << 13)
    );
    let before_mtu = ALL_FIELDS
        & !(C::IS_SET_MINIMUM_MTU
            | C::IS_SET_MAXIMUM_MTU
            | C::IS_SET_MTU_DISCOVERY_SEARCH_COMPLETE_TIMEOUT_US
            | C::IS_SET_MTU_DISCOVERY_MISSING_PROBE_COUNT
            | C::IS_SET_MAX_BINDING_STATELESS_OPERATIONS
            | C::IS_SET_STATELESS_OPERATION_EXPIRATION_MS
            | C::IS_SET_CONGESTION_CONTROL_ALGORITHM
            | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS
            | C::IS_SET_GREASE_QUIC_BIT_ENABLED
            | C::IS_SET_ECN_ENABLED
            | C::IS_SET_HY_START_ENABLED
            | C::IS_SET_ENCRYPTION_OFFLOAD_ALLOWED
            | C::IS_SET_RELIABLE_RESET_ENABLED
            | C::IS_SET_ONE_WAY_DELAY_ENABLED
            | C::IS_SET_NET_STATS_EVENT_ENABLED
            | C::IS_SET_STREAM_MULTI_RECEIVE_ENABLED
            | C::IS_SET_XDP_ENABLED
            | C::IS_SET_QTIP_ENABLED
            | C::IS_SET_RESERVED_RIO_ENABLED);
    assert_eq!(s.is_set, before_mtu);
    assert_eq!((s.minimum_mtu, s.maximum_mtu), (1288, 1500));
    assert_eq!(s.mtu_discovery_missing_probe_count, 3);
    assert_eq!(s.max_binding_stateless_operations, 100);
    assert_eq!(s.dest_cid_update_idle_timeout_ms, 20_000);
    assert!(!s.grease_quic_bit_enabled && !s.ecn_enabled);
    assert!(!s.reliable_reset_enabled && !s.hy_start_enabled);

    // A started connection: MTU refused at its step, ECN at its own (after DestCid).
    let mut s = Settings::default();
    let u = update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_KEEP_ALIVE_INTERVAL_MS
            | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS
            | C::IS_SET_ECN_ENABLED
            | C::IS_SET_RELIABLE_RESET_ENABLED;
        c.KeepAliveIntervalMs = 15;
        c.DestCidUpdateIdleTimeoutMs = 16;
        c.set_ecn_enabled(true);
        c.set_flag(C::FLAG_RELIABLE_RESET_ENABLED, true);
    }));
    assert!(s.apply_with(&u, Apply::STARTED).is_err());
    assert_eq!(s.keep_alive_interval_ms, 15);
    assert_eq!(s.dest_cid_update_idle_timeout_ms, 16);
    assert!(!s.ecn_enabled && !s.reliable_reset_enabled);
    let mut s = Settings::default();
    let u = update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_KEEP_ALIVE_INTERVAL_MS
            | C::IS_SET_MAXIMUM_MTU
            | C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS;
        c.KeepAliveIntervalMs = 15;
        c.MaximumMtu = 1400;
        c.DestCidUpdateIdleTimeoutMs = 16;
    }));
    assert!(s.apply_with(&u, Apply::STARTED).is_err());
    assert_eq!(s.keep_alive_interval_ms, 15);
    assert_eq!(s.dest_cid_update_idle_timeout_ms, 20_000);
    assert_eq!(s.maximum_mtu, 1500);
}

#[test]
fn started_connections_refuse_mtu_and_ecn() {
    let mut s = Settings::default();
    let ecn = c_with(|c| {
        c.IsSetFlags = C::IS_SET_ECN_ENABLED;
        c.set_ecn_enabled(true);
    });
    assert!(s.apply_with(&update(&ecn), Apply::STARTED).is_err());
    let mtu = c_with(|c| {
        c.IsSetFlags = C::IS_SET_MINIMUM_MTU;
        c.MinimumMtu = 1300;
    });
    assert!(s.apply_with(&update(&mtu), Apply::STARTED).is_err());
    let idle = c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS;
        c.IdleTimeoutMs = 99;
    });
    s.apply_with(&update(&idle), Apply::STARTED).unwrap();
    assert_eq!(s.idle_timeout_ms, 99);
}

#[test]
fn levels_compose_lower_explicit_values_win() {
    // Library: idle 5 s, 10 peer bidi streams, keep-alive 1 s.
    let mut lib = Settings::default();
    lib.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS
            | C::IS_SET_PEER_BIDI_STREAM_COUNT
            | C::IS_SET_KEEP_ALIVE_INTERVAL_MS;
        c.IdleTimeoutMs = 5000;
        c.PeerBidiStreamCount = 10;
        c.KeepAliveIntervalMs = 1000;
    })))
    .unwrap();

    // Configuration: idle 7 s, datagrams on; the rest from the library.
    let mut cfg = Settings::default();
    cfg.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_DATAGRAM_RECEIVE_ENABLED;
        c.IdleTimeoutMs = 7000;
        c.set_datagram_receive_enabled(true);
    })))
    .unwrap();
    cfg.inherit(&lib);
    assert_eq!(cfg.idle_timeout_ms, 7000);
    assert_eq!(cfg.peer_bidi_stream_count, 10);
    assert_eq!(cfg.keep_alive_interval_ms, 1000);
    assert!(cfg.datagram_receive_enabled);
    assert_eq!(
        cfg.is_set,
        C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_DATAGRAM_RECEIVE_ENABLED,
        "inherited values are not explicitly set at this level"
    );

    // Connection: starts from the library, sets keep-alive 2 s and idle 9 s itself, then
    // adopts the configuration without losing its own values.
    let mut conn = Settings::default();
    conn.inherit(&lib);
    assert_eq!(conn.is_set, 0);
    conn.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_KEEP_ALIVE_INTERVAL_MS | C::IS_SET_IDLE_TIMEOUT_MS;
        c.KeepAliveIntervalMs = 2000;
        c.IdleTimeoutMs = 9000;
    })))
    .unwrap();
    conn.adopt(&cfg, false);
    assert_eq!(conn.idle_timeout_ms, 9000, "connection's own value wins");
    assert_eq!(conn.keep_alive_interval_ms, 2000);
    assert!(
        conn.datagram_receive_enabled,
        "configuration's value adopted"
    );
    assert_eq!(conn.peer_bidi_stream_count, 10, "library's value kept");

    // Re-inheriting after the library changes refreshes only what is not set.
    lib.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_PEER_BIDI_STREAM_COUNT | C::IS_SET_IDLE_TIMEOUT_MS;
        c.PeerBidiStreamCount = 20;
        c.IdleTimeoutMs = 1;
    })))
    .unwrap();
    cfg.inherit(&lib);
    assert_eq!(cfg.peer_bidi_stream_count, 20);
    assert_eq!(cfg.idle_timeout_ms, 7000);
}

#[test]
fn later_updates_overwrite_earlier_ones() {
    let mut s = Settings::default();
    for ms in [100, 200] {
        s.apply(&update(&c_with(|c| {
            c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS;
            c.IdleTimeoutMs = ms;
        })))
        .unwrap();
    }
    assert_eq!(s.idle_timeout_ms, 200);
    // Without overwrite, a set field stays.
    let keep = Apply {
        overwrite: false,
        allow_mtu_and_ecn: true,
    };
    s.apply_with(
        &update(&c_with(|c| {
            c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS;
            c.IdleTimeoutMs = 300;
        })),
        keep,
    )
    .unwrap();
    assert_eq!(s.idle_timeout_ms, 200);
}

#[test]
fn per_type_windows_fall_back_to_the_stream_window() {
    let general = |w: u32| {
        update(&c_with(|c| {
            c.IsSetFlags = C::IS_SET_STREAM_RECV_WINDOW_DEFAULT;
            c.StreamRecvWindowDefault = w;
        }))
    };
    // Only the general window: every type follows it.
    let mut s = Settings::default();
    s.apply(&general(1 << 18)).unwrap();
    assert_eq!(s.stream_recv_window_bidi_local_default, 1 << 18);
    assert_eq!(s.stream_recv_window_bidi_remote_default, 1 << 18);
    assert_eq!(s.stream_recv_window_unidi_default, 1 << 18);
    assert!(!s.is_set(C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT));
    // ... until it inherits (MsQuic's QuicSettingsCopy): unset per-type windows are the
    // parent's then, whatever this level's own general window.
    let mut parent = Settings::default();
    parent
        .apply(&update(&c_with(|c| {
            c.IsSetFlags = C::IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT;
            c.StreamRecvWindowBidiLocalDefault = 1 << 24;
        })))
        .unwrap();
    s.inherit(&parent);
    assert_eq!(s.stream_recv_window_default, 1 << 18);
    assert_eq!(s.stream_recv_window_bidi_local_default, 1 << 24);
    assert_eq!(s.stream_recv_window_unidi_default, 65_536);
    // A specific window in the same update wins over the general one.
    let mut s = Settings::default();
    s.apply(&update(&c_with(|c| {
        c.IsSetFlags =
            C::IS_SET_STREAM_RECV_WINDOW_DEFAULT | C::IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT;
        c.StreamRecvWindowDefault = 1 << 17;
        c.StreamRecvWindowBidiRemoteDefault = 1 << 20;
    })))
    .unwrap();
    assert_eq!(s.stream_recv_window_bidi_local_default, 1 << 17);
    assert_eq!(s.stream_recv_window_bidi_remote_default, 1 << 20);
    assert_eq!(s.stream_recv_window_unidi_default, 1 << 17);
    // A connection with its own specific window keeps it when the configuration sets the
    // general one; the other types follow the configuration.
    let mut cfg = Settings::default();
    cfg.apply(&general(1 << 19)).unwrap();
    let mut conn = Settings::default();
    conn.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT;
        c.StreamRecvWindowUnidiDefault = 1 << 12;
    })))
    .unwrap();
    conn.adopt(&cfg, false);
    assert_eq!(conn.stream_recv_window_unidi_default, 1 << 12);
    assert_eq!(conn.stream_recv_window_bidi_local_default, 1 << 19);
}

#[test]
fn adopting_stops_at_a_refused_step() {
    let mut cfg = Settings::default();
    cfg.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_ECN_ENABLED | C::IS_SET_MINIMUM_MTU | C::IS_SET_INITIAL_RTT_MS;
        c.set_ecn_enabled(true);
        c.MinimumMtu = 1400;
        c.InitialRttMs = 50;
    })))
    .unwrap();
    // Once started, MTU is refused at its step: InitialRtt (before it) is adopted, ECN not.
    let mut conn = Settings::default();
    conn.adopt(&cfg, true);
    assert!(!conn.ecn_enabled);
    assert_eq!(conn.minimum_mtu, 1288);
    assert_eq!(conn.initial_rtt_ms, 50);
    // MTUs out of order (the connection's maximum below the configuration's minimum).
    let mut conn = Settings::default();
    conn.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_MAXIMUM_MTU;
        c.MaximumMtu = 1300;
    })))
    .unwrap();
    assert_eq!((conn.minimum_mtu, conn.maximum_mtu), (1248, 1300));
    conn.adopt(&cfg, false);
    // As MsQuic, which ignores the refusal there: what comes before the MTU step is
    // adopted, the MTUs and what comes after them (ECN) are not.
    assert_eq!((conn.minimum_mtu, conn.maximum_mtu), (1248, 1300));
    assert!(!conn.ecn_enabled);
    assert_eq!(conn.initial_rtt_ms, 50);
    // Without a conflict, adopting recomputes the connection's unset MTUs.
    let mut conn = Settings::default();
    conn.adopt(&Settings::default(), false);
    assert_eq!((conn.minimum_mtu, conn.maximum_mtu), (1248, 1500));
}

/// Settings with every field explicitly set to a value other than its default.
fn everything_set() -> Settings {
    let c = c_with(|c| {
        c.IsSetFlags = ALL_FIELDS;
        c.MaxBytesPerKey = 1 << 30;
        c.HandshakeIdleTimeoutMs = 11;
        c.IdleTimeoutMs = 12;
        c.MtuDiscoverySearchCompleteTimeoutUs = 13;
        c.TlsClientMaxSendBuffer = 14;
        c.TlsServerMaxSendBuffer = 15;
        c.StreamRecvWindowDefault = 1 << 16;
        c.StreamRecvBufferDefault = 8192;
        c.ConnFlowControlWindow = 17;
        c.MaxWorkerQueueDelayUs = 18;
        c.MaxStatelessOperations = 19;
        c.InitialWindowPackets = 20;
        c.SendIdleTimeoutMs = 21;
        c.InitialRttMs = 22;
        c.MaxAckDelayMs = 23;
        c.DisconnectTimeoutMs = 24;
        c.KeepAliveIntervalMs = 25;
        c.CongestionControlAlgorithm = 1;
        c.PeerBidiStreamCount = 26;
        c.PeerUnidiStreamCount = 27;
        c.MaxBindingStatelessOperations = 28;
        c.StatelessOperationExpirationMs = 29;
        c.MinimumMtu = 1300;
        c.MaximumMtu = 1400;
        c.Bitfields = 0b1110_1000; // datagrams, resumption 2, grease, ECN; the rest off
        c.MaxOperationsPerDrain = 30;
        c.MtuDiscoveryMissingProbeCount = 31;
        c.DestCidUpdateIdleTimeoutMs = 32;
        c.Flags = 0x1FF;
        c.StreamRecvWindowBidiLocalDefault = 1 << 10;
        c.StreamRecvWindowBidiRemoteDefault = 1 << 11;
        c.StreamRecvWindowUnidiDefault = 1 << 12;
    });
    let mut s = Settings::default();
    s.apply(&update(&c)).unwrap();
    s
}

#[test]
fn everything_set_reads_every_field() {
    let s = everything_set();
    assert_eq!(s.is_set, ALL_FIELDS);
    assert!(!s.send_buffering_enabled && !s.pacing_enabled && !s.migration_enabled);
    assert!(s.datagram_receive_enabled && s.grease_quic_bit_enabled && s.ecn_enabled);
    assert_eq!(s.server_resumption_level, 2);
    assert!(s.hy_start_enabled && s.encryption_offload_allowed && s.reliable_reset_enabled);
    assert!(s.one_way_delay_enabled && s.net_stats_event_enabled);
    assert!(s.stream_multi_receive_enabled && s.xdp_enabled && s.qtip_enabled);
    assert!(s.reserved_rio_enabled);
    assert_eq!(s.stream_recv_window_default, 1 << 16);
    assert_eq!(s.stream_recv_window_unidi_default, 1 << 12);
    assert_eq!(s.mtu_discovery_missing_probe_count, 31);
    assert_eq!(s.tls_server_max_send_buffer, 15);
}

#[test]
fn write_to_round_trips() {
    for s in [Settings::default(), everything_set()] {
        let mut buf = [0xAAu8; 145];
        // SAFETY: `buf[1..]` is 144 writable bytes.
        let n = unsafe { s.write_to(buf[1..].as_mut_ptr().cast(), 144) };
        assert_eq!(n, 144);
        // SAFETY: `buf[1..]` is 144 readable bytes.
        let u = unsafe { Settings::read_from(buf[1..].as_ptr().cast(), 144) }.unwrap();
        assert_eq!(u.mask(), s.is_set);
        let mut back = Settings::default();
        back.apply(&u).unwrap();
        let mut want = s.clone();
        want.recompute_mtus(); // as every update does
        assert_eq!(back, want);
        // Padding is left as it was.
        assert!(buf[1 + 109..1 + 112].iter().all(|&b| b == 0xAA));
        assert!(buf[1 + 116..1 + 120].iter().all(|&b| b == 0xAA));
        assert!(buf[1 + 140..].iter().all(|&b| b == 0xAA));
    }
}

#[test]
fn write_to_writes_only_whole_fields() {
    let s = everything_set();
    for (size, untouched_from) in [(109usize, 109usize), (120, 116), (130, 128), (139, 136)] {
        let mut buf = [0xAAu8; 144];
        // SAFETY: `buf` is 144 >= `size` writable bytes.
        let n = unsafe { s.write_to(buf.as_mut_ptr().cast(), size as u32) };
        assert_eq!(n as usize, size);
        assert!(
            buf[untouched_from..].iter().all(|&b| b == 0xAA),
            "size {size} wrote past its fields"
        );
        let flags = u64::from_ne_bytes(buf[..8].try_into().unwrap());
        assert_eq!(flags, s.is_set & values::fields_within(size as u32));
    }
    let mut buf = [0xAAu8; 144];
    // SAFETY: `buf` is 144 writable bytes.
    assert_eq!(unsafe { s.write_to(buf.as_mut_ptr().cast(), 108) }, 0);
    assert!(buf.iter().all(|&b| b == 0xAA));
}

#[test]
fn get_param_follows_msquics_buffer_conventions() {
    let s = everything_set();
    let mut buf = [0u8; 200];
    let p = buf.as_mut_ptr().cast::<c_void>();
    let mut len = 0u32;
    // SAFETY: `len` is valid; `buf` is unused on these paths or 200 writable bytes.
    unsafe {
        assert_eq!(
            get_settings_param(&s, &mut len, null_mut()),
            QUIC_STATUS_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 144);
        len = 50;
        assert_eq!(
            get_settings_param(&s, &mut len, p),
            QUIC_STATUS_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 109);
        len = 144;
        assert_eq!(
            get_settings_param(&s, &mut len, null_mut()),
            QUIC_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            get_settings_param(&s, null_mut(), p),
            QUIC_STATUS_INVALID_PARAMETER
        );
        len = 200;
        assert_eq!(get_settings_param(&s, &mut len, p), QUIC_STATUS_SUCCESS);
        assert_eq!(len, 144);
        len = 120;
        assert_eq!(get_settings_param(&s, &mut len, p), QUIC_STATUS_SUCCESS);
        assert_eq!(len, 120);
    }
}

#[test]
fn set_param_refuses_bad_buffers_and_values_unchanged() {
    let mut s = Settings::default();
    let good = c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS;
        c.IdleTimeoutMs = 42;
    });
    let bad = c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_INITIAL_RTT_MS;
        c.IdleTimeoutMs = 43;
        c.InitialRttMs = 0;
    });
    let ptr = |c: &C| (c as *const C).cast::<c_void>();
    // SAFETY: each pointer is NULL or a 144-byte struct.
    unsafe {
        assert_eq!(
            set_settings_param(&mut s, 144, null()),
            QUIC_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            set_settings_param(&mut s, 108, ptr(&good)),
            QUIC_STATUS_INVALID_PARAMETER
        );
        assert_eq!(
            set_settings_param(&mut s, 144, ptr(&bad)),
            QUIC_STATUS_INVALID_PARAMETER
        );
        assert_eq!(s, Settings::default());
        assert_eq!(
            set_settings_param(&mut s, 109, ptr(&good)),
            QUIC_STATUS_SUCCESS
        );
    }
    assert_eq!(s.idle_timeout_ms, 42);
    assert!(s.is_set(C::IS_SET_IDLE_TIMEOUT_MS));
}

#[test]
fn global_settings_are_stored_and_inherited() {
    let _serial = GLOBAL_TESTS.lock();
    reset_global();
    let c = c_with(|c| {
        c.IsSetFlags = C::IS_SET_PEER_UNIDI_STREAM_COUNT | C::IS_SET_IDLE_TIMEOUT_MS;
        c.PeerUnidiStreamCount = 3;
        c.IdleTimeoutMs = 2500;
    });
    // SAFETY: `c` is a 144-byte struct.
    let status = unsafe { set_global_param(144, (&raw const c).cast()) };
    assert_eq!(status, QUIC_STATUS_SUCCESS);
    let mut out = C::default();
    let mut len = 144u32;
    // SAFETY: `out` is 144 writable bytes.
    let status = unsafe { get_global_param(&mut len, (&raw mut out).cast()) };
    assert_eq!(status, QUIC_STATUS_SUCCESS);
    assert_eq!(out.IsSetFlags, c.IsSetFlags);
    assert_eq!(out.PeerUnidiStreamCount, 3);
    assert_eq!(out.ConnFlowControlWindow, 16 << 20);

    let cfg_update = update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS;
        c.IdleTimeoutMs = 4000;
    }));
    let cfg = Settings::for_configuration(Some(&cfg_update)).unwrap();
    assert_eq!(cfg.idle_timeout_ms, 4000);
    assert_eq!(cfg.peer_unidi_stream_count, 3);
    assert_eq!(cfg.is_set, C::IS_SET_IDLE_TIMEOUT_MS);
    let conn = Settings::for_connection();
    assert_eq!(conn.idle_timeout_ms, 2500);
    assert_eq!(conn.is_set, 0);
    reset_global();
    assert_eq!(global(), Settings::default());
}

/// SetParam(GLOBAL_SETTINGS) of `c` (144 bytes).
fn set_global(c: &C) -> u32 {
    // SAFETY: `c` is a 144-byte struct.
    unsafe { set_global_param(144, (c as *const C).cast()) }
}

#[test]
fn configurations_refresh_only_when_the_library_changes_successfully() {
    let _serial = GLOBAL_TESTS.lock();
    reset_global();
    let mut cfg = Settings::for_configuration(None).unwrap();
    assert_eq!(cfg.minimum_mtu, 1288);
    // Its own update recomputes its unset MTUs, and that stays until the library changes.
    cfg.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_PEER_BIDI_STREAM_COUNT;
        c.PeerBidiStreamCount = 1;
    })))
    .unwrap();
    refresh_configuration(&mut cfg);
    assert_eq!(cfg.minimum_mtu, 1248);
    // A refused library update keeps its first fields in the library (new configurations
    // and connections see them) but existing configurations are not refreshed.
    let partial = c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS | C::IS_SET_STREAM_RECV_WINDOW_DEFAULT;
        c.IdleTimeoutMs = 6000;
        c.StreamRecvWindowDefault = 3;
    });
    assert_eq!(set_global(&partial), QUIC_STATUS_INVALID_PARAMETER);
    assert_eq!(global().idle_timeout_ms, 6000);
    assert_eq!(global().minimum_mtu, 1288, "refused before the MTU step");
    refresh_configuration(&mut cfg);
    assert_eq!((cfg.idle_timeout_ms, cfg.minimum_mtu), (30_000, 1248));
    assert_eq!(
        Settings::for_configuration(None).unwrap().idle_timeout_ms,
        6000
    );
    assert_eq!(Settings::for_connection().idle_timeout_ms, 6000);
    // A successful change refreshes every unset field from the library (whose MTUs it
    // recomputed too).
    let mtu = c_with(|c| {
        c.IsSetFlags = C::IS_SET_MAXIMUM_MTU;
        c.MaximumMtu = 1400;
    });
    assert_eq!(set_global(&mtu), QUIC_STATUS_SUCCESS);
    assert_eq!((global().minimum_mtu, global().maximum_mtu), (1248, 1400));
    refresh_configuration(&mut cfg);
    assert_eq!((cfg.idle_timeout_ms, cfg.maximum_mtu), (6000, 1400));
    assert_eq!(cfg.peer_bidi_stream_count, 1);
    // Another parameter's successful change does the same.
    reset_global();
    global_changed_elsewhere();
    assert_eq!(global().minimum_mtu, 1248);
    assert_eq!(global().is_set, 0);
    refresh_configuration(&mut cfg);
    assert_eq!((cfg.idle_timeout_ms, cfg.maximum_mtu), (30_000, 1500));
    reset_global();
}

#[test]
fn engine_config_maps_settings_to_the_engine() {
    let d = Settings::default().engine_config(false);
    assert_eq!(d.max_idle_timeout, Duration::from_secs(30));
    assert_eq!(d.initial_max_data, 16 << 20);
    assert_eq!(d.initial_max_stream_data_bidi_local, 65_536);
    assert_eq!(d.initial_max_stream_data_bidi_remote, 65_536);
    assert_eq!(d.initial_max_stream_data_uni, 65_536);
    assert_eq!((d.max_streams_bidi, d.max_streams_uni), (0, 0));
    assert_eq!(d.max_datagram_frame_size, None);
    assert!(!d.reset_stream_at);
    assert_eq!(d.keep_alive_interval, None);
    let engine_default = crate::proto::Config::default();
    assert_eq!(d.max_record_size, engine_default.max_record_size);
    assert_eq!(d.close_wait_timeout, engine_default.close_wait_timeout);
    assert_eq!(d.scheduling, engine_default.scheduling);

    let s = everything_set();
    let e = s.engine_config(true);
    assert_eq!(e.max_idle_timeout, Duration::from_millis(12));
    assert_eq!(e.initial_max_data, 17);
    assert_eq!(e.initial_max_stream_data_bidi_local, 1 << 10);
    assert_eq!(e.initial_max_stream_data_bidi_remote, 1 << 11);
    assert_eq!(e.initial_max_stream_data_uni, 1 << 12);
    assert_eq!((e.max_streams_bidi, e.max_streams_uni), (26, 27));
    assert_eq!(e.max_datagram_frame_size, Some(MAX_DATAGRAM_FRAME_SIZE));
    assert!(e.reset_stream_at);
    assert_eq!(e.keep_alive_interval, Some(Duration::from_millis(25)));

    // Idle timeout 0 disables it.
    let mut off = Settings::default();
    off.apply(&update(&c_with(|c| {
        c.IsSetFlags = C::IS_SET_IDLE_TIMEOUT_MS;
        c.IdleTimeoutMs = 0;
    })))
    .unwrap();
    assert_eq!(off.engine_config(false).max_idle_timeout, Duration::ZERO);
    assert_eq!(off.idle_timeout(), None);
    assert_eq!(s.handshake_idle_timeout(), Some(Duration::from_millis(11)));
    assert_eq!(s.disconnect_timeout(), Duration::from_millis(24));
}
