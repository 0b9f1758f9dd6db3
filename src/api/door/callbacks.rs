//! Calling the application's callbacks. Each reads the handler and context from the handle
//! header at the time of the call (SetCallbackHandler may have changed them) and holds no lock.

use crate::api::abi::{
    QUIC_CONNECTION_CALLBACK_HANDLER, QUIC_CONNECTION_EVENT, QUIC_LISTENER_CALLBACK_HANDLER,
    QUIC_LISTENER_EVENT, QUIC_STATUS, QUIC_STATUS_SUCCESS, QUIC_STREAM_CALLBACK_HANDLER,
    QUIC_STREAM_EVENT,
};
use crate::api::connection::Connection;
use crate::api::door::event_log;
use crate::api::door::handle::Handle;
use crate::api::listener::Listener;
use crate::api::stream::Stream;

/// Delivers a connection event; a missing handler counts as success.
pub(crate) fn connection(h: &Handle<Connection>, event: &mut QUIC_CONNECTION_EVENT) -> QUIC_STATUS {
    let raw = h.header().handler();
    if raw.is_null() {
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: the handler was stored from a `QUIC_CONNECTION_CALLBACK_HANDLER` (ConnectionOpen,
    // SetCallbackHandler on a connection), and function and data pointers have the same size.
    let handler: QUIC_CONNECTION_CALLBACK_HANDLER = unsafe { core::mem::transmute(raw) };
    let Some(handler) = handler else {
        return QUIC_STATUS_SUCCESS;
    };
    event_log::connection(h.as_hquic() as usize, event);
    // SAFETY: calling the application's callback as the API contract defines it.
    unsafe { handler(h.as_hquic(), h.header().context(), event) }
}

/// Delivers a stream event; a missing handler counts as success.
pub(crate) fn stream(h: &Handle<Stream>, event: &mut QUIC_STREAM_EVENT) -> QUIC_STATUS {
    let raw = h.header().handler();
    if raw.is_null() {
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: stored from a `QUIC_STREAM_CALLBACK_HANDLER` (StreamOpen, SetCallbackHandler).
    let handler: QUIC_STREAM_CALLBACK_HANDLER = unsafe { core::mem::transmute(raw) };
    let Some(handler) = handler else {
        return QUIC_STATUS_SUCCESS;
    };
    event_log::stream(h.as_hquic() as usize, event);
    // SAFETY: calling the application's callback as the API contract defines it.
    unsafe { handler(h.as_hquic(), h.header().context(), event) }
}

/// Delivers a listener event; a missing handler counts as success.
pub(crate) fn listener(h: &Handle<Listener>, event: &mut QUIC_LISTENER_EVENT) -> QUIC_STATUS {
    let raw = h.header().handler();
    if raw.is_null() {
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: stored from a `QUIC_LISTENER_CALLBACK_HANDLER` (ListenerOpen).
    let handler: QUIC_LISTENER_CALLBACK_HANDLER = unsafe { core::mem::transmute(raw) };
    let Some(handler) = handler else {
        return QUIC_STATUS_SUCCESS;
    };
    event_log::listener(h.as_hquic() as usize, event);
    // SAFETY: calling the application's callback as the API contract defines it.
    unsafe { handler(h.as_hquic(), h.header().context(), event) }
}
