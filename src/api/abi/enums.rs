//! Enumerations (C enums in MsQuic, 4 bytes each) and their values.
//!
//! Each type is a `u32` newtype: a value read from C memory may be any integer, so these are
//! never Rust enums. cbindgen renders each as `typedef uint32_t NAME;` plus `#define`s.

/// `QUIC_TLS_PROVIDER`: the TLS library behind the API (`QUIC_PARAM_GLOBAL_TLS_PROVIDER`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_TLS_PROVIDER(pub u32);
/// Windows Schannel.
pub const QUIC_TLS_PROVIDER_SCHANNEL: QUIC_TLS_PROVIDER = QUIC_TLS_PROVIDER(0x0);
/// OpenSSL (what MsQuic reports on Linux).
pub const QUIC_TLS_PROVIDER_OPENSSL: QUIC_TLS_PROVIDER = QUIC_TLS_PROVIDER(0x1);

/// `QUIC_EXECUTION_PROFILE`: the scheduling profile of a registration.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_EXECUTION_PROFILE(pub u32);
/// Latency first (the default).
pub const QUIC_EXECUTION_PROFILE_LOW_LATENCY: QUIC_EXECUTION_PROFILE = QUIC_EXECUTION_PROFILE(0);
/// Throughput first.
pub const QUIC_EXECUTION_PROFILE_TYPE_MAX_THROUGHPUT: QUIC_EXECUTION_PROFILE =
    QUIC_EXECUTION_PROFILE(1);
/// Background work that yields to everything else.
pub const QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER: QUIC_EXECUTION_PROFILE = QUIC_EXECUTION_PROFILE(2);
/// Real-time work.
pub const QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME: QUIC_EXECUTION_PROFILE = QUIC_EXECUTION_PROFILE(3);

/// `QUIC_LOAD_BALANCING_MODE`: how server connection ids encode a server id.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_LOAD_BALANCING_MODE(pub u32);
/// No server id (the default).
pub const QUIC_LOAD_BALANCING_DISABLED: QUIC_LOAD_BALANCING_MODE = QUIC_LOAD_BALANCING_MODE(0);
/// The server's IP address.
pub const QUIC_LOAD_BALANCING_SERVER_ID_IP: QUIC_LOAD_BALANCING_MODE = QUIC_LOAD_BALANCING_MODE(1);
/// A fixed 4-byte value.
pub const QUIC_LOAD_BALANCING_SERVER_ID_FIXED: QUIC_LOAD_BALANCING_MODE =
    QUIC_LOAD_BALANCING_MODE(2);
/// The number of modes.
pub const QUIC_LOAD_BALANCING_COUNT: QUIC_LOAD_BALANCING_MODE = QUIC_LOAD_BALANCING_MODE(3);

/// `QUIC_TLS_ALERT_CODES`: TLS alerts an application may send when it rejects a certificate.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_TLS_ALERT_CODES(pub u32);
/// Not an alert: the certificate is accepted.
pub const QUIC_TLS_ALERT_CODE_SUCCESS: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(0xFFFF);
/// unexpected_message.
pub const QUIC_TLS_ALERT_CODE_UNEXPECTED_MESSAGE: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(10);
/// bad_certificate.
pub const QUIC_TLS_ALERT_CODE_BAD_CERTIFICATE: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(42);
/// unsupported_certificate.
pub const QUIC_TLS_ALERT_CODE_UNSUPPORTED_CERTIFICATE: QUIC_TLS_ALERT_CODES =
    QUIC_TLS_ALERT_CODES(43);
/// certificate_revoked.
pub const QUIC_TLS_ALERT_CODE_CERTIFICATE_REVOKED: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(44);
/// certificate_expired.
pub const QUIC_TLS_ALERT_CODE_CERTIFICATE_EXPIRED: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(45);
/// certificate_unknown.
pub const QUIC_TLS_ALERT_CODE_CERTIFICATE_UNKNOWN: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(46);
/// illegal_parameter.
pub const QUIC_TLS_ALERT_CODE_ILLEGAL_PARAMETER: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(47);
/// unknown_ca.
pub const QUIC_TLS_ALERT_CODE_UNKNOWN_CA: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(48);
/// access_denied.
pub const QUIC_TLS_ALERT_CODE_ACCESS_DENIED: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(49);
/// insufficient_security.
pub const QUIC_TLS_ALERT_CODE_INSUFFICIENT_SECURITY: QUIC_TLS_ALERT_CODES =
    QUIC_TLS_ALERT_CODES(71);
