//! The plain [`Settings`] struct, MsQuic's default for every field and the limits MsQuic
//! enforces when a value is set.

use crate::api::abi::QUIC_SETTINGS as C;

/// Every `QUIC_SETTINGS` value in plain Rust, plus which fields were explicitly set.
///
/// `is_set` uses the bit order of `QUIC_SETTINGS.IsSetFlags` (the `QUIC_SETTINGS::IS_SET_*`
/// masks). A field whose bit is clear holds the value inherited from the level above (library
/// -> configuration -> connection) or MsQuic's default. Values are only changed through
/// [`Settings::apply`](super::Settings::apply) and
/// [`Settings::inherit`](super::Settings::inherit), which keep them validated; the fields are
/// public for reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Which fields were explicitly set at this level (`QUIC_SETTINGS::IS_SET_*` bits).
    pub is_set: u64,
    /// Bytes encrypted under one key before a key update (unused over TLS/TCP).
    pub max_bytes_per_key: u64,
    /// How long the handshake may take, in milliseconds.
    pub handshake_idle_timeout_ms: u64,
    /// How long the connection may idle, in milliseconds (0 = never times out).
    pub idle_timeout_ms: u64,
    /// MTU discovery retry wait, in microseconds (unused over TCP).
    pub mtu_discovery_search_complete_timeout_us: u64,
    /// TLS data a client may buffer.
    pub tls_client_max_send_buffer: u32,
    /// TLS data a server may buffer.
    pub tls_server_max_send_buffer: u32,
    /// Initial receive window of every stream type (a power of two).
    pub stream_recv_window_default: u32,
    /// Initial stream receive buffer size (at least 4096).
    pub stream_recv_buffer_default: u32,
    /// Connection-wide receive window.
    pub conn_flow_control_window: u32,
    /// Largest worker queue delay tolerated, in microseconds.
    pub max_worker_queue_delay_us: u32,
    /// Stateless operations queued per worker.
    pub max_stateless_operations: u32,
    /// Initial congestion window, in packets (unused over TCP).
    pub initial_window_packets: u32,
    /// Idle time after which congestion state resets, in milliseconds (unused over TCP).
    pub send_idle_timeout_ms: u32,
    /// Initial RTT estimate, in milliseconds (never 0).
    pub initial_rtt_ms: u32,
    /// Largest acknowledgement delay, in milliseconds (at most 16383).
    pub max_ack_delay_ms: u32,
    /// How long sent data may wait unacknowledged before the path is dead, in milliseconds
    /// (1 to 600000).
    pub disconnect_timeout_ms: u32,
    /// Keep-alive interval, in milliseconds (0 = off).
    pub keep_alive_interval_ms: u32,
    /// A `QUIC_CONGESTION_CONTROL_ALGORITHM` value (below `..._MAX`).
    pub congestion_control_algorithm: u16,
    /// Bidirectional streams the peer may open.
    pub peer_bidi_stream_count: u16,
    /// Unidirectional streams the peer may open.
    pub peer_unidi_stream_count: u16,
    /// Stateless operations queued per binding.
    pub max_binding_stateless_operations: u16,
    /// Time between stateless operations for one peer, in milliseconds.
    pub stateless_operation_expiration_ms: u16,
    /// Smallest MTU (1248 to 1500; unused over TCP).
    pub minimum_mtu: u16,
    /// Largest MTU (1248 to 1500, not below `minimum_mtu`; unused over TCP).
    pub maximum_mtu: u16,
    /// Copy sent data and complete sends at once, rather than hold the application's buffers.
    pub send_buffering_enabled: bool,
    /// Pace sending (unused over TCP).
    pub pacing_enabled: bool,
    /// Allow client migration (unused over TCP).
    pub migration_enabled: bool,
    /// Accept DATAGRAM frames.
    pub datagram_receive_enabled: bool,
    /// A `QUIC_SERVER_RESUMPTION_LEVEL` value (0 to 2).
    pub server_resumption_level: u8,
    /// Advertise the grease_quic_bit extension (unused over TCP).
    pub grease_quic_bit_enabled: bool,
    /// Sender-side ECN (unused over TCP).
    pub ecn_enabled: bool,
    /// Operations drained per connection turn (never 0).
    pub max_operations_per_drain: u8,
    /// MTU probes retried before discovery stops (unused over TCP).
    pub mtu_discovery_missing_probe_count: u8,
    /// Idle time after which the destination connection id changes, in milliseconds.
    pub dest_cid_update_idle_timeout_ms: u32,
    /// HyStart++ in congestion control (unused over TCP).
    pub hy_start_enabled: bool,
    /// Receive window of locally opened bidirectional streams (a power of two).
    pub stream_recv_window_bidi_local_default: u32,
    /// Receive window of peer-opened bidirectional streams (a power of two).
    pub stream_recv_window_bidi_remote_default: u32,
    /// Receive window of peer-opened unidirectional streams (a power of two).
    pub stream_recv_window_unidi_default: u32,
    /// Encryption offload (preview; unused).
    pub encryption_offload_allowed: bool,
    /// Reliable reset: RESET_STREAM_AT (preview).
    pub reliable_reset_enabled: bool,
    /// One-way delay extension (preview; unused).
    pub one_way_delay_enabled: bool,
    /// NETWORK_STATISTICS events (preview).
    pub net_stats_event_enabled: bool,
    /// Several RECEIVE events outstanding per stream (preview).
    pub stream_multi_receive_enabled: bool,
    /// XDP datapath (preview; unused).
    pub xdp_enabled: bool,
    /// QTIP (preview; unused).
    pub qtip_enabled: bool,
    /// RIO datapath (preview, reserved; unused).
    pub reserved_rio_enabled: bool,
    /// For a configuration: the library generation its unset fields were last refreshed
    /// from ([`refresh_configuration`](super::refresh_configuration)); 0 elsewhere.
    pub(super) library_generation: u64,
}

