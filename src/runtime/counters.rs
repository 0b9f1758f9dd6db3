//! Library-wide performance counters: relaxed atomics, cheap enough to bump on hot paths.
//!
//! The indexes are MsQuic's `QUIC_PERFORMANCE_COUNTERS` order, so the API layer copies the
//! array as it is. Only what has a meaning over QMux is counted; the rest stays 0.

use std::sync::atomic::{AtomicI64, Ordering};

/// How many counters there are (MsQuic's preview count).
pub const COUNT: usize = 35;

/// Connections created.
pub const CONN_CREATED: usize = 0;
/// Connections that were started and never became connected, counted when freed.
pub const CONN_HANDSHAKE_FAIL: usize = 1;
/// Connections the application refused in the listener's NEW_CONNECTION.
pub const CONN_APP_REJECT: usize = 2;
/// Connections that resumed a session (counted at CONNECTED, on each end).
pub const CONN_RESUMED: usize = 3;
/// Connections allocated and not yet freed.
pub const CONN_ACTIVE: usize = 4;
/// Connections connected and not yet freed.
pub const CONN_CONNECTED: usize = 5;
/// Connections closed for a protocol violation.
pub const CONN_PROTOCOL_ERRORS: usize = 6;
/// Connections refused because no ALPN matched.
pub const CONN_NO_ALPN: usize = 7;
/// Streams allocated and not yet freed.
pub const STRM_ACTIVE: usize = 8;
/// QMux records received.
pub const UDP_RECV: usize = 12;
/// QMux records sent.
pub const UDP_SEND: usize = 13;
/// Bytes received from sockets.
pub const UDP_RECV_BYTES: usize = 14;
/// Bytes written to sockets.
pub const UDP_SEND_BYTES: usize = 15;
/// Socket reads that returned data.
pub const UDP_RECV_EVENTS: usize = 16;
/// Socket write calls that wrote data.
pub const UDP_SEND_CALLS: usize = 17;
/// Stream bytes the application queued to send.
pub const APP_SEND_BYTES: usize = 18;
/// Stream bytes delivered to, and consumed by, the application.
pub const APP_RECV_BYTES: usize = 19;
/// Connection operations queued and not yet run.
pub const CONN_OPER_QUEUE_DEPTH: usize = 21;
/// Connection operations queued.
pub const CONN_OPER_QUEUED: usize = 22;
/// Connection operations run.
pub const CONN_OPER_COMPLETED: usize = 23;
/// Worker operations queued and not yet run.
pub const WORK_OPER_QUEUE_DEPTH: usize = 24;
/// Worker operations queued.
pub const WORK_OPER_QUEUED: usize = 25;
/// Worker operations run.
pub const WORK_OPER_COMPLETED: usize = 26;

static COUNTERS: [AtomicI64; COUNT] = [const { AtomicI64::new(0) }; COUNT];

/// Adds `n` (possibly negative) to counter `index`.
pub fn add(index: usize, n: i64) {
    COUNTERS[index].fetch_add(n, Ordering::Relaxed);
}

/// Adds one to counter `index`.
pub fn inc(index: usize) {
    add(index, 1);
}

/// Takes one from counter `index`.
pub fn dec(index: usize) {
    add(index, -1);
}

/// The counters now; a gauge read mid-update never shows below zero.
pub fn snapshot() -> [u64; COUNT] {
    core::array::from_fn(|i| COUNTERS[i].load(Ordering::Relaxed).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_move_and_never_read_negative() {
        let before = snapshot()[CONN_RESUMED];
        inc(CONN_RESUMED);
        assert_eq!(snapshot()[CONN_RESUMED], before + 1);
        dec(CONN_RESUMED);
        assert_eq!(snapshot()[CONN_RESUMED], before);
    }
}