/// internal_error.
pub const QUIC_TLS_ALERT_CODE_INTERNAL_ERROR: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(80);
/// user_canceled.
pub const QUIC_TLS_ALERT_CODE_USER_CANCELED: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(90);
/// certificate_required.
pub const QUIC_TLS_ALERT_CODE_CERTIFICATE_REQUIRED: QUIC_TLS_ALERT_CODES =
    QUIC_TLS_ALERT_CODES(116);
/// The largest alert value.
pub const QUIC_TLS_ALERT_CODE_MAX: QUIC_TLS_ALERT_CODES = QUIC_TLS_ALERT_CODES(255);

/// `QUIC_CREDENTIAL_TYPE`: which member of `QUIC_CREDENTIAL_CONFIG`'s certificate union is set.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CREDENTIAL_TYPE(pub u32);
/// No certificate (typical for clients).
pub const QUIC_CREDENTIAL_TYPE_NONE: QUIC_CREDENTIAL_TYPE = QUIC_CREDENTIAL_TYPE(0);
/// `CertificateHash` (Windows).
pub const QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH: QUIC_CREDENTIAL_TYPE = QUIC_CREDENTIAL_TYPE(1);
/// `CertificateHashStore` (Windows).
pub const QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH_STORE: QUIC_CREDENTIAL_TYPE =
    QUIC_CREDENTIAL_TYPE(2);
/// `CertificateContext` (platform object).
pub const QUIC_CREDENTIAL_TYPE_CERTIFICATE_CONTEXT: QUIC_CREDENTIAL_TYPE = QUIC_CREDENTIAL_TYPE(3);
/// `CertificateFile`: PEM key and certificate paths.
pub const QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE: QUIC_CREDENTIAL_TYPE = QUIC_CREDENTIAL_TYPE(4);
/// `CertificateFileProtected`: PEM files with an encrypted key.
pub const QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED: QUIC_CREDENTIAL_TYPE =
    QUIC_CREDENTIAL_TYPE(5);
/// `CertificatePkcs12`: an in-memory PKCS#12 blob.
pub const QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12: QUIC_CREDENTIAL_TYPE = QUIC_CREDENTIAL_TYPE(6);

/// `QUIC_SERVER_RESUMPTION_LEVEL`: what a server offers to returning clients (`QUIC_SETTINGS.ServerResumptionLevel`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_SERVER_RESUMPTION_LEVEL(pub u32);
/// No resumption.
pub const QUIC_SERVER_NO_RESUME: QUIC_SERVER_RESUMPTION_LEVEL = QUIC_SERVER_RESUMPTION_LEVEL(0);
/// Resumption tickets, no 0-RTT.
pub const QUIC_SERVER_RESUME_ONLY: QUIC_SERVER_RESUMPTION_LEVEL = QUIC_SERVER_RESUMPTION_LEVEL(1);
/// Resumption tickets and 0-RTT.
pub const QUIC_SERVER_RESUME_AND_ZERORTT: QUIC_SERVER_RESUMPTION_LEVEL =
    QUIC_SERVER_RESUMPTION_LEVEL(2);

/// `QUIC_STREAM_SCHEDULING_SCHEME`: how a connection shares sending between streams.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_STREAM_SCHEDULING_SCHEME(pub u32);
/// First come, first served (the default).
pub const QUIC_STREAM_SCHEDULING_SCHEME_FIFO: QUIC_STREAM_SCHEDULING_SCHEME =
    QUIC_STREAM_SCHEDULING_SCHEME(0x0);
/// Round robin.
pub const QUIC_STREAM_SCHEDULING_SCHEME_ROUND_ROBIN: QUIC_STREAM_SCHEDULING_SCHEME =
    QUIC_STREAM_SCHEDULING_SCHEME(0x1);
