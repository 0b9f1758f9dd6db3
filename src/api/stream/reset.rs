//! Reliable reset and the stream shutdown flags beyond the basic ones:
//! - `ReliableResetEnabled` on both ends gives RELIABLE_RESET_NEGOTIATED(IsNegotiated) as the
//!   peer's transport parameters arrive (before CONNECTED, as in MsQuic, and only where the
//!   local setting is on);
//! - `QUIC_PARAM_STREAM_RELIABLE_OFFSET` makes a later ABORT_SEND a RESET_STREAM_AT: the
//!   bytes below the offset are still delivered, then the peer sees PEER_SEND_ABORTED;
//!   `QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV` reads the size the peer announced;
//! - IMMEDIATE completes an abortive shutdown at once (SEND_SHUTDOWN_COMPLETE, then
//!   SHUTDOWN_COMPLETE) without waiting for the peer, except while a reliable reset is in
//!   progress (MsQuic ignores it then);
//! - INLINE runs the shutdown inside the call when made on the connection's worker (from a
//!   callback), so its events may reach the application re-entrantly, and returns SUCCESS;
//!   elsewhere the call is queued as usual (PENDING).

use core::ffi::c_void;
use std::rc::Rc;
use std::sync::Arc;

use crate::api::abi::*;
use crate::api::connection::link::{self, ConnSlot, on_slot};
use crate::api::door::handle::Handle;
use crate::api::param::buffer::{answer, read_exact};
use crate::api::stream::extra::LocalReset;
use crate::api::stream::{self, Stream};
use crate::proto::{self, StreamId};
use crate::runtime::worker::WorkerCx;

/// MsQuic's private `QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV` (get on the receiver).
pub(crate) const PARAM_STREAM_RELIABLE_OFFSET_RECV: u32 = 0x8800_0000;

const GRACEFUL: u32 = QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL.0;
const ABORT: u32 = QUIC_STREAM_SHUTDOWN_FLAG_ABORT.0;
const IMMEDIATE: u32 = QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE.0;
const INLINE: u32 = QUIC_STREAM_SHUTDOWN_FLAG_INLINE.0;
/// Every defined `QUIC_STREAM_SHUTDOWN_FLAGS` bit.
const ALL: u32 = 0x1F;

/// MsQuic's internal silent-abort bit, refused when it is the whole value.
const SILENT: u32 = 0x8000;

/// StreamShutdown's flag rules, as MsQuic's: non-zero and not MsQuic's internal SILENT bit
/// alone (other unknown bits are ignored, see [`known_flags`]); GRACEFUL with no abort and no
/// IMMEDIATE; IMMEDIATE only as exactly `ABORT | IMMEDIATE` (MsQuic compares the whole value,
/// so even INLINE may not join it); the error code within 62 bits.
pub(crate) fn valid_shutdown(flags: u32, error_code: u64) -> bool {
    flags != 0
        && flags != SILENT
        && !(flags & GRACEFUL != 0 && flags & (ABORT | IMMEDIATE) != 0)
        && !(flags & IMMEDIATE != 0 && flags != ABORT | IMMEDIATE)
        && error_code <= QUIC_UINT62_MAX
}

/// The StreamShutdown flags this library acts on: MsQuic ignores bits it does not define.
pub(crate) fn known_flags(flags: u32) -> u32 {
    flags & ALL
}

/// Runs a StreamShutdown as MsQuic does: inline with INLINE on the connection's worker
/// (SUCCESS), its events possibly reaching the application re-entrantly; queued otherwise
/// (PENDING), even from a callback, so that without INLINE no event re-enters it.
pub(crate) fn dispatch(
    stream: &Arc<Handle<Stream>>,
    flags: u32,
    op: impl FnOnce(&WorkerCx, &Rc<ConnSlot>) + Send + 'static,
) -> QUIC_STATUS {
    let conn = &stream.obj.connection;
    let here = conn.obj.worker().is_current();
    if here && flags & INLINE != 0 {
        on_slot(conn, false, op);
        return QUIC_STATUS_SUCCESS;
    }
    if here {
        let key = conn.as_hquic() as usize;
        conn.obj.worker().post(Box::new(move |cx: &WorkerCx| {
            if let Some(slot) = link::slot(key) {
                op(cx, &slot);
            }
        }));
        return QUIC_STATUS_PENDING;
    }
    on_slot(conn, false, op);
    QUIC_STATUS_PENDING
}

