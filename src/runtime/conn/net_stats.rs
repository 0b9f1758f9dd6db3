//! Network statistics (MsQuic's NETWORK_STATISTICS): the path as TCP sees it, and the
//! application bytes that have not reached the network yet.
//!
//! MsQuic reports them from its congestion controller each time the peer acknowledges data.
//! Over TCP the kernel takes over delivery once bytes are written, so a report is due after a
//! worker turn in which the connection wrote stream or datagram data to the socket: at most
//! one per turn, raised at the end of the turn (never from an application command; an
//! application command that wrote data asks the worker for a turn, see [`Conn::progress`]).
//! The sink says whether it wants reports ([`ConnSink::wants_net_stats`]), so nothing is
//! measured for connections that do not.
//!
//! [`ConnSink::wants_net_stats`]: super::ConnSink::wants_net_stats

use std::io;

use super::{Conn, ConnEvent, Inner};

/// A connection's network statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Bytes sent on the network and not yet acknowledged by the peer's TCP (the socket's send
    /// queue less its unsent part), capped to `u32::MAX`.
    pub bytes_in_flight: u32,
    /// Application bytes not yet sent on the network: stream data and datagrams the
    /// connection has not written to the socket yet (queued, or framed and waiting for the
    /// socket) and bytes the socket holds unsent.
    pub posted_bytes: u64,
    /// TCP's smoothed round-trip time, in microseconds.
    pub smoothed_rtt_us: u64,
    /// TCP's congestion window in bytes (segments times the sending MSS), capped to
    /// `u32::MAX`.
    pub congestion_window: u32,
    /// The congestion window over the smoothed RTT (bytes per microsecond), as MsQuic
    /// estimates bandwidth.
    pub bandwidth: u64,
}

impl Conn {
    /// The connection's network statistics now; `WouldBlock` if asked from inside an engine
    /// command.
    pub fn net_stats(&self) -> io::Result<NetStats> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::from(io::ErrorKind::WouldBlock))?;
        let tcp = crate::runtime::sys::tcp_info(&inner.sock)?;
        let queued = crate::runtime::sys::send_queue_bytes(&inner.sock)?;
        let rtt = u64::from(tcp.rtt_us);
        let cwnd = tcp.congestion_window.min(u64::from(u32::MAX)) as u32;
        let in_flight = queued.saturating_sub(tcp.unsent_bytes);
        let unwritten = inner.engine.unsent_bytes() + inner.pending.unsent().len() as u64;
        Ok(NetStats {
            bytes_in_flight: in_flight.min(u64::from(u32::MAX)) as u32,
            posted_bytes: unwritten + tcp.unsent_bytes,
            smoothed_rtt_us: rtt,
            congestion_window: cwnd,
            bandwidth: u64::from(cwnd) / rtt.max(1),
        })
    }

    /// Whether application data was written since the last report and the sink wants a
    /// report.
    pub(super) fn net_stats_due(&self) -> bool {
        let written = {
            let inner = self.inner.borrow();
            inner.app_bytes_sent() != inner.net_stats_mark
        };
        written && self.sink.wants_net_stats()
    }

    /// The report a turn ends with: `Some` if application data was written since the last
    /// one and the sink wants it. Data written while the sink wants none is not reported
    /// later.
    pub(super) fn take_net_stats(&self) -> Option<ConnEvent> {
        {
            let mut inner = self.inner.borrow_mut();
            let sent = inner.app_bytes_sent();
            if sent == inner.net_stats_mark {
                return None;
            }
            inner.net_stats_mark = sent;
        }
        if !self.sink.wants_net_stats() {
            return None;
        }
        self.net_stats().ok().map(ConnEvent::NetworkStatistics)
    }
}

impl Inner {
    /// Stream and datagram payload bytes the engine has written so far.
    fn app_bytes_sent(&self) -> u64 {
        let stats = self.engine.stats();
        stats.stream_bytes_sent + stats.datagram_bytes_sent
    }
}
