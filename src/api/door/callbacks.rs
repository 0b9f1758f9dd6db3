//! Calling the application's callbacks. Each call reads the handler and context from the handle
//! header at the time of the call (SetCallbackHandler may have changed them) and holds no lock.

use core::ffi::c_void;

use crate::api::abi::{HQUIC, QUIC_STATUS, QUIC_STATUS_SUCCESS};
use crate::api::door::handle::{Handle, Object};

/// An object whose handle delivers events to an application callback (a connection, a stream,
/// a listener; each room implements it for its object): the event its handler takes, and how
/// the event log writes it.
pub(crate) trait Delivers: Object {
    /// The event the object's handler takes (`QUIC_CONNECTION_EVENT` and the like).
    type Event;

    /// Writes `event`, about to be delivered to handle `h`, to the event log
    /// (`door::event_log`).
    fn log(h: usize, event: &Self::Event);
}

/// The handler of an object delivering `E`: the shape of `QUIC_CONNECTION_CALLBACK_HANDLER`,
/// `QUIC_STREAM_CALLBACK_HANDLER` and `QUIC_LISTENER_CALLBACK_HANDLER`.
type Handler<E> = Option<unsafe extern "C" fn(HQUIC, *mut c_void, *mut E) -> QUIC_STATUS>;

/// Delivers an event to the handle's callback; a missing handler counts as success.
pub(crate) fn deliver<T: Delivers>(h: &Handle<T>, event: &mut T::Event) -> QUIC_STATUS {
    let raw = h.header().handler();
    if raw.is_null() {
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: the handler was stored from the object's own handler type (ConnectionOpen,
    // StreamOpen, ListenerOpen, PEER_STREAM_STARTED, SetCallbackHandler), which is
    // `Handler<T::Event>`, and function and data pointers have the same size.
    let handler: Handler<T::Event> = unsafe { core::mem::transmute(raw) };
    let Some(handler) = handler else {
        return QUIC_STATUS_SUCCESS;
    };
    T::log(h.as_hquic() as usize, event);
    // SAFETY: calling the application's callback as the API contract defines it.
    unsafe { handler(h.as_hquic(), h.header().context(), event) }
}