/// ABORT_SEND on the engine: RESET_STREAM_AT when a reliable offset is set, else
/// RESET_STREAM.
pub(crate) fn abort_send(
    e: &mut proto::Connection,
    stream: &Handle<Stream>,
    id: StreamId,
    error_code: u64,
) {
    let mut x = stream.obj.extra.lock();
    if x.local_reset != LocalReset::None {
        return;
    }
    let reliable = x.reliable_offset;
    if reliable > 0 && e.reset_at(id, error_code, reliable).is_ok() {
        x.local_reset = LocalReset::Reliable;
    } else if e.reset(id, error_code).is_ok() {
        x.local_reset = LocalReset::Plain;
    }
}

/// What a shutdown raises itself once the engine has it: with IMMEDIATE, the stream's last
/// events now (unless a reliable reset is under way), the sends the abort canceled first, as
/// MsQuic cancels them before it completes the shutdown. An abort's SEND_SHUTDOWN_COMPLETE
/// otherwise comes from the engine once the reset is written, after the calling callback even
/// with INLINE (MsQuic raises it once the peer acknowledges the reset).
pub(crate) fn after_shutdown(stream: &Handle<Stream>, flags: u32) {
    let reliable = {
        let x = stream.obj.extra.lock();
        x.local_reset == LocalReset::Reliable || x.peer_reliable.is_some()
    };
    if flags & IMMEDIATE != 0 && !reliable {
        report_pending_sends(stream);
        stream::send_shutdown_complete(stream, false);
        stream::shutdown_complete(stream);
    }
}

/// Raises the stream's send completions the engine holds but has not delivered yet (when the
/// shutdown runs inside event delivery, they would otherwise come after events that must be
/// the last).
pub(crate) fn report_pending_sends(stream: &Handle<Stream>) {
    let key = stream.obj.connection.as_hquic() as usize;
    let conn = link::slot(key).and_then(|s| s.conn());
    if let (Some(conn), Some(id)) = (conn, stream.obj.id()) {
        for (token, canceled) in conn.with_engine_quiet(|e| e.take_send_events(StreamId(id))) {
            stream::send_complete(stream, token, canceled);
        }
    }
}

/// The peer's transport parameters arrived: with ReliableResetEnabled on our side,
/// RELIABLE_RESET_NEGOTIATED tells whether the peer enabled it too.
pub(crate) fn on_peer_params(slot: &ConnSlot) {
    let Some((local, peer)) = slot.inspect(|e| {
        (
            e.local_params().reset_stream_at,
            e.peer_params().is_some_and(|p| p.reset_stream_at),
        )
    }) else {
        return;
    };
    if !local {
        return;
    }
    link::set_reliable_reset_negotiated(link::connection_of(slot), peer);
    let mut ev = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            RELIABLE_RESET_NEGOTIATED: QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED_PAYLOAD {
                IsNegotiated: u8::from(peer),
            },
        },
    };
    slot.emit(&mut ev);
}

