//! Registration parameters: the transport choice of decisions.md §1.

use core::ffi::c_void;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_REGISTRATION_TRANSPORT, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS,
    QUIC_TRANSPORT_QMUX_TCP, QUIC_TRANSPORT_QMUX_TLS, QUIC_TRANSPORT_QUIC,
};
use crate::api::handle::Handle;
use crate::api::param::buffer::{answer, read_exact};
use crate::api::registration::Registration;

/// `QUIC_PARAM_REGISTRATION_TRANSPORT`.
pub(crate) const TRANSPORT: u32 = QUIC_PARAM_REGISTRATION_TRANSPORT;

/// The transport `MSQUIC_QMUX_TRANSPORT=tls|tcp` asks for; TLS when unset or unrecognised.
pub(crate) fn transport_from_env() -> u32 {
    match std::env::var("MSQUIC_QMUX_TRANSPORT").as_deref() {
        Ok("tcp") => QUIC_TRANSPORT_QMUX_TCP,
        _ => QUIC_TRANSPORT_QMUX_TLS,
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
