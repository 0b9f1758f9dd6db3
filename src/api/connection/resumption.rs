//! TLS resumption as MsQuic offers it: a server with ServerResumptionLevel above NO_RESUME
//! sends tickets carrying application data when the application asks
//! (ConnectionSendResumptionTicket); the client hands each to the application as an opaque
//! blob (RESUMPTION_TICKET_RECEIVED), which a later connection takes back
//! (QUIC_PARAM_CONN_RESUMPTION_TICKET) to resume; the server then raises RESUMED with the
//! data before the handshake goes on, and the application accepts (SUCCESS), refuses
//! (a full handshake follows) or decides later (PENDING, then
//! ConnectionResumptionTicketValidationComplete). Servers share ticket keys through
//! QUIC_PARAM_CONFIGURATION_TICKET_KEYS.
//!
//! The blob names the TLS session in this process's table of tickets (rustls cannot
//! export a client session): a blob used in another process, or more times than the table
//! keeps copies, gives a full handshake. It also carries the server's transport parameters,
//! which a client given the ticket reports at once (STREAMS_AVAILABLE and
//! DATAGRAM_STATE_CHANGED, as MsQuic does when it takes a ticket's parameters).

use core::ffi::c_void;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::api::abi::{
    BOOLEAN, QUIC_CONNECTION_EVENT, QUIC_CONNECTION_EVENT_PAYLOAD, QUIC_CONNECTION_EVENT_RESUMED,
    QUIC_CONNECTION_EVENT_RESUMED_PAYLOAD, QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED,
    QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED_PAYLOAD,
    QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE, QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE_PAYLOAD,
    QUIC_SEND_RESUMPTION_FLAGS, QUIC_STATUS, QUIC_STATUS_CONNECTION_IDLE,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_NOT_SUPPORTED,
    QUIC_STATUS_PENDING, QUIC_STATUS_SUCCESS, QUIC_TICKET_KEY_CONFIG,
};
use crate::api::configuration::Configuration;
use crate::api::configuration::credentials::LoadedTls;
use crate::api::connection::worker::{self, ConnSlot};
use crate::api::connection::{Connection, on_slot};
use crate::api::door::handle::Handle;
use crate::proto::transport_params::TransportParameters;
use crate::runtime::timers::SourceKey;
use crate::runtime::tls::Resumption;
use crate::runtime::worker::{Source, WorkerCx};

/// `QUIC_SEND_RESUMPTION_FLAG_FINAL`, the only defined flag.
const FLAG_FINAL: u32 = 0x1;
/// The blob's first bytes (then the ticket's number, 8 bytes, and the server's transport
/// parameters).
const BLOB_MAGIC: &[u8; 5] = b"QMXT\x01";

/// A connection's resumption state readable from any thread.
#[derive(Default)]
pub(crate) struct ConnResumption {
    /// Client: the ticket set with QUIC_PARAM_CONN_RESUMPTION_TICKET.
    ticket: Mutex<Option<u64>>,
    /// Client: the server's transport parameters the ticket remembers.
    pub(crate) remembered: Mutex<Option<TransportParameters>>,
    /// Server: tickets may be sent (ServerResumptionLevel above NO_RESUME, no FINAL yet).
    enabled: AtomicBool,
}

impl ConnResumption {
    /// Client: the ticket to resume with, if the application set one.
    pub(crate) fn ticket(&self) -> Option<u64> {
        *self.ticket.lock()
    }

    /// Server: the configuration's ServerResumptionLevel applies.
    pub(crate) fn set_level(&self, level: u8) {
        self.enabled.store(level > 0, Ordering::Release);
    }

    /// Server: whether tickets are opened and sent.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }
}

/// What finishes a server's accept once the application decided on the ticket offered.
pub(crate) type FinishAccept = Box<dyn FnOnce(&WorkerCx, &Rc<ConnSlot>, Resumption) -> QUIC_STATUS>;

/// The blob handed to the application for the ticket numbered `id`, with the server's
/// transport parameters.
fn encode(id: u64, params: &TransportParameters) -> Vec<u8> {
    let mut blob = BLOB_MAGIC.to_vec();
    blob.extend_from_slice(&id.to_be_bytes());
    params.encode(&mut blob);
    blob
}

/// The ticket number and transport parameters in a blob, if it is one of ours.
fn decode(blob: &[u8]) -> Option<(u64, TransportParameters)> {
    let rest = blob.strip_prefix(BLOB_MAGIC)?;
    let (id, params) = rest.split_first_chunk::<8>()?;
    let params = TransportParameters::decode(params).ok()?;
    Some((u64::from_be_bytes(*id), params))
}

