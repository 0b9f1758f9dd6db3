//! `SetParam` and `GetParam`: dispatch by handle kind and parameter prefix. Each object
//! answers its own ids in its room's `params` module (`global::params` for `Handle == NULL`).

pub(crate) mod buffer;
pub(crate) mod known;
pub(crate) mod versions;

use core::ffi::c_void;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_HIGH_PRIORITY, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_NOT_SUPPORTED,
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
unsafe fn through_stream(h: HQUIC, kind: Kind, param: u32) -> HQUIC {
    let p = known::prefix(param);
    if kind != Kind::Stream || (p != known::PREFIX_CONNECTION && p != known::PREFIX_TLS) {
        return h;
    }
    // SAFETY: `h` is a live stream handle by the caller's contract.
    unsafe { crate::api::stream::params::connection_of(h) }.unwrap_or(h)
}

/// The room that answers `param` (routing has checked the handle may be asked about it):
/// each room's `get`/`set` checks the handle is its object's and answers `None` for an id
/// it does not answer. Configuration ids go to the configuration room whatever the handle
/// (a connection's or stream's answers as none of its own).
enum Room {
    Registration,
    Configuration,
    Listener,
    Connection,
    Stream,
}

/// Which room answers `param`.
fn room(param: u32) -> Room {
    match known::prefix(param) {
        known::PREFIX_REGISTRATION => Room::Registration,
        known::PREFIX_CONFIGURATION => Room::Configuration,
        known::PREFIX_LISTENER => Room::Listener,
        known::PREFIX_CONNECTION | known::PREFIX_TLS => Room::Connection,
        // Stream ids, and MsQuic's private reliable-offset id (streams only, see `route`).
        _ => Room::Stream,
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
        let h = match unsafe { route(h, param) } {
            // SAFETY: `route` validated `h`.
            Ok(kind) => unsafe { through_stream(h, kind, param) },
            Err(status) => return status,
        };
        // SAFETY: routing checked the handle's kind against the id's prefix; the buffer is as
        // the API contract says.
        let status = unsafe {
            match room(param) {
                Room::Registration => {
                    crate::api::registration::params::set(h, param, buffer_length, buffer)
                }
                Room::Configuration => {
                    crate::api::configuration::params::set(h, param, buffer_length, buffer)
                }
                Room::Listener => {
                    crate::api::listener::params::set(h, param, buffer_length, buffer)
                }
                Room::Connection => {
                    crate::api::connection::params::set(h, param, buffer_length, buffer)
                }
                Room::Stream => crate::api::stream::params::set(h, param, buffer_length, buffer),
            }
        };
        status.unwrap_or_else(|| not_built_yet(param))
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
        let h = match unsafe { route(h, param) } {
            // SAFETY: `route` validated `h`.
            Ok(kind) => unsafe { through_stream(h, kind, param) },
            Err(status) => return status,
        };
        // SAFETY: routing checked the handle's kind against the id's prefix; `buffer_length`
        // is non-NULL; `buffer` is as the API contract says.
        let status = unsafe {
            match room(param) {
                Room::Registration => {
                    crate::api::registration::params::get(h, param, buffer_length, buffer)
                }
                Room::Configuration => {
                    crate::api::configuration::params::get(h, param, buffer_length, buffer)
                }
                Room::Listener => {
                    crate::api::listener::params::get(h, param, buffer_length, buffer)
                }
                Room::Connection => {
                    crate::api::connection::params::get(h, param, buffer_length, buffer)
                }
                Room::Stream => crate::api::stream::params::get(h, param, buffer_length, buffer),
            }
        };
        status.unwrap_or_else(|| not_built_yet(param))
    })
}
