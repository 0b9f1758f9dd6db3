//! `QUIC_SETTINGS` and `QUIC_GLOBAL_SETTINGS`: option structs whose `IsSet` bits say which
//! fields carry a value.
//!
//! In C both start with an anonymous union of `uint64_t IsSetFlags` and an `IsSet` bitfield
//! struct, and `QUIC_SETTINGS` has more bitfields; C bitfields have no Rust form, so the Rust
//! twins hold the raw integers and offer accessor methods. The C definitions are written by
//! hand in `cbindgen.toml`.

/// Library, configuration or connection settings (144 bytes; same size with or without
/// preview features). Only fields whose IsSet bit is set are meaningful.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QUIC_SETTINGS {
    /// One bit per field (`IS_SET_*`): which fields are set.
    pub IsSetFlags: u64,
    /// Bytes encrypted under one key before a key update.
    pub MaxBytesPerKey: u64,
    /// How long a handshake may idle, in milliseconds.
    pub HandshakeIdleTimeoutMs: u64,
    /// How long a connection may idle before it closes, in milliseconds (0 = never).
    pub IdleTimeoutMs: u64,
    /// Wait before retrying MTU discovery, in microseconds.
    pub MtuDiscoverySearchCompleteTimeoutUs: u64,
    /// TLS data a client may buffer.
    pub TlsClientMaxSendBuffer: u32,
    /// TLS data a server may buffer.
    pub TlsServerMaxSendBuffer: u32,
    /// Initial stream receive window.
    pub StreamRecvWindowDefault: u32,
    /// Initial stream receive buffer size.
    pub StreamRecvBufferDefault: u32,
    /// Connection-wide receive window.
    pub ConnFlowControlWindow: u32,
    /// Largest worker queue delay tolerated, in microseconds.
    pub MaxWorkerQueueDelayUs: u32,
    /// Stateless operations queued per worker.
    pub MaxStatelessOperations: u32,
    /// Initial congestion window, in packets.
    pub InitialWindowPackets: u32,
    /// Idle time after which congestion state resets, in milliseconds.
    pub SendIdleTimeoutMs: u32,
    /// Initial RTT estimate, in milliseconds.
    pub InitialRttMs: u32,
    /// Largest acknowledgement delay, in milliseconds.
    pub MaxAckDelayMs: u32,
    /// How long unacknowledged data may wait before the path is declared dead, in milliseconds.
    pub DisconnectTimeoutMs: u32,
    /// Keep-alive interval, in milliseconds (0 = off).
    pub KeepAliveIntervalMs: u32,
    /// A `QUIC_CONGESTION_CONTROL_ALGORITHM` value.
    pub CongestionControlAlgorithm: u16,
    /// Bidirectional streams the peer may open.
    pub PeerBidiStreamCount: u16,
    /// Unidirectional streams the peer may open.
    pub PeerUnidiStreamCount: u16,
    /// Stateless operations queued per binding.
    pub MaxBindingStatelessOperations: u16,
    /// Time between stateless operations for one peer, in milliseconds.
    pub StatelessOperationExpirationMs: u16,
    /// Smallest MTU.
    pub MinimumMtu: u16,
    /// Largest MTU.
    pub MaximumMtu: u16,
    /// The C bitfields of byte 106: SendBufferingEnabled (bit 0), PacingEnabled (1),
    /// MigrationEnabled (2), DatagramReceiveEnabled (3), ServerResumptionLevel (bits 4-5),
    /// GreaseQuicBitEnabled (6), EcnEnabled (7). Use the accessor methods.
    pub Bitfields: u8,
    /// Operations drained per connection turn.
    pub MaxOperationsPerDrain: u8,
    /// MTU probes retried before MTU discovery stops.
    pub MtuDiscoveryMissingProbeCount: u8,
    /// Idle time after which the destination connection id changes, in milliseconds.
    pub DestCidUpdateIdleTimeoutMs: u32,
    /// Boolean options, one per bit (`FLAG_*`).
    pub Flags: u64,
    /// Receive window of locally opened bidirectional streams (0 = `StreamRecvWindowDefault`).
    pub StreamRecvWindowBidiLocalDefault: u32,
    /// Receive window of peer-opened bidirectional streams (0 = `StreamRecvWindowDefault`).
    pub StreamRecvWindowBidiRemoteDefault: u32,
    /// Receive window of unidirectional streams (0 = `StreamRecvWindowDefault`).
    pub StreamRecvWindowUnidiDefault: u32,
}

