//! The handshake's key material for the application: `QUIC_PARAM_CONN_TLS_SECRETS` (a
//! `QUIC_TLS_SECRETS` the application owns, filled on the connection's worker as the
//! handshake derives each secret, so complete before CONNECTED) and
//! `ConnectionExportKeyingMaterial` (the TLS 1.3 exporter).

use core::ffi::{CStr, c_void};
use core::ptr::{addr_of_mut, copy_nonoverlapping};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_KEYING_MATERIAL_CONFIG, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS, QUIC_STATUS_TLS_ERROR, QUIC_TLS_SECRETS,
    QUIC_TLS_SECRETS_MAX_SECRET_LEN,
};
use crate::api::connection::{Connection, on_slot};
use crate::api::door::boundary;
use crate::api::door::handle::Handle;
use crate::runtime::tls::{ExportError, SecretKind, SecretSink};

/// The application's `QUIC_TLS_SECRETS`, written from the connection's worker.
struct Target(*mut QUIC_TLS_SECRETS);

// SAFETY: the pointer is only written through on the connection's worker, while the
// application keeps the memory for the connection (MsQuic's contract for this parameter).
unsafe impl Send for Target {}

impl Target {
    /// # Safety
    /// As [`write()`].
    unsafe fn write(&self, kind: SecretKind, bytes: &[u8]) {
        // SAFETY: the caller's contract.
        unsafe { write(self.0, kind, bytes) }
    }
}

/// A connection's `QUIC_PARAM_CONN_TLS_SECRETS` state.
#[derive(Default)]
pub(crate) struct TlsSecretsParam(Mutex<State>);

#[derive(Default)]
struct State {
    target: Option<Target>,
    /// The handshake was configured (ConnectionStart, or SetConfiguration on a server):
    /// too late to set.
    closed: bool,
}

impl TlsSecretsParam {
    /// No more SetParam: the connection is starting its handshake.
    pub(crate) fn close(&self) {
        self.0.lock().closed = true;
    }
}

/// SetParam `QUIC_PARAM_CONN_TLS_SECRETS`: keeps the application's pointer (zeroing what
/// it points to) for the handshake to fill. Before ConnectionStart (client) or
/// ConnectionSetConfiguration (server) only, as MsQuic.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes the application keeps for the
/// connection's handshake.
pub(crate) unsafe fn set(conn: &Handle<Connection>, len: u32, buf: *const c_void) -> QUIC_STATUS {
    if len as usize != size_of::<QUIC_TLS_SECRETS>() || buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let mut state = conn.obj.tls_secrets.0.lock();
    if state.closed {
        return QUIC_STATUS_INVALID_STATE;
    }
    let p = buf.cast_mut().cast::<QUIC_TLS_SECRETS>();
    // SAFETY: `p` points to a whole QUIC_TLS_SECRETS (checked length; align 1).
    unsafe { core::ptr::write_bytes(p.cast::<u8>(), 0, size_of::<QUIC_TLS_SECRETS>()) };
    state.target = Some(Target(p));
    QUIC_STATUS_SUCCESS
}

/// The sink filling the application's `QUIC_TLS_SECRETS`, if it set one; the parameter can
/// no longer be set after this. Called on the worker when the TLS session is made.
pub(crate) fn take_sink(conn: &Arc<Handle<Connection>>) -> Option<SecretSink> {
    let target = {
        let mut state = conn.obj.tls_secrets.0.lock();
        state.closed = true;
        state.target.take()?
    };
    let handle = conn.clone();
    Some(Box::new(move |kind, bytes| {
        if handle.is_closed_by_app() {
            return;
        }
        // SAFETY: the application keeps the struct for the handshake (see `Target`), and
        // this runs on the connection's worker.
        unsafe { target.write(kind, bytes) }
    }))
}