/// The peer sent STOP_SENDING and the application has seen PEER_RECEIVE_ABORTED: the
/// engine's held reply goes out, as MsQuic's: the application's own ABORT_SEND from inside
/// the callback (INLINE) keeps its code; otherwise RESET_STREAM with NO_ERROR, or
/// RESET_STREAM_AT with NO_ERROR when a reliable offset is set and the application did not
/// abort (an abort with a reliable offset is overridden by the plain reset, as in MsQuic).
/// The reliable offset can no longer change from then on.
pub(crate) fn answer_stop(
    e: &mut proto::Connection,
    stream: Option<&Handle<Stream>>,
    id: StreamId,
) {
    if let Some(stream) = stream {
        let mut x = stream.obj.extra.lock();
        match x.local_reset {
            LocalReset::None => {
                let reliable = x.reliable_offset;
                x.local_reset = if reliable > 0 && e.reset_at(id, 0, reliable).is_ok() {
                    LocalReset::Reliable
                } else {
                    LocalReset::Plain
                };
            }
            LocalReset::Reliable => {
                let _ = e.reset_at(id, 0, 0);
                x.local_reset = LocalReset::Plain;
            }
            LocalReset::Plain => {}
        }
    }
    e.release_stop_reply(id);
}

/// Whether the peer's reset raises PEER_SEND_ABORTED: not for a plain RESET_STREAM once the
/// application aborted the receiving half (MsQuic raises it then only for RESET_STREAM_AT).
pub(crate) fn raises_send_aborted(stream: &Handle<Stream>) -> bool {
    let x = stream.obj.extra.lock();
    !x.stopped_receiving || x.peer_reliable.is_some()
}

/// The peer sent RESET_STREAM_AT on `stream`.
pub(crate) fn peer_reset_at(stream: &Handle<Stream>, reliable_size: u64) {
    stream.obj.extra.lock().peer_reliable = Some(reliable_size);
}

/// Checks GetParam's length and buffer before answering a `u64`, MsQuic's order: too small
/// a length, then a NULL buffer, then the state (`None`: INVALID_STATE).
///
/// # Safety
/// `len` is valid for reads and writes; `buf` is NULL or writable for `*len` bytes.
unsafe fn answer_u64(len: *mut u32, buf: *mut c_void, value: Option<u64>) -> QUIC_STATUS {
    // SAFETY: `len` is valid by the caller's contract.
    if unsafe { len.read() } < 8 {
        // SAFETY: as above.
        unsafe { len.write(8) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let Some(value) = value else {
        return QUIC_STATUS_INVALID_STATE;
    };
    // SAFETY: as above.
    unsafe { answer(len, buf, &value.to_ne_bytes()) }
}

/// GetParam of `QUIC_PARAM_STREAM_RELIABLE_OFFSET` (INVALID_STATE while unset) or
/// [`PARAM_STREAM_RELIABLE_OFFSET_RECV`] (INVALID_STATE until the peer sent
/// RESET_STREAM_AT).
///
/// # Safety
/// As for [`answer_u64`].
pub(crate) unsafe fn get(
    stream: &Handle<Stream>,
    param: u32,
    len: *mut u32,
    buf: *mut c_void,
) -> QUIC_STATUS {
    let value = {
        let x = stream.obj.extra.lock();
        if param == PARAM_STREAM_RELIABLE_OFFSET_RECV {
            x.peer_reliable
        } else {
            Some(x.reliable_offset).filter(|&v| v != 0)
        }
    };
    // SAFETY: the caller's contract is ours.
    unsafe { answer_u64(len, buf, value) }
}

/// SetParam of `QUIC_PARAM_STREAM_RELIABLE_OFFSET`: a `u64` no larger than the bytes queued
/// so far, on a connection where reliable reset was negotiated, before the sending half was
/// reset (INVALID_STATE otherwise; a wrong length or NULL buffer is INVALID_PARAMETER).
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set(stream: &Handle<Stream>, len: u32, buf: *const c_void) -> QUIC_STATUS {
    // SAFETY: the caller's contract is `read_exact`'s.
    let Some(value) = (unsafe { read_exact::<u64>(len, buf) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    let negotiated = link::reliable_reset_negotiated(&stream.obj.connection);
    if !negotiated || value > stream.obj.extra.queued() {
        return QUIC_STATUS_INVALID_STATE;
    }
    let mut x = stream.obj.extra.lock();
    if x.local_reset != LocalReset::None {
        return QUIC_STATUS_INVALID_STATE;
    }
    x.reliable_offset = value;
    QUIC_STATUS_SUCCESS
}
