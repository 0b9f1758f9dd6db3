//! `SetContext`, `GetContext` and `SetCallbackHandler`: the calls that work on any handle kind,
//! live or closing (until its final event has returned, as in MsQuic).

use core::ffi::c_void;

use crate::api::abi::HQUIC;
use crate::api::door::boundary;
use crate::api::door::handle::{self, Kind};

/// `SetContext`: stores `context` on any live or closing handle; anything else is ignored.
pub(crate) unsafe extern "C" fn set_context(h: HQUIC, context: *mut c_void) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `header` validates it.
        if let Some(header) = handle::closing_accepted(|| unsafe { handle::header(h) }) {
            header.set_context(context);
        }
    });
}

/// `GetContext`: the context of any live or closing handle, or NULL.
pub(crate) unsafe extern "C" fn get_context(h: HQUIC) -> *mut c_void {
    boundary::value(core::ptr::null_mut(), || {
        // SAFETY: `h` is an application handle; `header` validates it.
        handle::closing_accepted(|| unsafe { handle::header(h) })
            .map_or(core::ptr::null_mut(), |header| header.context())
    })
}

/// `SetCallbackHandler`: replaces the callback and context of a listener, connection or
/// stream. Registrations and configurations have no callback, so they are left unchanged, as
/// in MsQuic.
pub(crate) unsafe extern "C" fn set_callback_handler(
    h: HQUIC,
    handler: *mut c_void,
    context: *mut c_void,
) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `header` validates it.
        let Some(header) = handle::closing_accepted(|| unsafe { handle::header(h) }) else {
            return;
        };
        if matches!(
            header.kind(),
            Some(Kind::Listener | Kind::Connection | Kind::Stream)
        ) {
            header.set_handler(handler);
            header.set_context(context);
        }
    });
}
