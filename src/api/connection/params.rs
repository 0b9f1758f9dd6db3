//! A connection's GetParam/SetParam (connection and TLS ids, also when asked through one of
//! its streams): addresses, settings, statistics, datagram switches, stream counts and IDs,
//! the handshake facts, TLS secrets and resumption tickets here; the small options in
//! [`options`]; the QUIC-only ones in [`quic_only`].

use core::ffi::c_void;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_ADDR, QUIC_HANDSHAKE_INFO, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED,
    QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED, QUIC_PARAM_CONN_LOCAL_ADDRESS,
    QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT, QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT,
    QUIC_PARAM_CONN_MAX_STREAM_IDS, QUIC_PARAM_CONN_REMOTE_ADDRESS, QUIC_PARAM_CONN_SETTINGS,
    QUIC_PARAM_CONN_STATISTICS, QUIC_PARAM_CONN_STATISTICS_PLAT, QUIC_PARAM_CONN_STATISTICS_V2,
    QUIC_PARAM_CONN_STATISTICS_V2_PLAT, QUIC_PARAM_CONN_TLS_SECRETS, QUIC_PARAM_TLS_HANDSHAKE_INFO,
    QUIC_PARAM_TLS_NEGOTIATED_ALPN, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS,
};
use crate::api::connection::datagram;
use crate::api::connection::options;
use crate::api::connection::quic_only;
use crate::api::connection::sockaddr;
use crate::api::connection::started_settings;
use crate::api::connection::stats;
use crate::api::connection::{Connection, on_slot};
use crate::api::door::handle::Handle;
use crate::api::param::buffer::{addr_bytes, answer, read_exact};
use crate::api::settings::{get_settings_param, set_settings_param};
use crate::proto::{Dir, Side, StreamId};

/// What a connection's engine says about its stream limits, read on its worker.
#[derive(Clone, Copy, Default)]
struct StreamLimits {
    /// How many more bidirectional and unidirectional streams we may open now.
    available: [u64; 2],
    /// The highest stream ID allowed plus one (MsQuic's form), by stream type.
    max_ids: [u64; 4],
}

/// Reads the stream limits with a blocking run on the connection's worker; all zero (and
/// each type's bits) before the connection has an engine.
fn stream_limits(conn: &Arc<Handle<Connection>>) -> StreamLimits {
    let out = Arc::new(Mutex::new(StreamLimits {
        max_ids: [0, 1, 2, 3],
        ..Default::default()
    }));
    let o = out.clone();
    on_slot(conn, true, move |_cx, slot| {
        let limits = slot.inspect(|e| {
            let mut l = StreamLimits::default();
            for (i, dir) in [Dir::Bi, Dir::Uni].into_iter().enumerate() {
                l.available[i] = e.streams_available(dir);
                let (peer_limit, our_limit) = e.max_streams(dir);
                for initiator in [Side::Client, Side::Server] {
                    let count = if initiator == e.side() {
                        peer_limit
                    } else {
                        our_limit
                    };
                    // MsQuic's MAX_STREAM_IDS: the stream count shifted over the type bits.
                    let ty = StreamId::new(initiator, dir, 0).0;
                    l.max_ids[ty as usize] = (count << 2) | ty;
                }
            }
            l
        });
        if let Some(l) = limits {
            *o.lock() = l;
        }
    });
    *out.lock()
}

/// A client's start runs on its worker (the name resolved, the connect made): an address read
/// after ConnectionStart waits for it, as MsQuic's GetParam is queued behind the start.
fn settle_start(h: HQUIC, conn: &Handle<Connection>) {
    let o = &conn.obj;
    if o.server
        || !o.is_started()
        || o.finished.load(std::sync::atomic::Ordering::Acquire)
        || (o.remote_address.lock().is_some() && o.info.lock().local_address.is_some())
    {
        return;
    }
    // SAFETY: `h` named a live connection a moment ago (`conn`); `get` validates it again.
    if let Some(conn) = unsafe { Handle::<Connection>::get(h) } {
        let worker = conn.obj.worker();
        let _ = worker.run(|_| ());
        if !worker.is_current() {
            // The start's name lookup runs off the worker; its outcome lands on the worker.
            conn.obj.lookup.wait(LOOKUP_WAIT_LIMIT);
        }
    }
}

