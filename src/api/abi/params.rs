//! Parameter ids for `GetParam`/`SetParam` (`uint32_t` in C, `#define`s in the header).
//!
//! Bits 24..=29 hold the prefix naming the handle kind; `QUIC_PARAM_HIGH_PRIORITY` may be OR'd
//! into any id. `QUIC_PARAM_REGISTRATION_TRANSPORT`, `QUIC_PARAM_GLOBAL_QMUX_VERSION` and the
//! `QUIC_TRANSPORT_*` values are this library's extensions (decisions.md §1), not MsQuic's.

// Prefixes (bits 24..29 of an id).
/// Prefix of library-wide parameters (handle NULL). Value `0x01000000`.
pub const QUIC_PARAM_PREFIX_GLOBAL: u32 = 0x01000000;
/// Prefix of registration parameters. Value `0x02000000`.
pub const QUIC_PARAM_PREFIX_REGISTRATION: u32 = 0x02000000;
/// Prefix of configuration parameters. Value `0x03000000`.
pub const QUIC_PARAM_PREFIX_CONFIGURATION: u32 = 0x03000000;
/// Prefix of listener parameters. Value `0x04000000`.
pub const QUIC_PARAM_PREFIX_LISTENER: u32 = 0x04000000;
/// Prefix of connection parameters. Value `0x05000000`.
pub const QUIC_PARAM_PREFIX_CONNECTION: u32 = 0x05000000;
/// Prefix of TLS parameters (connection or stream handle). Value `0x06000000`.
pub const QUIC_PARAM_PREFIX_TLS: u32 = 0x06000000;
/// Prefix of Schannel-only TLS parameters (Windows). Value `0x07000000`.
pub const QUIC_PARAM_PREFIX_TLS_SCHANNEL: u32 = 0x07000000;
/// Prefix of stream parameters. Value `0x08000000`.
pub const QUIC_PARAM_PREFIX_STREAM: u32 = 0x08000000;
/// OR'd into any id: run the request ahead of queued work. Value `0x40000000`.
pub const QUIC_PARAM_HIGH_PRIORITY: u32 = 0x40000000;

// Library-wide.
/// `uint16_t`: share of memory for handshakes before stateless retry (get/set). Value `0x01000000`.
pub const QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT: u32 = 0x01000000;
/// `uint32_t[]` in network order: supported QUIC versions (get). Value `0x01000001`.
pub const QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS: u32 = 0x01000001;
/// `uint16_t` `QUIC_LOAD_BALANCING_MODE` (get/set; MsQuic's spelling). Value `0x01000002`.
pub const QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE: u32 = 0x01000002;
/// `uint64_t[QUIC_PERF_COUNTER_MAX]` (get). Value `0x01000003`.
pub const QUIC_PARAM_GLOBAL_PERF_COUNTERS: u32 = 0x01000003;
/// `uint32_t[4]`: major, minor, patch, build (get). Value `0x01000004`.
pub const QUIC_PARAM_GLOBAL_LIBRARY_VERSION: u32 = 0x01000004;
/// `QUIC_SETTINGS` (get/set). Value `0x01000005`.
pub const QUIC_PARAM_GLOBAL_SETTINGS: u32 = 0x01000005;
/// `QUIC_GLOBAL_SETTINGS` (get/set). Value `0x01000006`.
pub const QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS: u32 = 0x01000006;
/// `QUIC_VERSION_SETTINGS` (get/set; preview). Value `0x01000007`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_GLOBAL_VERSION_SETTINGS: u32 = 0x01000007;
/// `char[]`: the NUL-terminated source revision (get). Value `0x01000008`.
pub const QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH: u32 = 0x01000008;
/// `QUIC_GLOBAL_EXECUTION_CONFIG` (get/set before any registration; preview). Value `0x01000009`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_GLOBAL_EXECUTION_CONFIG: u32 = 0x01000009;
/// `QUIC_TLS_PROVIDER` (get). Value `0x0100000A`.
pub const QUIC_PARAM_GLOBAL_TLS_PROVIDER: u32 = 0x0100000A;
/// `uint8_t[QUIC_STATELESS_RESET_KEY_LENGTH]` (set). Value `0x0100000B`.
pub const QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY: u32 = 0x0100000B;
/// `uint32_t[]`: the `QUIC_STATISTICS_V2` sizes this library knows (get). Value `0x0100000C`.
pub const QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES: u32 = 0x0100000C;
/// `QUIC_STATELESS_RETRY_CONFIG` (set). Value `0x0100000D`.
pub const QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG: u32 = 0x0100000D;
/// `QUIC_XDP_MAP_CONFIG[]` (get/set; preview). Value `0x0100000E`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG: u32 = 0x0100000E;
/// msquic-qmux extension (not MsQuic's): `char[]`, this library's own semantic version (for
/// example "0.1.0") and a NUL (get). `QUIC_PARAM_GLOBAL_LIBRARY_VERSION` keeps answering the
/// MsQuic API version the library reproduces (2.7.0). Value `0x01000100`.
pub const QUIC_PARAM_GLOBAL_QMUX_VERSION: u32 = 0x01000100;

