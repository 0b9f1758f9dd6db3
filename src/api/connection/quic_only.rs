//! A connection's parameters whose QUIC-over-UDP meaning has no counterpart over QMux
//! (CONN_SHARE_UDP_BINDING, CONN_DISABLE_1RTT_ENCRYPTION, CONN_LOCAL_INTERFACE, CONN_CIBIR_ID,
//! CONN_VERSION_SETTINGS, CONN_ORIG_DEST_CID, CONN_NETWORK_STATISTICS): checked in MsQuic's
//! order, kept and returned as MsQuic does. CONN_PEER_CERTIFICATE_VALID is the legacy form of
//! ConnectionCertificateValidationComplete.

use core::ffi::c_void;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_CONN_CIBIR_ID, QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION,
    QUIC_PARAM_CONN_LOCAL_INTERFACE, QUIC_PARAM_CONN_NETWORK_STATISTICS,
    QUIC_PARAM_CONN_ORIG_DEST_CID, QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID,
    QUIC_PARAM_CONN_SHARE_UDP_BINDING, QUIC_PARAM_CONN_VERSION_SETTINGS, QUIC_STATUS,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_NOT_SUPPORTED,
    QUIC_STATUS_SUCCESS, QUIC_TLS_ALERT_CODE_BAD_CERTIFICATE,
};
use crate::api::configuration::params::ConfigParams;
use crate::api::connection::Connection;
use crate::api::connection::cert_events;
use crate::api::connection::net_stats;
use crate::api::door::handle::Handle;
use crate::api::global::lib_params;
use crate::api::param::buffer::{answer, read_exact};
use crate::api::param::versions::{self, VersionLists};

/// MsQuic's longest CIBIR id (the offset byte not counted).
const MAX_CIBIR_LENGTH: u32 = 6;

/// A connection's QUIC-only options.
pub(crate) struct ConnParams {
    /// The connection was accepted by a listener.
    server: bool,
    state: Mutex<ConnState>,
}

impl ConnParams {
    /// The options of a new client (`server` false) or accepted connection.
    pub(crate) fn new(server: bool) -> Self {
        Self {
            server,
            state: Mutex::new(ConnState::default()),
        }
    }

    /// The connection starts with `config` (ConnectionStart or ConnectionSetConfiguration):
    /// its version lists fill the connection's unset ones, as MsQuic applies them.
    pub(crate) fn adopt(&self, config: &ConfigParams) {
        let mut s = self.state.lock();
        if s.versions.is_none() {
            s.versions = config.versions();
        }
    }
}

#[derive(Default)]
struct ConnState {
    /// CONN_SHARE_UDP_BINDING as set (a server's reads TRUE: MsQuic's servers share).
    share_binding: Option<bool>,
    disable_1rtt: bool,
    local_interface: Option<u32>,
    cibir: Vec<u8>,
    versions: Option<VersionLists>,
}