/// `QUIC_PARAM_CONN_RESUMPTION_TICKET` (set): a client, before ConnectionStart.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_ticket(
    conn: &Arc<Handle<Connection>>,
    len: u32,
    buf: *const c_void,
) -> QUIC_STATUS {
    if len == 0 || buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    if conn.obj.server || conn.obj.is_started() {
        return QUIC_STATUS_INVALID_STATE;
    }
    // SAFETY: as the caller promises.
    let blob = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len as usize) };
    let Some((id, params)) = decode(blob) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    *conn.obj.resumption.ticket.lock() = Some(id);
    *conn.obj.resumption.remembered.lock() = Some(params.clone());
    // The remembered limits are reported from the worker before SetParam returns.
    on_slot(conn, true, move |_cx, slot| {
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                STREAMS_AVAILABLE: QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE_PAYLOAD {
                    BidirectionalCount: params.initial_max_streams_bidi.min(u64::from(u16::MAX))
                        as u16,
                    UnidirectionalCount: params.initial_max_streams_uni.min(u64::from(u16::MAX))
                        as u16,
                },
            },
        };
        slot.emit(&mut event);
        crate::api::connection::datagram::on_remembered(slot, params.max_datagram_payload());
    });
    QUIC_STATUS_SUCCESS
}

/// Client: whether the transport parameters of the resumption ticket set on `conn` allow
/// the stream of `dir` numbered `index` (MsQuic's limits before the handshake).
pub(crate) fn remembered_allows(
    conn: &Handle<Connection>,
    dir: crate::proto::Dir,
    index: u64,
) -> bool {
    conn.obj
        .resumption
        .remembered
        .lock()
        .as_ref()
        .is_some_and(|p| {
            let limit = match dir {
                crate::proto::Dir::Bi => p.initial_max_streams_bidi,
                crate::proto::Dir::Uni => p.initial_max_streams_uni,
            };
            index < limit
        })
}

/// `QUIC_PARAM_CONFIGURATION_TICKET_KEYS` (set): the first key seals and opens tickets (as
/// MsQuic, which uses only the first).
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_ticket_keys(
    config: &Handle<Configuration>,
    len: u32,
    buf: *const c_void,
) -> QUIC_STATUS {
    if buf.is_null() || (len as usize) < size_of::<QUIC_TICKET_KEY_CONFIG>() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: at least one key is readable; it may be unaligned.
    let key = unsafe { buf.cast::<QUIC_TICKET_KEY_CONFIG>().read_unaligned() };
    match &*config.obj.tls.lock() {
        None => QUIC_STATUS_INVALID_STATE,
        Some(LoadedTls::Client(_)) => QUIC_STATUS_NOT_SUPPORTED,
        Some(LoadedTls::Server(server)) => {
            let n = usize::from(key.MaterialLength).min(key.Material.len());
            server.set_ticket_key(key.Id, &key.Material[..n]);
            QUIC_STATUS_SUCCESS
        }
    }
}

/// `ConnectionSendResumptionTicket` once the handle is known to be a server's and the
/// arguments are valid: INVALID_STATE unless resumption is on and the connection is
/// connected; the ticket goes out from the worker.
pub(crate) fn send_ticket(
    conn: &Arc<Handle<Connection>>,
    flags: QUIC_SEND_RESUMPTION_FLAGS,
    data: Vec<u8>,
) -> QUIC_STATUS {
    if !conn.obj.resumption.enabled() || conn.obj.info.lock().connected_us == 0 {
        return QUIC_STATUS_INVALID_STATE;
    }
    queue(conn, move |cx, slot| {
        let c = slot.conn.borrow().clone();
        if let Some(c) = c {
            // The ticket remembers the transport parameters this server sent, as MsQuic's.
            let ours = c.inspect(|e| e.local_params().clone());
            let _ = c.send_resumption_ticket(cx, &server_state(&ours, &data));
        }
        // As MsQuic: FINAL takes effect when the queued call runs, so calls made before
        // then (in the same callback) still send.
        if flags.0 & FLAG_FINAL != 0 {
            slot.handle
                .obj
                .resumption
                .enabled
                .store(false, Ordering::Release);
        }
    });
    QUIC_STATUS_SUCCESS
}

/// `ConnectionResumptionTicketValidationComplete` for a server: INVALID_STATE once
/// connected; else the decision goes to the worker (PENDING, as MsQuic answers).
pub(crate) fn validation_complete(conn: &Arc<Handle<Connection>>, result: BOOLEAN) -> QUIC_STATUS {
    if conn.obj.info.lock().connected_us != 0 {
        return QUIC_STATUS_INVALID_STATE;
    }
    queue(conn, move |cx, slot| {
        let finish = slot.resume_finish.borrow_mut().take();
        // A connection shut down meanwhile drops the accept (its socket closes).
        if let Some(finish) = finish.filter(|_| !slot.is_shutting_down()) {
            let r = if result != 0 {
                Resumption::On
            } else {
                Resumption::Refused
            };
            run_finish(cx, slot, finish, r);
        }
    });
    QUIC_STATUS_PENDING
}

