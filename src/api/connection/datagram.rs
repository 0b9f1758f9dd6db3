//! Datagrams: `DatagramSend` and the DATAGRAM_* connection events, carried in QMux DATAGRAM
//! frames.
//!
//! - Sending starts enabled with a 65535-byte limit, as in MsQuic, so an application may queue
//!   datagrams before the handshake ends. Once the peer's transport parameters are known,
//!   DATAGRAM_STATE_CHANGED gives the real figures (disabled when the peer takes no
//!   datagrams, else the largest payload one DATAGRAM frame in one record can carry), and
//!   the datagrams queued meanwhile are written or canceled.
//! - Each send is copied at the call. DATAGRAM_SEND_STATE_CHANGED reports SENT once it is
//!   written to the transport, then ACKNOWLEDGED: QMux runs over a reliable byte stream, so
//!   what was written arrives (decisions.md's implicit acknowledgement) and nothing is ever
//!   lost. CANCELED if the connection ends first. The application may change ClientContext
//!   in SENT; ACKNOWLEDGED carries the new value.
//! - DATAGRAM_RECEIVED needs DatagramReceiveEnabled (we then advertise
//!   max_datagram_frame_size; without it the peer may send none).

use core::ffi::c_void;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::api::abi::*;
use crate::api::connection::worker::ConnSlot;
use crate::api::connection::{Connection, on_slot};
use crate::api::door::boundary;
use crate::api::door::handle::Handle;
use crate::runtime::worker::WorkerCx;

/// What `DatagramSend` may send now (`QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED` and the limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SendLimits {
    /// Whether datagrams may be sent.
    pub(crate) enabled: bool,
    /// The largest payload.
    pub(crate) max_length: u16,
}

impl Default for SendLimits {
    /// Before the peer's transport parameters: enabled, 65535 bytes (MsQuic's start).
    fn default() -> Self {
        Self {
            enabled: true,
            max_length: u16::MAX,
        }
    }
}

/// Datagrams sent before the peer's transport parameters were known, on the worker.
#[derive(Default)]
pub(crate) struct Waiting(RefCell<VecDeque<(Vec<u8>, u64)>>);

/// Datagrams the application sent, waiting for the worker: a queue shared with the calling
/// threads, closed when the connection ends, so that a send is either canceled before
/// SHUTDOWN_COMPLETE or refused with INVALID_STATE, never lost.
#[derive(Default)]
pub(crate) struct ApiQueue(parking_lot::Mutex<ApiQueueState>);

#[derive(Default)]
struct ApiQueueState {
    closed: bool,
    items: VecDeque<(Vec<u8>, u64)>,
}

impl ApiQueue {
    /// Queues a datagram; false once the connection has ended.
    fn push(&self, data: Vec<u8>, token: u64) -> bool {
        let mut q = self.0.lock();
        if !q.closed {
            q.items.push_back((data, token));
        }
        !q.closed
    }

    /// The oldest datagram queued.
    fn pop(&self) -> Option<(Vec<u8>, u64)> {
        self.0.lock().items.pop_front()
    }

    /// Takes what is queued, and accepts nothing more.
    fn close(&self) -> VecDeque<(Vec<u8>, u64)> {
        let mut q = self.0.lock();
        q.closed = true;
        std::mem::take(&mut q.items)
    }
}

/// `DatagramSend`: copies the buffers and queues one datagram.
pub(crate) unsafe extern "C" fn send(
    h: HQUIC,
    buffers: *const QUIC_BUFFER,
    buffer_count: u32,
    _flags: QUIC_SEND_FLAGS,
    client_context: *mut c_void,
) -> QUIC_STATUS {
    boundary::call("DatagramSend", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(conn) = (unsafe { Handle::<Connection>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if buffers.is_null() || buffer_count == 0 {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: non-NULL with `buffer_count` elements by the API contract.
        let list = unsafe { core::slice::from_raw_parts(buffers, buffer_count as usize) };
        if list.iter().any(|b| b.Length > 0 && b.Buffer.is_null()) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let total: u64 = list.iter().map(|b| u64::from(b.Length)).sum();
        let limits = *conn.obj.datagram_limits.lock();
        if !limits.enabled || conn.obj.finished.load(std::sync::atomic::Ordering::Acquire) {
            return QUIC_STATUS_INVALID_STATE;
        }
        if total > u64::from(limits.max_length) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let mut data = Vec::with_capacity(total as usize);
        for b in list.iter().filter(|b| b.Length > 0) {
            // SAFETY: non-NULL (checked above) with `Length` readable bytes by the API
            // contract.
            data.extend_from_slice(unsafe {
                core::slice::from_raw_parts(b.Buffer, b.Length as usize)
            });
        }
        let token = client_context as usize as u64;
        if !conn.obj.datagram_queue.push(data, token) {
            return QUIC_STATUS_INVALID_STATE;
        }
        on_slot(&conn, false, move |cx, slot| {
            // One at a time: if the connection ends while one is sent, the rest are still in
            // the queue its end cancels.
            while let Some((data, token)) = slot.handle.obj.datagram_queue.pop() {
                send_on_worker(cx, slot, data, token);
            }
        });
        QUIC_STATUS_PENDING
    })
}

fn send_on_worker(cx: &WorkerCx, slot: &Rc<ConnSlot>, data: Vec<u8>, token: u64) {
    if !slot.params_known() {
        if slot.is_shutting_down() {
            send_state(slot, token, QUIC_DATAGRAM_SEND_CANCELED);
        } else {
            slot.datagrams_waiting
                .0
                .borrow_mut()
                .push_back((data, token));
        }
        return;
    }
    if slot.with_engine(cx, |e| e.send_datagram(data, token).is_ok()) != Some(true) {
        send_state(slot, token, QUIC_DATAGRAM_SEND_CANCELED);
    }
}

/// The peer's transport parameters are known (before CONNECTED): the real limits, then the
/// datagrams that waited for them. With `indicate` (a client: a MsQuic server learns the
/// limits before the application has the connection), DATAGRAM_STATE_CHANGED reports them
/// when they differ from those before (the starting ones, or a resumption ticket's), as
/// MsQuic's does.
pub(crate) fn on_connected(slot: &Rc<ConnSlot>, cx: &WorkerCx, indicate: bool) {
    let max = slot.inspect(|e| e.max_datagram_size()).flatten();
    let limits = SendLimits {
        enabled: max.is_some(),
        max_length: max.map_or(0, |m| m.min(usize::from(u16::MAX)) as u16),
    };
    let before = std::mem::replace(&mut *slot.handle.obj.datagram_limits.lock(), limits);
    indicate_limits(slot, before, limits, indicate);
    // One at a time: if the connection ends while one is sent, the rest are still where its
    // end cancels them (before SHUTDOWN_COMPLETE).
    loop {
        let Some((data, token)) = slot.datagrams_waiting.0.borrow_mut().pop_front() else {
            break;
        };
        if limits.enabled && data.len() <= usize::from(limits.max_length) {
            send_on_worker(cx, slot, data, token);
        } else {
            send_state(slot, token, QUIC_DATAGRAM_SEND_CANCELED);
        }
    }
}

/// A client given a resumption ticket: the limits of the server's remembered transport
/// parameters (`max_payload`), reported as MsQuic does when the ticket is set.
pub(crate) fn on_remembered(slot: &ConnSlot, max_payload: Option<usize>) {
    let limits = SendLimits {
        enabled: max_payload.is_some(),
        max_length: max_payload.map_or(0, |m| m.min(usize::from(u16::MAX)) as u16),
    };
    let before = std::mem::replace(&mut *slot.handle.obj.datagram_limits.lock(), limits);
    indicate_limits(slot, before, limits, true);
}

/// DATAGRAM_STATE_CHANGED when `limits` differ from `before` (and `indicate`).
fn indicate_limits(slot: &ConnSlot, before: SendLimits, limits: SendLimits, indicate: bool) {
    if indicate && limits != before {
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                DATAGRAM_STATE_CHANGED: QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED_PAYLOAD {
                    SendEnabled: u8::from(limits.enabled),
                    MaxSendLength: limits.max_length,
                },
            },
        };
        slot.emit(&mut event);
    }
}