/// The longest an address read waits for a client's name lookup (a lookup that takes longer
/// ends the connection at its handshake timeout anyway; the read then answers what is known).
const LOOKUP_WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// GetParam for a connection's ids; `None` if it is not one of them (or `h` is no
/// connection).
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
    // SAFETY: the caller's contract is both functions'.
    unsafe { get_main(h, param, len, buf) }
        // SAFETY: as above.
        .or_else(|| unsafe { quic_only::get(h, param, len, buf) })
}

/// SetParam for a connection's ids; `None` if it is not one of them (or `h` is no
/// connection).
///
/// # Safety
/// As for [`get`], with `buf` NULL or readable for `len` bytes (and a version settings'
/// lists as long as their lengths).
pub(crate) unsafe fn set(
    h: HQUIC,
    param: u32,
    len: u32,
    buf: *const c_void,
) -> Option<QUIC_STATUS> {
    // SAFETY: the caller's contract is both functions'.
    unsafe { set_main(h, param, len, buf) }
        // SAFETY: as above.
        .or_else(|| unsafe { quic_only::set(h, param, len, buf) })
}

/// GetParam for the ids answered here and in [`options`]; `None` for any other.
///
/// # Safety
/// As for [`get`].
unsafe fn get_main(h: HQUIC, param: u32, len: *mut u32, buf: *mut c_void) -> Option<QUIC_STATUS> {
    let status = match param {
        // Set-only: the application reads its own struct.
        QUIC_PARAM_CONN_TLS_SECRETS => QUIC_STATUS_INVALID_PARAMETER,
        QUIC_PARAM_CONN_REMOTE_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            settle_start(h, conn);
            let Some(remote) = *conn.obj.remote_address.lock() else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, &addr_bytes(&sockaddr::to_quic(remote))) }
        }
        QUIC_PARAM_CONN_LOCAL_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            settle_start(h, conn);
            let local = conn.obj.info.lock().local_address;
            let Some(local) = local.or(*conn.obj.bind_address.lock()) else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, &addr_bytes(&sockaddr::to_quic(local))) }
        }
        QUIC_PARAM_TLS_HANDSHAKE_INFO => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let Some(info) = conn.obj.info.lock().handshake else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: QUIC_HANDSHAKE_INFO is plain old data of exactly this size.
            let bytes: [u8; size_of::<QUIC_HANDSHAKE_INFO>()] =
                unsafe { core::mem::transmute_copy(&info) };
            // SAFETY: as above.
            unsafe { answer(len, buf, &bytes) }
        }
        QUIC_PARAM_TLS_NEGOTIATED_ALPN => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            if buf.is_null() {
                // MsQuic checks the buffer before the size here (no NULL probing).
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            }
            let info = conn.obj.info.lock();
            let Some(alpn) = info.negotiated_alpn.as_deref() else {
                return Some(QUIC_STATUS_INVALID_STATE);
            };
            // SAFETY: as above.
            unsafe { answer(len, buf, alpn) }
        }
        QUIC_PARAM_CONN_SETTINGS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let settings = conn.obj.settings.lock();
            // SAFETY: as above.
            unsafe { get_settings_param(&settings, len, buf) }
        }
        QUIC_PARAM_CONN_STATISTICS
        | QUIC_PARAM_CONN_STATISTICS_PLAT
        | QUIC_PARAM_CONN_STATISTICS_V2
        | QUIC_PARAM_CONN_STATISTICS_V2_PLAT => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            // SAFETY: as above.
            unsafe { stats::get(&conn, param, len, buf) }
        }
        QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED | QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let value = datagram::get_param(&conn.obj, param);
            // SAFETY: as above.
            unsafe { answer(len, buf, &[value]) }
        }
        QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT | QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            let i = usize::from(param == QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT);
            let count = stream_limits(&conn).available[i].min(u64::from(u16::MAX)) as u16;
            // SAFETY: as above.
            unsafe { answer(len, buf, &count.to_ne_bytes()) }
        }
        QUIC_PARAM_CONN_MAX_STREAM_IDS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            let ids = stream_limits(&conn).max_ids;
            let mut bytes = [0u8; 32];
            for (chunk, id) in bytes.chunks_exact_mut(8).zip(ids) {
                chunk.copy_from_slice(&id.to_ne_bytes());
            }
            // SAFETY: as above.
            unsafe { answer(len, buf, &bytes) }
        }
        _ => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            // SAFETY: as above.
            return unsafe { options::get(&conn, param, len, buf) };
        }
    };
    Some(status)
}

