//! Callback pointer types: how the library calls the application.
//!
//! The header also declares MsQuic's non-pointer function types (`QUIC_LISTENER_CALLBACK` and
//! the like), which Rust cannot name; those are written by hand in `cbindgen.toml`.

use core::ffi::c_void;

use super::{HQUIC, QUIC_CONNECTION_EVENT, QUIC_LISTENER_EVENT, QUIC_STATUS, QUIC_STREAM_EVENT};

/// A listener's event handler. The return value matters only for some events.
pub type QUIC_LISTENER_CALLBACK_HANDLER = Option<
    unsafe extern "C" fn(
        Listener: HQUIC,
        Context: *mut c_void,
        Event: *mut QUIC_LISTENER_EVENT,
    ) -> QUIC_STATUS,
>;

/// A connection's event handler.
pub type QUIC_CONNECTION_CALLBACK_HANDLER = Option<
    unsafe extern "C" fn(
        Connection: HQUIC,
        Context: *mut c_void,
        Event: *mut QUIC_CONNECTION_EVENT,
    ) -> QUIC_STATUS,
>;

/// A stream's event handler.
pub type QUIC_STREAM_CALLBACK_HANDLER = Option<
    unsafe extern "C" fn(
        Stream: HQUIC,
        Context: *mut c_void,
        Event: *mut QUIC_STREAM_EVENT,
    ) -> QUIC_STATUS,
>;

/// Completion of an asynchronous `ConfigurationLoadCredential`.
pub type QUIC_CREDENTIAL_LOAD_COMPLETE_HANDLER =
    Option<unsafe extern "C" fn(Configuration: HQUIC, Context: *mut c_void, Status: QUIC_STATUS)>;

/// Completion of `RegistrationClose2` (preview).
#[cfg(msquic_preview)]
pub type QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER =
    Option<unsafe extern "C" fn(Context: *mut c_void)>;