/// What a server's ticket carries for it: its transport parameters, then the application's
/// data.
fn server_state(params: &TransportParameters, data: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::new();
    params.encode(&mut encoded);
    let mut out = Vec::with_capacity(2 + encoded.len() + data.len());
    out.extend_from_slice(&(encoded.len() as u16).to_be_bytes());
    out.extend_from_slice(&encoded);
    out.extend_from_slice(data);
    out
}

/// A server's check of the ticket a client offers (its state from [`server_state`]): the
/// application's data when the transport parameters it remembers do not exceed `current`
/// (the limits this connection will advertise); `None` (the ticket is refused, without
/// RESUMED) when the server lowered one since, as MsQuic does.
pub(crate) fn check_offered(state: &[u8], current: &TransportParameters) -> Option<Vec<u8>> {
    let (len, rest) = state.split_first_chunk::<2>()?;
    let (params, data) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    let old = TransportParameters::decode(params).ok()?;
    let within = old.initial_max_data <= current.initial_max_data
        && old.initial_max_stream_data_bidi_local <= current.initial_max_stream_data_bidi_local
        && old.initial_max_stream_data_bidi_remote <= current.initial_max_stream_data_bidi_remote
        && old.initial_max_stream_data_uni <= current.initial_max_stream_data_uni
        && old.initial_max_streams_bidi <= current.initial_max_streams_bidi
        && old.initial_max_streams_uni <= current.initial_max_streams_uni;
    within.then(|| data.to_vec())
}

/// Runs `f` with the connection's slot from its worker's queue, even when called on the
/// worker (MsQuic queues these calls, also from callbacks).
fn queue(
    conn: &Arc<Handle<Connection>>,
    f: impl FnOnce(&WorkerCx, &Rc<ConnSlot>) + Send + 'static,
) {
    let key = conn.as_hquic() as usize;
    conn.obj.worker().post(Box::new(move |cx: &WorkerCx| {
        let Some(slot) = worker::slot(key) else {
            return;
        };
        let handle = slot.handle.clone();
        crate::api::connection::on_panic::contain(&handle, || f(cx, &slot));
    }));
}

/// Server: the ClientHello offers a ticket of ours with `data`: RESUMED is raised from the
/// worker's queue (after NEW_CONNECTION returned), then `finish` runs with the
/// application's answer (or waits for ConnectionResumptionTicketValidationComplete, until
/// `deadline`, the handshake's: then the connection ends with CONNECTION_IDLE, as MsQuic's
/// handshake idle timer ends it).
pub(crate) fn defer_accept(
    cx: &WorkerCx,
    slot: &Rc<ConnSlot>,
    data: Vec<u8>,
    finish: FinishAccept,
    deadline: Option<Instant>,
) {
    *slot.resume_finish.borrow_mut() = Some(finish);
    let key = slot.key();
    if let Some(deadline) = deadline {
        let timer = cx.insert(Rc::new(DecisionTimeout { slot: key }));
        cx.set_timer(timer, Some(deadline));
    }
    slot.handle
        .obj
        .worker()
        .post(Box::new(move |cx: &WorkerCx| {
            let Some(slot) = worker::slot(key) else {
                return;
            };
            let handle = slot.handle.clone();
            crate::api::connection::on_panic::contain(&handle, || raise_resumed(cx, &slot, &data));
        }));
}

/// Finishes a deferred accept; if the connection cannot start (the socket or the TLS
/// session failed), it ends with that status.
fn run_finish(cx: &WorkerCx, slot: &Rc<ConnSlot>, finish: FinishAccept, r: Resumption) {
    let status = finish(cx, slot, r);
    if status != QUIC_STATUS_PENDING && status != QUIC_STATUS_SUCCESS {
        slot.transport_shutdown(status, 0);
        slot.complete(cx, true);
    }
}

/// Ends a server connection whose RESUMED is still unanswered at the handshake's deadline.
struct DecisionTimeout {
    slot: usize,
}

impl Source for DecisionTimeout {
    fn on_ready(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: bool, _: bool) {}