/// MsQuic's defaults (docs/Settings.md; quicdef.h for the fields the page leaves out).
pub mod defaults {
    /// `MaxBytesPerKey`: 274,877,906,944 (0x40_0000_0000).
    pub const MAX_BYTES_PER_KEY: u64 = 0x40_0000_0000;
    /// `HandshakeIdleTimeoutMs`: 10 s.
    pub const HANDSHAKE_IDLE_TIMEOUT_MS: u64 = 10_000;
    /// `IdleTimeoutMs`: 30 s.
    pub const IDLE_TIMEOUT_MS: u64 = 30_000;
    /// `MtuDiscoverySearchCompleteTimeoutUs`: 600 s.
    pub const MTU_DISCOVERY_SEARCH_COMPLETE_TIMEOUT_US: u64 = 600_000_000;
    /// `TlsClientMaxSendBuffer`: 4 KiB.
    pub const TLS_CLIENT_MAX_SEND_BUFFER: u32 = 4096;
    /// `TlsServerMaxSendBuffer`: 8 KiB.
    pub const TLS_SERVER_MAX_SEND_BUFFER: u32 = 8192;
    /// `StreamRecvWindowDefault` (and each per-type window): 64 KiB.
    pub const STREAM_RECV_WINDOW: u32 = 65_536;
    /// `StreamRecvBufferDefault`: 4096, also the smallest accepted value.
    pub const STREAM_RECV_BUFFER: u32 = 4096;
    /// `ConnFlowControlWindow`: 16 MiB.
    pub const CONN_FLOW_CONTROL_WINDOW: u32 = 16 << 20;
    /// `MaxWorkerQueueDelayUs`: 250 ms.
    pub const MAX_WORKER_QUEUE_DELAY_US: u32 = 250_000;
    /// `MaxStatelessOperations`: 16.
    pub const MAX_STATELESS_OPERATIONS: u32 = 16;
    /// `InitialWindowPackets`: 10.
    pub const INITIAL_WINDOW_PACKETS: u32 = 10;
    /// `SendIdleTimeoutMs`: 1 s.
    pub const SEND_IDLE_TIMEOUT_MS: u32 = 1000;
    /// `InitialRttMs`: 333 ms.
    pub const INITIAL_RTT_MS: u32 = 333;
    /// `MaxAckDelayMs`: 25 ms.
    pub const MAX_ACK_DELAY_MS: u32 = 25;
    /// `DisconnectTimeoutMs`: 16 s.
    pub const DISCONNECT_TIMEOUT_MS: u32 = 16_000;
    /// `KeepAliveIntervalMs`: 0 (off).
    pub const KEEP_ALIVE_INTERVAL_MS: u32 = 0;
    /// `CongestionControlAlgorithm`: CUBIC.
    pub const CONGESTION_CONTROL_ALGORITHM: u16 = 0;
    /// `PeerBidiStreamCount`: 0 (the peer may open none).
    pub const PEER_BIDI_STREAM_COUNT: u16 = 0;
    /// `PeerUnidiStreamCount`: 0 (the peer may open none).
    pub const PEER_UNIDI_STREAM_COUNT: u16 = 0;
    /// `MaxBindingStatelessOperations`: 100.
    pub const MAX_BINDING_STATELESS_OPERATIONS: u16 = 100;
    /// `StatelessOperationExpirationMs`: 100 ms.
    pub const STATELESS_OPERATION_EXPIRATION_MS: u16 = 100;
    /// `MinimumMtu`: 1288 (a 1240-byte initial packet in IPv6 and UDP).
    pub const MINIMUM_MTU: u16 = 1288;
    /// `MaximumMtu`: 1500.
    pub const MAXIMUM_MTU: u16 = 1500;
    /// `MaxOperationsPerDrain`: 16.
    pub const MAX_OPERATIONS_PER_DRAIN: u8 = 16;
    /// `MtuDiscoveryMissingProbeCount`: 3.
    pub const MTU_DISCOVERY_MISSING_PROBE_COUNT: u8 = 3;
    /// `DestCidUpdateIdleTimeoutMs`: 20 s.
    pub const DEST_CID_UPDATE_IDLE_TIMEOUT_MS: u32 = 20_000;
    /// `ServerResumptionLevel`: `QUIC_SERVER_NO_RESUME`.
    pub const SERVER_RESUMPTION_LEVEL: u8 = 0;
}