/// Bit masks and accessors (Rust only).
/// cbindgen:ignore
impl QUIC_SETTINGS {
    /// IsSet bit 0: `MaxBytesPerKey`.
    pub const IS_SET_MAX_BYTES_PER_KEY: u64 = 1 << 0;
    /// IsSet bit 1: `HandshakeIdleTimeoutMs`.
    pub const IS_SET_HANDSHAKE_IDLE_TIMEOUT_MS: u64 = 1 << 1;
    /// IsSet bit 2: `IdleTimeoutMs`.
    pub const IS_SET_IDLE_TIMEOUT_MS: u64 = 1 << 2;
    /// IsSet bit 3: `MtuDiscoverySearchCompleteTimeoutUs`.
    pub const IS_SET_MTU_DISCOVERY_SEARCH_COMPLETE_TIMEOUT_US: u64 = 1 << 3;
    /// IsSet bit 4: `TlsClientMaxSendBuffer`.
    pub const IS_SET_TLS_CLIENT_MAX_SEND_BUFFER: u64 = 1 << 4;
    /// IsSet bit 5: `TlsServerMaxSendBuffer`.
    pub const IS_SET_TLS_SERVER_MAX_SEND_BUFFER: u64 = 1 << 5;
    /// IsSet bit 6: `StreamRecvWindowDefault`.
    pub const IS_SET_STREAM_RECV_WINDOW_DEFAULT: u64 = 1 << 6;
    /// IsSet bit 7: `StreamRecvBufferDefault`.
    pub const IS_SET_STREAM_RECV_BUFFER_DEFAULT: u64 = 1 << 7;
    /// IsSet bit 8: `ConnFlowControlWindow`.
    pub const IS_SET_CONN_FLOW_CONTROL_WINDOW: u64 = 1 << 8;
    /// IsSet bit 9: `MaxWorkerQueueDelayUs`.
    pub const IS_SET_MAX_WORKER_QUEUE_DELAY_US: u64 = 1 << 9;
    /// IsSet bit 10: `MaxStatelessOperations`.
    pub const IS_SET_MAX_STATELESS_OPERATIONS: u64 = 1 << 10;
    /// IsSet bit 11: `InitialWindowPackets`.
    pub const IS_SET_INITIAL_WINDOW_PACKETS: u64 = 1 << 11;
    /// IsSet bit 12: `SendIdleTimeoutMs`.
    pub const IS_SET_SEND_IDLE_TIMEOUT_MS: u64 = 1 << 12;
    /// IsSet bit 13: `InitialRttMs`.
    pub const IS_SET_INITIAL_RTT_MS: u64 = 1 << 13;
    /// IsSet bit 14: `MaxAckDelayMs`.
    pub const IS_SET_MAX_ACK_DELAY_MS: u64 = 1 << 14;
    /// IsSet bit 15: `DisconnectTimeoutMs`.
    pub const IS_SET_DISCONNECT_TIMEOUT_MS: u64 = 1 << 15;
    /// IsSet bit 16: `KeepAliveIntervalMs`.
    pub const IS_SET_KEEP_ALIVE_INTERVAL_MS: u64 = 1 << 16;
    /// IsSet bit 17: `CongestionControlAlgorithm`.
    pub const IS_SET_CONGESTION_CONTROL_ALGORITHM: u64 = 1 << 17;
    /// IsSet bit 18: `PeerBidiStreamCount`.
    pub const IS_SET_PEER_BIDI_STREAM_COUNT: u64 = 1 << 18;
    /// IsSet bit 19: `PeerUnidiStreamCount`.
    pub const IS_SET_PEER_UNIDI_STREAM_COUNT: u64 = 1 << 19;
    /// IsSet bit 20: `MaxBindingStatelessOperations`.
    pub const IS_SET_MAX_BINDING_STATELESS_OPERATIONS: u64 = 1 << 20;
    /// IsSet bit 21: `StatelessOperationExpirationMs`.
    pub const IS_SET_STATELESS_OPERATION_EXPIRATION_MS: u64 = 1 << 21;
    /// IsSet bit 22: `MinimumMtu`.
    pub const IS_SET_MINIMUM_MTU: u64 = 1 << 22;
    /// IsSet bit 23: `MaximumMtu`.
    pub const IS_SET_MAXIMUM_MTU: u64 = 1 << 23;
    /// IsSet bit 24: `SendBufferingEnabled`.
    pub const IS_SET_SEND_BUFFERING_ENABLED: u64 = 1 << 24;
    /// IsSet bit 25: `PacingEnabled`.
    pub const IS_SET_PACING_ENABLED: u64 = 1 << 25;
    /// IsSet bit 26: `MigrationEnabled`.
    pub const IS_SET_MIGRATION_ENABLED: u64 = 1 << 26;
    /// IsSet bit 27: `DatagramReceiveEnabled`.
    pub const IS_SET_DATAGRAM_RECEIVE_ENABLED: u64 = 1 << 27;
    /// IsSet bit 28: `ServerResumptionLevel`.
    pub const IS_SET_SERVER_RESUMPTION_LEVEL: u64 = 1 << 28;
    /// IsSet bit 29: `MaxOperationsPerDrain`.
    pub const IS_SET_MAX_OPERATIONS_PER_DRAIN: u64 = 1 << 29;
    /// IsSet bit 30: `MtuDiscoveryMissingProbeCount`.
    pub const IS_SET_MTU_DISCOVERY_MISSING_PROBE_COUNT: u64 = 1 << 30;
    /// IsSet bit 31: `DestCidUpdateIdleTimeoutMs`.
    pub const IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS: u64 = 1 << 31;
    /// IsSet bit 32: `GreaseQuicBitEnabled`.
    pub const IS_SET_GREASE_QUIC_BIT_ENABLED: u64 = 1 << 32;
    /// IsSet bit 33: `EcnEnabled`.
    pub const IS_SET_ECN_ENABLED: u64 = 1 << 33;
    /// IsSet bit 34: `HyStartEnabled`.
    pub const IS_SET_HY_START_ENABLED: u64 = 1 << 34;
    /// IsSet bit 35: `StreamRecvWindowBidiLocalDefault`.
    pub const IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT: u64 = 1 << 35;
    /// IsSet bit 36: `StreamRecvWindowBidiRemoteDefault`.
    pub const IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT: u64 = 1 << 36;
    /// IsSet bit 37: `StreamRecvWindowUnidiDefault`.
    pub const IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT: u64 = 1 << 37;
    /// IsSet bit 38: `EncryptionOffloadAllowed` (preview).
    pub const IS_SET_ENCRYPTION_OFFLOAD_ALLOWED: u64 = 1 << 38;
    /// IsSet bit 39: `ReliableResetEnabled` (preview).
    pub const IS_SET_RELIABLE_RESET_ENABLED: u64 = 1 << 39;
    /// IsSet bit 40: `OneWayDelayEnabled` (preview).
    pub const IS_SET_ONE_WAY_DELAY_ENABLED: u64 = 1 << 40;
    /// IsSet bit 41: `NetStatsEventEnabled` (preview).
    pub const IS_SET_NET_STATS_EVENT_ENABLED: u64 = 1 << 41;
    /// IsSet bit 42: `StreamMultiReceiveEnabled` (preview).
    pub const IS_SET_STREAM_MULTI_RECEIVE_ENABLED: u64 = 1 << 42;
    /// IsSet bit 43: `XdpEnabled` (preview).
    pub const IS_SET_XDP_ENABLED: u64 = 1 << 43;
    /// IsSet bit 44: `QTIPEnabled` (preview).
    pub const IS_SET_QTIP_ENABLED: u64 = 1 << 44;
    /// IsSet bit 45: `ReservedRioEnabled` (preview).
    pub const IS_SET_RESERVED_RIO_ENABLED: u64 = 1 << 45;