    fn on_timer(self: Rc<Self>, cx: &WorkerCx, key: SourceKey, _: Instant) {
        cx.remove(key);
        let Some(slot) = worker::slot(self.slot) else {
            return;
        };
        let handle = slot.handle.clone();
        crate::api::connection::on_panic::contain(&handle, || {
            // Dropping the accept closes its socket.
            if slot.resume_finish.borrow_mut().take().is_some() && !slot.is_shutting_down() {
                slot.transport_shutdown(QUIC_STATUS_CONNECTION_IDLE, 0);
                slot.complete(cx, true);
            }
        });
    }
}

fn raise_resumed(cx: &WorkerCx, slot: &Rc<ConnSlot>, data: &[u8]) {
    if slot.is_shutting_down() {
        // Shut down since NEW_CONNECTION: the accept is dropped (its socket closes).
        slot.resume_finish.borrow_mut().take();
        return;
    }
    if slot.resume_finish.borrow().is_none() {
        return;
    }
    let mut event = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_RESUMED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            RESUMED: QUIC_CONNECTION_EVENT_RESUMED_PAYLOAD {
                ResumptionStateLength: data.len() as u16,
                ResumptionState: if data.is_empty() {
                    std::ptr::null()
                } else {
                    data.as_ptr()
                },
            },
        },
    };
    let status = slot.emit(&mut event);
    if status == QUIC_STATUS_PENDING {
        return;
    }
    let finish = slot.resume_finish.borrow_mut().take();
    if let Some(finish) = finish.filter(|_| !slot.is_shutting_down()) {
        let r = if status == QUIC_STATUS_SUCCESS {
            Resumption::On
        } else {
            Resumption::Refused
        };
        run_finish(cx, slot, finish, r);
    }
}

/// Client: RESUMPTION_TICKET_RECEIVED for the ticket numbered `id`, held until CONNECTED
/// was raised, and dropped once the connection is shutting down (as MsQuic, which stops
/// reading then).
pub(crate) fn ticket_received(slot: &ConnSlot, id: u64) {
    if slot.is_shutting_down() {
        return;
    }
    if !slot.connected.get() {
        slot.held_tickets.borrow_mut().push(id);
        return;
    }
    raise_ticket(slot, id);
}

/// Client: the tickets held until CONNECTED.
pub(crate) fn release_held(slot: &ConnSlot) {
    let held = std::mem::take(&mut *slot.held_tickets.borrow_mut());
    for id in held {
        if slot.is_shutting_down() {
            return;
        }
        raise_ticket(slot, id);
    }
}

fn raise_ticket(slot: &ConnSlot, id: u64) {
    let params = slot
        .inspect(|e| e.peer_params().cloned())
        .flatten()
        .unwrap_or_default();
    let blob = encode(id, &params);
    let mut event = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            RESUMPTION_TICKET_RECEIVED: QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED_PAYLOAD {
                ResumptionTicketLength: blob.len() as u32,
                ResumptionTicket: blob.as_ptr(),
            },
        },
    };
    slot.emit(&mut event);
}

/// The data of a resumption ticket, copied from the application (None: NULL with a length).
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
pub(crate) unsafe fn copy_data(len: u16, data: *const u8) -> Vec<u8> {
    if len == 0 || data.is_null() {
        return Vec::new();
    }
    // SAFETY: as the caller promises.
    unsafe { std::slice::from_raw_parts(data, usize::from(len)) }.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_foreign_ones_are_refused() {
        let params = TransportParameters {
            initial_max_streams_bidi: 3,
            max_datagram_frame_size: Some(1200),
            ..TransportParameters::default()
        };
        let blob = encode(42, &params);
        let (id, back) = decode(&blob).unwrap();
        assert_eq!(id, 42);
        assert_eq!(back, params);
        assert!(decode(&blob[..BLOB_MAGIC.len() + 7]).is_none());
        assert!(decode(b"QMXT\x02\0\0\0\0\0\0\0\x01").is_none());
        assert!(decode(&[0; 16]).is_none());
    }

    #[test]
    fn a_ticket_remembering_higher_limits_is_refused() {
        let old = TransportParameters {
            initial_max_data: 1000,
            initial_max_streams_bidi: 2,
            ..TransportParameters::default()
        };
        let state = server_state(&old, b"data");
        let same = old.clone();
        assert_eq!(check_offered(&state, &same).as_deref(), Some(&b"data"[..]));
        let higher = TransportParameters {
            initial_max_streams_bidi: 5,
            ..old.clone()
        };
        assert_eq!(
            check_offered(&state, &higher).as_deref(),
            Some(&b"data"[..])
        );
        let lower = TransportParameters {
            initial_max_streams_bidi: 1,
            ..old.clone()
        };
        assert_eq!(check_offered(&state, &lower), None);
        assert_eq!(check_offered(&state[..1], &same), None);
    }
}
