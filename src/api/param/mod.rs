//! `SetParam` and `GetParam`: dispatch by handle kind and parameter prefix.

pub(crate) mod buffer;
mod handles;
pub(crate) mod known;
pub(crate) mod objects;
pub(crate) mod versions;

use core::ffi::c_void;

pub(crate) use crate::api::global::lib_params::reset as reset_global;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_CONFIGURATION_SETTINGS, QUIC_PARAM_HIGH_PRIORITY, QUIC_STATUS,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_NOT_SUPPORTED,
};
use crate::api::door::boundary;
use crate::api::door::handle::{self, Kind};

/// Which parameter prefixes a handle of `kind` answers: its own, and those of its ancestors'
/// scopes that MsQuic routes through it.
fn prefixes(kind: Kind) -> &'static [u32] {
    use known::*;
    match kind {
        Kind::Registration => &[PREFIX_REGISTRATION],
        Kind::Configuration => &[PREFIX_CONFIGURATION],
        Kind::Listener => &[PREFIX_LISTENER],
        Kind::Connection => &[PREFIX_CONNECTION, PREFIX_TLS, PREFIX_CONFIGURATION],
        Kind::Stream => &[
            PREFIX_STREAM,
            PREFIX_CONNECTION,
            PREFIX_TLS,
            PREFIX_CONFIGURATION,
        ],
    }
}

/// Checks that `h` (non-NULL) is live and may be asked about `param`.
///
/// # Safety
/// `h` is an application handle.
unsafe fn route(h: HQUIC, param: u32) -> Result<Kind, QUIC_STATUS> {
    // SAFETY: the caller's contract is `header`'s.
    let kind = unsafe { handle::header(h) }
        .and_then(|hd| hd.kind())
        .ok_or(QUIC_STATUS_INVALID_PARAMETER)?;
    // MsQuic's one private id answered here: the reliable size a peer's RESET_STREAM_AT
    // announced, on streams only.
    if param == crate::api::stream::reset::PARAM_STREAM_RELIABLE_OFFSET_RECV {
        return if kind == Kind::Stream {
            Ok(kind)
        } else {
            Err(QUIC_STATUS_INVALID_PARAMETER)
        };
    }
    if !prefixes(kind).contains(&known::prefix(param)) {
        return Err(QUIC_STATUS_INVALID_PARAMETER);
    }
    Ok(kind)
}

/// A connection or TLS parameter asked through a stream handle is answered for the stream's
/// connection, as MsQuic does; anything else keeps its handle.
///
/// # Safety
/// `h` is a live handle of kind `kind` (as [`route`] found).
unsafe fn through_stream(h: HQUIC, kind: Kind, param: u32) -> (HQUIC, Kind) {
    let p = known::prefix(param);
    if kind != Kind::Stream || (p != known::PREFIX_CONNECTION && p != known::PREFIX_TLS) {
        return (h, kind);
    }
    // SAFETY: `h` is a live stream handle by the caller's contract.
    match unsafe { handle::Handle::<crate::api::stream::Stream>::borrow(h) } {
        Some(stream) => (stream.obj.connection.as_hquic(), Kind::Connection),
        None => (h, kind),
    }
}

fn not_built_yet(param: u32) -> QUIC_STATUS {
    if known::is_known(param) {
        QUIC_STATUS_NOT_SUPPORTED
    } else {
        QUIC_STATUS_INVALID_PARAMETER
    }
}

