//! Bit-flag types (C enums in MsQuic, 4 bytes each) and their values.
//!
//! Each type is a `u32` newtype so that any bit pattern an application passes is a valid Rust
//! value; cbindgen renders it as `typedef uint32_t NAME;` plus one `#define` per flag.

/// `QUIC_CREDENTIAL_FLAGS`: options of `QUIC_CREDENTIAL_CONFIG`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CREDENTIAL_FLAGS(pub u32);
/// No option.
pub const QUIC_CREDENTIAL_FLAG_NONE: QUIC_CREDENTIAL_FLAGS = QUIC_CREDENTIAL_FLAGS(0x0);
/// The credential is a client's; without it, a server's.
pub const QUIC_CREDENTIAL_FLAG_CLIENT: QUIC_CREDENTIAL_FLAGS = QUIC_CREDENTIAL_FLAGS(0x1);
/// Load the credential asynchronously and report through `AsyncHandler`.
pub const QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x2);
/// Do not validate the peer's certificate.
pub const QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x4);
/// Enable OCSP stapling (Schannel).
pub const QUIC_CREDENTIAL_FLAG_ENABLE_OCSP: QUIC_CREDENTIAL_FLAGS = QUIC_CREDENTIAL_FLAGS(0x8);
/// Deliver `PEER_CERTIFICATE_RECEIVED` to the connection callback.
pub const QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x10);
/// Report certificate errors in `PEER_CERTIFICATE_RECEIVED` instead of failing.
pub const QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x20);
/// A server requires a client certificate.
pub const QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x40);
/// Validate with the TLS library's own verifier.
pub const QUIC_CREDENTIAL_FLAG_USE_TLS_BUILTIN_CERTIFICATE_VALIDATION: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x80);
/// Check revocation of the end certificate (Schannel).
pub const QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_END_CERT: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x100);
/// Check revocation of the whole chain (Schannel).
pub const QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x200);
/// Check revocation of the chain except its root (Schannel).
pub const QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x400);
/// Ignore a missing revocation check (Schannel).
pub const QUIC_CREDENTIAL_FLAG_IGNORE_NO_REVOCATION_CHECK: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x800);
/// Ignore an offline revocation server (Schannel).
pub const QUIC_CREDENTIAL_FLAG_IGNORE_REVOCATION_OFFLINE: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x1000);
/// Restrict cipher suites to `AllowedCipherSuites`.
pub const QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x2000);
/// Hand peer certificates to the application as DER / PKCS#7 `QUIC_BUFFER`s.
pub const QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x4000);
/// Use only the supplied credentials (Schannel).
pub const QUIC_CREDENTIAL_FLAG_USE_SUPPLIED_CREDENTIALS: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x8000);
/// Use the system certificate mapper (Schannel).
pub const QUIC_CREDENTIAL_FLAG_USE_SYSTEM_MAPPER: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x10000);
/// Fetch URLs only from the cache (Windows).
pub const QUIC_CREDENTIAL_FLAG_CACHE_ONLY_URL_RETRIEVAL: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x20000);
/// Check revocation only from the cache (Windows).
pub const QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CACHE_ONLY: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x40000);
/// Keep the peer certificate in process (Schannel).
pub const QUIC_CREDENTIAL_FLAG_INPROC_PEER_CERTIFICATE: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x80000);
/// Trust the CA file named in `CaCertificateFile`.
pub const QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE: QUIC_CREDENTIAL_FLAGS =
    QUIC_CREDENTIAL_FLAGS(0x100000);
/// Disable authority information access fetching (Schannel).
pub const QUIC_CREDENTIAL_FLAG_DISABLE_AIA: QUIC_CREDENTIAL_FLAGS = QUIC_CREDENTIAL_FLAGS(0x200000);

/// `QUIC_ALLOWED_CIPHER_SUITE_FLAGS`: TLS 1.3 cipher suites a credential may use.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_ALLOWED_CIPHER_SUITE_FLAGS(pub u32);
/// No restriction given.
pub const QUIC_ALLOWED_CIPHER_SUITE_NONE: QUIC_ALLOWED_CIPHER_SUITE_FLAGS =
    QUIC_ALLOWED_CIPHER_SUITE_FLAGS(0x0);
/// TLS_AES_128_GCM_SHA256.
pub const QUIC_ALLOWED_CIPHER_SUITE_AES_128_GCM_SHA256: QUIC_ALLOWED_CIPHER_SUITE_FLAGS =
    QUIC_ALLOWED_CIPHER_SUITE_FLAGS(0x1);