/// Copies one secret into the application's struct and sets its `IsSet` bit.
///
/// # Safety
/// `p` points to a writable QUIC_TLS_SECRETS.
unsafe fn write(p: *mut QUIC_TLS_SECRETS, kind: SecretKind, bytes: &[u8]) {
    type S = QUIC_TLS_SECRETS;
    // SAFETY: every place is a field of `*p`; lengths are clamped to the field's size.
    unsafe {
        let (dst, room, bit) = match kind {
            SecretKind::ClientRandom => (
                addr_of_mut!((*p).ClientRandom).cast::<u8>(),
                32,
                S::IS_SET_CLIENT_RANDOM,
            ),
            SecretKind::ClientEarlyTraffic => (
                addr_of_mut!((*p).ClientEarlyTrafficSecret).cast::<u8>(),
                64,
                S::IS_SET_CLIENT_EARLY_TRAFFIC_SECRET,
            ),
            SecretKind::ClientHandshakeTraffic => (
                addr_of_mut!((*p).ClientHandshakeTrafficSecret).cast::<u8>(),
                64,
                S::IS_SET_CLIENT_HANDSHAKE_TRAFFIC_SECRET,
            ),
            SecretKind::ServerHandshakeTraffic => (
                addr_of_mut!((*p).ServerHandshakeTrafficSecret).cast::<u8>(),
                64,
                S::IS_SET_SERVER_HANDSHAKE_TRAFFIC_SECRET,
            ),
            SecretKind::ClientTraffic0 => (
                addr_of_mut!((*p).ClientTrafficSecret0).cast::<u8>(),
                64,
                S::IS_SET_CLIENT_TRAFFIC_SECRET_0,
            ),
            SecretKind::ServerTraffic0 => (
                addr_of_mut!((*p).ServerTrafficSecret0).cast::<u8>(),
                64,
                S::IS_SET_SERVER_TRAFFIC_SECRET_0,
            ),
        };
        let n = bytes.len().min(room);
        copy_nonoverlapping(bytes.as_ptr(), dst, n);
        if kind != SecretKind::ClientRandom {
            let len = n.min(QUIC_TLS_SECRETS_MAX_SECRET_LEN as usize) as u8;
            addr_of_mut!((*p).SecretLength).write(len);
        }
        let is_set = addr_of_mut!((*p).IsSet);
        is_set.write(is_set.read() | bit);
    }
}

/// `ConnectionExportKeyingMaterial`: the TLS 1.3 exporter for the configured label and
/// context, on the connection's worker. INVALID_STATE until the handshake completed (and
/// for a connection without TLS or already over); TLS_ERROR when HKDF cannot give that
/// much (an output over 255 hash lengths, a label over 249 bytes).
pub(crate) unsafe extern "C" fn export_keying_material(
    h: HQUIC,
    config: *const QUIC_KEYING_MATERIAL_CONFIG,
    output: *mut u8,
) -> QUIC_STATUS {
    boundary::call("ConnectionExportKeyingMaterial", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(conn) = (unsafe { Handle::<Connection>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if config.is_null() || output.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: non-NULL, and the application passes a readable config.
        let config = unsafe { *config };
        if config.Label.is_null()
            || config.OutputLength == 0
            || (config.Context.is_null() && config.ContextLength != 0)
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: a non-NULL, NUL-terminated label, per the API contract.
        let label = unsafe { CStr::from_ptr(config.Label) }.to_bytes().to_vec();
        let context = if config.Context.is_null() {
            None
        } else {
            // SAFETY: `Context` is readable for `ContextLength` bytes, per the API contract.
            Some(
                unsafe {
                    core::slice::from_raw_parts(config.Context, config.ContextLength as usize)
                }
                .to_vec(),
            )
        };
        let len = config.OutputLength as usize;
        let result = Arc::new(Mutex::new(None));
        let answer = result.clone();
        on_slot(&conn, true, move |_cx, slot| {
            let mut out = vec![0u8; len];
            let exported = match slot.conn.borrow().as_ref() {
                Some(c) => c.tls(|s| match s {
                    Some(s) => s.export_keying_material(&label, context.as_deref(), &mut out),
                    None => Err(ExportError::NotReady),
                }),
                None => Err(ExportError::NotReady),
            };
            *answer.lock() = Some(exported.map(|()| out));
        });
        let taken = result.lock().take();
        match taken {
            Some(Ok(bytes)) => {
                // SAFETY: `output` is writable for `OutputLength` bytes, per the API contract.
                unsafe { copy_nonoverlapping(bytes.as_ptr(), output, bytes.len()) };
                QUIC_STATUS_SUCCESS
            }
            Some(Err(ExportError::TooLong)) => QUIC_STATUS_TLS_ERROR,
            Some(Err(ExportError::NotReady)) | None => QUIC_STATUS_INVALID_STATE,
        }
    })
}
