//! A stream's place in the peer's stream-count limit, as the application steers it with
//! `QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES` (StreamOpen, or OR-ed into
//! PEER_STREAM_STARTED's Flags by the application): a peer stream's slot in the limit goes
//! back only when the application closes the handle, not when the stream finishes. (The
//! limits themselves change with `QUIC_PARAM_CONN_SETTINGS` on a started connection: see
//! `api::connection::started_settings`.)

use std::rc::Rc;

use crate::api::abi::*;
use crate::api::connection::link::ConnSlot;
use crate::api::door::handle::Handle;
use crate::api::stream::Stream;
use crate::proto::StreamId;
use crate::runtime::worker::WorkerCx;

/// `QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES`.
const DELAY: u32 = QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES.0;

/// StreamOpen's flags: remembers DELAY_ID_FC_UPDATES.
pub(crate) fn opened(stream: &Stream) {
    if stream.open_flags & DELAY != 0 {
        stream.extra.lock().delay_id_fc = true;
    }
}

/// After PEER_STREAM_STARTED: `flags` as the application left them in the event.
pub(crate) fn peer_started(
    cx: &WorkerCx,
    slot: &Rc<ConnSlot>,
    stream: &Handle<Stream>,
    id: StreamId,
    flags: u32,
) {
    if flags & DELAY == 0 || stream.is_closed_by_app() {
        return;
    }
    stream.obj.extra.lock().delay_id_fc = true;
    slot.with_engine(cx, |e| e.hold_stream_slot(id));
}

/// StreamClose of a stream with ID `id`: a delayed slot goes back now, and the engine
/// drops the stream's blocked-time figures.
pub(crate) fn closed(cx: &WorkerCx, slot: &Rc<ConnSlot>, stream: &Handle<Stream>, id: u64) {
    let delayed = stream.obj.extra.lock().delay_id_fc;
    slot.with_engine(cx, |e| {
        if delayed {
            e.release_stream_slot(StreamId(id));
        }
        e.forget_blocked_times(StreamId(id));
    });
}