/// TLS_AES_256_GCM_SHA384.
pub const QUIC_ALLOWED_CIPHER_SUITE_AES_256_GCM_SHA384: QUIC_ALLOWED_CIPHER_SUITE_FLAGS =
    QUIC_ALLOWED_CIPHER_SUITE_FLAGS(0x2);
/// TLS_CHACHA20_POLY1305_SHA256.
pub const QUIC_ALLOWED_CIPHER_SUITE_CHACHA20_POLY1305_SHA256: QUIC_ALLOWED_CIPHER_SUITE_FLAGS =
    QUIC_ALLOWED_CIPHER_SUITE_FLAGS(0x4);

/// `QUIC_CERTIFICATE_HASH_STORE_FLAGS`: where a hash-store certificate lives (Windows).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CERTIFICATE_HASH_STORE_FLAGS(pub u32);
/// The current user's store.
pub const QUIC_CERTIFICATE_HASH_STORE_FLAG_NONE: QUIC_CERTIFICATE_HASH_STORE_FLAGS =
    QUIC_CERTIFICATE_HASH_STORE_FLAGS(0x0);
/// The machine's store.
pub const QUIC_CERTIFICATE_HASH_STORE_FLAG_MACHINE_STORE: QUIC_CERTIFICATE_HASH_STORE_FLAGS =
    QUIC_CERTIFICATE_HASH_STORE_FLAGS(0x1);

/// `QUIC_CONNECTION_SHUTDOWN_FLAGS`: how `ConnectionShutdown` and `RegistrationShutdown` close.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CONNECTION_SHUTDOWN_FLAGS(pub u32);
/// Close gracefully, telling the peer.
pub const QUIC_CONNECTION_SHUTDOWN_FLAG_NONE: QUIC_CONNECTION_SHUTDOWN_FLAGS =
    QUIC_CONNECTION_SHUTDOWN_FLAGS(0x0);
/// Close without telling the peer.
pub const QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT: QUIC_CONNECTION_SHUTDOWN_FLAGS =
    QUIC_CONNECTION_SHUTDOWN_FLAGS(0x1);

/// `QUIC_SEND_RESUMPTION_FLAGS`: options of `ConnectionSendResumptionTicket`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_SEND_RESUMPTION_FLAGS(pub u32);
/// No option.
pub const QUIC_SEND_RESUMPTION_FLAG_NONE: QUIC_SEND_RESUMPTION_FLAGS =
    QUIC_SEND_RESUMPTION_FLAGS(0x0);
/// This is the last ticket: TLS state may be freed afterwards.
pub const QUIC_SEND_RESUMPTION_FLAG_FINAL: QUIC_SEND_RESUMPTION_FLAGS =
    QUIC_SEND_RESUMPTION_FLAGS(0x1);

/// `QUIC_STREAM_OPEN_FLAGS`: options of `StreamOpen` (and of `PEER_STREAM_STARTED`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_STREAM_OPEN_FLAGS(pub u32);
/// A bidirectional stream.
pub const QUIC_STREAM_OPEN_FLAG_NONE: QUIC_STREAM_OPEN_FLAGS = QUIC_STREAM_OPEN_FLAGS(0x0);
/// A unidirectional stream.
pub const QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL: QUIC_STREAM_OPEN_FLAGS =
    QUIC_STREAM_OPEN_FLAGS(0x1);
/// The stream was opened in 0-RTT.
pub const QUIC_STREAM_OPEN_FLAG_0_RTT: QUIC_STREAM_OPEN_FLAGS = QUIC_STREAM_OPEN_FLAGS(0x2);
/// Grant the peer a new stream id only when this stream is closed.
pub const QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES: QUIC_STREAM_OPEN_FLAGS =
    QUIC_STREAM_OPEN_FLAGS(0x4);
/// The application provides the receive buffers (preview).
#[cfg(msquic_preview)]
pub const QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS: QUIC_STREAM_OPEN_FLAGS =
    QUIC_STREAM_OPEN_FLAGS(0x8);

