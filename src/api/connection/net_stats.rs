//! `QUIC_PARAM_CONN_NETWORK_STATISTICS` (preview): the figures of the NETWORK_STATISTICS
//! event, now (see `network_statistics.rs`): the smoothed RTT and the congestion window
//! are TCP's (TCP_INFO), the bandwidth estimate is the window over the RTT as MsQuic computes
//! it, bytes in flight are those TCP sent and the peer has not acknowledged, posted bytes the
//! application's bytes not yet sent, ideal bytes the connection's ideal send buffer.

use core::ffi::c_void;
use core::mem::offset_of;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::api::abi::{QUIC_NETWORK_STATISTICS, QUIC_STATUS};
use crate::api::connection::network_statistics;
use crate::api::connection::{Connection, on_slot};
use crate::api::door::handle::Handle;
use crate::api::param::buffer::answer;

/// GetParam of the network statistics: BUFFER_TOO_SMALL with the size, INVALID_PARAMETER
/// for a NULL buffer, else the figures (0 before the TCP connection is up, and after it ended).
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
    let out = Arc::new(Mutex::new(QUIC_NETWORK_STATISTICS::default()));
    let o = out.clone();
    on_slot(conn, true, move |_cx, slot| {
        if let Some(c) = slot.conn() {
            if let Ok(stats) = c.net_stats() {
                *o.lock() = network_statistics::to_c(&stats, &c);
            }
        }
    });
    let n = *out.lock();
    // Field by field, at the struct's offsets, padding zero.
    let mut bytes = [0u8; SIZE];
    let mut put = |offset: usize, field: &[u8]| {
        bytes[offset..][..field.len()].copy_from_slice(field);
    };
    type N = QUIC_NETWORK_STATISTICS;
    put(offset_of!(N, BytesInFlight), &n.BytesInFlight.to_ne_bytes());
    put(offset_of!(N, PostedBytes), &n.PostedBytes.to_ne_bytes());
    put(offset_of!(N, IdealBytes), &n.IdealBytes.to_ne_bytes());
    put(offset_of!(N, SmoothedRTT), &n.SmoothedRTT.to_ne_bytes());
    put(
        offset_of!(N, CongestionWindow),
        &n.CongestionWindow.to_ne_bytes(),
    );
    put(offset_of!(N, Bandwidth), &n.Bandwidth.to_ne_bytes());
    // SAFETY: the caller's contract is `answer`'s.
    unsafe { answer(len, buf, &bytes) }
}
