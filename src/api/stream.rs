//! Streams: open, close, start, shutdown, send and the receive controls.

use core::ffi::c_void;
use std::sync::Arc;

use crate::api::abi::{
    BOOLEAN, HQUIC, QUIC_BUFFER, QUIC_SEND_FLAGS, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS, QUIC_STREAM_CALLBACK_HANDLER,
    QUIC_STREAM_OPEN_FLAGS, QUIC_STREAM_SHUTDOWN_FLAGS, QUIC_STREAM_START_FLAGS, QUIC_UINT62,
    QUIC_UINT62_MAX,
};
use crate::api::boundary;
use crate::api::connection::Connection;
use crate::api::handle::{Handle, Kind, Object};

/// Every defined `QUIC_STREAM_OPEN_FLAGS` bit.
const OPEN_FLAGS_ALL: u32 = 0xF;
/// `QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL`.
const SHUTDOWN_GRACEFUL: u32 = 0x1;
/// `QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND | ABORT_RECEIVE | IMMEDIATE`.
const SHUTDOWN_ABORTIVE: u32 = 0x2 | 0x4 | 0x8;
/// Every defined `QUIC_STREAM_SHUTDOWN_FLAGS` bit.
const SHUTDOWN_FLAGS_ALL: u32 = 0x1F;

/// A stream. Carrying data arrives with the runtime.
#[expect(dead_code, reason = "read by the stream runtime, which comes next")]
pub(crate) struct Stream {
    /// The connection the stream belongs to.
    pub(crate) connection: Arc<Handle<Connection>>,
    /// The `QUIC_STREAM_OPEN_FLAGS` it was opened with.
    pub(crate) open_flags: u32,
}

impl Object for Stream {
    const KIND: Kind = Kind::Stream;
}

fn with_stream(h: HQUIC, valid_args: bool) -> QUIC_STATUS {
    // SAFETY: `h` is an application handle; `borrow` validates it.
    if unsafe { Handle::<Stream>::borrow(h) }.is_none() || !valid_args {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    QUIC_STATUS_NOT_SUPPORTED
}

/// `StreamOpen`.
pub(crate) unsafe extern "C" fn open(
    connection: HQUIC,
    flags: QUIC_STREAM_OPEN_FLAGS,
    handler: QUIC_STREAM_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `connection` is an application handle; `get` validates it.
        let Some(conn) = (unsafe { Handle::<Connection>::get(connection) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let Some(handler) = handler else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if out.is_null() || flags.0 & !OPEN_FLAGS_ALL != 0 {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let stream = Stream {
            connection: conn,
            open_flags: flags.0,
        };
        let h = Handle::into_hquic(Handle::new(stream, context, handler as *mut c_void));
        // SAFETY: `out` is non-NULL and writable by the API contract.
        unsafe { out.write(h) };
        QUIC_STATUS_SUCCESS
    })
}

/// `StreamClose`.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `close` validates it.
        drop(unsafe { Handle::<Stream>::close(h) });
    });
}

/// `StreamStart`.
pub(crate) unsafe extern "C" fn start(h: HQUIC, _flags: QUIC_STREAM_START_FLAGS) -> QUIC_STATUS {
    boundary::status(|| with_stream(h, true))
}

/// `StreamShutdown`: flags must be non-zero, known, and not mix GRACEFUL with aborts.
pub(crate) unsafe extern "C" fn shutdown(
    h: HQUIC,
    flags: QUIC_STREAM_SHUTDOWN_FLAGS,
    error_code: QUIC_UINT62,
) -> QUIC_STATUS {
    boundary::status(|| {
        let f = flags.0;
        let valid = f != 0
            && f & !SHUTDOWN_FLAGS_ALL == 0
            && !(f & SHUTDOWN_GRACEFUL != 0 && f & SHUTDOWN_ABORTIVE != 0)
            && error_code <= QUIC_UINT62_MAX;
        with_stream(h, valid)
    })
}

/// `StreamSend`.
pub(crate) unsafe extern "C" fn send(
    h: HQUIC,
    buffers: *const QUIC_BUFFER,
    buffer_count: u32,
    _flags: QUIC_SEND_FLAGS,
    _client_context: *mut c_void,
) -> QUIC_STATUS {
    boundary::status(|| with_stream(h, !(buffers.is_null() && buffer_count > 0)))
}

/// `StreamReceiveComplete`.
pub(crate) unsafe extern "C" fn receive_complete(h: HQUIC, _buffer_length: u64) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        let _ = unsafe { Handle::<Stream>::borrow(h) };
    });
}

/// `StreamReceiveSetEnabled`.
pub(crate) unsafe extern "C" fn receive_set_enabled(h: HQUIC, _enabled: BOOLEAN) -> QUIC_STATUS {
    boundary::status(|| with_stream(h, true))
}

/// `StreamProvideReceiveBuffers`.
pub(crate) unsafe extern "C" fn provide_receive_buffers(
    h: HQUIC,
    buffer_count: u32,
    buffers: *const QUIC_BUFFER,
) -> QUIC_STATUS {
    boundary::status(|| with_stream(h, !buffers.is_null() && buffer_count > 0))
}
