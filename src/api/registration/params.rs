//! Registration parameters: the transport choice of decisions.md §1.

use core::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::abi::{
    HQUIC, QUIC_PARAM_REGISTRATION_TRANSPORT, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS,
    QUIC_TRANSPORT_QMUX_TCP, QUIC_TRANSPORT_QMUX_TLS, QUIC_TRANSPORT_QUIC,
};
use crate::api::door::handle::Handle;
use crate::api::param::buffer::{answer, read_exact};
use crate::api::registration::Registration;
use crate::runtime::log::qlog;

/// `QUIC_PARAM_REGISTRATION_TRANSPORT`.
pub(crate) const TRANSPORT: u32 = QUIC_PARAM_REGISTRATION_TRANSPORT;

/// The variable that picks the default transport.
pub(crate) const TRANSPORT_ENV: &str = "MSQUIC_QMUX_TRANSPORT";

/// Whether the unrecognised-value warning was written (once a process).
static WARNED: AtomicBool = AtomicBool::new(false);

/// The transport `MSQUIC_QMUX_TRANSPORT=tls|tcp` (any case) asks for, and whether the
/// variable chose it; TLS when unset or unrecognised (with one warning on stderr then).
pub(crate) fn transport_from_env() -> (u32, bool) {
    let Ok(value) = std::env::var(TRANSPORT_ENV) else {
        return (QUIC_TRANSPORT_QMUX_TLS, false);
    };
    match transport_of(&value) {
        Some(t) => (t, true),
        None => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "msquic-qmux: warning: {TRANSPORT_ENV}={value} is not one of tls, tcp; \
                     the transport stays QMux over TLS 1.3 (tls)"
                );
            }
            (QUIC_TRANSPORT_QMUX_TLS, false)
        }
    }
}

/// The transport a value of `MSQUIC_QMUX_TRANSPORT` names, without regard to case.
fn transport_of(value: &str) -> Option<u32> {
    match value.trim().to_ascii_lowercase().as_str() {
        "tls" => Some(QUIC_TRANSPORT_QMUX_TLS),
        "tcp" => Some(QUIC_TRANSPORT_QMUX_TCP),
        _ => None,
    }
}

/// The transport's name in log lines.
pub(crate) fn transport_name(transport: u32) -> &'static str {
    match transport {
        QUIC_TRANSPORT_QMUX_TCP => "QMux over plain TCP",
        QUIC_TRANSPORT_QMUX_TLS => "QMux over TLS 1.3",
        _ => "QUIC",
    }
}

/// GetParam for a registration's ids; `None` if it is not one of them.
///
/// # Safety
/// `h` is a live handle of the kind the id's prefix routes to; `len` is valid; `buf` is NULL
/// or writable for `*len` bytes.
pub(crate) unsafe fn get(
    h: HQUIC,
    param: u32,
    len: *mut u32,
    buf: *mut c_void,
) -> Option<QUIC_STATUS> {
    match param {
        // SAFETY: the caller's contract is `get_transport`'s.
        TRANSPORT => Some(unsafe { get_transport(h, len, buf) }),
        _ => None,
    }
}

/// SetParam for a registration's ids; `None` if it is not one of them.
///
/// # Safety
/// `h` is a live handle of the kind the id's prefix routes to; `buf` is NULL or readable for
/// `len` bytes.
pub(crate) unsafe fn set(
    h: HQUIC,
    param: u32,
    len: u32,
    buf: *const c_void,
) -> Option<QUIC_STATUS> {
    match param {
        // SAFETY: the caller's contract is `set_transport`'s.
        TRANSPORT => Some(unsafe { set_transport(h, len, buf) }),
        _ => None,
    }
}

/// Sets the transport; only before the registration has children.
///
/// # Safety
/// `h` is a live registration handle (checked by the caller's routing); `buf` is NULL or
/// readable for `len` bytes.
pub(crate) unsafe fn set_transport(h: HQUIC, len: u32, buf: *const c_void) -> QUIC_STATUS {
    // SAFETY: as above.
    let Some(reg) = (unsafe { Handle::<Registration>::borrow(h) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    // SAFETY: as above.
    let Some(value) = (unsafe { read_exact::<u32>(len, buf) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    match value {
        QUIC_TRANSPORT_QUIC => QUIC_STATUS_NOT_SUPPORTED,
        QUIC_TRANSPORT_QMUX_TLS | QUIC_TRANSPORT_QMUX_TCP => {
            let mut transport = reg.obj.transport.lock();
            if reg.obj.child_count() > 0 {
                return QUIC_STATUS_INVALID_STATE;
            }
            *transport = value;
            qlog!(
                Info,
                h as usize,
                "registration transport: {} (QUIC_PARAM_REGISTRATION_TRANSPORT)",
                transport_name(value)
            );
            QUIC_STATUS_SUCCESS
        }
        _ => QUIC_STATUS_INVALID_PARAMETER,
    }
}

/// Reads the transport.
///
/// # Safety
/// `h` is a live registration handle; `len` is valid; `buf` is NULL or writable for `*len`.
pub(crate) unsafe fn get_transport(h: HQUIC, len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    // SAFETY: as above.
    let Some(reg) = (unsafe { Handle::<Registration>::borrow(h) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    let value = *reg.obj.transport.lock();
    // SAFETY: as above.
    unsafe { answer(len, buf, &value.to_ne_bytes()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_values_ignore_case() {
        assert_eq!(transport_of("TCP"), Some(QUIC_TRANSPORT_QMUX_TCP));
        assert_eq!(transport_of(" Tls\n"), Some(QUIC_TRANSPORT_QMUX_TLS));
        assert_eq!(transport_of("quic"), None);
    }
}