// Registration.
/// msquic-qmux extension (not MsQuic's): `uint32_t` `QUIC_TRANSPORT_*`, the transport of a
/// registration (get/set before the registration has children). Value `0x02000100`.
pub const QUIC_PARAM_REGISTRATION_TRANSPORT: u32 = 0x02000100;

// Configuration.
/// `QUIC_SETTINGS` (get/set). Value `0x03000000`.
pub const QUIC_PARAM_CONFIGURATION_SETTINGS: u32 = 0x03000000;
/// `QUIC_TICKET_KEY_CONFIG[]`, at most `QUIC_MAX_TICKET_KEY_COUNT` (set). Value `0x03000001`.
pub const QUIC_PARAM_CONFIGURATION_TICKET_KEYS: u32 = 0x03000001;
/// `QUIC_VERSION_SETTINGS` (get/set; preview). Value `0x03000002`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS: u32 = 0x03000002;
/// `QUIC_SCHANNEL_CREDENTIAL_ATTRIBUTE_W` (set; Schannel only). Value `0x03000003`.
pub const QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W: u32 = 0x03000003;

// Listener.
/// `QUIC_ADDR`: the bound address (get). Value `0x04000000`.
pub const QUIC_PARAM_LISTENER_LOCAL_ADDRESS: u32 = 0x04000000;
/// `QUIC_LISTENER_STATISTICS` (get). Value `0x04000001`.
pub const QUIC_PARAM_LISTENER_STATS: u32 = 0x04000001;
/// `uint8_t[]`: offset then CIBIR id (get/set; preview). Value `0x04000002`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_LISTENER_CIBIR_ID: u32 = 0x04000002;
/// `BOOLEAN`: deliver `DOS_MODE_CHANGED` events (get/set). Value `0x04000004`.
pub const QUIC_PARAM_DOS_MODE_EVENTS: u32 = 0x04000004;
/// `uint16_t`: the partition new connections use (get/set; preview). Value `0x04000005`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_LISTENER_PARTITION_INDEX: u32 = 0x04000005;

// Connection.
/// `uint32_t`: the negotiated QUIC version (get). Value `0x05000000`.
pub const QUIC_PARAM_CONN_QUIC_VERSION: u32 = 0x05000000;
/// `QUIC_ADDR` (get/set). Value `0x05000001`.
pub const QUIC_PARAM_CONN_LOCAL_ADDRESS: u32 = 0x05000001;
/// `QUIC_ADDR` (get/set before start). Value `0x05000002`.
pub const QUIC_PARAM_CONN_REMOTE_ADDRESS: u32 = 0x05000002;
/// `uint16_t` (get). Value `0x05000003`.
pub const QUIC_PARAM_CONN_IDEAL_PROCESSOR: u32 = 0x05000003;
/// `QUIC_SETTINGS` (get/set). Value `0x05000004`.
pub const QUIC_PARAM_CONN_SETTINGS: u32 = 0x05000004;
/// `QUIC_STATISTICS` (get). Value `0x05000005`.
pub const QUIC_PARAM_CONN_STATISTICS: u32 = 0x05000005;
/// `QUIC_STATISTICS` with platform time units (get). Value `0x05000006`.
pub const QUIC_PARAM_CONN_STATISTICS_PLAT: u32 = 0x05000006;
/// `BOOLEAN` (get/set before start). Value `0x05000007`.
pub const QUIC_PARAM_CONN_SHARE_UDP_BINDING: u32 = 0x05000007;
/// `uint16_t`: bidirectional streams this side may still open (get). Value `0x05000008`.
pub const QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT: u32 = 0x05000008;
/// `uint16_t`: unidirectional streams this side may still open (get). Value `0x05000009`.
pub const QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT: u32 = 0x05000009;
/// `uint64_t[4]`: highest stream id per stream type (get). Value `0x0500000A`.
pub const QUIC_PARAM_CONN_MAX_STREAM_IDS: u32 = 0x0500000A;
/// `char[]`: reason phrase sent on close (get/set). Value `0x0500000B`.
pub const QUIC_PARAM_CONN_CLOSE_REASON_PHRASE: u32 = 0x0500000B;
/// `QUIC_STREAM_SCHEDULING_SCHEME` (get/set). Value `0x0500000C`.
pub const QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME: u32 = 0x0500000C;
/// `BOOLEAN` (get/set before start). Value `0x0500000D`.
pub const QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED: u32 = 0x0500000D;
/// `BOOLEAN` (get). Value `0x0500000E`.
pub const QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED: u32 = 0x0500000E;
/// `BOOLEAN` (get/set; only with `QUIC_API_ENABLE_INSECURE_FEATURES`, so hand-written in the header). Value `0x0500000F`.
/// cbindgen:ignore
pub const QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION: u32 = 0x0500000F;
/// `uint8_t[]`: a ticket from an earlier connection (set before start). Value `0x05000010`.
pub const QUIC_PARAM_CONN_RESUMPTION_TICKET: u32 = 0x05000010;
/// `BOOLEAN` (set). Value `0x05000011`.
pub const QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID: u32 = 0x05000011;
/// `uint32_t`: interface index to bind (set). Value `0x05000012`.
pub const QUIC_PARAM_CONN_LOCAL_INTERFACE: u32 = 0x05000012;
/// `QUIC_TLS_SECRETS`: application memory filled during the handshake (set). Value `0x05000013`.
pub const QUIC_PARAM_CONN_TLS_SECRETS: u32 = 0x05000013;
/// `QUIC_VERSION_SETTINGS` (get/set; preview). Value `0x05000014`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_CONN_VERSION_SETTINGS: u32 = 0x05000014;
/// `uint8_t[]`: offset then CIBIR id (set; preview). Value `0x05000015`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_CONN_CIBIR_ID: u32 = 0x05000015;
/// `QUIC_STATISTICS_V2`, size-versioned (get). Value `0x05000016`.
pub const QUIC_PARAM_CONN_STATISTICS_V2: u32 = 0x05000016;
/// `QUIC_STATISTICS_V2` with platform time units (get). Value `0x05000017`.
pub const QUIC_PARAM_CONN_STATISTICS_V2_PLAT: u32 = 0x05000017;
/// `uint8_t[]`: the original destination connection id (get). Value `0x05000018`.
pub const QUIC_PARAM_CONN_ORIG_DEST_CID: u32 = 0x05000018;
/// `uint8_t`: DSCP of sent packets (get/set). Value `0x05000019`.
pub const QUIC_PARAM_CONN_SEND_DSCP: u32 = 0x05000019;
/// `BOOLEAN`: `ConnectionClose` returns without waiting (get/set; preview). Value `0x0500001A`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_CONN_CLOSE_ASYNC: u32 = 0x0500001A;
/// `QUIC_NETWORK_STATISTICS` (get; preview). Value `0x05000020`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_CONN_NETWORK_STATISTICS: u32 = 0x05000020;