    /// The smallest `SettingsSize` MsQuic accepts: through `MtuDiscoveryMissingProbeCount`.
    pub const MIN_SIZE: u32 = 109;

    /// `Flags` bit 0: `HyStartEnabled`.
    pub const FLAG_HY_START_ENABLED: u64 = 1 << 0;
    /// `Flags` bit 1: `EncryptionOffloadAllowed` (preview).
    pub const FLAG_ENCRYPTION_OFFLOAD_ALLOWED: u64 = 1 << 1;
    /// `Flags` bit 2: `ReliableResetEnabled` (preview).
    pub const FLAG_RELIABLE_RESET_ENABLED: u64 = 1 << 2;
    /// `Flags` bit 3: `OneWayDelayEnabled` (preview).
    pub const FLAG_ONE_WAY_DELAY_ENABLED: u64 = 1 << 3;
    /// `Flags` bit 4: `NetStatsEventEnabled` (preview).
    pub const FLAG_NET_STATS_EVENT_ENABLED: u64 = 1 << 4;
    /// `Flags` bit 5: `StreamMultiReceiveEnabled` (preview).
    pub const FLAG_STREAM_MULTI_RECEIVE_ENABLED: u64 = 1 << 5;
    /// `Flags` bit 6: `XdpEnabled` (preview).
    pub const FLAG_XDP_ENABLED: u64 = 1 << 6;
    /// `Flags` bit 7: `QTIPEnabled` (preview).
    pub const FLAG_QTIP_ENABLED: u64 = 1 << 7;
    /// `Flags` bit 8: `ReservedRioEnabled` (preview).
    pub const FLAG_RESERVED_RIO_ENABLED: u64 = 1 << 8;