/// The number of schemes.
pub const QUIC_STREAM_SCHEDULING_SCHEME_COUNT: QUIC_STREAM_SCHEDULING_SCHEME =
    QUIC_STREAM_SCHEDULING_SCHEME(2);

/// `QUIC_DATAGRAM_SEND_STATE`: the fate of a sent datagram; states from `LOST_DISCARDED` on are final.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_DATAGRAM_SEND_STATE(pub u32);
/// Not sent yet.
pub const QUIC_DATAGRAM_SEND_UNKNOWN: QUIC_DATAGRAM_SEND_STATE = QUIC_DATAGRAM_SEND_STATE(0);
/// Sent, waiting for an acknowledgement.
pub const QUIC_DATAGRAM_SEND_SENT: QUIC_DATAGRAM_SEND_STATE = QUIC_DATAGRAM_SEND_STATE(1);
/// Suspected lost, still tracked.
pub const QUIC_DATAGRAM_SEND_LOST_SUSPECT: QUIC_DATAGRAM_SEND_STATE = QUIC_DATAGRAM_SEND_STATE(2);
/// Lost and no longer tracked (final).
pub const QUIC_DATAGRAM_SEND_LOST_DISCARDED: QUIC_DATAGRAM_SEND_STATE = QUIC_DATAGRAM_SEND_STATE(3);
/// Acknowledged (final).
pub const QUIC_DATAGRAM_SEND_ACKNOWLEDGED: QUIC_DATAGRAM_SEND_STATE = QUIC_DATAGRAM_SEND_STATE(4);
/// Acknowledged after being suspected lost (final).
pub const QUIC_DATAGRAM_SEND_ACKNOWLEDGED_SPURIOUS: QUIC_DATAGRAM_SEND_STATE =
    QUIC_DATAGRAM_SEND_STATE(5);
/// Canceled before it was sent (final).
pub const QUIC_DATAGRAM_SEND_CANCELED: QUIC_DATAGRAM_SEND_STATE = QUIC_DATAGRAM_SEND_STATE(6);

/// `QUIC_TLS_PROTOCOL_VERSION`: `QUIC_HANDSHAKE_INFO.TlsProtocolVersion`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_TLS_PROTOCOL_VERSION(pub u32);
/// Unknown.
pub const QUIC_TLS_PROTOCOL_UNKNOWN: QUIC_TLS_PROTOCOL_VERSION = QUIC_TLS_PROTOCOL_VERSION(0);
/// TLS 1.3.
pub const QUIC_TLS_PROTOCOL_1_3: QUIC_TLS_PROTOCOL_VERSION = QUIC_TLS_PROTOCOL_VERSION(0x3000);

/// `QUIC_CIPHER_ALGORITHM`: `QUIC_HANDSHAKE_INFO.CipherAlgorithm`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CIPHER_ALGORITHM(pub u32);
/// None.
pub const QUIC_CIPHER_ALGORITHM_NONE: QUIC_CIPHER_ALGORITHM = QUIC_CIPHER_ALGORITHM(0);
/// AES-128.
pub const QUIC_CIPHER_ALGORITHM_AES_128: QUIC_CIPHER_ALGORITHM = QUIC_CIPHER_ALGORITHM(0x660E);
/// AES-256.
pub const QUIC_CIPHER_ALGORITHM_AES_256: QUIC_CIPHER_ALGORITHM = QUIC_CIPHER_ALGORITHM(0x6610);
/// ChaCha20.
pub const QUIC_CIPHER_ALGORITHM_CHACHA20: QUIC_CIPHER_ALGORITHM = QUIC_CIPHER_ALGORITHM(0x6612);

/// `QUIC_HASH_ALGORITHM`: `QUIC_HANDSHAKE_INFO.Hash`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_HASH_ALGORITHM(pub u32);
/// None.
pub const QUIC_HASH_ALGORITHM_NONE: QUIC_HASH_ALGORITHM = QUIC_HASH_ALGORITHM(0);
/// SHA-256.
pub const QUIC_HASH_ALGORITHM_SHA_256: QUIC_HASH_ALGORITHM = QUIC_HASH_ALGORITHM(0x800C);
/// SHA-384.
pub const QUIC_HASH_ALGORITHM_SHA_384: QUIC_HASH_ALGORITHM = QUIC_HASH_ALGORITHM(0x800D);

