//! 0-RTT on a client: a connection resuming with a ticket whose server accepts early data
//! opens its streams by the limits the ticket remembers as soon as its socket connects, so
//! that what the application allowed in 0-RTT (streams opened, sends with ALLOW_0_RTT) goes
//! out as TLS early data with the ClientHello. The server's early data lands in
//! PEER_STREAM_STARTED and RECEIVE with their 0_RTT flags (see `api::stream` and `api::stream::recv`).

use std::rc::Rc;

use crate::api::connection::worker::ConnSlot;
use crate::api::door::handle::Handle;
use crate::api::stream::Stream;
use crate::runtime::conn::Conn;
use crate::runtime::worker::WorkerCx;

/// The connection's socket just connected: if its TLS session may send early data, the
/// engine takes the remembered limits and the streams waiting for them open now, before
/// the ClientHello goes out.
pub(crate) fn on_transport(cx: &WorkerCx, slot: &Rc<ConnSlot>, conn: &Rc<Conn>) {
    let room = conn.tls(|s| s.map_or(0, |s| s.early_data_room()));
    if room == 0 {
        return;
    }
    let Some(params) = slot.handle.obj.resumption.remembered.lock().clone() else {
        return;
    };
    conn.with_engine_quiet(|e| e.use_remembered_params(params));
    slot.early_streams.set(true);
    crate::api::stream::retry_blocked_starts(slot, cx);
}

/// The handshake is over: each stream notes how much of its data went in 0-RTT
/// (`QUIC_PARAM_STREAM_0RTT_LENGTH`).
pub(crate) fn on_handshake_complete(slot: &ConnSlot, conn: &Conn) {
    if !slot.early_streams.get() {
        return;
    }
    if conn.tls(|s| s.and_then(|s| s.early_data_accepted())) == Some(false) {
        slot.early_refused.set(true);
    }
    for (id, stream) in slot.streams_snapshot() {
        note_sent(slot, conn, &stream, crate::proto::StreamId(id));
    }
}

/// Notes on `stream` how much of its data went in 0-RTT: what went in early data, or 0 when
/// the server refused it (as MsQuic reports then).
pub(crate) fn note_sent(
    slot: &ConnSlot,
    conn: &Conn,
    stream: &Handle<Stream>,
    id: crate::proto::StreamId,
) {
    let sent = if slot.early_refused.get() {
        0
    } else {
        conn.inspect(|e| e.stream_early_sent(id))
    };
    stream.obj.extra.set_early_sent(sent);
}