    /// Whether every bit of `mask` (an `IS_SET_*` constant) is set.
    pub const fn is_set(&self, mask: u64) -> bool {
        self.IsSetFlags & mask == mask
    }

    /// Sets or clears the IsSet bits of `mask`.
    pub fn set_is_set(&mut self, mask: u64, value: bool) {
        if value {
            self.IsSetFlags |= mask;
        } else {
            self.IsSetFlags &= !mask;
        }
    }

    /// Whether every bit of `mask` (a `FLAG_*` constant) is set in `Flags`.
    pub const fn flag(&self, mask: u64) -> bool {
        self.Flags & mask == mask
    }

    /// Sets or clears the `Flags` bits of `mask`.
    pub fn set_flag(&mut self, mask: u64, value: bool) {
        if value {
            self.Flags |= mask;
        } else {
            self.Flags &= !mask;
        }
    }

    const fn bit(&self, bit: u8) -> bool {
        self.Bitfields & (1 << bit) != 0
    }

    fn set_bit(&mut self, bit: u8, value: bool) {
        if value {
            self.Bitfields |= 1 << bit;
        } else {
            self.Bitfields &= !(1 << bit);
        }
    }

    /// `SendBufferingEnabled` (byte 106, bit 0).
    pub const fn send_buffering_enabled(&self) -> bool {
        self.bit(0)
    }
    /// Sets `SendBufferingEnabled`.
    pub fn set_send_buffering_enabled(&mut self, value: bool) {
        self.set_bit(0, value);
    }
    /// `PacingEnabled` (byte 106, bit 1).
    pub const fn pacing_enabled(&self) -> bool {
        self.bit(1)
    }
    /// Sets `PacingEnabled`.
    pub fn set_pacing_enabled(&mut self, value: bool) {
        self.set_bit(1, value);
    }
    /// `MigrationEnabled` (byte 106, bit 2).
    pub const fn migration_enabled(&self) -> bool {
        self.bit(2)
    }
    /// Sets `MigrationEnabled`.
    pub fn set_migration_enabled(&mut self, value: bool) {
        self.set_bit(2, value);
    }
    /// `DatagramReceiveEnabled` (byte 106, bit 3).
    pub const fn datagram_receive_enabled(&self) -> bool {
        self.bit(3)
    }
    /// Sets `DatagramReceiveEnabled`.
    pub fn set_datagram_receive_enabled(&mut self, value: bool) {
        self.set_bit(3, value);
    }
    /// `ServerResumptionLevel` (byte 106, bits 4-5): a `QUIC_SERVER_RESUMPTION_LEVEL` value.
    pub const fn server_resumption_level(&self) -> u8 {
        (self.Bitfields >> 4) & 0b11
    }
    /// Sets `ServerResumptionLevel`; only the low two bits of `level` are kept.
    pub fn set_server_resumption_level(&mut self, level: u8) {
        self.Bitfields = (self.Bitfields & !0b0011_0000) | ((level & 0b11) << 4);
    }
    /// `GreaseQuicBitEnabled` (byte 106, bit 6).
    pub const fn grease_quic_bit_enabled(&self) -> bool {
        self.bit(6)
    }
    /// Sets `GreaseQuicBitEnabled`.
    pub fn set_grease_quic_bit_enabled(&mut self, value: bool) {
        self.set_bit(6, value);
    }
    /// `EcnEnabled` (byte 106, bit 7).
    pub const fn ecn_enabled(&self) -> bool {
        self.bit(7)
    }
    /// Sets `EcnEnabled`.
    pub fn set_ecn_enabled(&mut self, value: bool) {
        self.set_bit(7, value);
    }
}

