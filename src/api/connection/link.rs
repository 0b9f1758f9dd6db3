//! The connection's interface for the rooms below it: the one place the stream, registration
//! and configuration rooms reach a connection through.
//!
//! - Streams live on their connection's worker: they find its slot there ([`on_slot`],
//!   [`on_slot_else`], [`slot`]), ask what their connection's state allows (closed, finished,
//!   server side, send buffering, multi-receive, reliable reset, the resumption ticket's
//!   limits).
//! - StreamOpen lets a stream handle stand for its connection ([`of_handle`]).
//! - RegistrationShutdown shuts its connections down ([`shutdown_connection`]).
//! - SetParam(CONFIGURATION_TICKET_KEYS) on a configuration hands the keys to the server's
//!   resumption state ([`set_ticket_keys`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::api::connection::{CLOSED_LOCALLY, CLOSED_REMOTELY};
use crate::api::door::handle::Handle;

/// The connection object, as streams and registrations hold it.
pub(crate) use crate::api::connection::Connection;
/// The fault-injection hook of stream RECEIVE delivery.
pub(crate) use crate::api::connection::on_panic::on_receive;
/// Client: whether the resumption ticket's limits allow a stream before the handshake.
pub(crate) use crate::api::connection::resumption::remembered_allows;
/// A configuration's CONFIGURATION_TICKET_KEYS (SetParam): the keys live with the server's
/// resumption state, in the connection room; the configuration room answers the id.
pub(crate) use crate::api::connection::resumption::set_ticket_keys;
/// A local shutdown of a connection (RegistrationShutdown, for each of its connections).
pub(crate) use crate::api::connection::shutdown_connection;
/// A connection's live state on its worker, as stream operations are handed it.
pub(crate) use crate::api::connection::worker::ConnSlot;
/// The slot of the connection whose handle is at `key`, on the calling worker.
pub(crate) use crate::api::connection::worker::slot;
/// Finding a connection (or a stream's connection) from a handle; running on its slot.
pub(crate) use crate::api::connection::{of_handle, on_slot, on_slot_else};

/// Whether the connection was closed on this side and whether by the peer (MsQuic's
/// ClosedLocally and ClosedRemotely), read together.
pub(crate) fn closed_sides(conn: &Handle<Connection>) -> (bool, bool) {
    let closed = conn.obj.closed.load(Ordering::Acquire);
    (closed & CLOSED_LOCALLY != 0, closed & CLOSED_REMOTELY != 0)
}

/// Whether SHUTDOWN_COMPLETE was delivered (the worker holds nothing for the connection).
pub(crate) fn is_finished(conn: &Handle<Connection>) -> bool {
    conn.obj.finished.load(Ordering::Acquire)
}

/// Whether the connection was accepted by a listener.
pub(crate) fn is_server(conn: &Handle<Connection>) -> bool {
    conn.obj.server
}

/// `SendBufferingEnabled` as resolved at start: StreamSend copies the application's buffers.
pub(crate) fn send_buffering(conn: &Handle<Connection>) -> bool {
    conn.obj.send_buffering.load(Ordering::Relaxed)
}

/// `StreamMultiReceiveEnabled` as resolved at start.
pub(crate) fn multi_receive(conn: &Handle<Connection>) -> bool {
    conn.obj.multi_receive.load(Ordering::Relaxed)
}

/// Whether both ends enabled reliable reset (RESET_STREAM_AT).
pub(crate) fn reliable_reset_negotiated(conn: &Handle<Connection>) -> bool {
    conn.obj.info.lock().reliable_reset_negotiated
}

/// Records whether both ends enabled reliable reset, once the peer's parameters arrived.
pub(crate) fn set_reliable_reset_negotiated(conn: &Handle<Connection>, negotiated: bool) {
    conn.obj.info.lock().reliable_reset_negotiated = negotiated;
}

/// The connection a slot is for.
pub(crate) fn connection_of(slot: &ConnSlot) -> &Arc<Handle<Connection>> {
    &slot.handle
}

/// Client: whether the engine sends by the limits a resumption ticket remembers (0-RTT):
/// streams open before the handshake.
pub(crate) fn early_streams(slot: &ConnSlot) -> bool {
    slot.early_streams.get()
}
