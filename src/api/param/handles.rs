//! Listener, connection and stream parameters that read or set addresses and IDs.

use core::ffi::c_void;

use crate::api::abi::{
    HQUIC, QUIC_ADDR, QUIC_HANDSHAKE_INFO, QUIC_PARAM_CONN_LOCAL_ADDRESS,
    QUIC_PARAM_CONN_REMOTE_ADDRESS, QUIC_PARAM_CONN_SETTINGS, QUIC_PARAM_LISTENER_LOCAL_ADDRESS,
    QUIC_PARAM_STREAM_ID, QUIC_PARAM_TLS_HANDSHAKE_INFO, QUIC_PARAM_TLS_NEGOTIATED_ALPN,
    QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS,
};
use crate::api::connection::Connection;
use crate::api::handle::Handle;
use crate::api::listener::Listener;
use crate::api::param::buffer::{answer, read_exact};
use crate::api::settings::{get_settings_param, set_settings_param};
use crate::api::sockaddr;
use crate::api::stream::Stream;

fn addr_bytes(addr: &QUIC_ADDR) -> [u8; size_of::<QUIC_ADDR>()] {
    // SAFETY: QUIC_ADDR is plain old data of exactly this size.
    unsafe { core::mem::transmute_copy(addr) }
}

/// GetParam for the ids this module answers; `None` if it is not one of them.
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
    let status = match param {
        QUIC_PARAM_LISTENER_LOCAL_ADDRESS => {
            // SAFETY: as above.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            let Some(local) = listener.obj.local_address() else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, &addr_bytes(&sockaddr::to_quic(local))) }
        }
        QUIC_PARAM_CONN_REMOTE_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let Some(remote) = *conn.obj.remote_address.lock() else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, &addr_bytes(&sockaddr::to_quic(remote))) }
        }
        QUIC_PARAM_CONN_LOCAL_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let local = conn.obj.info.lock().local_address;
            let Some(local) = local.or(*conn.obj.bind_address.lock()) else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, &addr_bytes(&sockaddr::to_quic(local))) }
        }
        QUIC_PARAM_TLS_HANDSHAKE_INFO => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let Some(info) = conn.obj.info.lock().handshake else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: QUIC_HANDSHAKE_INFO is plain old data of exactly this size.
            let bytes: [u8; size_of::<QUIC_HANDSHAKE_INFO>()] =
                unsafe { core::mem::transmute_copy(&info) };
            // SAFETY: as above.
            unsafe { answer(len, buf, &bytes) }
        }
        QUIC_PARAM_TLS_NEGOTIATED_ALPN => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            if buf.is_null() {
                // MsQuic checks the buffer before the size here (no NULL probing).
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            }
            let info = conn.obj.info.lock();
            let Some(alpn) = info.negotiated_alpn.as_deref() else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, alpn) }
        }
        QUIC_PARAM_CONN_SETTINGS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let settings = conn.obj.settings.lock();
            // SAFETY: as above.
            unsafe { get_settings_param(&settings, len, buf) }
        }
        QUIC_PARAM_STREAM_ID => {
            // SAFETY: as above.
            let stream = unsafe { Handle::<Stream>::borrow(h) }?;
            let Some(id) = stream.obj.id() else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, &id.to_ne_bytes()) }
        }
        _ => return None,
    };
    Some(status)
}

/// SetParam for the ids this module answers; `None` if it is not one of them.
///
/// # Safety
/// As for [`get`], with `buf` NULL or readable for `len` bytes.
pub(crate) unsafe fn set(
    h: HQUIC,
    param: u32,
    len: u32,
    buf: *const c_void,
) -> Option<QUIC_STATUS> {
    match param {
        QUIC_PARAM_CONN_REMOTE_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: as above.
            let Some(addr) = (unsafe { read_exact::<QUIC_ADDR>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            let Some(addr) = sockaddr::from_quic(&addr) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            if conn.obj.is_started() {
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            *conn.obj.remote_address.lock() = Some(addr);
            Some(QUIC_STATUS_SUCCESS)
        }
        QUIC_PARAM_CONN_SETTINGS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            if conn.obj.is_started() {
                // Settings reach the engine at start; later changes are not applied yet.
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            let mut settings = conn.obj.settings.lock();
            // SAFETY: as above.
            Some(unsafe { set_settings_param(&mut settings, len, buf) })
        }
        QUIC_PARAM_CONN_LOCAL_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: as above.
            let Some(addr) = (unsafe { read_exact::<QUIC_ADDR>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            let Some(addr) = sockaddr::from_quic(&addr) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            if conn.obj.is_started() {
                // Moving a started connection (MsQuic's migration) is not offered over TCP.
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            *conn.obj.bind_address.lock() = Some(addr);
            Some(QUIC_STATUS_SUCCESS)
        }
        QUIC_PARAM_TLS_HANDSHAKE_INFO | QUIC_PARAM_TLS_NEGOTIATED_ALPN => {
            Some(QUIC_STATUS_INVALID_PARAMETER)
        }
        QUIC_PARAM_LISTENER_LOCAL_ADDRESS | QUIC_PARAM_STREAM_ID => {
            Some(QUIC_STATUS_INVALID_PARAMETER)
        }
        _ => None,
    }
}