/// Library-wide settings (`QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS`).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QUIC_GLOBAL_SETTINGS {
    /// One bit per field (`IS_SET_*`).
    pub IsSetFlags: u64,
    /// Share of memory (out of 65535) for handshakes before stateless retry.
    pub RetryMemoryLimit: u16,
    /// A `QUIC_LOAD_BALANCING_MODE` value.
    pub LoadBalancingMode: u16,
    /// Server id for `QUIC_LOAD_BALANCING_SERVER_ID_FIXED`.
    pub FixedServerID: u32,
}

/// Bit masks and accessors (Rust only).
/// cbindgen:ignore
impl QUIC_GLOBAL_SETTINGS {
    /// IsSet bit 0: `RetryMemoryLimit`.
    pub const IS_SET_RETRY_MEMORY_LIMIT: u64 = 1 << 0;
    /// IsSet bit 1: `LoadBalancingMode`.
    pub const IS_SET_LOAD_BALANCING_MODE: u64 = 1 << 1;
    /// IsSet bit 2: `FixedServerID`.
    pub const IS_SET_FIXED_SERVER_ID: u64 = 1 << 2;

    /// Whether every bit of `mask` (an `IS_SET_*` constant) is set.
    pub const fn is_set(&self, mask: u64) -> bool {
        self.IsSetFlags & mask == mask
    }

