//! `QUIC_PARAM_CONN_SETTINGS` on a started connection, as MsQuic takes it: MTU and ECN
//! fields are INVALID_PARAMETER; every other valid field is stored (GetParam shows it; a
//! refused value stops the update there, the fields before it in MsQuic's order stored), and
//! the ones MsQuic reads while the connection runs take effect at once:
//! - `PeerBidiStreamCount`, `PeerUnidiStreamCount`: the peer's stream limit (a raise goes
//!   out as MAX_STREAMS, a cut applies as streams finish);
//! - `IdleTimeoutMs`: our idle timer (the peer keeps the value it was told; the timeout in
//!   force is the smaller non-zero of the two);
//! - `KeepAliveIntervalMs`: keep-alive pings start, change or stop;
//! - `DisconnectTimeoutMs`: how long the socket may take no bytes while data waits;
//! - `SendBufferingEnabled`: whether later StreamSend calls are buffered;
//! - `NetStatsEventEnabled` (preview): whether NETWORK_STATISTICS events are raised.
//!
//! The rest (windows, counts of stateless operations, TLS buffer sizes, ...) were sent or
//! used when the connection started, as in MsQuic, where they too only change what GetParam
//! reports.

use core::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::api::abi::{
    QUIC_SETTINGS as C, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_SUCCESS,
};
use crate::api::connection::{Connection, on_slot};
use crate::api::door::handle::Handle;
use crate::api::settings::{Apply, Settings};
use crate::proto::Dir;

/// SetParam of `QUIC_PARAM_CONN_SETTINGS` on a started connection.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set(
    conn: &Arc<Handle<Connection>>,
    len: u32,
    buf: *const c_void,
) -> QUIC_STATUS {
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `buf` is non-NULL and readable for `len` bytes by the caller's contract.
    let update = match unsafe { Settings::read_from(buf.cast(), len) } {
        Ok(u) => u,
        Err(invalid) => return invalid.status(),
    };
    let (result, v) = {
        let mut settings = conn.obj.settings.lock();
        let before = settings.clone();
        let result = settings.apply_with(&update, Apply::STARTED);
        let mut v = settings.clone();
        v.is_set = match result {
            Ok(()) => update.mask(),
            // Refused part-way (MsQuic's order): the fields before the refused one are
            // stored, and those MsQuic reads as the connection runs act all the same; the
            // peer's stream limits only move on success.
            Err(_) => changed_live_fields(&before, &v),
        };
        (result, v)
    };
    let status = match result {
        Ok(()) => QUIC_STATUS_SUCCESS,
        Err(invalid) => invalid.status(),
    };
    let set = |bit: u64| v.is_set(bit);
    if set(C::IS_SET_SEND_BUFFERING_ENABLED) {
        conn.obj
            .send_buffering
            .store(v.send_buffering_enabled, Ordering::Relaxed);
    }
    if set(C::IS_SET_NET_STATS_EVENT_ENABLED) {
        conn.obj
            .net_stats_events
            .store(v.net_stats_event_enabled, Ordering::Relaxed);
    }
    let live = C::IS_SET_PEER_BIDI_STREAM_COUNT
        | C::IS_SET_PEER_UNIDI_STREAM_COUNT
        | C::IS_SET_IDLE_TIMEOUT_MS
        | C::IS_SET_KEEP_ALIVE_INTERVAL_MS
        | C::IS_SET_DISCONNECT_TIMEOUT_MS;
    if v.is_set & live == 0 {
        return status;
    }
    on_slot(conn, true, move |cx, slot| {
        let set = |bit: u64| v.is_set(bit);
        if set(C::IS_SET_DISCONNECT_TIMEOUT_MS) {
            if let Some(c) = slot.conn() {
                c.set_disconnect_timeout(cx, v.disconnect_timeout());
            }
        }
        slot.with_engine(cx, |e| {
            if set(C::IS_SET_PEER_BIDI_STREAM_COUNT) {
                e.set_peer_stream_allowance(Dir::Bi, u64::from(v.peer_bidi_stream_count));
            }
            if set(C::IS_SET_PEER_UNIDI_STREAM_COUNT) {
                e.set_peer_stream_allowance(Dir::Uni, u64::from(v.peer_unidi_stream_count));
            }
            if set(C::IS_SET_IDLE_TIMEOUT_MS) {
                e.set_idle_timeout(v.idle_timeout().unwrap_or_default());
            }
            if set(C::IS_SET_KEEP_ALIVE_INTERVAL_MS) {
                e.set_keep_alive_interval(v.keep_alive_interval());
            }
        });
    });
    status
}

/// The fields MsQuic reads while a connection runs (send buffering, idle, keep-alive and
/// disconnect timeouts, network statistics events) whose values differ between `before` and
/// `after`, as IsSet bits.
fn changed_live_fields(before: &Settings, after: &Settings) -> u64 {
    [
        (
            C::IS_SET_SEND_BUFFERING_ENABLED,
            before.send_buffering_enabled != after.send_buffering_enabled,
        ),
        (
            C::IS_SET_IDLE_TIMEOUT_MS,
            before.idle_timeout_ms != after.idle_timeout_ms,
        ),
        (
            C::IS_SET_KEEP_ALIVE_INTERVAL_MS,
            before.keep_alive_interval_ms != after.keep_alive_interval_ms,
        ),
        (
            C::IS_SET_DISCONNECT_TIMEOUT_MS,
            before.disconnect_timeout_ms != after.disconnect_timeout_ms,
        ),
        (
            C::IS_SET_NET_STATS_EVENT_ENABLED,
            before.net_stats_event_enabled != after.net_stats_event_enabled,
        ),
    ]
    .into_iter()
    .filter(|&(_, changed)| changed)
    .fold(0, |mask, (bit, _)| mask | bit)
}
