//! A stream's GetParam/SetParam: STREAM_ID, STREAM_0RTT_LENGTH,
//! STREAM_IDEAL_SEND_BUFFER_SIZE, STREAM_PRIORITY, STREAM_STATISTICS,
//! STREAM_RELIABLE_OFFSET and MsQuic's private STREAM_RELIABLE_OFFSET_RECV; and the
//! connection a stream handle answers connection and TLS parameters for.

use core::ffi::c_void;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_STREAM_0RTT_LENGTH, QUIC_PARAM_STREAM_ID,
    QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE, QUIC_PARAM_STREAM_PRIORITY,
    QUIC_PARAM_STREAM_RELIABLE_OFFSET, QUIC_PARAM_STREAM_STATISTICS, QUIC_STATUS,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS,
};
use crate::api::door::handle::Handle;
use crate::api::param::buffer::{answer, read_exact};
use crate::api::stream::reset;
use crate::api::stream::stats as stream_stats;
use crate::api::stream::{self, Stream};

/// The handle of the connection of the stream `h` names: a connection or TLS parameter asked
/// through a stream handle is answered for the stream's connection, as MsQuic does. `None` if
/// `h` is no stream.
///
/// # Safety
/// `h` is a live handle of the application.
pub(crate) unsafe fn connection_of(h: HQUIC) -> Option<HQUIC> {
    // SAFETY: `h` is a live handle by the caller's contract.
    let stream = unsafe { Handle::<Stream>::borrow(h) }?;
    Some(stream.obj.connection.as_hquic())
}

/// GetParam for a stream's ids; `None` if it is not one of them (or `h` is no stream).
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
        QUIC_PARAM_STREAM_ID => {
            // SAFETY: as above.
            let stream = unsafe { Handle::<Stream>::borrow(h) }?;
            let Some(id) = stream.obj.id() else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, &id.to_ne_bytes()) }
        }
        QUIC_PARAM_STREAM_0RTT_LENGTH => {
            // SAFETY: as above.
            let s = unsafe { Handle::<Stream>::borrow(h) }?;
            // As MsQuic: known once the stream started and its sending half is over: the
            // bytes that went in 0-RTT (TLS early data).
            if s.obj.started_id().is_none() || !s.obj.extra.send_shutdown_indicated() {
                // SAFETY: as above.
                if unsafe { len.read() } < 8 || buf.is_null() {
                    // The size and buffer checks come first: BUFFER_TOO_SMALL or
                    // INVALID_PARAMETER, nothing written.
                    // SAFETY: as above.
                    return Some(unsafe { answer(len, buf, &0u64.to_ne_bytes()) });
                }
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            let sent = s.obj.extra.early_sent();
            // SAFETY: as above.
            unsafe { answer(len, buf, &sent.to_ne_bytes()) }
        }
        QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE => {
            // SAFETY: as above.
            let s = unsafe { Handle::<Stream>::borrow(h) }?;
            let size = stream::ideal_send_buffer_size(s);
            // SAFETY: as above.
            unsafe { answer(len, buf, &size.to_ne_bytes()) }
        }
        QUIC_PARAM_STREAM_PRIORITY => {
            // SAFETY: as above.
            let stream = unsafe { Handle::<Stream>::borrow(h) }?;
            // SAFETY: as above.
            unsafe { answer(len, buf, &stream.obj.priority().to_ne_bytes()) }
        }
        QUIC_PARAM_STREAM_STATISTICS => {
            // SAFETY: as above.
            let stream = unsafe { Handle::<Stream>::get(h) }?;
            // SAFETY: as above.
            unsafe { stream_stats::get(&stream, len, buf) }
        }
        QUIC_PARAM_STREAM_RELIABLE_OFFSET | reset::PARAM_STREAM_RELIABLE_OFFSET_RECV => {
            // SAFETY: as above.
            let stream = unsafe { Handle::<Stream>::borrow(h) }?;
            // SAFETY: as above.
            unsafe { reset::get(stream, param, len, buf) }
        }
        _ => return None,
    };
    Some(status)
}

/// SetParam for a stream's ids; `None` if it is not one of them (or `h` is no stream).
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
        QUIC_PARAM_STREAM_PRIORITY => {
            // SAFETY: as above.
            let stream = unsafe { Handle::<Stream>::get(h) }?;
            // SAFETY: as above.
            let Some(priority) = (unsafe { read_exact::<u16>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            stream::set_priority(&stream, priority);
            Some(QUIC_STATUS_SUCCESS)
        }
        QUIC_PARAM_STREAM_RELIABLE_OFFSET => {
            // SAFETY: as above.
            let stream = unsafe { Handle::<Stream>::borrow(h) }?;
            // SAFETY: as above.
            Some(unsafe { reset::set(stream, len, buf) })
        }
        reset::PARAM_STREAM_RELIABLE_OFFSET_RECV => Some(QUIC_STATUS_INVALID_PARAMETER),
        QUIC_PARAM_STREAM_ID
        | QUIC_PARAM_STREAM_0RTT_LENGTH
        | QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE
        | QUIC_PARAM_STREAM_STATISTICS => Some(QUIC_STATUS_INVALID_PARAMETER),
        _ => None,
    }
}