/// `QUIC_STREAM_START_FLAGS`: options of `StreamStart`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_STREAM_START_FLAGS(pub u32);
/// No option.
pub const QUIC_STREAM_START_FLAG_NONE: QUIC_STREAM_START_FLAGS = QUIC_STREAM_START_FLAGS(0x0);
/// Tell the peer about the stream at once.
pub const QUIC_STREAM_START_FLAG_IMMEDIATE: QUIC_STREAM_START_FLAGS = QUIC_STREAM_START_FLAGS(0x1);
/// Fail instead of waiting when stream-count flow control blocks.
pub const QUIC_STREAM_START_FLAG_FAIL_BLOCKED: QUIC_STREAM_START_FLAGS =
    QUIC_STREAM_START_FLAGS(0x2);
/// Shut the stream down if starting fails.
pub const QUIC_STREAM_START_FLAG_SHUTDOWN_ON_FAIL: QUIC_STREAM_START_FLAGS =
    QUIC_STREAM_START_FLAGS(0x4);
/// Deliver `PEER_ACCEPTED` when the peer accepts a stream that started blocked.
pub const QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT: QUIC_STREAM_START_FLAGS =
    QUIC_STREAM_START_FLAGS(0x8);
/// Run ahead of other queued connection work.
pub const QUIC_STREAM_START_FLAG_PRIORITY_WORK: QUIC_STREAM_START_FLAGS =
    QUIC_STREAM_START_FLAGS(0x10);

/// `QUIC_STREAM_SHUTDOWN_FLAGS`: how `StreamShutdown` closes a stream.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_STREAM_SHUTDOWN_FLAGS(pub u32);
/// No direction: invalid on its own.
pub const QUIC_STREAM_SHUTDOWN_FLAG_NONE: QUIC_STREAM_SHUTDOWN_FLAGS =
    QUIC_STREAM_SHUTDOWN_FLAGS(0x0);
/// Finish the send direction cleanly (FIN).
pub const QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL: QUIC_STREAM_SHUTDOWN_FLAGS =
    QUIC_STREAM_SHUTDOWN_FLAGS(0x1);
/// Abort the send direction (RESET_STREAM).
pub const QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND: QUIC_STREAM_SHUTDOWN_FLAGS =
    QUIC_STREAM_SHUTDOWN_FLAGS(0x2);
/// Abort the receive direction (STOP_SENDING).
pub const QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE: QUIC_STREAM_SHUTDOWN_FLAGS =
    QUIC_STREAM_SHUTDOWN_FLAGS(0x4);
/// Abort both directions.
pub const QUIC_STREAM_SHUTDOWN_FLAG_ABORT: QUIC_STREAM_SHUTDOWN_FLAGS =
    QUIC_STREAM_SHUTDOWN_FLAGS(0x6);
/// Deliver the completion events at once, without waiting for the peer.
pub const QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE: QUIC_STREAM_SHUTDOWN_FLAGS =
    QUIC_STREAM_SHUTDOWN_FLAGS(0x8);
/// Process the shutdown inline (only from a callback; may re-enter callbacks).
pub const QUIC_STREAM_SHUTDOWN_FLAG_INLINE: QUIC_STREAM_SHUTDOWN_FLAGS =
    QUIC_STREAM_SHUTDOWN_FLAGS(0x10);

/// `QUIC_RECEIVE_FLAGS`: properties of received stream data or datagrams.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_RECEIVE_FLAGS(pub u32);
/// No property.
pub const QUIC_RECEIVE_FLAG_NONE: QUIC_RECEIVE_FLAGS = QUIC_RECEIVE_FLAGS(0x0);
/// The data arrived in 0-RTT.
pub const QUIC_RECEIVE_FLAG_0_RTT: QUIC_RECEIVE_FLAGS = QUIC_RECEIVE_FLAGS(0x1);
/// The data ends the stream.
pub const QUIC_RECEIVE_FLAG_FIN: QUIC_RECEIVE_FLAGS = QUIC_RECEIVE_FLAGS(0x2);

/// `QUIC_SEND_FLAGS`: options of `StreamSend` and `DatagramSend`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_SEND_FLAGS(pub u32);
/// No option.
pub const QUIC_SEND_FLAG_NONE: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x0);
/// The data may go in 0-RTT.
pub const QUIC_SEND_FLAG_ALLOW_0_RTT: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x1);
/// Start the stream with this send.
pub const QUIC_SEND_FLAG_START: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x2);
/// This is the last data of the stream.
pub const QUIC_SEND_FLAG_FIN: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x4);
/// The datagram goes ahead of others.
pub const QUIC_SEND_FLAG_DGRAM_PRIORITY: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x8);
/// More data follows soon: the send may wait for it.
pub const QUIC_SEND_FLAG_DELAY_SEND: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x10);
/// Cancel the stream if this data is lost.
pub const QUIC_SEND_FLAG_CANCEL_ON_LOSS: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x20);
/// Run ahead of other queued connection work.
pub const QUIC_SEND_FLAG_PRIORITY_WORK: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x40);
/// Drop the datagram if it cannot be sent at once.
pub const QUIC_SEND_FLAG_CANCEL_ON_BLOCKED: QUIC_SEND_FLAGS = QUIC_SEND_FLAGS(0x80);

