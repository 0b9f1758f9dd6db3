//! Streams: open, close, start, shutdown, send and the receive controls, and the stream
//! events raised from the connection's worker.

pub(crate) mod extra;
pub(crate) mod ids;
pub(crate) mod params;
pub(crate) mod recv;
pub(crate) mod reset;
pub(crate) mod stats;

use core::ffi::c_void;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::api::abi::*;
use crate::api::connection::link::{self, ConnSlot, Connection, on_slot, on_slot_else};
use crate::api::door::boundary;
use crate::api::door::callbacks;
use crate::api::door::handle::{Handle, Kind, Object};
use crate::api::stream::extra::{LocalReset, StreamExtra};
pub(crate) use crate::api::stream::recv::deliver_receive;
use crate::proto::spares::{self, Spares};
use crate::proto::{CommandError, Dir, SendData, Side, StreamId};
use crate::runtime::conn::Conn;
use crate::runtime::worker::WorkerCx;
use recv::RecvState;

/// Every defined `QUIC_STREAM_OPEN_FLAGS` bit.
const OPEN_FLAGS_ALL: u32 = 0xF;
/// MsQuic's default stream priority.
const DEFAULT_PRIORITY: u16 = 0x7FFF;
/// `QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE` before the first IDEAL_SEND_BUFFER_SIZE (then
/// the figure last raised): a fixed 128 KiB (MsQuic's default), about what a TCP socket's
/// send buffer holds.
pub(crate) const IDEAL_SEND_BUFFER_SIZE: u64 = 128 * 1024;
/// The smallest IDEAL_SEND_BUFFER_SIZE raised.
const MIN_IDEAL_SEND_BUFFER_SIZE: u64 = 64 * 1024;