// TLS.
/// `QUIC_HANDSHAKE_INFO` (get, once connected). Value `0x06000000`.
pub const QUIC_PARAM_TLS_HANDSHAKE_INFO: u32 = 0x06000000;
/// `uint8_t[]`, at most 255 bytes (get). Value `0x06000001`.
pub const QUIC_PARAM_TLS_NEGOTIATED_ALPN: u32 = 0x06000001;

// Stream.
/// `QUIC_UINT62` (get, once started). Value `0x08000000`.
pub const QUIC_PARAM_STREAM_ID: u32 = 0x08000000;
/// `uint64_t`: bytes sent in 0-RTT (get). Value `0x08000001`.
pub const QUIC_PARAM_STREAM_0RTT_LENGTH: u32 = 0x08000001;
/// `uint64_t` bytes (get). Value `0x08000002`.
pub const QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE: u32 = 0x08000002;
/// `uint16_t`: 0 lowest, 0xFFFF highest, 0x7FFF default (get/set). Value `0x08000003`.
pub const QUIC_PARAM_STREAM_PRIORITY: u32 = 0x08000003;
/// `QUIC_STREAM_STATISTICS` (get). Value `0x08000004`.
pub const QUIC_PARAM_STREAM_STATISTICS: u32 = 0x08000004;
/// `uint64_t` (get/set; preview). Value `0x08000005`.
#[cfg(msquic_preview)]
pub const QUIC_PARAM_STREAM_RELIABLE_OFFSET: u32 = 0x08000005;

// Transport choice (this library's extension, decisions.md §1).
/// msquic-qmux extension (not MsQuic's): `QUIC_TRANSPORT_QUIC`, QUIC over UDP. This library
/// does not carry it (SetParam answers NOT_SUPPORTED).
pub const QUIC_TRANSPORT_QUIC: u32 = 0;
/// msquic-qmux extension (not MsQuic's): `QUIC_TRANSPORT_QMUX_TLS`, QMux over TLS 1.3 over
/// TCP, the default.
pub const QUIC_TRANSPORT_QMUX_TLS: u32 = 1;
/// msquic-qmux extension (not MsQuic's): `QUIC_TRANSPORT_QMUX_TCP`, QMux over plain TCP
/// without TLS, for trusted networks (both ends must choose it).
pub const QUIC_TRANSPORT_QMUX_TCP: u32 = 2;

/// MsQuic's `QUIC_PARAM_IS_GLOBAL`: whether `param` is a library-wide id.
pub const fn QUIC_PARAM_IS_GLOBAL(param: u32) -> bool {
    param & 0x3F00_0000 == QUIC_PARAM_PREFIX_GLOBAL
}