/// `QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS` (preview): options of the library's worker threads.
#[cfg(msquic_preview)]
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS(pub u32);
/// No option.
#[cfg(msquic_preview)]
pub const QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS =
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS(0x0);
/// Do not use ideal processors.
#[cfg(msquic_preview)]
pub const QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NO_IDEAL_PROC: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS =
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS(0x8);
/// Run the threads at high priority.
#[cfg(msquic_preview)]
pub const QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_HIGH_PRIORITY: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS =
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS(0x10);
/// Pin the threads to their processors.
#[cfg(msquic_preview)]
pub const QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_AFFINITIZE: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS =
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS(0x20);

/// `QUIC_CONNECTION_POOL_FLAGS` (preview): options of `ConnectionPoolCreate`.
#[cfg(msquic_preview)]
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CONNECTION_POOL_FLAGS(pub u32);
/// No option.
#[cfg(msquic_preview)]
pub const QUIC_CONNECTION_POOL_FLAG_NONE: QUIC_CONNECTION_POOL_FLAGS =
    QUIC_CONNECTION_POOL_FLAGS(0x0);
/// Close every connection of the pool if one fails to start.
#[cfg(msquic_preview)]
pub const QUIC_CONNECTION_POOL_FLAG_CLOSE_ON_FAILURE: QUIC_CONNECTION_POOL_FLAGS =
    QUIC_CONNECTION_POOL_FLAGS(0x1);

// Every flag type is a 4-byte C enum in MsQuic.
const _: () = {
    use core::mem::size_of;
    assert!(size_of::<QUIC_CREDENTIAL_FLAGS>() == 4);
    assert!(size_of::<QUIC_ALLOWED_CIPHER_SUITE_FLAGS>() == 4);
    assert!(size_of::<QUIC_CERTIFICATE_HASH_STORE_FLAGS>() == 4);
    assert!(size_of::<QUIC_CONNECTION_SHUTDOWN_FLAGS>() == 4);
    assert!(size_of::<QUIC_SEND_RESUMPTION_FLAGS>() == 4);
    assert!(size_of::<QUIC_STREAM_OPEN_FLAGS>() == 4);
    assert!(size_of::<QUIC_STREAM_START_FLAGS>() == 4);
    assert!(size_of::<QUIC_STREAM_SHUTDOWN_FLAGS>() == 4);
    assert!(size_of::<QUIC_RECEIVE_FLAGS>() == 4);
    assert!(size_of::<QUIC_SEND_FLAGS>() == 4);
    assert!(size_of::<QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS>() == 4);
    assert!(size_of::<QUIC_CONNECTION_POOL_FLAGS>() == 4);
};

macro_rules! flag_ops {
    ($($name:ident),* $(,)?) => {$(
        impl $name {
            /// Whether every bit of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
            /// Whether any bit of `other` is set in `self`.
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }
        }
        impl core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                Self(self.0 | rhs.0)
            }
        }
        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                self.0 |= rhs.0;
            }
        }
        impl core::ops::BitAnd for $name {
            type Output = Self;
            fn bitand(self, rhs: Self) -> Self {
                Self(self.0 & rhs.0)
            }
        }
    )*};
}

flag_ops!(
    QUIC_CREDENTIAL_FLAGS,
    QUIC_ALLOWED_CIPHER_SUITE_FLAGS,
    QUIC_CERTIFICATE_HASH_STORE_FLAGS,
    QUIC_CONNECTION_SHUTDOWN_FLAGS,
    QUIC_SEND_RESUMPTION_FLAGS,
    QUIC_STREAM_OPEN_FLAGS,
    QUIC_STREAM_START_FLAGS,
    QUIC_STREAM_SHUTDOWN_FLAGS,
    QUIC_RECEIVE_FLAGS,
    QUIC_SEND_FLAGS,
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS,
    QUIC_CONNECTION_POOL_FLAGS,
);