/// The connection ends: datagrams still waiting for the handshake or for the worker are
/// canceled, and DatagramSend refuses any more.
pub(crate) fn cancel_waiting(slot: &ConnSlot) {
    let mut waiting: Vec<_> = std::mem::take(&mut *slot.datagrams_waiting.0.borrow_mut()).into();
    waiting.extend(slot.handle.obj.datagram_queue.close());
    for (_, token) in waiting {
        send_state(slot, token, QUIC_DATAGRAM_SEND_CANCELED);
    }
}

/// A datagram was written: SENT, then ACKNOWLEDGED with the context the application left.
pub(crate) fn sent(slot: &ConnSlot, token: u64) {
    let context = send_state(slot, token, QUIC_DATAGRAM_SEND_SENT);
    send_state(slot, context, QUIC_DATAGRAM_SEND_ACKNOWLEDGED);
}

/// A queued datagram will never be written.
pub(crate) fn canceled(slot: &ConnSlot, token: u64) {
    send_state(slot, token, QUIC_DATAGRAM_SEND_CANCELED);
}

/// Raises DATAGRAM_SEND_STATE_CHANGED; returns the ClientContext as the application left it.
fn send_state(slot: &ConnSlot, token: u64, state: QUIC_DATAGRAM_SEND_STATE) -> u64 {
    let mut event = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            DATAGRAM_SEND_STATE_CHANGED:
                QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED_PAYLOAD {
                    ClientContext: token as usize as *mut c_void,
                    State: state,
                },
        },
    };
    slot.emit(&mut event);
    // SAFETY: the payload written above is this variant; the application may only have
    // replaced its ClientContext.
    unsafe { event.payload.DATAGRAM_SEND_STATE_CHANGED.ClientContext as usize as u64 }
}

/// A datagram arrived.
pub(crate) fn received(slot: &ConnSlot, data: &[u8]) {
    let Ok(length) = u32::try_from(data.len()) else {
        return;
    };
    let buffer = QUIC_BUFFER {
        Length: length,
        Buffer: data.as_ptr().cast_mut(),
    };
    let mut event = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            DATAGRAM_RECEIVED: QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED_PAYLOAD {
                Buffer: &buffer,
                Flags: QUIC_RECEIVE_FLAG_NONE,
            },
        },
    };
    slot.emit(&mut event);
}

/// `GetParam` for `QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED` / `..._SEND_ENABLED`: one
/// BOOLEAN byte.
pub(crate) fn get_param(conn: &Connection, param: u32) -> u8 {
    if param == QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED {
        u8::from(conn.datagram_limits.lock().enabled)
    } else {
        u8::from(conn.settings.lock().datagram_receive_enabled)
    }
}

/// `SetParam(QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED)`: before start only (the value goes out
/// in our transport parameters), as an explicit connection setting.
pub(crate) fn set_receive_enabled(conn: &Connection, enabled: u8) -> QUIC_STATUS {
    if conn.is_started() {
        return QUIC_STATUS_INVALID_STATE;
    }
    let mut settings = conn.settings.lock();
    settings.datagram_receive_enabled = enabled != 0;
    settings.is_set |= QUIC_SETTINGS::IS_SET_DATAGRAM_RECEIVE_ENABLED;
    QUIC_STATUS_SUCCESS
}
