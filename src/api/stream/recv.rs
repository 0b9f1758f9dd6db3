//! The receiving side of a stream in MsQuic's three receive modes, and the API calls that
//! drive it (StreamReceiveComplete, StreamReceiveSetEnabled, StreamProvideReceiveBuffers).
//!
//! - **Single** (the default): one RECEIVE outstanding at a time; bytes the application does
//!   not take are offered again in the next RECEIVE.
//! - **Multi-receive** (`StreamMultiReceiveEnabled`): RECEIVE keeps coming with new bytes while
//!   earlier ones are outstanding; StreamReceiveComplete calls count bytes, oldest first, and
//!   need not match the events one to one.
//! - **App-owned buffers** (`QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS`, or
//!   StreamProvideReceiveBuffers inline in PEER_STREAM_STARTED): data is written into the
//!   application's buffers and RECEIVE points into them; one RECEIVE outstanding, as in the
//!   single mode (MsQuic ignores multi-receive for such a stream, and so do we).
//!   RECEIVE_BUFFER_NEEDED asks for more space when the peer sent more than fits; if the
//!   application provides none inline (and does not shut receiving down), the connection is
//!   closed with FLOW_CONTROL_ERROR. The stream's MAX_STREAM_DATA is the end of the space
//!   provided (never below the initial window of the transport parameters).
//!
//! In every mode the bytes stay in the engine until the application completes them, so the
//! peer's credit (MAX_STREAM_DATA, MAX_DATA) comes back only as bytes are completed. The engine
//! is never borrowed during a callback: in the single mode RECEIVE points straight into the
//! engine's chunks, held by shared owners ([`SharedBytes`]) until completed, with no copy; in
//! multi-receive mode it shows a copy of the new bytes; with app-owned buffers, those.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use crate::api::abi::*;
use crate::api::connection::link::{self, ConnSlot, on_slot};
use crate::api::door::boundary;
use crate::api::door::handle::Handle;
use crate::api::stream::{Stream, emit, event};
use crate::proto::{SharedBytes, StreamId, TransportError};
use crate::runtime::conn::Conn;
use crate::runtime::counters;
use crate::runtime::worker::WorkerCx;

/// One buffer the application gave with StreamProvideReceiveBuffers.
struct AppRegion {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the memory belongs to the application, which by MsQuic's contract keeps each buffer
// valid, and leaves it alone, from StreamProvideReceiveBuffers until every byte in it was
// indicated in a RECEIVE and completed (or the stream is shut down). It is only written on
// the connection's worker, one stream's buffers by one thread at a time (under the stream's
// receive lock).
unsafe impl Send for AppRegion {}

/// A stream's receive state; touched on its connection's worker, and by
/// StreamProvideReceiveBuffers on any thread (under the lock).
#[derive(Default)]
pub(crate) struct RecvState {
    /// App-owned buffer mode.
    app_owned: bool,
    /// PEER_STREAM_STARTED is being raised for this stream: StreamProvideReceiveBuffers may
    /// switch it to app-owned buffers.
    peer_start_active: bool,
    /// RECEIVE is off until StreamReceiveSetEnabled(TRUE).
    disabled: bool,
    /// Offset up to which the application completed (the engine consumed) the bytes.
    read: u64,
    /// Offset up to which bytes were copied out of the engine (multi-receive, app-owned).
    seen: u64,
    /// Single and app-owned modes: a RECEIVE returned PENDING and awaits its completion.
    pending: bool,
    /// Single mode: the engine's chunks the outstanding RECEIVE points into, held (not
    /// copied) until completed so the engine need not stay borrowed during the callback.
    held: Vec<SharedBytes>,
    /// The bytes the outstanding RECEIVE (single and app-owned modes) indicated.
    pending_len: u64,
    /// The outstanding RECEIVE (single and app-owned modes) carried FIN.
    pending_fin: bool,
    /// Multi-receive and app-owned modes: a RECEIVE carried FIN.
    fin_indicated: bool,
    /// Every byte and the FIN were completed: PEER_SEND_SHUTDOWN was raised.
    fin_done: bool,
    /// App-owned: the peer sent more than the buffers hold and the connection was closed.
    overflowed: bool,
    /// A delivery loop is running for this stream: nested calls leave the work to it.
    delivering: bool,
    /// A RECEIVE callback is running: completions made inline are counted in `early`.
    in_event: bool,
    /// Bytes completed by StreamReceiveComplete inline during the running RECEIVE.
    early: u64,
    /// Multi-receive: the copies handed out and not yet completed, in order; the first
    /// starts at offset `copies_base`.
    copies: VecDeque<Vec<u8>>,
    copies_base: u64,
    /// App-owned: the buffers not yet fully completed, in order; the first starts at stream
    /// offset `regions_base`; the last ends at `provided_end`.
    regions: VecDeque<AppRegion>,
    regions_base: u64,
    provided_end: u64,
}

impl RecvState {
    /// The receive state of a stream the application opens; `app_owned` from
    /// `QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS`.
    pub(crate) fn new(app_owned: bool) -> Self {
        Self {
            app_owned,
            ..Self::default()
        }
    }