/// `QUIC_KEY_EXCHANGE_ALGORITHM`: `QUIC_HANDSHAKE_INFO.KeyExchangeAlgorithm`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_KEY_EXCHANGE_ALGORITHM(pub u32);
/// None (see `TlsGroup`).
pub const QUIC_KEY_EXCHANGE_ALGORITHM_NONE: QUIC_KEY_EXCHANGE_ALGORITHM =
    QUIC_KEY_EXCHANGE_ALGORITHM(0);

/// `QUIC_TLS_GROUP`: the negotiated key-exchange group (IANA TLS supported-groups codes).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_TLS_GROUP(pub u32);
/// Unknown.
pub const QUIC_TLS_GROUP_UNKNOWN: QUIC_TLS_GROUP = QUIC_TLS_GROUP(0);
/// secp256r1.
pub const QUIC_TLS_GROUP_SECP256R1: QUIC_TLS_GROUP = QUIC_TLS_GROUP(23);
/// secp384r1.
pub const QUIC_TLS_GROUP_SECP384R1: QUIC_TLS_GROUP = QUIC_TLS_GROUP(24);
/// x25519.
pub const QUIC_TLS_GROUP_X25519: QUIC_TLS_GROUP = QUIC_TLS_GROUP(29);
/// ML-KEM-512.
pub const QUIC_TLS_GROUP_MLKEM512: QUIC_TLS_GROUP = QUIC_TLS_GROUP(512);
/// ML-KEM-768.
pub const QUIC_TLS_GROUP_MLKEM768: QUIC_TLS_GROUP = QUIC_TLS_GROUP(513);
/// ML-KEM-1024.
pub const QUIC_TLS_GROUP_MLKEM1024: QUIC_TLS_GROUP = QUIC_TLS_GROUP(514);
/// SecP256r1MLKEM768.
pub const QUIC_TLS_GROUP_SECP256R1MLKEM768: QUIC_TLS_GROUP = QUIC_TLS_GROUP(4587);
/// X25519MLKEM768.
pub const QUIC_TLS_GROUP_X25519MLKEM768: QUIC_TLS_GROUP = QUIC_TLS_GROUP(4588);
/// SecP384r1MLKEM1024.
pub const QUIC_TLS_GROUP_SECP384R1MLKEM1024: QUIC_TLS_GROUP = QUIC_TLS_GROUP(4589);

/// `QUIC_CIPHER_SUITE`: `QUIC_HANDSHAKE_INFO.CipherSuite` (IANA codes).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CIPHER_SUITE(pub u32);
/// TLS_AES_128_GCM_SHA256.
pub const QUIC_CIPHER_SUITE_TLS_AES_128_GCM_SHA256: QUIC_CIPHER_SUITE = QUIC_CIPHER_SUITE(0x1301);
/// TLS_AES_256_GCM_SHA384.
pub const QUIC_CIPHER_SUITE_TLS_AES_256_GCM_SHA384: QUIC_CIPHER_SUITE = QUIC_CIPHER_SUITE(0x1302);
/// TLS_CHACHA20_POLY1305_SHA256.
pub const QUIC_CIPHER_SUITE_TLS_CHACHA20_POLY1305_SHA256: QUIC_CIPHER_SUITE =
    QUIC_CIPHER_SUITE(0x1303);

/// `QUIC_CONGESTION_CONTROL_ALGORITHM`: `QUIC_SETTINGS.CongestionControlAlgorithm`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CONGESTION_CONTROL_ALGORITHM(pub u32);
/// CUBIC (the default).
pub const QUIC_CONGESTION_CONTROL_ALGORITHM_CUBIC: QUIC_CONGESTION_CONTROL_ALGORITHM =
    QUIC_CONGESTION_CONTROL_ALGORITHM(0);
