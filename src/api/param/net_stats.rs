//! `QUIC_PARAM_CONN_NETWORK_STATISTICS` (preview): the path as the kernel's TCP_INFO sees it.
//! The smoothed RTT and the congestion window are TCP's; the bandwidth estimate is the window
//! over the RTT, as MsQuic computes it. Bytes in flight, posted and ideal bytes are 0: the
//! kernel's send queue, not QMux, holds unacknowledged bytes.

use core::ffi::c_void;
use core::mem::offset_of;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::api::abi::{QUIC_NETWORK_STATISTICS, QUIC_STATUS};
use crate::api::connection::{Connection, on_slot};
use crate::api::handle::Handle;
use crate::api::param::buffer::answer;
use crate::runtime::conn::TcpInfo;

/// GetParam of the network statistics: BUFFER_TOO_SMALL with the size, INVALID_PARAMETER
/// for a NULL buffer, else the figures (0 before the TCP connection is up).
///
/// # Safety
/// `len` is valid for reads and writes; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn get(
    conn: &Arc<Handle<Connection>>,
    len: *mut u32,
    buf: *mut c_void,
) -> QUIC_STATUS {
    const SIZE: usize = size_of::<QUIC_NETWORK_STATISTICS>();
    // SAFETY: `len` is valid by the caller's contract.
    if (unsafe { len.read() } as usize) < SIZE || buf.is_null() {
        // SAFETY: as above; `answer` reports the size or the NULL buffer.
        return unsafe { answer(len, buf, &[0; SIZE]) };
    }
    let out = Arc::new(Mutex::new(TcpInfo::default()));
    let o = out.clone();
    on_slot(conn, true, move |_cx, slot| {
        if let Some(Ok(tcp)) = slot.conn().map(|c| c.tcp_info()) {
            *o.lock() = tcp;
        }
    });
    let tcp = *out.lock();
    let rtt = u64::from(tcp.rtt_us);
    let cwnd = tcp.congestion_window.min(u64::from(u32::MAX)) as u32;
    // Field by field, at the struct's offsets, padding zero.
    let mut bytes = [0u8; SIZE];
    bytes[offset_of!(QUIC_NETWORK_STATISTICS, SmoothedRTT)..][..8]
        .copy_from_slice(&rtt.to_ne_bytes());
    bytes[offset_of!(QUIC_NETWORK_STATISTICS, CongestionWindow)..][..4]
        .copy_from_slice(&cwnd.to_ne_bytes());
    bytes[offset_of!(QUIC_NETWORK_STATISTICS, Bandwidth)..][..8]
        .copy_from_slice(&(u64::from(cwnd) / rtt.max(1)).to_ne_bytes());
    // SAFETY: the caller's contract is `answer`'s.
    unsafe { answer(len, buf, &bytes) }
}
