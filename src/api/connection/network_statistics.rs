//! The NETWORK_STATISTICS connection event (preview) and the figures it shares with
//! `QUIC_PARAM_CONN_NETWORK_STATISTICS`.
//!
//! With `NetStatsEventEnabled` on (at start, or set later with CONN_SETTINGS), a connection
//! raises the event after a worker turn in which it wrote stream or datagram data to its
//! socket: at most one per turn, between CONNECTED and the start of its shutdown. MsQuic raises
//! it on each acknowledgement; over TCP the kernel acknowledges, and a write is where data
//! leaves QMux (the runtime's `conn/net_stats.rs` decides when a report is due).

use std::rc::Rc;
use std::sync::atomic::Ordering;

use crate::api::abi::{
    QUIC_CONNECTION_EVENT, QUIC_CONNECTION_EVENT_NETWORK_STATISTICS, QUIC_CONNECTION_EVENT_PAYLOAD,
    QUIC_NETWORK_STATISTICS,
};
use crate::api::connection::worker::ConnSlot;
use crate::api::stream::ideal_send_bytes;
use crate::runtime::conn::{Conn, NetStats};
use crate::runtime::log::qlog;

/// Whether `slot` raises NETWORK_STATISTICS now: enabled, connected, not shutting down, and
/// the handle not closed.
pub(crate) fn wanted(slot: &ConnSlot) -> bool {
    slot.handle.obj.net_stats_events.load(Ordering::Relaxed)
        && slot.connected.get()
        && !slot.is_shutting_down()
        && !slot.handle.is_closed()
}

/// MsQuic's figures from the runtime's, with the connection's ideal send buffer (as
/// IDEAL_SEND_BUFFER_SIZE raises it; 0 if it cannot be read now).
pub(crate) fn to_c(stats: &NetStats, conn: &Conn) -> QUIC_NETWORK_STATISTICS {
    QUIC_NETWORK_STATISTICS {
        BytesInFlight: stats.bytes_in_flight,
        PostedBytes: stats.posted_bytes,
        IdealBytes: ideal_send_bytes(conn).unwrap_or(0),
        SmoothedRTT: stats.smoothed_rtt_us,
        CongestionWindow: stats.congestion_window,
        Bandwidth: stats.bandwidth,
    }
}

/// Raises NETWORK_STATISTICS with `stats`, if the connection still wants it.
pub(crate) fn raise(slot: &Rc<ConnSlot>, conn: &Conn, stats: NetStats) {
    if !wanted(slot) {
        return;
    }
    let figures = to_c(&stats, conn);
    qlog!(
        Debug,
        slot.key(),
        "NETWORK_STATISTICS BytesInFlight={} PostedBytes={} IdealBytes={} SmoothedRTT={} \
         CongestionWindow={} Bandwidth={}",
        figures.BytesInFlight,
        figures.PostedBytes,
        figures.IdealBytes,
        figures.SmoothedRTT,
        figures.CongestionWindow,
        figures.Bandwidth
    );
    let mut event = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_NETWORK_STATISTICS,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            NETWORK_STATISTICS: figures,
        },
    };
    slot.emit(&mut event);
}
