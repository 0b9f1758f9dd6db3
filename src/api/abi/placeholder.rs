//! Temporary stand-ins, replaced by the full type definitions.
use core::ffi::{c_char, c_void};

use super::{HQUIC, QUIC_STATUS};

macro_rules! int_type {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($name), "`: an integer until validated.")]
        #[repr(transparent)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name(pub u32);
    )*};
}

int_type!(
    QUIC_CONNECTION_SHUTDOWN_FLAGS,
    QUIC_EXECUTION_PROFILE,
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS,
    QUIC_SEND_FLAGS,
    QUIC_SEND_RESUMPTION_FLAGS,
    QUIC_STREAM_OPEN_FLAGS,
    QUIC_STREAM_SHUTDOWN_FLAGS,
    QUIC_STREAM_START_FLAGS,
    QUIC_TLS_ALERT_CODES,
    QUIC_RECEIVE_FLAGS,
);

/// A length and a pointer to bytes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QUIC_BUFFER {
    /// Number of bytes at `Buffer`.
    pub Length: u32,
    /// The bytes.
    pub Buffer: *mut u8,
}

/// Registration options; all fields may be NULL or zero.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QUIC_REGISTRATION_CONFIG {
    /// Application name, or NULL.
    pub AppName: *const c_char,
    /// Execution profile.
    pub ExecutionProfile: QUIC_EXECUTION_PROFILE,
}

macro_rules! opaque_sized {
    ($($name:ident = $size:expr),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($name), "` (stand-in).")]
        #[repr(C, align(8))]
        pub struct $name { _bytes: [u8; $size] }
    )*};
}

opaque_sized!(
    QUIC_SETTINGS = 144,
    QUIC_CREDENTIAL_CONFIG = 56,
    QUIC_CONNECTION_POOL_CONFIG = 72,
    QUIC_EXECUTION_CONFIG = 16,
    QUIC_KEYING_MATERIAL_CONFIG = 32,
    QUIC_LISTENER_EVENT = 24,
    QUIC_CONNECTION_EVENT = 56,
    QUIC_STREAM_EVENT = 40,
);

/// `QUIC_ADDR` (stand-in).
#[repr(C, align(4))]
pub struct QUIC_ADDR {
    _bytes: [u8; 28],
}

/// An execution context (opaque).
#[repr(C)]
pub struct QUIC_EXECUTION {
    _private: [u8; 0],
}

/// Listener callback.
pub type QUIC_LISTENER_CALLBACK_HANDLER =
    Option<unsafe extern "C" fn(HQUIC, *mut c_void, *mut QUIC_LISTENER_EVENT) -> QUIC_STATUS>;
/// Connection callback.
pub type QUIC_CONNECTION_CALLBACK_HANDLER =
    Option<unsafe extern "C" fn(HQUIC, *mut c_void, *mut QUIC_CONNECTION_EVENT) -> QUIC_STATUS>;
/// Stream callback.
pub type QUIC_STREAM_CALLBACK_HANDLER =
    Option<unsafe extern "C" fn(HQUIC, *mut c_void, *mut QUIC_STREAM_EVENT) -> QUIC_STATUS>;
/// RegistrationClose2 completion.
pub type QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER = Option<unsafe extern "C" fn(*mut c_void)>;

/// `QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS`.
pub const QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS: u32 = 0x0100_0001;
/// `QUIC_PARAM_GLOBAL_LIBRARY_VERSION`.
pub const QUIC_PARAM_GLOBAL_LIBRARY_VERSION: u32 = 0x0100_0004;
/// `QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH`.
pub const QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH: u32 = 0x0100_0008;
/// `QUIC_PARAM_REGISTRATION_TRANSPORT` (this library's extension).
pub const QUIC_PARAM_REGISTRATION_TRANSPORT: u32 = 0x0200_0100;
/// QUIC over UDP: not carried by this library.
pub const QUIC_TRANSPORT_QUIC: u32 = 0;
/// QMux over TLS 1.3 over TCP (the default).
pub const QUIC_TRANSPORT_QMUX_TLS: u32 = 1;
/// QMux over plain TCP.
pub const QUIC_TRANSPORT_QMUX_TCP: u32 = 2;
/// `QUIC_PARAM_HIGH_PRIORITY`.
pub const QUIC_PARAM_HIGH_PRIORITY: u32 = 0x4000_0000;