/// Checks and stores a CIBIR id as MsQuic does (≤ 7 bytes; 0 clears; offset byte 0 only).
///
/// # Safety
/// `buf` is readable for `len` bytes when `len > 0`.
pub(crate) unsafe fn set_cibir(slot: &mut Vec<u8>, len: u32, buf: *const c_void) -> QUIC_STATUS {
    if len > MAX_CIBIR_LENGTH + 1 {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    if len == 0 {
        slot.clear();
        return QUIC_STATUS_SUCCESS;
    }
    if len < 2 || buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `buf` is readable for `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len as usize) };
    if bytes[0] != 0 {
        return QUIC_STATUS_NOT_SUPPORTED;
    }
    *slot = bytes.to_vec();
    QUIC_STATUS_SUCCESS
}

/// GetParam for these ids; `None` if it is not one of them (or `h` is no connection).
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
        QUIC_PARAM_CONN_SHARE_UDP_BINDING | QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let s = conn.obj.params.state.lock();
            let v = if param == QUIC_PARAM_CONN_SHARE_UDP_BINDING {
                s.share_binding.unwrap_or(conn.obj.params.server)
            } else {
                s.disable_1rtt
            };
            drop(s);
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { answer(len, buf, &[u8::from(v)]) }
        }
        QUIC_PARAM_CONN_VERSION_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            let v = conn
                .obj
                .params
                .state
                .lock()
                .versions
                .clone()
                .or_else(lib_params::global_versions);
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { versions::answer(v.as_ref(), len, buf) }
        }
        // QMux has no connection ids: there is never an original destination CID, the state
        // MsQuic answers INVALID_STATE in.
        QUIC_PARAM_CONN_ORIG_DEST_CID => QUIC_STATUS_INVALID_STATE,
        QUIC_PARAM_CONN_NETWORK_STATISTICS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::get(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { net_stats::get(&conn, len, buf) }
        }
        // Set-only ids.
        QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID
        | QUIC_PARAM_CONN_LOCAL_INTERFACE
        | QUIC_PARAM_CONN_CIBIR_ID => QUIC_STATUS_INVALID_PARAMETER,
        _ => return None,
    };
    Some(status)
}

/// Client, not started yet: MsQuic's condition for the pre-start connection options.
fn client_before_start(conn: &Handle<Connection>) -> bool {
    !conn.obj.params.server && !conn.obj.is_started()
}

/// SetParam for these ids; `None` if it is not one of them (or `h` is no connection).
///
/// # Safety
/// `h` is a live handle of the kind the id's prefix routes to; `buf` is NULL or readable for
/// `len` bytes (and a version settings' lists as long as their lengths).
pub(crate) unsafe fn set(
    h: HQUIC,
    param: u32,
    len: u32,
    buf: *const c_void,
) -> Option<QUIC_STATUS> {
    let status = match param {
        QUIC_PARAM_CONN_SHARE_UDP_BINDING => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            let Some(v) = (unsafe { read_exact::<u8>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            if !client_before_start(conn) {
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            conn.obj.params.state.lock().share_binding = Some(v != 0);
            QUIC_STATUS_SUCCESS
        }
        QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            let Some(v) = (unsafe { read_exact::<u8>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            if conn.obj.is_started() {
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            // Kept only: TLS protects every QMux record; the peer never agrees to less.
            conn.obj.params.state.lock().disable_1rtt = v != 0;
            QUIC_STATUS_SUCCESS
        }
        QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let Some(v) = (unsafe { read_exact::<u8>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            // Completes a pending custom validation (no-op when none is pending).
            // SAFETY: the handle and buffers are as this function's contract says.
            let _ = unsafe {
                cert_events::validation_complete(h, v, QUIC_TLS_ALERT_CODE_BAD_CERTIFICATE)
            };
            QUIC_STATUS_SUCCESS
        }
        QUIC_PARAM_CONN_LOCAL_INTERFACE => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            let Some(v) = (unsafe { read_exact::<u32>(len, buf) }) else {
                return Some(QUIC_STATUS_INVALID_PARAMETER);
            };
            if !client_before_start(conn) {
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            conn.obj.params.state.lock().local_interface = Some(v);
            QUIC_STATUS_SUCCESS
        }
        QUIC_PARAM_CONN_CIBIR_ID => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            if !client_before_start(conn) {
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            let mut s = conn.obj.params.state.lock();
            if s.share_binding != Some(true) {
                // MsQuic uses CIBIR only on a shared binding.
                return Some(QUIC_STATUS_INVALID_STATE);
            }
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { set_cibir(&mut s.cibir, len, buf) }
        }
        QUIC_PARAM_CONN_VERSION_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let conn = unsafe { Handle::<Connection>::borrow(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            match unsafe { versions::parse(len, buf) } {
                Ok(v) => {
                    conn.obj.params.state.lock().versions = v;
                    // As MsQuic, which applies these through its settings code: before the
                    // start, the MTU pair is recomputed.
                    if !conn
                        .obj
                        .configured
                        .load(std::sync::atomic::Ordering::Acquire)
                    {
                        conn.obj.settings.lock().recompute_mtus();
                    }
                    QUIC_STATUS_SUCCESS
                }
                Err(status) => status,
            }
        }
        QUIC_PARAM_CONN_ORIG_DEST_CID | QUIC_PARAM_CONN_NETWORK_STATISTICS => {
            QUIC_STATUS_INVALID_PARAMETER
        }
        _ => return None,
    };
    Some(status)
}
