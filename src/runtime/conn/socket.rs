//! The connection's TCP socket as the kernel sees it: TCP_INFO for statistics, and the DSCP
//! marking of its segments.

use std::io;

use super::Conn;

/// The TCP_INFO figures statistics report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// Smoothed round-trip time, in microseconds.
    pub rtt_us: u32,
    /// Smallest round-trip time seen, in microseconds (0 on kernels that do not report it).
    pub min_rtt_us: u32,
    /// Round-trip time variance, in microseconds.
    pub rtt_var_us: u32,
    /// Congestion window, in bytes (segments times the sending MSS).
    pub congestion_window: u64,
    /// Path MTU.
    pub path_mtu: u32,
    /// Segments retransmitted over the connection's life.
    pub total_retransmits: u32,
    /// Bytes in the socket's send queue not yet sent (0 on kernels that do not report it).
    pub unsent_bytes: u64,
    /// Segments received that carried data (0 on kernels that do not report it).
    pub data_segs_in: u32,
}

impl Conn {
    /// The kernel's view of this connection's TCP path.
    pub fn tcp_info(&self) -> io::Result<TcpInfo> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::from(io::ErrorKind::WouldBlock))?;
        crate::runtime::sys::tcp_info(&inner.sock)
    }

    /// Marks the connection's outgoing segments with `dscp` (IP_TOS or IPV6_TCLASS).
    pub fn set_dscp(&self, dscp: u8) -> io::Result<()> {
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::from(io::ErrorKind::WouldBlock))?;
        let v6 = inner.sock.local_addr()?.is_ipv6();
        crate::runtime::sys::set_dscp(&inner.sock, dscp, v6)
    }
}

/// Makes closing `sock` reset the connection (SO_LINGER with a zero timeout) instead of
/// ending it cleanly: how a refused connection is told apart from one that ended.
pub fn reset_on_close(sock: &std::net::TcpStream) -> io::Result<()> {
    crate::runtime::sys::linger_zero(sock)
}