/// BBR (preview).
#[cfg(msquic_preview)]
pub const QUIC_CONGESTION_CONTROL_ALGORITHM_BBR: QUIC_CONGESTION_CONTROL_ALGORITHM =
    QUIC_CONGESTION_CONTROL_ALGORITHM(1);
/// The number of algorithms (2 with preview features).
#[cfg(msquic_preview)]
pub const QUIC_CONGESTION_CONTROL_ALGORITHM_MAX: QUIC_CONGESTION_CONTROL_ALGORITHM =
    QUIC_CONGESTION_CONTROL_ALGORITHM(2);
/// The number of algorithms (1 without preview features).
#[cfg(not(msquic_preview))]
pub const QUIC_CONGESTION_CONTROL_ALGORITHM_MAX: QUIC_CONGESTION_CONTROL_ALGORITHM =
    QUIC_CONGESTION_CONTROL_ALGORITHM(1);

/// `QUIC_AEAD_ALGORITHM_TYPE`: the AEAD protecting stateless retry tokens.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_AEAD_ALGORITHM_TYPE(pub u32);
/// AES-128-GCM (16-byte secret).
pub const QUIC_AEAD_ALGORITHM_AES_128_GCM: QUIC_AEAD_ALGORITHM_TYPE = QUIC_AEAD_ALGORITHM_TYPE(0);
/// AES-256-GCM (32-byte secret).
pub const QUIC_AEAD_ALGORITHM_AES_256_GCM: QUIC_AEAD_ALGORITHM_TYPE = QUIC_AEAD_ALGORITHM_TYPE(1);

/// `QUIC_PERFORMANCE_COUNTERS`: indexes into the `QUIC_PARAM_GLOBAL_PERF_COUNTERS` array of `uint64_t`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_PERFORMANCE_COUNTERS(pub u32);
/// Connections ever created.
pub const QUIC_PERF_COUNTER_CONN_CREATED: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(0);
/// Connections that failed their handshake.
pub const QUIC_PERF_COUNTER_CONN_HANDSHAKE_FAIL: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(1);
/// Connections the application rejected.
pub const QUIC_PERF_COUNTER_CONN_APP_REJECT: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(2);
/// Connections resumed.
pub const QUIC_PERF_COUNTER_CONN_RESUMED: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(3);
/// Connections currently allocated.
pub const QUIC_PERF_COUNTER_CONN_ACTIVE: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(4);
/// Connections currently connected.
pub const QUIC_PERF_COUNTER_CONN_CONNECTED: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(5);
/// Connections closed by a protocol error.
pub const QUIC_PERF_COUNTER_CONN_PROTOCOL_ERRORS: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(6);
/// Connection attempts with no common ALPN.
pub const QUIC_PERF_COUNTER_CONN_NO_ALPN: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(7);
/// Streams currently allocated.
pub const QUIC_PERF_COUNTER_STRM_ACTIVE: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(8);
/// Packets suspected lost.
pub const QUIC_PERF_COUNTER_PKTS_SUSPECTED_LOST: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(9);
/// Packets dropped for any reason.
pub const QUIC_PERF_COUNTER_PKTS_DROPPED: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(10);
/// Packets that failed decryption.
pub const QUIC_PERF_COUNTER_PKTS_DECRYPTION_FAIL: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(11);
/// Datagrams received.
pub const QUIC_PERF_COUNTER_UDP_RECV: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(12);
/// Datagrams sent.
pub const QUIC_PERF_COUNTER_UDP_SEND: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(13);
/// Datagram payload bytes received.
pub const QUIC_PERF_COUNTER_UDP_RECV_BYTES: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(14);
/// Datagram payload bytes sent.
pub const QUIC_PERF_COUNTER_UDP_SEND_BYTES: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(15);
/// Receive events.
pub const QUIC_PERF_COUNTER_UDP_RECV_EVENTS: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(16);
/// Send calls.
pub const QUIC_PERF_COUNTER_UDP_SEND_CALLS: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(17);
/// Bytes the applications sent.
pub const QUIC_PERF_COUNTER_APP_SEND_BYTES: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(18);
/// Bytes the applications received.
pub const QUIC_PERF_COUNTER_APP_RECV_BYTES: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(19);
/// Connections queued for processing.
pub const QUIC_PERF_COUNTER_CONN_QUEUE_DEPTH: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(20);
/// Connection operations queued now.
pub const QUIC_PERF_COUNTER_CONN_OPER_QUEUE_DEPTH: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(21);
/// Connection operations ever queued.
pub const QUIC_PERF_COUNTER_CONN_OPER_QUEUED: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(22);
/// Connection operations ever completed.
pub const QUIC_PERF_COUNTER_CONN_OPER_COMPLETED: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(23);
/// Worker operations queued now.
pub const QUIC_PERF_COUNTER_WORK_OPER_QUEUE_DEPTH: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(24);
/// Worker operations ever queued.
pub const QUIC_PERF_COUNTER_WORK_OPER_QUEUED: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(25);
/// Worker operations ever completed.
pub const QUIC_PERF_COUNTER_WORK_OPER_COMPLETED: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(26);
/// Path validations that succeeded.
pub const QUIC_PERF_COUNTER_PATH_VALIDATED: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(27);
/// Path validations that failed.
pub const QUIC_PERF_COUNTER_PATH_FAILURE: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(28);
/// Stateless resets sent.
pub const QUIC_PERF_COUNTER_SEND_STATELESS_RESET: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(29);
/// Stateless retries sent.
pub const QUIC_PERF_COUNTER_SEND_STATELESS_RETRY: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(30);
/// Connections rejected for worker load.
pub const QUIC_PERF_COUNTER_CONN_LOAD_REJECT: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(31);
/// Connections waiting in listener queues.
pub const QUIC_PERF_COUNTER_LISTEN_QUEUE_DEPTH: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(32);
/// Microseconds spent encrypting (preview).
#[cfg(msquic_preview)]
pub const QUIC_PERF_COUNTER_ENCRYPT_DURATION_US: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(33);
/// Microseconds spent decrypting (preview).
#[cfg(msquic_preview)]
pub const QUIC_PERF_COUNTER_DECRYPT_DURATION_US: QUIC_PERFORMANCE_COUNTERS =
    QUIC_PERFORMANCE_COUNTERS(34);