    /// The receive state of a peer's stream, during its PEER_STREAM_STARTED.
    pub(crate) fn peer_starting() -> Self {
        Self {
            peer_start_active: true,
            ..Self::default()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Multi,
    AppOwned,
}

fn mode(stream: &Handle<Stream>) -> Mode {
    if stream.obj.recv.lock().app_owned {
        Mode::AppOwned
    } else if link::multi_receive(&stream.obj.connection) {
        Mode::Multi
    } else {
        Mode::Single
    }
}

/// StreamClose: frees the receive buffers and forgets the application's (the handle's
/// memory stays in quarantine for a while, its buffers need not).
pub(crate) fn release(stream: &Handle<Stream>) {
    let mut r = stream.obj.recv.lock();
    *r = RecvState {
        app_owned: r.app_owned,
        disabled: true,
        fin_done: true,
        ..RecvState::default()
    };
}

/// PEER_STREAM_STARTED returned: StreamProvideReceiveBuffers no longer switches modes.
pub(crate) fn peer_start_done(stream: &Handle<Stream>) {
    stream.obj.recv.lock().peer_start_active = false;
}

/// The stream got its ID in the engine: an app-owned stream's window follows its buffers
/// from now on.
pub(crate) fn on_started(cx: &WorkerCx, slot: &ConnSlot, stream: &Handle<Stream>, id: StreamId) {
    apply_limit(cx, slot, stream, id);
}

fn apply_limit(cx: &WorkerCx, slot: &ConnSlot, stream: &Handle<Stream>, id: StreamId) {
    let limit = {
        let r = stream.obj.recv.lock();
        r.app_owned.then_some(r.provided_end)
    };
    if let Some(limit) = limit {
        slot.with_engine(cx, |e| e.set_recv_limit(id, limit));
    }
}

// ---- API calls ----

/// `StreamReceiveComplete`: completes bytes of RECEIVEs that returned PENDING (single and
/// app-owned modes: the outstanding one; multi-receive: any number of bytes, oldest first).
pub(crate) unsafe extern "C" fn receive_complete(h: HQUIC, buffer_length: u64) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(stream) = (unsafe { Handle::<Stream>::get(h) }) else {
            return;
        };
        let s = stream.clone();
        on_slot(&stream.obj.connection, false, move |cx, slot| {
            {
                let mut r = s.obj.recv.lock();
                if r.in_event {
                    // Inline from the RECEIVE being raised: settled when it returns.
                    r.early = r.early.saturating_add(buffer_length);
                    return;
                }
            }
            let Some(id) = s.obj.started_id() else { return };
            let id = StreamId(id);
            match mode(&s) {
                Mode::Multi => complete_multi(slot, &s, id, buffer_length),
                m => {
                    let (len, fin) = {
                        let mut r = s.obj.recv.lock();
                        if !r.pending {
                            return; // No RECEIVE outstanding: a duplicate, ignored.
                        }
                        r.pending = false;
                        (r.pending_len, r.pending_fin)
                    };
                    let n = buffer_length.min(len);
                    complete_in_order(slot, &s, id, m, n, len, fin);
                    if n < len {
                        // Fewer bytes than indicated: RECEIVE stops until re-enabled.
                        s.obj.recv.lock().disabled = true;
                    }
                }
            }
            progress(cx, slot);
            deliver_receive(slot, cx, &s);
        });
    });
}