/// One application buffer that StreamSend holds by pointer: in unbuffered mode
/// (`SendBufferingEnabled` off) until written, and in buffered mode until the engine copies
/// the send (at once while the connection has buffer room, or once written bytes free room)
/// or writes it. Handed to the engine as [`SendData::Shared`].
struct AppBuffer {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the bytes belong to the application, which by the MsQuic contract keeps them
// valid and unmodified from StreamSend until the matching SEND_COMPLETE (success or
// Canceled). A buffered send is copied, and the engine drops these buffers, before the
// SEND_COMPLETE that releases it is raised.
// The engine only reads them, from whichever worker thread owns the connection, and drops
// every chunk (after copying the bytes it sends into its output, or, for a plain TCP
// connection's gathered write, after the socket took them or they were copied aside, all
// within one `transmit_gathered` call) before the SEND_COMPLETE that releases them is
// raised: the token sits on the last buffer of each send, the engine writes a stream's
// chunks in order, and events are raised only after the call returns. Nothing here is
// shared mutably.
unsafe impl Send for AppBuffer {}

// SAFETY: the buffer is never written through (`as_ref` only reads), so reads from several
// threads at once would be sound; in practice one worker thread reads it at a time (see the
// `Send` impl).
unsafe impl Sync for AppBuffer {}

impl AsRef<[u8]> for AppBuffer {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` is non-NULL with `len` readable bytes that the application keeps
        // valid until SEND_COMPLETE (see the `Send` impl); `len` is never 0 here.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// The data of one StreamSend.
enum Payload {
    /// Bytes copied already: a buffered send that completed while its stream waited for the
    /// peer's stream limit.
    Copied(Vec<u8>),
    /// Buffered mode: the application's non-empty buffers, by pointer until the worker takes
    /// the send. As MsQuic, the engine copies it (and completes it) then if the connection
    /// has buffer room; a send held for lack of room stays by pointer until written bytes
    /// free room (then its unwritten bytes are copied and it completes) or it is written, so
    /// a slow reader costs no second copy of what the application keeps until SEND_COMPLETE
    /// anyway.
    Buffered(Vec<AppBuffer>),
    /// Unbuffered mode: the application's non-empty buffers, by pointer.
    Borrowed(Vec<AppBuffer>),
}

impl Payload {
    fn is_empty(&self) -> bool {
        match self {
            Self::Copied(v) => v.is_empty(),
            Self::Buffered(v) | Self::Borrowed(v) => v.is_empty(),
        }
    }

    fn len(&self) -> u64 {
        match self {
            Self::Copied(v) => v.len() as u64,
            Self::Buffered(v) | Self::Borrowed(v) => v.iter().map(|b| b.len as u64).sum(),
        }
    }
}

/// The bytes of `bufs`, copied.
fn copy_out(bufs: &[AppBuffer]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bufs.iter().map(|b| b.len).sum());
    for b in bufs {
        v.extend_from_slice(b.as_ref());
    }
    v
}

/// A stream.
pub(crate) struct Stream {
    /// The connection the stream belongs to.
    pub(crate) connection: Arc<Handle<Connection>>,
    /// The `QUIC_STREAM_OPEN_FLAGS` it was opened with (or the peer's direction).
    pub(crate) open_flags: u32,
    state: Mutex<StreamState>,
    /// Reliable reset, shutdown flags, delayed ID credit and statistics.
    pub(crate) extra: StreamExtra,
    /// The receiving side (see `recv`).
    pub(crate) recv: Mutex<RecvState>,
}

/// A stream's mutable state; touched only on its connection's worker.
#[derive(Default)]
struct StreamState {
    id: Option<u64>,
    /// StreamStart (or SEND_FLAG_START) was called.
    start_requested: bool,
    start_flags: u32,
    /// The ID promised in START_COMPLETE while the peer's stream limit holds the stream
    /// back; the engine opens it under this ID once the limit admits it.
    reserved_id: Option<u64>,
    /// START_COMPLETE said PeerAccepted for a reserved ID (within the limits a resumption
    /// ticket remembers): no PEER_ACCEPTED follows when the engine opens it.
    accepted_early: bool,
    /// QUIC_PARAM_STREAM_PRIORITY, if the application set one.
    priority: Option<u16>,
    /// Sends (in call order, from any thread) and shutdowns not yet handed to the engine:
    /// all of them before the stream has an ID, afterwards those whose turn has not come.
    queued: VecDeque<Queued>,
    /// SHUTDOWN_COMPLETE is being raised: StreamSend fails from here on.
    ending: bool,
    /// MsQuic's SendEnabled cleared: the worker took a GRACEFUL or ABORT_SEND shutdown, a FIN
    /// send or the peer's STOP_SENDING, or the stream is the peer's unidirectional one.
    /// StreamSend refuses from here on (INVALID_STATE; ABORTED after STOP_SENDING).
    send_shut: bool,
    /// The peer's STOP_SENDING ended the sending half.
    stop_sending: bool,
    /// StreamSend calls queued so far; each queued send carries its number.
    sends_made: u64,
    /// A GRACEFUL or ABORT_SEND StreamShutdown was called and the worker has not taken it
    /// yet: the number of sends made before it. Sends made after it wait behind it, then are
    /// canceled, as MsQuic's worker takes the shutdown before them.
    shutdown_barrier: Option<u64>,
    done: bool,
    /// The code the stream is reset (and its receiving stopped) with if it ended while the
    /// peer's stream limit held it back: 0 for a close, the application's for an IMMEDIATE
    /// abort.
    abandon_code: u64,
    /// The IDEAL_SEND_BUFFER_SIZE last raised.
    ideal_send: Option<u64>,
}

thread_local! {
    /// Send queues of ended streams, emptied, for the thread's next streams.
    static QUEUES: Spares<VecDeque<Queued>> = const { Spares::new() };
}

/// Frees this thread's spare send queues.
pub(crate) fn release_spares() {
    spares::clear(&QUEUES);
}

enum Queued {
    Send {
        data: Payload,
        flags: u32,
        context: usize,
        /// Its number among the stream's sends (see `StreamState::sends_made`); 0 for one
        /// that no shutdown call holds back.
        seq: u64,
    },
    Shutdown {
        flags: u32,
        error_code: u64,
    },
    /// A buffered send already completed (SEND_COMPLETE raised) while the stream waited for
    /// the peer's stream limit: its bytes still go once the stream opens, unless aborted.
    Completed {
        data: Vec<u8>,
        flags: u32,
    },
}

impl Object for Stream {
    const KIND: Kind = Kind::Stream;
}

impl callbacks::Delivers for Stream {
    type Event = QUIC_STREAM_EVENT;

    fn log(h: usize, event: &QUIC_STREAM_EVENT) {
        crate::api::door::event_log::stream(h, event);
    }
}

impl StreamState {
    /// Whether `q` is a send made after a shutdown call the worker has not taken yet.
    fn held_back(&self, q: &Queued) -> bool {
        matches!((q, self.shutdown_barrier), (Queued::Send { seq, .. }, Some(b)) if *seq > b)
    }
}

impl Stream {
    fn dir(&self) -> Dir {
        if self.open_flags & QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL.0 != 0 {
            Dir::Uni
        } else {
            Dir::Bi
        }
    }

    /// The stream's priority (`QUIC_PARAM_STREAM_PRIORITY`).
    pub(crate) fn priority(&self) -> u16 {
        self.state.lock().priority.unwrap_or(DEFAULT_PRIORITY)
    }

    /// The stream's ID once the engine knows the stream (not a promised one).
    pub(crate) fn started_id(&self) -> Option<u64> {
        self.state.lock().id
    }

    /// The sending half is over for StreamSend (see `StreamState::send_shut`).
    pub(crate) fn shut_send(&self) {
        self.state.lock().send_shut = true;
    }

    /// The peer's STOP_SENDING was delivered: the sending half is over, and StreamSend gives
    /// ABORTED unless we had reset it already (MsQuic then ignores the STOP_SENDING).
    pub(crate) fn shut_send_by_peer(&self) {
        let reset = self.extra.lock().local_reset != LocalReset::None;
        let mut st = self.state.lock();
        st.send_shut = true;
        st.stop_sending |= !reset;
    }

    /// Whether the stream's last event was raised.
    pub(crate) fn is_done(&self) -> bool {
        self.state.lock().done
    }

    /// The stream's ID, once it has one.
    pub(crate) fn id(&self) -> Option<u64> {
        let st = self.state.lock();
        st.id.or(st.reserved_id)
    }
}

/// Raises a stream event unless the stream's close completed or its last event was raised.
/// A stream the application is closing still gets its events, as in MsQuic, until its close
/// call has run on the worker.
pub(crate) fn emit(stream: &Handle<Stream>, event: &mut QUIC_STREAM_EVENT) -> QUIC_STATUS {
    if stream.is_closed() || stream.obj.state.lock().done {
        return QUIC_STATUS_SUCCESS;
    }
    callbacks::deliver(stream, event)
}

/// Raises SHUTDOWN_COMPLETE, the stream's last event, once (AppCloseInProgress set if the
/// application is closing the stream); a StreamClose waiting for it completes on its return.
fn emit_final(stream: &Handle<Stream>, payload: QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD) {
    {
        let mut st = stream.obj.state.lock();
        if st.done || stream.is_closed() {
            return;
        }
        st.done = true;
    }
    let closing = stream.is_closed_by_app();
    let payload = payload.with_flags(
        closing,
        payload.connection_shutdown_by_app(),
        payload.connection_closed_remotely(),
    );
    let mut ev = event(
        QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE,
        QUIC_STREAM_EVENT_PAYLOAD {
            SHUTDOWN_COMPLETE: payload,
        },
    );
    callbacks::deliver(stream, &mut ev);
    stream.final_event_returned();
}

/// A stream event.
pub(crate) fn event(
    ty: QUIC_STREAM_EVENT_TYPE,
    payload: QUIC_STREAM_EVENT_PAYLOAD,
) -> QUIC_STREAM_EVENT {
    QUIC_STREAM_EVENT { Type: ty, payload }
}

/// `StreamOpen`: a local object with no ID; nothing happens on the wire until it starts.
pub(crate) unsafe extern "C" fn open(
    connection: HQUIC,
    flags: QUIC_STREAM_OPEN_FLAGS,
    handler: QUIC_STREAM_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::call("StreamOpen", || {
        // SAFETY: `connection` is an application handle; `of_handle` validates it (a stream
        // stands for its connection, as in MsQuic).
        let Some(conn) = (unsafe { link::of_handle(connection) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let Some(handler) = handler else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if out.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // As MsQuic: a connection closed on this side (by the application, its close, or the
        // transport) takes no new stream, nor one the peer closed.
        let (closed_locally, closed_remotely) = link::closed_sides(&conn);
        if conn.is_closed_by_app() || closed_locally {
            return QUIC_STATUS_INVALID_STATE;
        }
        if closed_remotely {
            return QUIC_STATUS_ABORTED;
        }
        if flags.0 & !OPEN_FLAGS_ALL != 0 {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let stream = Stream {
            connection: conn,
            open_flags: flags.0,
            state: Mutex::new(Default::default()),
            extra: StreamExtra::default(),
            recv: Mutex::new(RecvState::new(
                flags.0 & QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS.0 != 0,
            )),
        };
        ids::opened(&stream);
        let h = Handle::into_hquic(Handle::new(stream, context, handler as *mut c_void));
        // SAFETY: `out` is non-NULL and writable by the API contract.
        unsafe { out.write(h) };
        QUIC_STATUS_SUCCESS
    })
}

/// `StreamClose`: abandons the stream if it is still running (both directions aborted with
/// error 0). As in MsQuic, a stream whose SHUTDOWN_COMPLETE was not raised yet gets its last
/// events inside the call: SEND_COMPLETE (Canceled) for sends not yet taken,
/// SEND_SHUTDOWN_COMPLETE, and SHUTDOWN_COMPLETE with AppCloseInProgress. The handle is freed
/// once SHUTDOWN_COMPLETE has returned; until then it still answers GetContext, SetContext,
/// SetCallbackHandler and GetParam.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `begin_close` validates it.
        let Some(stream) = (unsafe { Handle::<Stream>::begin_close(h) }) else {
            return;
        };
        stream.obj.extra.counted.release();
        let s = stream.clone();
        on_slot(&stream.obj.connection, true, move |cx, slot| {
            let id = s.obj.state.lock().id;
            recv::release(&s);
            if let Some(id) = id {
                ids::closed(cx, slot, &s, id);
                if slot.stream(StreamId(id)).is_some() {
                    abort_for_close(slot, &s, StreamId(id));
                }
            }
            let (shutdown, by_app, remotely, code, status) = slot.stream_close_info();
            abandon(&s, shutdown, by_app, remotely, code, status);
            // The abort goes out once the stream's last events are raised (what the engine
            // still reports of the stream is ignored: it left the slot).
            slot.with_engine(cx, |_| ());
        });
        if link::is_finished(&stream.obj.connection) {
            // The connection was over before this close reached it: the stream (never
            // started) ends here; no other callback of the connection can run now.
            abandon(&stream, true, false, false, 0, QUIC_STATUS_SUCCESS);
        }
        // Completes the close unless SHUTDOWN_COMPLETE is still running (a close from inside
        // it); its return completes it then.
        stream.end_close();
    });
}

/// The last events of a stream closed before its SHUTDOWN_COMPLETE: queued sends canceled,
/// SEND_SHUTDOWN_COMPLETE (not graceful) if not raised, SHUTDOWN_COMPLETE with the
/// connection's state. Nothing if SHUTDOWN_COMPLETE was raised already.
fn abandon(
    stream: &Handle<Stream>,
    conn_shutdown: bool,
    by_app: bool,
    remotely: bool,
    error_code: u64,
    status: QUIC_STATUS,
) {
    if stream.obj.is_done() {
        return;
    }
    cancel_queued(stream);
    // A peer's unidirectional stream has no sending half to report.
    let side = if link::is_server(&stream.obj.connection) {
        Side::Server
    } else {
        Side::Client
    };
    if stream.obj.id().is_none_or(|id| StreamId(id).can_send(side)) {
        send_shutdown_complete(stream, false);
    }
    let payload = QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD {
        ConnectionShutdown: u8::from(conn_shutdown),
        Bitfields: 0,
        ConnectionErrorCode: error_code,
        ConnectionCloseStatus: status,
    }
    .with_flags(false, by_app, remotely);
    emit_final(stream, payload);
}

/// StreamClose of a started stream: both directions aborted with error 0, the stream leaves
/// its slot, and the sends the engine completes or cancels are reported now (a close made
/// inside a callback runs while the connection's events wait to be delivered). The engine
/// makes no progress before the stream has left the slot: its StreamClosed (once the abort is
/// written), delivered by a progress made here or by an API call from one of these
/// callbacks, would otherwise raise SHUTDOWN_COMPLETE ahead of the canceled sends. The caller
/// lets it progress after the stream's last events.
fn abort_for_close(slot: &Rc<ConnSlot>, stream: &Handle<Stream>, id: StreamId) {
    let sends = slot
        .conn()
        .map(|c| {
            c.with_engine_quiet(|e| {
                let _ = e.reset(id, 0);
                let _ = e.stop_sending(id, 0);
                e.take_send_events(id)
            })
        })
        .unwrap_or_default();
    slot.remove_stream(id.0);
    for (token, canceled) in sends {
        send_complete(stream, token, canceled);
    }
}

/// `StreamStart`: takes an ID and starts the stream; START_COMPLETE reports the outcome.
pub(crate) unsafe extern "C" fn start(h: HQUIC, flags: QUIC_STREAM_START_FLAGS) -> QUIC_STATUS {
    boundary::call("StreamStart", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(stream) = (unsafe { Handle::<Stream>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        {
            let mut st = stream.obj.state.lock();
            if st.start_requested {
                return QUIC_STATUS_INVALID_STATE;
            }
            st.start_requested = true;
            st.start_flags = flags.0;
        }
        let conn = &stream.obj.connection;
        if link::is_finished(conn) && link::closed_sides(conn).1 {
            // As MsQuic: refused at the call once the peer closed the connection.
            stream.obj.state.lock().start_requested = false;
            return QUIC_STATUS_ABORTED;
        }
        let s = stream.clone();
        let late = stream.clone();
        on_slot_else(
            conn,
            false,
            move |cx, slot| try_start(cx, slot, &s),
            // The connection is over (closed locally: MsQuic's START_COMPLETE says
            // INVALID_STATE).
            move || start_failed(&late, QUIC_STATUS_INVALID_STATE),
        );
        QUIC_STATUS_PENDING
    })
}

/// Sets `QUIC_PARAM_STREAM_PRIORITY`: stored at once, and given to the engine on the
/// connection's worker once the stream has an ID (at start otherwise).
pub(crate) fn set_priority(stream: &Arc<Handle<Stream>>, priority: u16) {
    let id = {
        let mut st = stream.obj.state.lock();
        st.priority = Some(priority);
        st.id
    };
    if let Some(id) = id {
        on_slot(&stream.obj.connection, false, move |cx, slot| {
            slot.with_engine(cx, |e| e.set_priority(StreamId(id), priority));
        });
    }
}

/// Gives a requested stream its ID if the peer's limit allows. Otherwise, as in MsQuic, the
/// stream still starts: START_COMPLETE reports the ID it will have with PeerAccepted clear,
/// sends and shutdowns stay queued, and once the limit admits it (in start order) the engine
/// opens it under that ID and PEER_ACCEPTED follows under INDICATE_PEER_ACCEPT. FAIL_BLOCKED
/// fails such a start with STREAM_LIMIT_REACHED instead. A client's start before the
/// handshake is blocked the same way (MsQuic's limits are 0 until the server's transport
/// parameters arrive); a server's waits for CONNECTED. IMMEDIATE sends an empty STREAM frame so the peer sees
/// PEER_STREAM_STARTED before any data; PRIORITY_WORK is accepted and has no effect.
fn try_start(cx: &WorkerCx, slot: &Rc<ConnSlot>, stream: &Arc<Handle<Stream>>) {
    let (abandoned, reserved, priority, flags, abandon_code) = {
        let st = stream.obj.state.lock();
        (
            st.done || stream.is_closed_by_app(),
            st.reserved_id,
            st.priority,
            st.start_flags,
            st.abandon_code,
        )
    };
    if abandoned && reserved.is_none() {
        return;
    }
    let dir = stream.obj.dir();
    let d = usize::from(dir == Dir::Uni);
    let reserved_next = slot.reserved_next(d).get();
    // The engine's next index for `dir`, and the outcome of opening if it is this stream's
    // turn (promised IDs are opened in order, before any new start).
    let opened = if slot.params_known() || link::early_streams(slot) {
        slot.with_engine(cx, |e| {
            let next = e.max_streams(dir).0 - e.streams_available(dir);
            let turn = match reserved {
                Some(r) => StreamId(r).index() == next,
                None => reserved_next <= next,
            };
            let r = if turn {
                e.open(dir)
            } else {
                Err(CommandError::StreamLimit)
            };
            if let Ok(id) = r {
                if let Some(p) = priority {
                    let _ = e.set_priority(id, p);
                }
                if abandoned {
                    // Closed (or aborted IMMEDIATE) while waiting: the promised ID is used up
                    // and abandoned at once.
                    let _ = e.reset(id, abandon_code);
                    let _ = e.stop_sending(id, abandon_code);
                }
            }
            (next, e.side(), r)
        })
    } else if !link::is_server(link::connection_of(slot)) && !slot.is_shutting_down() {
        // A client before the handshake: as in MsQuic, whose limits are 0 until the server's
        // transport parameters arrive, the stream is blocked by the stream limit.
        Some((
            0,
            crate::proto::Side::Client,
            Err(CommandError::StreamLimit),
        ))
    } else {
        None
    };
    let fail_blocked = flags & QUIC_STREAM_START_FLAG_FAIL_BLOCKED.0 != 0;
    match opened {
        Some((_, _, Ok(_))) if abandoned => {}
        Some((_, _, Ok(id))) => {
            stream.obj.extra.id_unblocked();
            stream.obj.state.lock().id = Some(id.0);
            slot.add_stream(id.0, stream.clone());
            recv::on_started(cx, slot, stream, id);
            if reserved.is_some() {
                let accepted_early = stream.obj.state.lock().accepted_early;
                if flags & QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT.0 != 0 && !accepted_early {
                    let mut ev = event(
                        QUIC_STREAM_EVENT_PEER_ACCEPTED,
                        QUIC_STREAM_EVENT_PAYLOAD {
                            SEND_SHUTDOWN_COMPLETE:
                                QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE_PAYLOAD::default(),
                        },
                    );
                    emit(stream, &mut ev);
                }
            } else {
                let mut ev = event(
                    QUIC_STREAM_EVENT_START_COMPLETE,
                    QUIC_STREAM_EVENT_PAYLOAD {
                        START_COMPLETE: QUIC_STREAM_EVENT_START_COMPLETE_PAYLOAD::new(
                            QUIC_STATUS_SUCCESS,
                            id.0,
                            true,
                        ),
                    },
                );
                emit(stream, &mut ev);
            }
            refresh_ideal_send(slot, stream);
            drain_queued(cx, slot, stream);
            if flags & QUIC_STREAM_START_FLAG_IMMEDIATE.0 != 0 {
                // IMMEDIATE: the peer sees the stream now (an empty STREAM frame at offset
                // 0), unless data or a FIN already went with it.
                slot.with_engine(cx, |e| e.announce(id));
            }
        }
        Some((_, _, Err(CommandError::StreamLimit))) if fail_blocked && reserved.is_none() => {
            start_failed(stream, QUIC_STATUS_STREAM_LIMIT_REACHED)
        }
        Some((next, side, Err(CommandError::StreamLimit))) if !slot.is_shutting_down() => {
            stream.obj.extra.id_blocked();
            if reserved.is_none() {
                let index = reserved_next.max(next);
                slot.reserved_next(d).set(index + 1);
                let id = StreamId::new(side, dir, index);
                // A client before the handshake with a resumption ticket: MsQuic's limits are
                // the remembered ones, so a stream within them is accepted at once.
                let accepted_early = !slot.params_known()
                    && link::remembered_allows(link::connection_of(slot), dir, index);
                {
                    let mut st = stream.obj.state.lock();
                    st.reserved_id = Some(id.0);
                    st.accepted_early = accepted_early;
                }
                let mut ev = event(
                    QUIC_STREAM_EVENT_START_COMPLETE,
                    QUIC_STREAM_EVENT_PAYLOAD {
                        START_COMPLETE: QUIC_STREAM_EVENT_START_COMPLETE_PAYLOAD::new(
                            QUIC_STATUS_SUCCESS,
                            id.0,
                            accepted_early,
                        ),
                    },
                );
                emit(stream, &mut ev);
            }
            slot.block_start(stream.clone())
        }
        None if !slot.is_shutting_down() => slot.block_start(stream.clone()),
        // Promised an ID already: it ends with the connection (see ConnSlot::complete).
        _ if reserved.is_some() => slot.block_start(stream.clone()),
        // As MsQuic: ABORTED once the peer closed the connection, INVALID_STATE after a local
        // close.
        _ if slot.is_closed_remotely() => start_failed(stream, QUIC_STATUS_ABORTED),
        _ => start_failed(stream, QUIC_STATUS_INVALID_STATE),
    }
}

fn start_failed(stream: &Arc<Handle<Stream>>, status: QUIC_STATUS) {
    let mut ev = event(
        QUIC_STREAM_EVENT_START_COMPLETE,
        QUIC_STREAM_EVENT_PAYLOAD {
            START_COMPLETE: QUIC_STREAM_EVENT_START_COMPLETE_PAYLOAD::new(status, 0, false),
        },
    );
    emit(stream, &mut ev);
    let shutdown_on_fail = {
        let mut st = stream.obj.state.lock();
        st.start_requested = false;
        st.start_flags & QUIC_STREAM_START_FLAG_SHUTDOWN_ON_FAIL.0 != 0
    };
    if shutdown_on_fail {
        // SHUTDOWN_ON_FAIL: the failed start also ends the stream; nothing was on the wire,
        // and the sends queued for the start are canceled.
        let queued = std::mem::take(&mut stream.obj.state.lock().queued);
        for q in queued {
            if let Queued::Send { context, .. } = q {
                send_complete(stream, context as u64, true);
            }
        }
        shutdown_complete(stream);
    }
}

/// The connection ended while the stream's start waited for the handshake (a server's
/// StreamStart before CONNECTED): the start fails as one reaching a closed connection does
/// (ABORTED once the peer closed it, INVALID_STATE otherwise), so the application learns of
/// it and closes the stream, which cancels its queued sends (at once with SHUTDOWN_ON_FAIL).
pub(crate) fn start_refused(slot: &ConnSlot, stream: &Arc<Handle<Stream>>) {
    let status = if slot.is_closed_remotely() {
        QUIC_STATUS_ABORTED
    } else {
        QUIC_STATUS_INVALID_STATE
    };
    start_failed(stream, status);
}

/// Starts the streams that were waiting for the peer's stream limit or the handshake.
pub(crate) fn retry_blocked_starts(slot: &Rc<ConnSlot>, cx: &WorkerCx) {
    let mut blocked = slot.take_blocked_starts();
    // Promised IDs first and in order: the engine hands out indices in sequence.
    blocked.sort_by_key(|s| {
        s.obj
            .state
            .lock()
            .reserved_id
            .map_or(u64::MAX, |id| id >> 2)
    });
    for stream in blocked {
        try_start(cx, slot, &stream);
    }
}

/// `StreamShutdown`: flags as [`reset::valid_shutdown`] allows, run (inline or
/// queued) as [`reset::dispatch`] decides.
pub(crate) unsafe extern "C" fn shutdown(
    h: HQUIC,
    flags: QUIC_STREAM_SHUTDOWN_FLAGS,
    error_code: QUIC_UINT62,
) -> QUIC_STATUS {
    boundary::call("StreamShutdown", || {
        let f = flags.0;
        let valid = reset::valid_shutdown(f, error_code);
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(stream) = (unsafe { Handle::<Stream>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if !valid {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let f = reset::known_flags(f);
        if f == 0 {
            // Only bits MsQuic does not define: accepted, nothing to do.
            return QUIC_STATUS_PENDING;
        }
        let ends_sending = f
            & (QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL.0 | QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND.0)
            != 0;
        let before = {
            let mut st = stream.obj.state.lock();
            if ends_sending && st.shutdown_barrier.is_none() {
                st.shutdown_barrier = Some(st.sends_made);
            }
            st.sends_made
        };
        let s = stream.clone();
        reset::dispatch(&stream, f, move |cx, slot| {
            let (direct, late) = {
                let mut st = s.obj.state.lock();
                let mut late = Vec::new();
                if ends_sending {
                    // As MsQuic, whose worker clears SendEnabled as it takes the shutdown,
                    // started or not: later StreamSend calls are refused, and the sends made
                    // since this call are canceled before the shutdown goes ahead.
                    st.send_shut = true;
                    st.shutdown_barrier = None;
                    for q in std::mem::take(&mut st.queued) {
                        match q {
                            Queued::Send { seq, context, .. } if seq > before => late.push(context),
                            q => st.queued.push_back(q),
                        }
                    }
                }
                if st.id.is_none()
                    && st.reserved_id.is_some()
                    && f & QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE.0 != 0
                    && s.obj.extra.lock().reliable_offset == 0
                {
                    // Started but held back by the peer's stream limit: as in MsQuic, IMMEDIATE
                    // ends it now; the reset goes once the limit admits its ID.
                    st.abandon_code = error_code;
                    drop(st);
                    abort_blocked(&s, late);
                    return;
                }
                // Behind sends not yet handed to the engine, so a FIN follows their data.
                let direct = if st.id.is_none() || !st.queued.is_empty() {
                    st.queued.push_back(Queued::Shutdown {
                        flags: f,
                        error_code,
                    });
                    None
                } else {
                    st.id
                };
                (direct, late)
            };
            for context in late {
                send_complete(&s, context as u64, true);
            }
            match direct {
                Some(id) => shutdown_now(cx, slot, &s, StreamId(id), f, error_code),
                None => drain_queued(cx, slot, &s),
            }
        })
    })
}

/// ABORT | IMMEDIATE on a stream the peer's limit holds back: sends not yet taken complete as
/// canceled, then SEND_SHUTDOWN_COMPLETE and SHUTDOWN_COMPLETE, as MsQuic raises them. The
/// stream stays among the blocked starts, so its ID is used (and reset) in turn. `late` are
/// sends made after the shutdown call, canceled after the earlier ones.
fn abort_blocked(stream: &Handle<Stream>, late: Vec<usize>) {
    let canceled: Vec<usize> = {
        let mut st = stream.obj.state.lock();
        let (sends, rest) = std::mem::take(&mut st.queued)
            .into_iter()
            .partition::<VecDeque<_>, _>(|q| matches!(q, Queued::Send { .. }));
        st.queued = rest;
        sends
            .into_iter()
            .filter_map(|q| match q {
                Queued::Send { context, .. } => Some(context),
                _ => None,
            })
            .collect()
    };
    for context in canceled.into_iter().chain(late) {
        send_complete(stream, context as u64, true);
    }
    send_shutdown_complete(stream, false);
    shutdown_complete(stream);
}

fn shutdown_now(
    cx: &WorkerCx,
    slot: &Rc<ConnSlot>,
    stream: &Handle<Stream>,
    id: StreamId,
    flags: u32,
    error_code: u64,
) {
    let apply = |e: &mut crate::proto::Connection| {
        if flags & QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL.0 != 0 {
            let _ = e.finish(id);
        }
        if flags & QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND.0 != 0 {
            reset::abort_send(e, stream, id, error_code);
        }
        if flags & QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE.0 != 0
            && e.stop_sending(id, error_code).is_ok()
        {
            stream.obj.extra.lock().stopped_receiving = true;
        }
    };
    match slot.conn() {
        // INLINE: processed inside the call, but what it makes happen (the reset written, the
        // events that follow) comes after the calling callback, as in MsQuic.
        Some(conn) if flags & QUIC_STREAM_SHUTDOWN_FLAG_INLINE.0 != 0 => {
            conn.with_engine_quiet(apply);
            let key = slot.key();
            stream
                .obj
                .connection
                .obj
                .worker()
                .post(Box::new(move |cx: &WorkerCx| {
                    if let Some(slot) = link::slot(key) {
                        slot.with_engine(cx, |_| ());
                    }
                }));
        }
        _ => {
            slot.with_engine(cx, apply);
        }
    }
    reset::after_shutdown(stream, flags);
}

/// `StreamSend`: in buffered mode (the default) the buffers are copied, and SEND_COMPLETE
/// follows at once, when the worker takes the send if the connection has buffer room, else
/// once room frees or the data is written (see [`Payload::Buffered`]); with
/// `SendBufferingEnabled` off they are held by pointer and SEND_COMPLETE follows once all
/// the data is written to the socket (QMux's implicit acknowledgement). Either way it comes
/// with Canceled if the stream ends first.
pub(crate) unsafe extern "C" fn send(
    h: HQUIC,
    buffers: *const QUIC_BUFFER,
    buffer_count: u32,
    flags: QUIC_SEND_FLAGS,
    client_context: *mut c_void,
) -> QUIC_STATUS {
    boundary::call("StreamSend", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(stream) = (unsafe { Handle::<Stream>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if buffers.is_null() && buffer_count > 0 {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let list = if buffer_count == 0 {
            &[][..]
        } else {
            // SAFETY: non-NULL with `buffer_count` elements by the API contract.
            unsafe { core::slice::from_raw_parts(buffers, buffer_count as usize) }
        };
        if list.iter().any(|b| b.Length > 0 && b.Buffer.is_null()) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let bufs = list
            .iter()
            .filter(|b| b.Length > 0)
            .map(|b| AppBuffer {
                ptr: b.Buffer,
                len: b.Length as usize,
            })
            .collect();
        let data = if link::send_buffering(&stream.obj.connection) {
            Payload::Buffered(bufs)
        } else {
            Payload::Borrowed(bufs)
        };
        let f = flags.0;
        // As MsQuic: ABORTED once the peer closed the connection; once the sending half is
        // over (see `StreamState::send_shut`) or the stream ended, INVALID_STATE, or ABORTED
        // after the peer's STOP_SENDING. A refused send raises no SEND_COMPLETE.
        let conn = &stream.obj.connection;
        if link::closed_sides(conn).1 {
            return QUIC_STATUS_ABORTED;
        }
        // From a callback on the worker the call runs inline: what completes at once is
        // raised after that callback, never nested inside StreamSend.
        let nested = stream.obj.connection.obj.worker().is_current();
        // MsQuic takes an unbuffered send made on the worker at once (its inline flush), even
        // ahead of a shutdown call still queued; any other send waits for its turn.
        let inline_flush = nested && matches!(data, Payload::Borrowed(_));
        let start_now = {
            let mut st = stream.obj.state.lock();
            if st.stop_sending {
                return QUIC_STATUS_ABORTED;
            }
            if st.done || st.ending || st.send_shut {
                return QUIC_STATUS_INVALID_STATE;
            }
            let start = f & QUIC_SEND_FLAG_START.0 != 0 && !st.start_requested;
            if start {
                st.start_requested = true;
            }
            // Queued at once (under the same lock as the check, so that the stream's end
            // cancels it), in the caller's order: a send made from a callback on the worker
            // never overtakes one an application thread made earlier and the worker has not
            // taken yet.
            st.sends_made += 1;
            let seq = if inline_flush { 0 } else { st.sends_made };
            if st.queued.capacity() == 0 {
                st.queued = spares::take(&QUEUES).unwrap_or_default();
            }
            st.queued.push_back(Queued::Send {
                data,
                flags: f,
                context: client_context as usize,
                seq,
            });
            start
        };
        stream.obj.extra.count_send(list);
        let s = stream.clone();
        let fin = f & QUIC_SEND_FLAG_FIN.0 != 0;
        on_slot(&stream.obj.connection, false, move |cx, slot| {
            if fin {
                // MsQuic's worker clears SendEnabled as it takes a FIN send, started or not
                // (an earlier call's turn on the worker may have taken it already).
                s.obj.shut_send();
            }
            if start_now {
                try_start(cx, slot, &s);
            } else {
                drain_queued(cx, slot, &s);
            }
            // A stream with its ID has no blocked sends (see `complete_blocked_sends`).
            if nested && s.obj.state.lock().id.is_none() {
                let s = s.clone();
                s.clone()
                    .obj
                    .connection
                    .obj
                    .worker()
                    .post(Box::new(move |_: &WorkerCx| complete_blocked_sends(&s)));
            } else {
                complete_blocked_sends(&s);
            }
        });
        QUIC_STATUS_PENDING
    })
}

/// On a started stream the peer's stream limit holds back (START_COMPLETE raised, no ID
/// yet), buffered sends complete at once while less than the ideal send buffer is waiting,
/// as on an open stream (MsQuic copies them into its send buffer): their bytes stay queued
/// for when the stream opens, and an abort meanwhile cancels nothing.
fn complete_blocked_sends(stream: &Handle<Stream>) {
    let mut done = Vec::new();
    {
        let mut st = stream.obj.state.lock();
        if st.id.is_some() || st.reserved_id.is_none() || st.done || st.ending {
            return;
        }
        let mut waiting: u64 = 0;
        let barrier = st.shutdown_barrier;
        for q in st.queued.iter_mut() {
            match q {
                Queued::Completed { data, .. } => waiting += data.len() as u64,
                Queued::Send {
                    data: Payload::Buffered(bufs),
                    flags,
                    context,
                    seq,
                } if waiting < IDEAL_SEND_BUFFER_SIZE && barrier.is_none_or(|b| *seq <= b) => {
                    let data = copy_out(bufs);
                    waiting += data.len() as u64;
                    done.push(*context);
                    *q = Queued::Completed {
                        data,
                        flags: *flags,
                    };
                }
                _ => break,
            }
        }
    }
    for context in done {
        send_complete(stream, context as u64, false);
    }
}

/// Hands the stream's queued sends and shutdowns to the engine, oldest first, once it has an
/// ID. One at a time: a callback raised meanwhile may queue more, which wait their turn. A
/// send with an abort of the sending side queued behind it is canceled: the abort came
/// before its data was taken (unless a reliable offset asks for the data to be delivered).
fn drain_queued(cx: &WorkerCx, slot: &Rc<ConnSlot>, stream: &Arc<Handle<Stream>>) {
    loop {
        let sending = {
            let st = stream.obj.state.lock();
            st.id.is_some()
                && st
                    .queued
                    .front()
                    .is_some_and(|q| matches!(q, Queued::Send { .. }) && !st.held_back(q))
        };
        if sending {
            // Raised before the send leaves the queue: the stream may end inside the event,
            // and its end cancels only what is still queued.
            refresh_ideal_send(slot, stream);
        }
        let reliable = stream.obj.extra.lock().reliable_offset != 0;
        let (id, next, aborted) = {
            let mut st = stream.obj.state.lock();
            let Some(id) = st.id else { return };
            if st.queued.front().is_some_and(|q| st.held_back(q)) {
                // Made after a shutdown call the worker has not taken: that call's turn
                // puts the shutdown ahead of it.
                return;
            }
            let Some(next) = st.queued.pop_front() else {
                return;
            };
            let aborted = st.queued.iter().any(|q| {
                matches!(q, Queued::Shutdown { flags, .. }
                    if flags & QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND.0 != 0)
            }) && !reliable;
            (StreamId(id), next, aborted)
        };
        match next {
            Queued::Send { context, .. } if aborted => send_complete(stream, context as u64, true),
            Queued::Completed { .. } if aborted => {}
            Queued::Send {
                data,
                flags,
                context,
                ..
            } => send_now(cx, slot, stream, id, data, flags, Some(context)),
            Queued::Completed { data, flags } => {
                send_now(cx, slot, stream, id, Payload::Copied(data), flags, None)
            }
            Queued::Shutdown { flags, error_code } => {
                shutdown_now(cx, slot, stream, id, flags, error_code)
            }
        }
    }
}

fn send_now(
    cx: &WorkerCx,
    slot: &Rc<ConnSlot>,
    stream: &Arc<Handle<Stream>>,
    id: StreamId,
    data: Payload,
    flags: u32,
    context: Option<usize>,
) {
    if flags & QUIC_SEND_FLAG_FIN.0 != 0 {
        stream.obj.shut_send();
    }
    // ALLOW_0_RTT: the bytes may go in 0-RTT (TLS early data) if all before them may.
    let early = (flags & QUIC_SEND_FLAG_ALLOW_0_RTT.0 != 0).then(|| data.len());
    // `None`: the send completed already (see `complete_blocked_sends`); only its bytes go.
    let Some(context) = context else {
        if let Payload::Copied(v) = data {
            slot.with_engine(cx, |e| {
                if e.send_copied(id, v).is_ok() {
                    if let Some(len) = early {
                        e.allow_early(id, len);
                    }
                    if flags & QUIC_SEND_FLAG_FIN.0 != 0 {
                        let _ = e.finish(id);
                    }
                }
            });
        }
        return;
    };
    let empty = data.is_empty();
    let fin = flags & QUIC_SEND_FLAG_FIN.0 != 0;
    let token = Some(context as u64);
    // Buffered mode: the engine copies the send and completes it at once while the
    // connection has buffer room (less than the ideal send buffer copied and not yet
    // written, as MsQuic's per-connection send buffer); otherwise the send is held by pointer
    // and completes once written, or once written bytes free room, whichever comes first
    // (then its unwritten bytes are copied). "At once" is an engine event, delivered in order
    // with the others and never as a callback nested inside the application's StreamSend.
    // The ideal is the fixed MsQuic default, not the figure raised in IDEAL_SEND_BUFFER_SIZE:
    // the socket's buffer can grow to megabytes, and copying that much ahead of the peer's
    // flow control is not what MsQuic does (its figure grows only with the congestion window).
    let completes_now = empty;
    // Without progress until a refused send is reported: delivering the engine's events
    // first could end the stream (StreamClosed) and drop the report after SHUTDOWN_COMPLETE.
    let conn = slot.conn();
    let queued = conn.as_ref().map(|c| {
        c.with_engine_quiet(|e| {
            let r = match data {
                // Its SendComplete must come before the stream's end: a stream already gone
                // from the engine (its StreamClosed still to be delivered) cancels it here.
                _ if empty && (e.is_closed() || e.send_pending(id).is_none()) => {
                    Err(CommandError::UnknownStream)
                }
                _ if empty => Ok(()),
                Payload::Buffered(bufs) => {
                    let parts = bufs
                        .into_iter()
                        .map(|b| SendData::Shared(Arc::new(b)))
                        .collect();
                    e.send_buffered(id, parts, context as u64, IDEAL_SEND_BUFFER_SIZE)
                        .map(|_| ())
                }
                Payload::Copied(v) => e.send(id, SendData::Owned(v), token),
                Payload::Borrowed(bufs) => {
                    // One chunk per buffer; only the last carries the token, so the one
                    // SEND_COMPLETE comes once every byte of this send was written. `send`
                    // fails only on the stream's state, which pushing data does not change:
                    // either every buffer is queued or the first is refused and none is.
                    let last = bufs.len() - 1;
                    bufs.into_iter().enumerate().try_for_each(|(i, b)| {
                        e.send(
                            id,
                            SendData::Shared(Arc::new(b)),
                            token.filter(|_| i == last),
                        )
                    })
                }
            };
            if let (Ok(()), Some(len)) = (&r, early) {
                e.allow_early(id, len);
            }
            if r.is_ok() && completes_now {
                e.complete_send(id, context as u64);
            }
            if r.is_ok() && fin {
                let _ = e.finish(id);
            }
            r.is_ok()
        })
    });
    if queued != Some(true) {
        send_complete(stream, context as u64, true);
    }
    if let Some(c) = conn {
        c.with_engine(cx, |_| ());
    }
}

/// Raises IDEAL_SEND_BUFFER_SIZE when the figure differs from the one last raised, whether
/// sends are buffered or not (as MsQuic, whose buffering also follows the figure). The figure
/// is the socket's send capacity (`SO_SNDBUF`, which TCP autotuning may grow): with two sends of that size outstanding, one is always queued behind the one the
/// socket is draining, so the pipe never runs dry while the application refills.
pub(crate) fn refresh_ideal_send(slot: &ConnSlot, stream: &Handle<Stream>) {
    let Some(Some(size)) = slot.conn().map(|c| ideal_send_bytes(&c)) else {
        return;
    };
    {
        let mut st = stream.obj.state.lock();
        if st.done || st.ideal_send == Some(size) {
            return;
        }
        st.ideal_send = Some(size);
    }
    let mut ev = event(
        QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE,
        QUIC_STREAM_EVENT_PAYLOAD {
            IDEAL_SEND_BUFFER_SIZE: QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE_PAYLOAD {
                ByteCount: size,
            },
        },
    );
    emit(stream, &mut ev);
}

/// The ideal send buffer of connection `conn`, as IDEAL_SEND_BUFFER_SIZE raises it: the
/// socket's send capacity, at least [`MIN_IDEAL_SEND_BUFFER_SIZE`]; `None` if asked from
/// inside an engine command.
pub(crate) fn ideal_send_bytes(conn: &Conn) -> Option<u64> {
    let size = conn.send_buffer_size().ok()?;
    Some((size as u64).max(MIN_IDEAL_SEND_BUFFER_SIZE))
}

/// `QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE`: the figure last raised, else the fixed
/// [`IDEAL_SEND_BUFFER_SIZE`].
pub(crate) fn ideal_send_buffer_size(stream: &Handle<Stream>) -> u64 {
    stream
        .obj
        .state
        .lock()
        .ideal_send
        .unwrap_or(IDEAL_SEND_BUFFER_SIZE)
}

// ---- Events raised on the connection's worker ----

/// The peer opened a stream: PEER_STREAM_STARTED on the connection; the application owns
/// the new handle and must set its callback inside the event.
pub(crate) fn peer_started(slot: &Rc<ConnSlot>, cx: &WorkerCx, conn: &Rc<Conn>, id: StreamId) {
    let _ = cx;
    let (opened_early, early_end) = conn.inspect(|e| e.stream_early(id));
    let uni = id.dir() == Dir::Uni;
    let mut flags = if uni {
        QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL.0
    } else {
        0
    };
    if opened_early {
        // Opened by a frame that came in 0-RTT, as MsQuic flags it.
        flags |= QUIC_STREAM_OPEN_FLAG_0_RTT.0;
    }
    let state = StreamState {
        id: Some(id.0),
        start_requested: true,
        // The peer's unidirectional stream has no sending half (MsQuic's SendEnabled is
        // never set on it).
        send_shut: uni,
        ..Default::default()
    };
    let stream = Handle::new(
        Stream {
            connection: link::connection_of(slot).clone(),
            open_flags: flags,
            state: Mutex::new(state),
            extra: StreamExtra::default(),
            recv: Mutex::new(RecvState::peer_starting()),
        },
        core::ptr::null_mut(),
        core::ptr::null_mut(),
    );
    stream.obj.extra.set_early_received(early_end);
    slot.add_stream(id.0, stream.clone());
    let started = stream.clone();
    let mut ev = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            PEER_STREAM_STARTED: QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED_PAYLOAD {
                Stream: Handle::into_hquic(stream.clone()),
                Flags: QUIC_STREAM_OPEN_FLAGS(flags),
            },
        },
    };
    slot.emit(&mut ev);
    // SAFETY: PEER_STREAM_STARTED is the union member written above.
    let flags = unsafe { ev.payload.PEER_STREAM_STARTED.Flags.0 };
    ids::peer_started(cx, slot, &stream, id, flags);
    recv::peer_start_done(&started);
}

/// The peer reset its sending half.
pub(crate) fn peer_send_aborted(stream: &Handle<Stream>, error_code: u64) {
    let mut ev = event(
        QUIC_STREAM_EVENT_PEER_SEND_ABORTED,
        QUIC_STREAM_EVENT_PAYLOAD {
            PEER_SEND_ABORTED: QUIC_STREAM_EVENT_ERROR_CODE_PAYLOAD {
                ErrorCode: error_code,
            },
        },
    );
    emit(stream, &mut ev);
}

/// The peer asked us to stop sending.
pub(crate) fn peer_receive_aborted(stream: &Handle<Stream>, error_code: u64) {
    let mut ev = event(
        QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED,
        QUIC_STREAM_EVENT_PAYLOAD {
            PEER_RECEIVE_ABORTED: QUIC_STREAM_EVENT_ERROR_CODE_PAYLOAD {
                ErrorCode: error_code,
            },
        },
    );
    emit(stream, &mut ev);
}

/// A send's data was written, copied (buffered mode), or will never be sent.
pub(crate) fn send_complete(stream: &Handle<Stream>, token: u64, canceled: bool) {
    let mut ev = event(
        QUIC_STREAM_EVENT_SEND_COMPLETE,
        QUIC_STREAM_EVENT_PAYLOAD {
            SEND_COMPLETE: QUIC_STREAM_EVENT_SEND_COMPLETE_PAYLOAD {
                Canceled: u8::from(canceled),
                ClientContext: token as usize as *mut c_void,
            },
        },
    );
    emit(stream, &mut ev);
}

/// Our sending half ended.
pub(crate) fn send_shutdown_complete(stream: &Handle<Stream>, graceful: bool) {
    if !stream.obj.extra.mark_send_shutdown() {
        return;
    }
    let mut ev = event(
        QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE,
        QUIC_STREAM_EVENT_PAYLOAD {
            SEND_SHUTDOWN_COMPLETE: QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE_PAYLOAD {
                Graceful: u8::from(graceful),
            },
        },
    );
    emit(stream, &mut ev);
}

/// The stream is about to raise SHUTDOWN_COMPLETE: from here StreamSend fails, and sends
/// still queued (never handed to the engine) complete as canceled, before the final event.
fn cancel_queued(stream: &Handle<Stream>) {
    let queued = {
        let mut st = stream.obj.state.lock();
        st.ending = true;
        std::mem::take(&mut st.queued)
    };
    // Completions the engine holds but has not delivered (an empty send made from one of the
    // stream's last callbacks, or during the connection's end) would come after
    // SHUTDOWN_COMPLETE and be dropped: they are reported now.
    reset::report_pending_sends(stream);
    let mut queued = queued;
    for q in queued.drain(..) {
        if let Queued::Send { context, .. } = q {
            send_complete(stream, context as u64, true);
        }
    }
    spares::give_queue(&QUEUES, queued);
}

/// Both halves ended: the stream's last event.
pub(crate) fn shutdown_complete(stream: &Handle<Stream>) {
    cancel_queued(stream);
    emit_final(
        stream,
        QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD::default(),
    );
}

/// The connection ended under the stream: its last event, with the connection's outcome.
pub(crate) fn connection_ended(
    stream: &Handle<Stream>,
    by_app: bool,
    remotely: bool,
    error_code: u64,
    status: QUIC_STATUS,
) {
    cancel_queued(stream);
    let payload = QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD {
        ConnectionShutdown: 1,
        Bitfields: 0,
        ConnectionErrorCode: error_code,
        ConnectionCloseStatus: status,
    }
    .with_flags(false, by_app, remotely);
    // As MsQuic, which shuts every stream down at the connection's close: a sending half
    // still open ends (not gracefully) before the stream's last event.
    let side = if link::is_server(&stream.obj.connection) {
        Side::Server
    } else {
        Side::Client
    };
    if stream.obj.id().is_none_or(|id| StreamId(id).can_send(side)) {
        send_shutdown_complete(stream, false);
    }
    emit_final(stream, payload);
}
