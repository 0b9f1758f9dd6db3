//! Connection statistics (`CONN_STATISTICS`, `CONN_STATISTICS_V2` and their `_PLAT` twins; the
//! sizes `GLOBAL_STATISTICS_V2_SIZES` lists are `global::stats_sizes`), from real sources (decisions.md §4):
//! - "packets" are QMux records, and byte counts are QMux bytes (before TLS), both counted by
//!   the engine; stream byte counts are stream payload;
//! - RTT, its variance and minimum, the congestion window, the path MTU and retransmissions
//!   (reported as suspected losses) come from the kernel's TCP_INFO; the largest RTT is the
//!   largest smoothed RTT seen at a query;
//! - timing: the start, when the TCP connection was up (the first flight), and CONNECTED, on
//!   the monotonic clock in microseconds, MsQuic's time base on Linux, so the `_PLAT` forms are
//!   the same figures.
//!
//! What QMux over TCP has no counterpart for stays zero: reordered, dropped and duplicate
//! packets (TCP hides them), decryption failures (one is fatal), ACK frames, congestion events,
//! key updates, handshake flight sizes, ECN, connection ID updates, queue delays.

use core::ffi::c_void;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::api::abi::{
    QUIC_PARAM_CONN_STATISTICS, QUIC_PARAM_CONN_STATISTICS_PLAT, QUIC_STATISTICS,
    QUIC_STATISTICS_V2, QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_SUCCESS,
};
use crate::api::connection::{Connection, on_slot};
use crate::api::door::handle::Handle;
use crate::api::global::stats_sizes::V2_SIZES;
use crate::api::param::buffer::answer;
use crate::proto::Stats;
use crate::runtime::conn::TcpInfo;

/// What the worker knows when asked.
#[derive(Default)]
struct Snapshot {
    engine: Stats,
    tcp: TcpInfo,
}

/// Takes the figures on the connection's worker (blocking, like MsQuic's GetParam).
fn snapshot(conn: &Arc<Handle<Connection>>) -> Snapshot {
    let out = Arc::new(Mutex::new(Snapshot::default()));
    let o = out.clone();
    on_slot(conn, true, move |_cx, slot| {
        let mut s = o.lock();
        if let Some(stats) = slot.inspect(|e| e.stats()) {
            s.engine = stats;
        }
        if let Some(Ok(tcp)) = slot.conn().map(|c| c.tcp_info()) {
            s.tcp = tcp;
        }
    });
    std::mem::take(&mut *out.lock())
}

/// Fills a `QUIC_STATISTICS_V2` for `conn`.
fn v2(conn: &Arc<Handle<Connection>>) -> QUIC_STATISTICS_V2 {
    let s = snapshot(conn);
    let mut info = conn.obj.info.lock();
    info.max_rtt_us = info.max_rtt_us.max(s.tcp.rtt_us);
    QUIC_STATISTICS_V2 {
        CorrelationId: conn.as_hquic() as usize as u64,
        Rtt: s.tcp.rtt_us,
        MinRtt: s.tcp.min_rtt_us,
        MaxRtt: info.max_rtt_us,
        RttVariance: s.tcp.rtt_var_us,
        TimingStart: info.start_us,
        TimingInitialFlightEnd: info.transport_us,
        TimingHandshakeFlightEnd: info.connected_us,
        SendPathMtu: s.tcp.path_mtu.min(u32::from(u16::MAX)) as u16,
        SendTotalPackets: s.engine.records_sent,
        SendRetransmittablePackets: s.engine.records_sent,
        SendSuspectedLostPackets: u64::from(s.tcp.total_retransmits),
        SendTotalBytes: s.engine.bytes_sent,
        SendTotalStreamBytes: s.engine.stream_bytes_sent,
        RecvTotalPackets: s.engine.records_received,
        RecvTotalBytes: s.engine.bytes_received,
        RecvTotalStreamBytes: s.engine.stream_bytes_received,
        SendCongestionWindow: s.tcp.congestion_window.min(u64::from(u32::MAX)) as u32,
        // ResumptionSucceeded.
        Bitfields: u32::from(info.resumed) << 3,
        ..QUIC_STATISTICS_V2::default()
    }
}

/// The same figures in the v1 layout.
fn v1(conn: &Arc<Handle<Connection>>) -> QUIC_STATISTICS {
    let v = v2(conn);
    let mut s = QUIC_STATISTICS {
        CorrelationId: v.CorrelationId,
        Bitfields: v.Bitfields,
        Rtt: v.Rtt,
        MinRtt: v.MinRtt,
        MaxRtt: v.MaxRtt,
        ..QUIC_STATISTICS::default()
    };
    s.Timing.Start = v.TimingStart;
    s.Timing.InitialFlightEnd = v.TimingInitialFlightEnd;
    s.Timing.HandshakeFlightEnd = v.TimingHandshakeFlightEnd;
    s.Send.PathMtu = v.SendPathMtu;
    s.Send.TotalPackets = v.SendTotalPackets;
    s.Send.RetransmittablePackets = v.SendRetransmittablePackets;
    s.Send.SuspectedLostPackets = v.SendSuspectedLostPackets;
    s.Send.TotalBytes = v.SendTotalBytes;
    s.Send.TotalStreamBytes = v.SendTotalStreamBytes;
    s.Recv.TotalPackets = v.RecvTotalPackets;
    s.Recv.TotalBytes = v.RecvTotalBytes;
    s.Recv.TotalStreamBytes = v.RecvTotalStreamBytes;
    s
}

/// The bytes of a `#[repr(C)]` plain-data value.
fn bytes_of<T: Copy>(value: &T) -> Vec<u8> {
    // SAFETY: `T` is one of the statistics structs: plain integers, no pointers; padding
    // bytes are copied as they are, which C callers never read.
    unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
        .to_vec()
}

/// GetParam for the four connection statistics ids.
///
/// # Safety
/// As for [`answer`].
pub(crate) unsafe fn get(
    conn: &Arc<Handle<Connection>>,
    param: u32,
    len: *mut u32,
    buf: *mut c_void,
) -> QUIC_STATUS {
    if param == QUIC_PARAM_CONN_STATISTICS || param == QUIC_PARAM_CONN_STATISTICS_PLAT {
        // SAFETY: the caller's contract is `answer`'s.
        return unsafe { answer(len, buf, &bytes_of(&v1(conn))) };
    }
    // V2: at least the first size; fill the largest size that fits (whole fields only).
    // SAFETY: `len` is valid by the caller's contract.
    let have = unsafe { len.read() };
    let Some(&size) = V2_SIZES.iter().rev().find(|&&s| s <= have) else {
        // SAFETY: as above.
        unsafe { len.write(size_of::<QUIC_STATISTICS_V2>() as u32) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    };
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let all = bytes_of(&v2(conn));
    // SAFETY: `buf` is writable for `have >= size` bytes by the caller's contract.
    unsafe {
        core::ptr::copy_nonoverlapping(all.as_ptr(), buf.cast::<u8>(), size as usize);
        len.write(size);
    }
    QUIC_STATUS_SUCCESS
}