/// The number of counters (35 with preview features).
#[cfg(msquic_preview)]
pub const QUIC_PERF_COUNTER_MAX: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(35);
/// The number of counters (33 without preview features).
#[cfg(not(msquic_preview))]
pub const QUIC_PERF_COUNTER_MAX: QUIC_PERFORMANCE_COUNTERS = QUIC_PERFORMANCE_COUNTERS(33);

// Every enum is a 4-byte C enum in MsQuic.
const _: () = {
    use core::mem::size_of;
    assert!(size_of::<QUIC_TLS_PROVIDER>() == 4);
    assert!(size_of::<QUIC_EXECUTION_PROFILE>() == 4);
    assert!(size_of::<QUIC_LOAD_BALANCING_MODE>() == 4);
    assert!(size_of::<QUIC_TLS_ALERT_CODES>() == 4);
    assert!(size_of::<QUIC_CREDENTIAL_TYPE>() == 4);
    assert!(size_of::<QUIC_SERVER_RESUMPTION_LEVEL>() == 4);
    assert!(size_of::<QUIC_STREAM_SCHEDULING_SCHEME>() == 4);
    assert!(size_of::<QUIC_DATAGRAM_SEND_STATE>() == 4);
    assert!(size_of::<QUIC_TLS_PROTOCOL_VERSION>() == 4);
    assert!(size_of::<QUIC_CIPHER_ALGORITHM>() == 4);
    assert!(size_of::<QUIC_HASH_ALGORITHM>() == 4);
    assert!(size_of::<QUIC_KEY_EXCHANGE_ALGORITHM>() == 4);
    assert!(size_of::<QUIC_TLS_GROUP>() == 4);
    assert!(size_of::<QUIC_CIPHER_SUITE>() == 4);
    assert!(size_of::<QUIC_CONGESTION_CONTROL_ALGORITHM>() == 4);
    assert!(size_of::<QUIC_AEAD_ALGORITHM_TYPE>() == 4);
    assert!(size_of::<QUIC_PERFORMANCE_COUNTERS>() == 4);
};