/// `SetParam`.
pub(crate) unsafe extern "C" fn set_param(
    h: HQUIC,
    param: u32,
    buffer_length: u32,
    buffer: *const c_void,
) -> QUIC_STATUS {
    boundary::call("SetParam", || {
        // A closing handle still takes parameters until its final event has returned, as in
        // MsQuic (which checks no close there): each answers as for its state then (a
        // parameter for an unstarted connection gives INVALID_STATE, as it does once started).
        let _closing = handle::ClosingAccepted::enter();
        let param = param & !QUIC_PARAM_HIGH_PRIORITY;
        if h.is_null() {
            // SAFETY: the buffer is as the API contract says.
            return unsafe { crate::api::global::params::set(param, buffer_length, buffer) };
        }
        // SAFETY: `h` is an application handle.
        let (h, kind) = match unsafe { route(h, param) } {
            // SAFETY: `route` validated `h`.
            Ok(kind) => unsafe { through_stream(h, kind, param) },
            Err(status) => return status,
        };
        match (param, kind) {
            (crate::api::registration::params::TRANSPORT, Kind::Registration) => {
                // SAFETY: `h` is an application handle; the buffer is as the API contract says.
                return unsafe {
                    crate::api::registration::params::set_transport(h, buffer_length, buffer)
                };
            }
            (QUIC_PARAM_CONFIGURATION_SETTINGS, Kind::Configuration) => {
                // SAFETY: as above.
                return unsafe { crate::api::configuration::params::set(h, buffer_length, buffer) };
            }
            (crate::api::abi::QUIC_PARAM_CONFIGURATION_TICKET_KEYS, Kind::Configuration) => {
                // SAFETY: as above.
                let Some(config) = (unsafe {
                    crate::api::door::handle::Handle::<crate::api::configuration::Configuration>::borrow(
                        h,
                    )
                }) else {
                    return QUIC_STATUS_INVALID_PARAMETER;
                };
                // SAFETY: as above.
                return unsafe {
                    crate::api::connection::resumption::set_ticket_keys(
                        config,
                        buffer_length,
                        buffer,
                    )
                };
            }
            _ => {}
        }
        // SAFETY: routing checked the handle's kind against the id's prefix.
        if let Some(status) = unsafe { handles::set(h, param, buffer_length, buffer) } {
            return status;
        }
        // SAFETY: as above.
        if let Some(status) = unsafe { objects::set(h, param, buffer_length, buffer) } {
            return status;
        }
        not_built_yet(param)
    })
}

/// `GetParam`.
pub(crate) unsafe extern "C" fn get_param(
    h: HQUIC,
    param: u32,
    buffer_length: *mut u32,
    buffer: *mut c_void,
) -> QUIC_STATUS {
    boundary::call("GetParam", || {
        // A closing handle answers until its final event has returned, as in MsQuic.
        let _closing = handle::ClosingAccepted::enter();
        let param = param & !QUIC_PARAM_HIGH_PRIORITY;
        if buffer_length.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        if h.is_null() {
            // SAFETY: `buffer_length` is non-NULL; `buffer` is as the API contract says.
            return unsafe { crate::api::global::params::get(param, buffer_length, buffer) };
        }
        // SAFETY: `h` is an application handle.
        let (h, kind) = match unsafe { route(h, param) } {
            // SAFETY: `route` validated `h`.
            Ok(kind) => unsafe { through_stream(h, kind, param) },
            Err(status) => return status,
        };
        match (param, kind) {
            (crate::api::registration::params::TRANSPORT, Kind::Registration) => {
                // SAFETY: `h` is an application handle; the buffers are as the API contract say.
                return unsafe {
                    crate::api::registration::params::get_transport(h, buffer_length, buffer)
                };
            }
            (QUIC_PARAM_CONFIGURATION_SETTINGS, Kind::Configuration) => {
                // SAFETY: as above.
                return unsafe { crate::api::configuration::params::get(h, buffer_length, buffer) };
            }
            _ => {}
        }
        // SAFETY: routing checked the handle's kind against the id's prefix.
        if let Some(status) = unsafe { handles::get(h, param, buffer_length, buffer) } {
            return status;
        }
        // SAFETY: as above.
        if let Some(status) = unsafe { objects::get(h, param, buffer_length, buffer) } {
            return status;
        }
        not_built_yet(param)
    })
}
