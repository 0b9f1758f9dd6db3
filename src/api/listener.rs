//! Listeners: `ListenerOpen`, `ListenerClose`, `ListenerStart`, `ListenerStop`.

use core::ffi::c_void;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_ADDR, QUIC_BUFFER, QUIC_LISTENER_CALLBACK_HANDLER, QUIC_STATUS,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS,
};
use crate::api::boundary;
use crate::api::configuration::read_alpns;
use crate::api::handle::{Handle, Kind, Object};
use crate::api::registration::{ChildGuard, Registration};

/// A listener. Accepting connections arrives with the runtime.
pub(crate) struct Listener {
    guard: Mutex<Option<ChildGuard>>,
}

impl Object for Listener {
    const KIND: Kind = Kind::Listener;
}

/// `ListenerOpen`.
pub(crate) unsafe extern "C" fn open(
    registration: HQUIC,
    handler: QUIC_LISTENER_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `registration` is an application handle; `get` validates it.
        let Some(reg) = (unsafe { Handle::<Registration>::get(registration) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let Some(handler) = handler else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if out.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let listener = Listener {
            guard: Mutex::new(Some(ChildGuard::new(reg))),
        };
        let h = Handle::into_hquic(Handle::new(listener, context, handler as *mut c_void));
        // SAFETY: `out` is non-NULL and writable by the API contract.
        unsafe { out.write(h) };
        QUIC_STATUS_SUCCESS
    })
}

/// `ListenerClose`.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `close` validates it.
        if let Some(listener) = unsafe { Handle::<Listener>::close(h) } {
            listener.obj.guard.lock().take();
        }
    });
}

/// `ListenerStart`: arguments are validated; listening arrives with the runtime.
pub(crate) unsafe extern "C" fn start(
    h: HQUIC,
    alpn_buffers: *const QUIC_BUFFER,
    alpn_buffer_count: u32,
    _local_address: *const QUIC_ADDR,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        if unsafe { Handle::<Listener>::borrow(h) }.is_none() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: the ALPN list is as the API contract describes.
        if unsafe { read_alpns(alpn_buffers, alpn_buffer_count) }.is_none() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        QUIC_STATUS_NOT_SUPPORTED
    })
}

/// `ListenerStop`: a listener that never started has nothing to stop.
pub(crate) unsafe extern "C" fn stop(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        let _ = unsafe { Handle::<Listener>::borrow(h) };
    });
}