/// SetParam for the ids answered here and in [`options`]; `None` for any other.
///
/// # Safety
/// As for [`set`].
unsafe fn set_main(h: HQUIC, param: u32, len: u32, buf: *const c_void) -> Option<QUIC_STATUS> {
    match param {
        QUIC_PARAM_CONN_REMOTE_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // As MsQuic: a started connection first, then the address (never the wildcard).
            if conn.obj.is_started() {
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            // SAFETY: as above.
            let Some(addr) = (unsafe { read_exact::<QUIC_ADDR>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            let Some(addr) = sockaddr::from_quic(&addr).filter(|a| !a.ip().is_unspecified()) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            *conn.obj.remote_address.lock() = Some(addr);
            Some(QUIC_STATUS_SUCCESS)
        }
        QUIC_PARAM_CONN_SETTINGS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            if conn
                .obj
                .configured
                .load(core::sync::atomic::Ordering::Acquire)
            {
                // SAFETY: as above.
                return Some(unsafe { started_settings::set(&conn, len, buf) });
            }
            let mut settings = conn.obj.settings.lock();
            // SAFETY: as above.
            Some(unsafe { set_settings_param(&mut settings, len, buf) })
        }
        QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: as above.
            let Some(enabled) = (unsafe { read_exact::<u8>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            Some(datagram::set_receive_enabled(&conn.obj, enabled))
        }
        QUIC_PARAM_CONN_LOCAL_ADDRESS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: as above.
            let Some(addr) = (unsafe { read_exact::<QUIC_ADDR>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            let Some(addr) = sockaddr::from_quic(&addr) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            if conn.obj.is_started() {
                // Moving a started connection (MsQuic's migration) is not offered over TCP.
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            *conn.obj.bind_address.lock() = Some(addr);
            Some(QUIC_STATUS_SUCCESS)
        }
        QUIC_PARAM_TLS_HANDSHAKE_INFO | QUIC_PARAM_TLS_NEGOTIATED_ALPN => {
            Some(QUIC_STATUS_INVALID_PARAMETER)
        }
        QUIC_PARAM_CONN_TLS_SECRETS => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: as above; the application keeps the buffer for the handshake.
            Some(unsafe { crate::api::connection::tls_secrets::set(conn, len, buf) })
        }
        crate::api::abi::QUIC_PARAM_CONN_RESUMPTION_TICKET => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            // SAFETY: as above.
            Some(unsafe { crate::api::connection::resumption::set_ticket(&conn, len, buf) })
        }
        QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT
        | QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT
        | QUIC_PARAM_CONN_MAX_STREAM_IDS
        | QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED
        | QUIC_PARAM_CONN_STATISTICS
        | QUIC_PARAM_CONN_STATISTICS_PLAT
        | QUIC_PARAM_CONN_STATISTICS_V2
        | QUIC_PARAM_CONN_STATISTICS_V2_PLAT => Some(QUIC_STATUS_INVALID_PARAMETER),
        _ => {
            // SAFETY: as above.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            // SAFETY: as above.
            unsafe { options::set(&conn, param, len, buf) }
        }
    }
}
