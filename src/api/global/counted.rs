//! The performance counters tied to object lifetimes: a connection or stream counts as
//! active from its open until the application closes it, when MsQuic frees it (here the
//! memory stays a while in the handle quarantine, which must not keep it counted).

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use crate::runtime::counters::{self, *};

/// Started connections not yet freed: each holds a socket, MsQuic's "binding".
static STARTED_CONNECTIONS: AtomicI64 = AtomicI64::new(0);

/// Listening sockets open, each shared by the listeners started on its address: the
/// listener room tells of each one it opens and closes.
static LISTENER_SOCKETS: AtomicI64 = AtomicI64::new(0);

/// Whether the library is "in use" as MsQuic says: a socket is held by a started
/// connection or a started listener.
pub(crate) fn in_use() -> bool {
    STARTED_CONNECTIONS.load(Ordering::Relaxed) > 0 || LISTENER_SOCKETS.load(Ordering::Relaxed) > 0
}

/// A listening socket was opened (for the first listener started on its address).
pub(crate) fn listener_socket_opened() {
    LISTENER_SOCKETS.fetch_add(1, Ordering::Relaxed);
}

/// A listening socket was closed (its last listener stopped).
pub(crate) fn listener_socket_closed() {
    LISTENER_SOCKETS.fetch_sub(1, Ordering::Relaxed);
}

/// A connection's place in the counters: created and active now; connected once CONNECTED
/// is raised; on free, a started connection that never connected is a failed handshake.
pub(crate) struct ConnCount {
    started: AtomicBool,
    connected: AtomicBool,
    released: AtomicBool,
}

impl ConnCount {
    /// Counts a new connection (started at once for an accepted one).
    pub(crate) fn new(started: bool) -> Self {
        counters::inc(CONN_CREATED);
        counters::inc(CONN_ACTIVE);
        let count = Self {
            started: AtomicBool::new(false),
            connected: AtomicBool::new(false),
            released: AtomicBool::new(false),
        };
        if started {
            count.started();
        }
        count
    }

    /// ConnectionStart was accepted.
    pub(crate) fn started(&self) {
        if !self.started.swap(true, Ordering::Relaxed) {
            STARTED_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// CONNECTED was raised.
    pub(crate) fn connected(&self) {
        if !self.released.load(Ordering::Relaxed) && !self.connected.swap(true, Ordering::Relaxed) {
            counters::inc(CONN_CONNECTED);
        }
    }

    /// The connection is freed as far as the application can tell: closed (its memory may
    /// stay a while to catch late calls on the handle). Counted once.
    pub(crate) fn release(&self) {
        if self.released.swap(true, Ordering::Relaxed) {
            return;
        }
        if self.connected.load(Ordering::Relaxed) {
            counters::dec(CONN_CONNECTED);
        } else if self.started.load(Ordering::Relaxed) {
            counters::inc(CONN_HANDSHAKE_FAIL);
        }
        if self.started.load(Ordering::Relaxed) {
            STARTED_CONNECTIONS.fetch_sub(1, Ordering::Relaxed);
        }
        counters::dec(CONN_ACTIVE);
    }
}

impl Drop for ConnCount {
    fn drop(&mut self) {
        self.release();
    }
}

/// A stream's place in STRM_ACTIVE, from its allocation until it is freed (closed).
pub(crate) struct StreamCount(AtomicBool);

impl StreamCount {
    /// Counts a new stream.
    pub(crate) fn new() -> Self {
        counters::inc(STRM_ACTIVE);
        Self(AtomicBool::new(false))
    }

    /// The stream is closed; counted once.
    pub(crate) fn release(&self) {
        if !self.0.swap(true, Ordering::Relaxed) {
            counters::dec(STRM_ACTIVE);
        }
    }
}

impl Default for StreamCount {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for StreamCount {
    fn drop(&mut self) {
        self.release();
    }
}

/// A connection closed with a QUIC transport error code: MsQuic counts the protocol
/// violations (FLOW_CONTROL_ERROR to AEAD_LIMIT_REACHED).
pub(crate) fn on_transport_close(code: u64) {
    if (0x3..=0xF).contains(&code) {
        counters::inc(CONN_PROTOCOL_ERRORS);
    }
}