/// `StreamReceiveSetEnabled`: always queued, even on the worker.
pub(crate) unsafe extern "C" fn receive_set_enabled(h: HQUIC, enabled: BOOLEAN) -> QUIC_STATUS {
    boundary::call("StreamReceiveSetEnabled", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(stream) = (unsafe { Handle::<Stream>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let s = stream.clone();
        let op = move |cx: &WorkerCx| {
            let key = s.obj.connection.as_hquic() as usize;
            s.obj.recv.lock().disabled = enabled == 0;
            if enabled != 0 {
                if let Some(slot) = link::slot(key) {
                    deliver_receive(&slot, cx, &s);
                }
            }
        };
        stream.obj.connection.obj.worker().post(Box::new(op));
        QUIC_STATUS_PENDING
    })
}

/// `StreamProvideReceiveBuffers`: adds buffers to an app-owned stream (or, inline in
/// PEER_STREAM_STARTED, switches the peer's stream to app-owned buffers). The buffers are
/// taken at once; raising the stream's window runs on the worker (inline there). Any other
/// stream gets INVALID_STATE, as in MsQuic.
pub(crate) unsafe extern "C" fn provide_receive_buffers(
    h: HQUIC,
    buffer_count: u32,
    buffers: *const QUIC_BUFFER,
) -> QUIC_STATUS {
    boundary::call("StreamProvideReceiveBuffers", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(stream) = (unsafe { Handle::<Stream>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if buffers.is_null() || buffer_count == 0 {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: non-NULL with `buffer_count` elements by the API contract.
        let list = unsafe { core::slice::from_raw_parts(buffers, buffer_count as usize) };
        if list.iter().any(|b| b.Length == 0 || b.Buffer.is_null()) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        {
            let mut r = stream.obj.recv.lock();
            if !r.app_owned {
                if !r.peer_start_active {
                    // Only a stream opened for app-owned buffers, or a peer's stream inside
                    // its PEER_STREAM_STARTED, takes them.
                    return QUIC_STATUS_INVALID_STATE;
                }
                r.app_owned = true;
            }
            for b in list {
                r.regions.push_back(AppRegion {
                    ptr: b.Buffer,
                    len: b.Length as usize,
                });
                r.provided_end += u64::from(b.Length);
            }
        }
        // Only the window moves now: no data waits for buffers (what does not fit when it
        // is delivered raises RECEIVE_BUFFER_NEEDED at once), and no RECEIVE is raised from
        // inside the application's call (it may be inside PEER_STREAM_STARTED, its handler
        // not set yet).
        let s = stream.clone();
        on_slot(&stream.obj.connection, false, move |cx, slot| {
            if let Some(id) = s.obj.started_id() {
                apply_limit(cx, slot, &s, StreamId(id));
            }
        });
        QUIC_STATUS_SUCCESS
    })
}

// ---- Delivery on the connection's worker ----

/// Delivers readable data with RECEIVE events until the application stops taking it.
pub(crate) fn deliver_receive(slot: &Rc<ConnSlot>, cx: &WorkerCx, stream: &Arc<Handle<Stream>>) {
    let Some(conn) = slot.conn() else { return };
    let Some(id) = stream.obj.started_id() else {
        return;
    };
    if stream.is_closed_by_app() || stream.obj.is_done() {
        return;
    }
    {
        let mut r = stream.obj.recv.lock();
        if r.delivering {
            return; // The loop running further up the stack looks again.
        }
        r.delivering = true;
    }
    let id = StreamId(id);
    if stream.obj.open_flags & QUIC_STREAM_OPEN_FLAG_0_RTT.0 != 0 {
        // Only a stream opened in 0-RTT can have received data in it (which may still be
        // arriving): the engine says how far it reached.
        let early = conn.inspect(|e| e.stream_early(id).1);
        stream.obj.extra.set_early_received(early);
    }
    let m = mode(stream);
    loop {
        let more = match m {
            Mode::Single => step_single(slot, cx, &conn, stream, id),
            Mode::Multi => step_multi(slot, &conn, stream, id),
            Mode::AppOwned => step_app_owned(slot, cx, &conn, stream, id),
        };
        if !more || stream.is_closed_by_app() || stream.obj.is_done() {
            break;
        }
    }
    if stream.is_closed_by_app() {
        // Closed from inside a callback: what the loop kept since is let go too.
        release(stream);
    } else {
        stream.obj.recv.lock().delivering = false;
    }
    progress(cx, slot);
}

/// Lets the connection act on what changed (credit to send, events to raise).
fn progress(cx: &WorkerCx, slot: &ConnSlot) {
    slot.with_engine(cx, |_| ());
}

/// Raises one RECEIVE; returns the application's status and the bytes it took inline.
fn raise_receive(
    stream: &Handle<Stream>,
    offset: u64,
    bufs: &[QUIC_BUFFER],
    total: u64,
    fin: bool,
) -> (QUIC_STATUS, u64) {
    let mut ev = event(
        QUIC_STREAM_EVENT_RECEIVE,
        QUIC_STREAM_EVENT_PAYLOAD {
            RECEIVE: QUIC_STREAM_EVENT_RECEIVE_PAYLOAD {
                AbsoluteOffset: offset,
                TotalBufferLength: total,
                Buffers: bufs.as_ptr(),
                BufferCount: bufs.len() as u32,
                // 0_RTT: the data starts below the end of what came in 0-RTT, as MsQuic.
                Flags: QUIC_RECEIVE_FLAGS(
                    if fin {
                        QUIC_RECEIVE_FLAG_FIN.0
                    } else {
                        QUIC_RECEIVE_FLAG_NONE.0
                    } | if offset < stream.obj.extra.early_received() {
                        QUIC_RECEIVE_FLAG_0_RTT.0
                    } else {
                        0
                    },
                ),
            },
        },
    );
    link::on_receive(bufs);
    stream.obj.recv.lock().in_event = true;
    let status = emit(stream, &mut ev);
    stream.obj.recv.lock().in_event = false;
    // SAFETY: RECEIVE is the union member written above; the application may only have
    // lowered TotalBufferLength.
    let consumed = unsafe { ev.payload.RECEIVE.TotalBufferLength }.min(total);
    (status, consumed)
}

/// How many buffers a RECEIVE event describes without allocating.
const FEW_VIEWS: usize = 4;

/// Single mode: one RECEIVE with every byte the engine holds.
fn step_single(
    slot: &Rc<ConnSlot>,
    cx: &WorkerCx,
    conn: &Rc<Conn>,
    stream: &Arc<Handle<Stream>>,
    id: StreamId,
) -> bool {
    let (offset, mut held) = {
        let mut r = stream.obj.recv.lock();
        if r.disabled || r.pending || r.fin_done {
            return false;
        }
        (r.read, std::mem::take(&mut r.held))
    };
    held.clear();
    let fin = conn.with_engine_quiet(|e| match e.peek(id) {
        Ok(c) => {
            // New owners of the engine's chunks: the bytes stay where they are, and stay
            // valid (and unchanged: shared chunks are never appended to) until dropped.
            held.extend(c.shared().cloned());
            c.fin
        }
        Err(_) => false,
    });
    let len: u64 = held.iter().map(|b| b.len() as u64).sum();
    if len == 0 && !fin {
        stream.obj.recv.lock().held = held;
        return false;
    }
    // Views for the application, which reads them (MsQuic's RECEIVE buffers are views of
    // the library's memory) until it completes them.
    let views = held.iter().filter(|b| !b.is_empty()).map(|b| QUIC_BUFFER {
        Length: b.len() as u32,
        Buffer: b.as_slice().as_ptr().cast_mut(),
    });
    // A few views (the usual case) on the stack.
    let mut few = [QUIC_BUFFER {
        Length: 0,
        Buffer: core::ptr::null_mut(),
    }; FEW_VIEWS];
    let many: Vec<QUIC_BUFFER>;
    let qbufs: &[QUIC_BUFFER] = if held.len() <= FEW_VIEWS {
        let mut n = 0;
        for (slot, view) in few.iter_mut().zip(views) {
            *slot = view;
            n += 1;
        }
        &few[..n]
    } else {
        many = views.collect();
        &many
    };
    let (status, consumed) = raise_receive(stream, offset, qbufs, len, fin);
    let early = {
        let mut r = stream.obj.recv.lock();
        r.held = held;
        std::mem::take(&mut r.early)
    };
    after_single_receive(
        slot,
        cx,
        stream,
        id,
        Mode::Single,
        status,
        consumed,
        early,
        len,
        fin,
    )
}

/// Single and app-owned modes: settles a RECEIVE of `len` bytes; returns whether to go on.
#[allow(clippy::too_many_arguments)]
fn after_single_receive(
    slot: &Rc<ConnSlot>,
    cx: &WorkerCx,
    stream: &Arc<Handle<Stream>>,
    id: StreamId,
    m: Mode,
    status: QUIC_STATUS,
    consumed: u64,
    early: u64,
    len: u64,
    fin: bool,
) -> bool {
    let _ = cx;
    if status == QUIC_STATUS_PENDING && early == 0 {
        let mut r = stream.obj.recv.lock();
        r.pending = true;
        r.pending_len = len;
        r.pending_fin = fin;
        return false;
    }
    // PENDING completed inline before returning counts as that completion.
    let (n, partial_is_final) = if status == QUIC_STATUS_PENDING {
        (early.min(len), true)
    } else {
        (consumed, false)
    };
    complete_in_order(slot, stream, id, m, n, len, fin);
    if n == len {
        return true;
    }
    // CONTINUE keeps RECEIVE coming, but only while it takes something: offering the same
    // bytes again to a handler that took none would spin without new data.
    if partial_is_final || status != QUIC_STATUS_CONTINUE {
        stream.obj.recv.lock().disabled = true;
        return false;
    }
    n > 0
}

/// Single and app-owned modes: completes `n` of the `len` bytes indicated (FIN with them if
/// `fin` and all were taken).
fn complete_in_order(
    slot: &Rc<ConnSlot>,
    stream: &Arc<Handle<Stream>>,
    id: StreamId,
    m: Mode,
    n: u64,
    len: u64,
    fin: bool,
) {
    let fin_now = {
        let mut r = stream.obj.recv.lock();
        r.read += n;
        if m == Mode::AppOwned {
            pop_regions(&mut r);
        } else {
            // The engine keeps what was not taken; it is offered again from there.
            r.held.clear();
        }
        let fin_now = fin && n == len && !r.fin_done;
        if fin_now {
            r.fin_done = true;
        }
        fin_now
    };
    consume(slot, stream, id, n, fin_now);
}

/// Consumes `n` bytes in the engine (an empty FIN too: that is how the engine learns the end
/// was read) and raises PEER_SEND_SHUTDOWN once the FIN is completed. The connection makes
/// progress afterwards, so the event comes before anything that progress raises.
fn consume(slot: &Rc<ConnSlot>, stream: &Handle<Stream>, id: StreamId, n: u64, fin_now: bool) {
    counters::add(counters::APP_RECV_BYTES, n as i64);
    if n > 0 || fin_now {
        if let Some(conn) = slot.conn() {
            conn.with_engine_quiet(|e| {
                let _ = e.consume(id, n as usize);
            });
        }
    }
    if fin_now {
        let mut ev = event(
            QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN,
            QUIC_STREAM_EVENT_PAYLOAD {
                SEND_SHUTDOWN_COMPLETE: QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE_PAYLOAD::default(),
            },
        );
        emit(stream, &mut ev);
    }
}

/// Copies the engine's bytes past the first `skip` to `sink`; returns (bytes left uncopied
/// because `sink` took no more, whether the stream's end follows them). `sink` returns how
/// much of each piece it took.
fn copy_from_engine(
    conn: &Conn,
    id: StreamId,
    skip: u64,
    mut sink: impl FnMut(&[u8]) -> usize,
) -> (u64, bool) {
    conn.with_engine_quiet(|e| {
        let (left, fin) = match e.peek(id) {
            Ok(c) => {
                let mut skip = skip as usize;
                let mut left = c.len().saturating_sub(skip) as u64;
                for piece in c.slices() {
                    if skip >= piece.len() {
                        skip -= piece.len();
                        continue;
                    }
                    let piece = &piece[skip..];
                    skip = 0;
                    let took = sink(piece);
                    left -= took as u64;
                    if took < piece.len() {
                        break;
                    }
                }
                (left, c.fin)
            }
            Err(_) => (0, false),
        };
        // Copies are taken: the next arrival must be reported although nothing was consumed.
        let _ = e.rearm_readable(id);
        (left, fin)
    })
}

/// Multi-receive: one RECEIVE with the bytes not yet handed out.
fn step_multi(
    slot: &Rc<ConnSlot>,
    conn: &Rc<Conn>,
    stream: &Arc<Handle<Stream>>,
    id: StreamId,
) -> bool {
    let skip = {
        let r = stream.obj.recv.lock();
        if r.disabled || r.fin_indicated {
            return false;
        }
        r.seen - r.read
    };
    let mut copy = Vec::new();
    let (_, fin) = copy_from_engine(conn, id, skip, |piece| {
        copy.extend_from_slice(piece);
        piece.len()
    });
    if copy.is_empty() && !fin {
        return false;
    }
    let len = copy.len() as u64;
    let qbuf = [QUIC_BUFFER {
        Length: len as u32,
        Buffer: copy.as_mut_ptr(),
    }];
    let offset = {
        let mut r = stream.obj.recv.lock();
        let offset = r.seen;
        r.seen += len;
        r.fin_indicated = fin;
        if len > 0 {
            if r.copies.is_empty() {
                r.copies_base = offset;
            }
            // The heap block does not move with the Vec: `qbuf` stays valid.
            r.copies.push_back(copy);
        }
        offset
    };
    let (status, consumed) = raise_receive(stream, offset, &qbuf[..usize::from(len > 0)], len, fin);
    let early = std::mem::take(&mut stream.obj.recv.lock().early);
    let n = if status == QUIC_STATUS_PENDING {
        early
    } else {
        consumed.saturating_add(early)
    };
    complete_multi(slot, stream, id, n);
    true
}

/// Multi-receive: completes `n` bytes, oldest first (at most those handed out).
fn complete_multi(slot: &Rc<ConnSlot>, stream: &Arc<Handle<Stream>>, id: StreamId, n: u64) {
    let (n, fin_now) = {
        let mut r = stream.obj.recv.lock();
        let n = n.min(r.seen - r.read);
        r.read += n;
        while let Some(front) = r.copies.front() {
            let end = r.copies_base + front.len() as u64;
            if end > r.read {
                break;
            }
            r.copies_base = end;
            r.copies.pop_front();
        }
        let fin_now = r.fin_indicated && !r.fin_done && r.read == r.seen;
        if fin_now {
            r.fin_done = true;
        }
        (n, fin_now)
    };
    consume(slot, stream, id, n, fin_now);
}

/// App-owned: drops the buffers every byte of which was completed.
fn pop_regions(r: &mut RecvState) {
    while let Some(front) = r.regions.front() {
        let end = r.regions_base + front.len as u64;
        if end > r.read {
            break;
        }
        r.regions_base = end;
        r.regions.pop_front();
    }
}

/// App-owned: writes `data` at stream offset `at` into the buffers; returns how many bytes
/// fit.
fn write_regions(r: &RecvState, at: u64, data: &[u8]) -> usize {
    let mut start = r.regions_base;
    let mut done = 0;
    for region in &r.regions {
        let end = start + region.len as u64;
        let pos = at + done as u64;
        if pos < end && done < data.len() {
            let within = (pos - start) as usize;
            let n = (region.len - within).min(data.len() - done);
            // SAFETY: the region is `len` writable bytes the application lent us (see
            // `AppRegion`); `within + n <= len`, and `data` is our memory, so the ranges do
            // not overlap.
            unsafe {
                core::ptr::copy_nonoverlapping(data[done..].as_ptr(), region.ptr.add(within), n);
            }
            done += n;
        }
        start = end;
    }
    done
}

/// App-owned: the buffers holding stream bytes `[from, to)`, as RECEIVE shows them.
fn region_views(r: &RecvState, from: u64, to: u64) -> Vec<QUIC_BUFFER> {
    let mut out = Vec::new();
    let mut start = r.regions_base;
    for region in &r.regions {
        let end = start + region.len as u64;
        let a = from.max(start);
        let b = to.min(end);
        if a < b {
            out.push(QUIC_BUFFER {
                Length: (b - a) as u32,
                // SAFETY: `a - start < len`: inside the application's buffer.
                Buffer: unsafe { region.ptr.add((a - start) as usize) },
            });
        }
        start = end;
    }
    out
}

/// App-owned: moves new bytes into the application's buffers; returns the bytes that did not
/// fit and whether the stream's end follows the engine's bytes.
fn fill(conn: &Conn, stream: &Handle<Stream>, id: StreamId) -> (u64, bool) {
    let mut r = stream.obj.recv.lock();
    let skip = r.seen - r.read;
    let mut at = r.seen;
    let (left, fin) = copy_from_engine(conn, id, skip, |piece| {
        let n = write_regions(&r, at, piece);
        at += n as u64;
        n
    });
    r.seen = at;
    (left, fin)
}

/// App-owned: fills the buffers and raises one RECEIVE for the bytes in them.
fn step_app_owned(
    slot: &Rc<ConnSlot>,
    cx: &WorkerCx,
    conn: &Rc<Conn>,
    stream: &Arc<Handle<Stream>>,
    id: StreamId,
) -> bool {
    let stopped = || conn.inspect(|e| e.recv_stopped(id));
    if stopped() || stream.obj.recv.lock().overflowed {
        return false; // Receiving was shut down, or the connection is closing.
    }
    let (mut left, mut fin) = fill(conn, stream, id);
    if left > 0 {
        // More arrived than the buffers hold: the application may provide more, inline.
        let mut ev = event(
            QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED,
            QUIC_STREAM_EVENT_PAYLOAD {
                RECEIVE_BUFFER_NEEDED: QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED_PAYLOAD {
                    BufferLengthNeeded: left,
                },
            },
        );
        emit(stream, &mut ev);
        if stopped() {
            return false; // The application shut receiving down instead.
        }
        (left, fin) = fill(conn, stream, id);
        if left > 0 {
            // As MsQuic: the peer sent more than the application has room for.
            stream.obj.recv.lock().overflowed = true;
            slot.with_engine(cx, |e| {
                e.close_with_error(
                    Instant::now(),
                    TransportError::FLOW_CONTROL_ERROR("receive buffers exhausted"),
                )
            });
            return false;
        }
    }
    let (offset, bufs, len) = {
        let r = stream.obj.recv.lock();
        if r.disabled || r.pending || r.fin_done {
            return false;
        }
        (r.read, region_views(&r, r.read, r.seen), r.seen - r.read)
    };
    if len == 0 && !fin {
        return false;
    }
    let (status, consumed) = raise_receive(stream, offset, &bufs, len, fin);
    let early = std::mem::take(&mut stream.obj.recv.lock().early);
    after_single_receive(
        slot,
        cx,
        stream,
        id,
        Mode::AppOwned,
        status,
        consumed,
        early,
        len,
        fin,
    )
}
