//! Small per-connection options and facts read and written with Get/SetParam:
//! CONN_QUIC_VERSION, CONN_IDEAL_PROCESSOR, CONN_CLOSE_REASON_PHRASE,
//! CONN_STREAM_SCHEDULING_SCHEME, CONN_SEND_DSCP and CONN_CLOSE_ASYNC.
//!
//! - The close reason phrase goes out in our CONNECTION_CLOSE; a phrase the peer sends in its
//!   CONNECTION_CLOSE replaces it, as in MsQuic, so GetParam then returns the peer's words.
//! - Scheduling: FIFO (MsQuic's default: a stream sends all it can before the next) or round
//!   robin (a record's worth per stream in turn); priorities come first either way.
//! - DSCP is written into the socket's IP_TOS / IPV6_TCLASS, so the TCP segments carry it.

use core::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use parking_lot::Mutex;

use crate::api::abi::*;
use crate::api::connection::{Connection, on_slot};
use crate::api::door::handle::Handle;
use crate::proto::Scheduling;

/// `QUIC_MAX_CONNECTION_CLOSE_REASON_LENGTH` (512): the longest phrase.
const MAX_REASON_LENGTH: usize = 512;
/// The largest DSCP value (six bits).
const MAX_DSCP: u8 = 63;
/// QUIC version 1, the one this library speaks the frames of.
const QUIC_VERSION_1: u32 = 1;

/// The options, on the connection's handle.
#[derive(Default)]
pub(crate) struct ConnOptions {
    /// The close reason phrase (without its NUL), ours or the peer's.
    pub(crate) close_reason: Mutex<Option<Vec<u8>>>,
    /// `QUIC_STREAM_SCHEDULING_SCHEME`: 0 FIFO (default), 1 round robin.
    round_robin: AtomicBool,
    /// The DSCP value for the socket (0 by default).
    dscp: AtomicU8,
    /// `CONN_CLOSE_ASYNC`: ConnectionClose returns without waiting.
    pub(crate) close_async: AtomicBool,
}

impl ConnOptions {
    /// The scheduling scheme the engine should use.
    pub(crate) fn scheduling(&self) -> Scheduling {
        if self.round_robin.load(Ordering::Relaxed) {
            Scheduling::RoundRobin
        } else {
            Scheduling::Fifo
        }
    }

    /// The DSCP value to mark the socket with.
    pub(crate) fn dscp(&self) -> u8 {
        self.dscp.load(Ordering::Relaxed)
    }
}

/// Applies the DSCP value to the connection's socket, if it has one (on the worker).
fn apply_dscp(conn: &Arc<Handle<Connection>>) {
    let dscp = conn.obj.options.dscp();
    on_slot(conn, true, move |_cx, slot| {
        if let Some(c) = slot.conn() {
            let _ = c.set_dscp(dscp);
        }
    });
}

/// `GetParam` for the ids this module owns; `None` for any other.
///
/// # Safety
/// `h` is a live connection handle of the application; `len`/`buf` as for [`answer`].
///
/// [`answer`]: crate::api::param::buffer::answer
pub(crate) unsafe fn get(
    conn: &Arc<Handle<Connection>>,
    param: u32,
    len: *mut u32,
    buf: *mut c_void,
) -> Option<QUIC_STATUS> {
    let options = &conn.obj.options;
    let data: Vec<u8> = match param {
        QUIC_PARAM_CONN_QUIC_VERSION => {
            // As MsQuic: 0 until the connection starts (a client) or is accepted.
            let version = if conn.obj.is_started() {
                QUIC_VERSION_1
            } else {
                0
            };
            version.to_ne_bytes().to_vec()
        }
        QUIC_PARAM_CONN_IDEAL_PROCESSOR => (conn.obj.worker as u16).to_ne_bytes().to_vec(),
        QUIC_PARAM_CONN_CLOSE_REASON_PHRASE => {
            let Some(mut phrase) = options.close_reason.lock().clone() else {
                return Some(QUIC_STATUS_NOT_FOUND);
            };
            phrase.push(0);
            phrase
        }
        QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME => {
            u32::from(options.round_robin.load(Ordering::Relaxed))
                .to_ne_bytes()
                .to_vec()
        }
        QUIC_PARAM_CONN_SEND_DSCP => vec![options.dscp()],
        QUIC_PARAM_CONN_CLOSE_ASYNC => vec![u8::from(options.close_async.load(Ordering::Relaxed))],
        _ => return None,
    };
    // SAFETY: the caller's contract is `answer`'s.
    Some(unsafe { crate::api::param::buffer::answer(len, buf, &data) })
}

/// `SetParam` for the ids this module owns; `None` for any other.
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes.
pub(crate) unsafe fn set(
    conn: &Arc<Handle<Connection>>,
    param: u32,
    len: u32,
    buf: *const c_void,
) -> Option<QUIC_STATUS> {
    let options = &conn.obj.options;
    let bytes = if buf.is_null() || len == 0 {
        &[][..]
    } else {
        // SAFETY: non-NULL and readable for `len` bytes by the caller's contract.
        unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len as usize) }
    };
    let status = match param {
        QUIC_PARAM_CONN_QUIC_VERSION | QUIC_PARAM_CONN_IDEAL_PROCESSOR => {
            QUIC_STATUS_INVALID_PARAMETER
        }
        QUIC_PARAM_CONN_CLOSE_REASON_PHRASE => {
            // A C string of at most 512 bytes with its NUL; the phrase ends at the first NUL.
            if bytes.is_empty() || bytes.len() > MAX_REASON_LENGTH + 1 {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            }
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            *options.close_reason.lock() = Some(bytes[..end].to_vec());
            QUIC_STATUS_SUCCESS
        }
        QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME => {
            let Ok(raw) = <[u8; 4]>::try_from(bytes) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            let scheme = u32::from_ne_bytes(raw);
            if scheme > 1 {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            }
            options.round_robin.store(scheme == 1, Ordering::Relaxed);
            let scheduling = options.scheduling();
            on_slot(conn, true, move |cx, slot| {
                slot.with_engine(cx, |e| e.set_scheduling(scheduling));
            });
            QUIC_STATUS_SUCCESS
        }
        QUIC_PARAM_CONN_SEND_DSCP => {
            let [dscp] = bytes else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            if *dscp > MAX_DSCP {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            }
            options.dscp.store(*dscp, Ordering::Relaxed);
            apply_dscp(conn);
            QUIC_STATUS_SUCCESS
        }
        QUIC_PARAM_CONN_CLOSE_ASYNC => {
            let [value] = bytes else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            options.close_async.store(*value != 0, Ordering::Relaxed);
            QUIC_STATUS_SUCCESS
        }
        _ => return None,
    };
    Some(status)
}
