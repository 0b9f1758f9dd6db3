//! Configuration, listener and connection parameters whose QUIC-over-UDP meaning has no
//! counterpart over QMux (version lists, CIBIR ids, binding sharing, interface choice,
//! 1-RTT encryption, DoS-mode events): checked in MsQuic's order, kept and returned as MsQuic
//! does. LISTENER_PARTITION_INDEX picks the worker a listener's socket (and so its
//! NEW_CONNECTION callbacks and connections) lives on; CONN_PEER_CERTIFICATE_VALID is the
//! legacy form of ConnectionCertificateValidationComplete.

use core::ffi::c_void;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W,
    QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, QUIC_PARAM_CONN_CIBIR_ID,
    QUIC_PARAM_CONN_DISABLE_1RTT_ENCRYPTION, QUIC_PARAM_CONN_LOCAL_INTERFACE,
    QUIC_PARAM_CONN_NETWORK_STATISTICS, QUIC_PARAM_CONN_ORIG_DEST_CID,
    QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID, QUIC_PARAM_CONN_SHARE_UDP_BINDING,
    QUIC_PARAM_CONN_VERSION_SETTINGS, QUIC_PARAM_DOS_MODE_EVENTS, QUIC_PARAM_LISTENER_CIBIR_ID,
    QUIC_PARAM_LISTENER_PARTITION_INDEX, QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_NOT_SUPPORTED,
    QUIC_STATUS_SUCCESS, QUIC_TLS_ALERT_CODE_BAD_CERTIFICATE,
};
use crate::api::configuration::Configuration;
use crate::api::connection::Connection;
use crate::api::connection::cert_events;
use crate::api::connection::net_stats;
use crate::api::door::handle::Handle;
use crate::api::global::lib_params;
use crate::api::listener::Listener;
use crate::api::param::buffer::{answer, read_exact};
use crate::api::param::versions::{self, VersionLists};

/// MsQuic's longest CIBIR id (the offset byte not counted).
const MAX_CIBIR_LENGTH: u32 = 6;

/// A configuration's version lists (CONFIGURATION_VERSION_SETTINGS).
#[derive(Default)]
pub(crate) struct ConfigParams {
    versions: Mutex<Option<VersionLists>>,
}

impl ConfigParams {
    /// The configuration's version lists, else the library's (MsQuic copies the library's
    /// settings into a configuration's unset fields).
    fn versions(&self) -> Option<VersionLists> {
        self.versions
            .lock()
            .clone()
            .or_else(lib_params::global_versions)
    }
}

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

/// How many partitions MsQuic has: one per processor.
fn partitions() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Checks and stores a CIBIR id as MsQuic does (≤ 7 bytes; 0 clears; offset byte 0 only).
///
/// # Safety
/// `buf` is readable for `len` bytes when `len > 0`.
unsafe fn set_cibir(slot: &mut Vec<u8>, len: u32, buf: *const c_void) -> QUIC_STATUS {
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

/// GetParam for the ids this module answers; `None` if it is not one of them.
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
        QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let config = unsafe { Handle::<Configuration>::borrow(h) }?;
            let v = config.obj.params.versions();
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { versions::answer(v.as_ref(), len, buf) }
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
        // Set-only ids; Schannel's attribute exists on Windows only (MsQuic on Linux refuses
        // it both ways).
        QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W
        | QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID
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

/// SetParam for the ids this module answers; `None` if it is not one of them.
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
        QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let config = unsafe { Handle::<Configuration>::borrow(h) }?;
            // SAFETY: the handle and buffers are as this function's contract says.
            match unsafe { versions::parse(len, buf) } {
                Ok(v) => {
                    *config.obj.params.versions.lock() = v;
                    // MsQuic applies these through its settings code too: the MTU pair is
                    // recomputed.
                    let mut settings = config.obj.settings.lock();
                    crate::api::settings::refresh_configuration(&mut settings);
                    settings.recompute_mtus();
                    QUIC_STATUS_SUCCESS
                }
                Err(status) => status,
            }
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
        QUIC_PARAM_CONN_ORIG_DEST_CID
        | QUIC_PARAM_CONN_NETWORK_STATISTICS
        | QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W => QUIC_STATUS_INVALID_PARAMETER,
        _ => return None,
    };
    Some(status)
}