    /// Sets or clears the IsSet bits of `mask`.
    pub fn set_is_set(&mut self, mask: u64, value: bool) {
        if value {
            self.IsSetFlags |= mask;
        } else {
            self.IsSetFlags &= !mask;
        }
    }
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    type S = QUIC_SETTINGS;
    assert!(size_of::<S>() == 144 && align_of::<S>() == 8);
    assert!(offset_of!(S, IsSetFlags) == 0);
    assert!(offset_of!(S, MaxBytesPerKey) == 8);
    assert!(offset_of!(S, HandshakeIdleTimeoutMs) == 16);
    assert!(offset_of!(S, IdleTimeoutMs) == 24);
    assert!(offset_of!(S, MtuDiscoverySearchCompleteTimeoutUs) == 32);
    assert!(offset_of!(S, TlsClientMaxSendBuffer) == 40);
    assert!(offset_of!(S, TlsServerMaxSendBuffer) == 44);
    assert!(offset_of!(S, StreamRecvWindowDefault) == 48);
    assert!(offset_of!(S, StreamRecvBufferDefault) == 52);
    assert!(offset_of!(S, ConnFlowControlWindow) == 56);
    assert!(offset_of!(S, MaxWorkerQueueDelayUs) == 60);
    assert!(offset_of!(S, MaxStatelessOperations) == 64);
    assert!(offset_of!(S, InitialWindowPackets) == 68);
    assert!(offset_of!(S, SendIdleTimeoutMs) == 72);
    assert!(offset_of!(S, InitialRttMs) == 76);
    assert!(offset_of!(S, MaxAckDelayMs) == 80);
    assert!(offset_of!(S, DisconnectTimeoutMs) == 84);
    assert!(offset_of!(S, KeepAliveIntervalMs) == 88);
    assert!(offset_of!(S, CongestionControlAlgorithm) == 92);
    assert!(offset_of!(S, PeerBidiStreamCount) == 94);
    assert!(offset_of!(S, PeerUnidiStreamCount) == 96);
    assert!(offset_of!(S, MaxBindingStatelessOperations) == 98);
    assert!(offset_of!(S, StatelessOperationExpirationMs) == 100);
    assert!(offset_of!(S, MinimumMtu) == 102);
    assert!(offset_of!(S, MaximumMtu) == 104);
    assert!(offset_of!(S, Bitfields) == 106);
    assert!(offset_of!(S, MaxOperationsPerDrain) == 107);
    assert!(offset_of!(S, MtuDiscoveryMissingProbeCount) == 108);
    assert!(offset_of!(S, DestCidUpdateIdleTimeoutMs) == 112);
    assert!(offset_of!(S, Flags) == 120);
    assert!(offset_of!(S, StreamRecvWindowBidiLocalDefault) == 128);
    assert!(offset_of!(S, StreamRecvWindowBidiRemoteDefault) == 132);
    assert!(offset_of!(S, StreamRecvWindowUnidiDefault) == 136);
    assert!(S::MIN_SIZE == 109);
    // IsSet bit positions that differ from field order (msquic-abi.md §3.5).
    assert!(S::IS_SET_SEND_BUFFERING_ENABLED == 1 << 24);
    assert!(S::IS_SET_SERVER_RESUMPTION_LEVEL == 1 << 28);
    assert!(S::IS_SET_MAX_OPERATIONS_PER_DRAIN == 1 << 29);
    assert!(S::IS_SET_MTU_DISCOVERY_MISSING_PROBE_COUNT == 1 << 30);
    assert!(S::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS == 1 << 31);
    assert!(S::IS_SET_GREASE_QUIC_BIT_ENABLED == 1 << 32);
    assert!(S::IS_SET_ECN_ENABLED == 1 << 33);
    assert!(S::IS_SET_HY_START_ENABLED == 1 << 34);
    assert!(S::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT == 1 << 37);
    assert!(S::IS_SET_ENCRYPTION_OFFLOAD_ALLOWED == 1 << 38);
    assert!(S::IS_SET_RESERVED_RIO_ENABLED == 1 << 45);

    type G = QUIC_GLOBAL_SETTINGS;
    assert!(size_of::<G>() == 16);
    assert!(offset_of!(G, IsSetFlags) == 0);
    assert!(offset_of!(G, RetryMemoryLimit) == 8);
    assert!(offset_of!(G, LoadBalancingMode) == 10);
    assert!(offset_of!(G, FixedServerID) == 12);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitfield_accessors_use_gcc_bit_order() {
        let mut s = QUIC_SETTINGS::default();
        s.set_send_buffering_enabled(true);
        s.set_server_resumption_level(2);
        s.set_ecn_enabled(true);
        assert_eq!(s.Bitfields, 0b1010_0001);
        assert!(s.send_buffering_enabled() && !s.pacing_enabled());
        assert_eq!(s.server_resumption_level(), 2);
        s.set_server_resumption_level(7);
        assert_eq!(s.server_resumption_level(), 3);
        s.set_send_buffering_enabled(false);
        assert_eq!(s.Bitfields, 0b1011_0000);
        s.set_is_set(QUIC_SETTINGS::IS_SET_IDLE_TIMEOUT_MS, true);
        assert_eq!(s.IsSetFlags, 4);
        assert!(s.is_set(QUIC_SETTINGS::IS_SET_IDLE_TIMEOUT_MS));
        s.set_flag(QUIC_SETTINGS::FLAG_HY_START_ENABLED, true);
        assert!(s.flag(QUIC_SETTINGS::FLAG_HY_START_ENABLED));
    }
}