/// The ranges MsQuic accepts when a value is set (settings.c, quicdef.h).
pub mod limits {
    /// Largest idle and handshake idle timeout: the largest QUIC varint, 2^62 - 1 ms.
    pub const MAX_TIMEOUT_MS: u64 = (1 << 62) - 1;
    /// Largest `MaxBytesPerKey`: the default.
    pub const MAX_BYTES_PER_KEY: u64 = super::defaults::MAX_BYTES_PER_KEY;
    /// Largest `MaxAckDelayMs`: 2^14 - 1 (the max_ack_delay transport parameter's limit).
    pub const MAX_ACK_DELAY_MS: u32 = (1 << 14) - 1;
    /// Largest `DisconnectTimeoutMs`: 10 minutes (0 is rejected too).
    pub const MAX_DISCONNECT_TIMEOUT_MS: u32 = 600_000;
    /// Smallest `StreamRecvBufferDefault`.
    pub const MIN_STREAM_RECV_BUFFER: u32 = super::defaults::STREAM_RECV_BUFFER;
    /// Largest `ServerResumptionLevel`: `QUIC_SERVER_RESUME_AND_ZERORTT`.
    pub const MAX_SERVER_RESUMPTION_LEVEL: u8 = 2;
    /// `QUIC_CONGESTION_CONTROL_ALGORITHM_MAX` with preview features (CUBIC and BBR): values
    /// must be below it.
    pub const CONGESTION_CONTROL_ALGORITHM_MAX: u16 = 2;
    /// Smallest MTU: a 1200-byte initial packet in IPv6 (40) and UDP (8). Smaller values
    /// are raised to it, as MsQuic does.
    pub const MIN_MTU: u16 = 1248;
    /// Largest MTU. Larger values are lowered to it, as MsQuic does.
    pub const MAX_MTU: u16 = 1500;
}

