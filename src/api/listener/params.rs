//! A listener's GetParam/SetParam: LISTENER_LOCAL_ADDRESS and LISTENER_STATS, and the
//! QUIC-only LISTENER_CIBIR_ID and DOS_MODE_EVENTS (checked in MsQuic's order, kept and
//! returned as MsQuic does); LISTENER_PARTITION_INDEX picks the worker the listener's socket
//! (and so its NEW_CONNECTION callbacks and connections) lives on.

use core::ffi::c_void;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_DOS_MODE_EVENTS, QUIC_PARAM_LISTENER_CIBIR_ID,
    QUIC_PARAM_LISTENER_LOCAL_ADDRESS, QUIC_PARAM_LISTENER_PARTITION_INDEX,
    QUIC_PARAM_LISTENER_STATS, QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS,
};
use crate::api::connection::quic_only::set_cibir;
use crate::api::door::handle::Handle;
use crate::api::listener::Listener;
use crate::api::param::buffer::{addr_bytes, answer, read_exact};

/// A listener's CIBIR id, DoS-mode event opt-in and partition.
#[derive(Default)]
pub(crate) struct ListenerParams {
    state: Mutex<ListenerState>,
}

#[derive(Default)]
struct ListenerState {
    /// The offset byte and the id, as set; empty when unset.
    cibir: Vec<u8>,
    dos_mode_events: bool,
    partition: Option<u16>,
}

impl ListenerParams {
    /// The partition set with LISTENER_PARTITION_INDEX, if any.
    pub(crate) fn partition(&self) -> Option<u16> {
        self.state.lock().partition
    }
}

/// How many partitions MsQuic has: one per processor.
fn partitions() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// GetParam for a listener's ids; `None` if it is not one of them (or `h` is no listener).
///
/// # Safety
/// `h` is a live handle of the kind the id's prefix routes to; `len` is valid; `buf` is NULL
/// or writable for `*len` bytes.
pub(crate) unsafe fn get(
    h: HQUIC,
    param: u32,
    len: *mut u32,
    buf: *mut c_void,
) -> Option<QUIC_STATUS> {
    let status = match param {
        QUIC_PARAM_LISTENER_LOCAL_ADDRESS => {
            // SAFETY: as above.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            // As MsQuic: the address the listener was started on, whatever its state.
            let local = listener.obj.local_address();
            // SAFETY: as above.
            unsafe { answer(len, buf, &addr_bytes(&local)) }
        }
        QUIC_PARAM_LISTENER_STATS => {
            // SAFETY: as above.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            let stats = listener.obj.statistics();
            let bytes = [
                stats.TotalAcceptedConnections,
                stats.TotalRejectedConnections,
                stats.BindingRecvDroppedPackets,
            ]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect::<Vec<u8>>();
            // SAFETY: as above.
            unsafe { answer(len, buf, &bytes) }
        }
        QUIC_PARAM_LISTENER_CIBIR_ID => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            let cibir = listener.obj.params.state.lock().cibir.clone();
            if cibir.is_empty() {
                // SAFETY: the handle and buffers are as this function's contract says.
                unsafe { len.write(0) };
                return Some(QUIC_STATUS_SUCCESS);
            }
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { answer(len, buf, &cibir) }
        }
        QUIC_PARAM_DOS_MODE_EVENTS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            let v = listener.obj.params.state.lock().dos_mode_events;
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { answer(len, buf, &[u8::from(v)]) }
        }
        QUIC_PARAM_LISTENER_PARTITION_INDEX => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            let p = listener.obj.params.partition();
            // SAFETY: the handle and buffers are as this function's contract says.
            if unsafe { len.read() } < 2 {
                // SAFETY: the handle and buffers are as this function's contract says.
                unsafe { len.write(2) };
                return Some(QUIC_STATUS_BUFFER_TOO_SMALL);
            }
            if buf.is_null() {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            }
            let Some(p) = p else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { answer(len, buf, &p.to_ne_bytes()) }
        }
        _ => return None,
    };
    Some(status)
}

/// SetParam for a listener's ids; `None` if it is not one of them (or `h` is no listener).
///
/// # Safety
/// `h` is a live handle of the kind the id's prefix routes to; `buf` is NULL or readable for
/// `len` bytes.
pub(crate) unsafe fn set(
    h: HQUIC,
    param: u32,
    len: u32,
    buf: *const c_void,
) -> Option<QUIC_STATUS> {
    let status = match param {
        QUIC_PARAM_LISTENER_LOCAL_ADDRESS | QUIC_PARAM_LISTENER_STATS => {
            QUIC_STATUS_INVALID_PARAMETER
        }
        QUIC_PARAM_LISTENER_CIBIR_ID => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            let mut s = listener.obj.params.state.lock();
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { set_cibir(&mut s.cibir, len, buf) }
        }
        QUIC_PARAM_DOS_MODE_EVENTS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            match unsafe { read_exact::<u8>(len, buf) } {
                // Never raised: a TCP listener never enters MsQuic's retry (DoS) mode.
                Some(v) => {
                    listener.obj.params.state.lock().dos_mode_events = v != 0;
                    QUIC_STATUS_SUCCESS
                }
                None => QUIC_STATUS_INVALID_PARAMETER,
            }
        }
        QUIC_PARAM_LISTENER_PARTITION_INDEX => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let listener = unsafe { Handle::<Listener>::borrow(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            let Some(p) = (unsafe { read_exact::<u16>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            let mut s = listener.obj.params.state.lock();
            if usize::from(p) >= partitions() || s.partition.is_some() || listener.obj.is_started()
            {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            }
            s.partition = Some(p);
            QUIC_STATUS_SUCCESS
        }
        _ => return None,
    };
    Some(status)
}