impl Settings {
    /// MsQuic's defaults with nothing explicitly set.
    pub const DEFAULT: Self = {
        use defaults as d;
        Self {
            is_set: 0,
            max_bytes_per_key: d::MAX_BYTES_PER_KEY,
            handshake_idle_timeout_ms: d::HANDSHAKE_IDLE_TIMEOUT_MS,
            idle_timeout_ms: d::IDLE_TIMEOUT_MS,
            mtu_discovery_search_complete_timeout_us: d::MTU_DISCOVERY_SEARCH_COMPLETE_TIMEOUT_US,
            tls_client_max_send_buffer: d::TLS_CLIENT_MAX_SEND_BUFFER,
            tls_server_max_send_buffer: d::TLS_SERVER_MAX_SEND_BUFFER,
            stream_recv_window_default: d::STREAM_RECV_WINDOW,
            stream_recv_buffer_default: d::STREAM_RECV_BUFFER,
            conn_flow_control_window: d::CONN_FLOW_CONTROL_WINDOW,
            max_worker_queue_delay_us: d::MAX_WORKER_QUEUE_DELAY_US,
            max_stateless_operations: d::MAX_STATELESS_OPERATIONS,
            initial_window_packets: d::INITIAL_WINDOW_PACKETS,
            send_idle_timeout_ms: d::SEND_IDLE_TIMEOUT_MS,
            initial_rtt_ms: d::INITIAL_RTT_MS,
            max_ack_delay_ms: d::MAX_ACK_DELAY_MS,
            disconnect_timeout_ms: d::DISCONNECT_TIMEOUT_MS,
            keep_alive_interval_ms: d::KEEP_ALIVE_INTERVAL_MS,
            congestion_control_algorithm: d::CONGESTION_CONTROL_ALGORITHM,
            peer_bidi_stream_count: d::PEER_BIDI_STREAM_COUNT,
            peer_unidi_stream_count: d::PEER_UNIDI_STREAM_COUNT,
            max_binding_stateless_operations: d::MAX_BINDING_STATELESS_OPERATIONS,
            stateless_operation_expiration_ms: d::STATELESS_OPERATION_EXPIRATION_MS,
            minimum_mtu: d::MINIMUM_MTU,
            maximum_mtu: d::MAXIMUM_MTU,
            send_buffering_enabled: true,
            pacing_enabled: true,
            migration_enabled: true,
            datagram_receive_enabled: false,
            server_resumption_level: d::SERVER_RESUMPTION_LEVEL,
            grease_quic_bit_enabled: false,
            ecn_enabled: false,
            max_operations_per_drain: d::MAX_OPERATIONS_PER_DRAIN,
            mtu_discovery_missing_probe_count: d::MTU_DISCOVERY_MISSING_PROBE_COUNT,
            dest_cid_update_idle_timeout_ms: d::DEST_CID_UPDATE_IDLE_TIMEOUT_MS,
            hy_start_enabled: false,
            stream_recv_window_bidi_local_default: d::STREAM_RECV_WINDOW,
            stream_recv_window_bidi_remote_default: d::STREAM_RECV_WINDOW,
            stream_recv_window_unidi_default: d::STREAM_RECV_WINDOW,
            encryption_offload_allowed: false,
            reliable_reset_enabled: false,
            one_way_delay_enabled: false,
            net_stats_event_enabled: false,
            stream_multi_receive_enabled: false,
            xdp_enabled: false,
            qtip_enabled: false,
            reserved_rio_enabled: false,
            library_generation: 0,
        }
    };

    /// Whether every field of `mask` (`QUIC_SETTINGS::IS_SET_*` bits) was explicitly set.
    pub const fn is_set(&self, mask: u64) -> bool {
        self.is_set & mask == mask
    }
}

impl Default for Settings {
    /// MsQuic's defaults with nothing explicitly set.
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Every IsSet bit this library knows (0 through 45).
pub const ALL_FIELDS: u64 = (1 << 46) - 1;

/// IsSet bits of the fields after `MtuDiscoveryMissingProbeCount`, with the byte offset
/// just past each field: a field is read or written only if the size covers it whole. The
/// fields before are always covered (sizes below [`QUIC_SETTINGS::MIN_SIZE`](C::MIN_SIZE) are
/// refused).
pub(super) const SIZED_FIELDS: [(u64, u32); 13] = [
    (C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS, 116),
    (C::IS_SET_HY_START_ENABLED, 128),
    (C::IS_SET_ENCRYPTION_OFFLOAD_ALLOWED, 128),
    (C::IS_SET_RELIABLE_RESET_ENABLED, 128),
    (C::IS_SET_ONE_WAY_DELAY_ENABLED, 128),
    (C::IS_SET_NET_STATS_EVENT_ENABLED, 128),
    (C::IS_SET_STREAM_MULTI_RECEIVE_ENABLED, 128),
    (C::IS_SET_XDP_ENABLED, 128),
    (C::IS_SET_QTIP_ENABLED, 128),
    (C::IS_SET_RESERVED_RIO_ENABLED, 128),
    (C::IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT, 132),
    (C::IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT, 136),
    (C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT, 140),
];

/// IsSet bits of the fields that lie wholly within the first `size` bytes of a
/// `QUIC_SETTINGS`, for `size` of at least 109 (all of them once `size` reaches 140).
pub(super) fn fields_within(size: u32) -> u64 {
    SIZED_FIELDS
        .iter()
        .filter(|&&(_, end)| size < end)
        .fold(ALL_FIELDS, |mask, &(bit, _)| mask & !bit)
}
