//! Configurations: `ConfigurationOpen`, `ConfigurationClose`, `ConfigurationLoadCredential`.

pub(crate) mod credentials;
pub(crate) mod params;

use core::ffi::c_void;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_BUFFER, QUIC_CREDENTIAL_CONFIG, QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION,
    QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED, QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS,
    QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION,
    QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION,
    QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES, QUIC_SETTINGS, QUIC_STATUS,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_PENDING, QUIC_STATUS_SUCCESS,
};
use crate::api::configuration::params::ConfigParams;
use crate::api::door::boundary;
use crate::api::door::handle::{Handle, Kind, Object};
use crate::api::registration::{ChildGuard, Registration};
use crate::api::settings::Settings;
use credentials::LoadedTls;

/// The longest ALPN token.
pub(crate) const MAX_ALPN_LENGTH: u32 = 255;

/// The credential flags a configuration keeps in [`Configuration::cert_flags`], the ones the
/// connections' certificate events and validation read (`connection::cert_events`).
const CERT_FLAGS: u32 = QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED.0
    | QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION.0
    | QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES.0
    | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.0
    | QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION.0;

/// A configuration: ALPN list, settings and (later) credentials.
pub(crate) struct Configuration {
    /// The ALPN tokens, in the application's order.
    pub(crate) alpns: Vec<Vec<u8>>,
    /// The application's settings over the library-wide ones.
    pub(crate) settings: Mutex<Settings>,
    /// The TLS side, once ConfigurationLoadCredential succeeded.
    pub(crate) tls: Mutex<Option<LoadedTls>>,
    /// The certificate-event credential flags (INDICATE_CERTIFICATE_RECEIVED,
    /// DEFER_CERTIFICATE_VALIDATION, USE_PORTABLE_CERTIFICATES) of the loaded credential.
    pub(crate) cert_flags: std::sync::atomic::AtomicU32,
    guard: Mutex<Option<ChildGuard>>,
    /// QUIC-only options kept for GetParam (see `params`).
    pub(crate) params: ConfigParams,
}

impl Object for Configuration {
    const KIND: Kind = Kind::Configuration;
}

/// Copies and validates an ALPN list: at least one token, each 1..=255 bytes, at most 65535
/// bytes encoded (a length byte before each token).
///
/// # Safety
/// `buffers` must be NULL or point to `count` `QUIC_BUFFER`s whose non-NULL `Buffer`s hold
/// `Length` readable bytes.
pub(crate) unsafe fn read_alpns(buffers: *const QUIC_BUFFER, count: u32) -> Option<Vec<Vec<u8>>> {
    if buffers.is_null() || count == 0 {
        return None;
    }
    // SAFETY: non-NULL with `count` elements by the caller's contract.
    let list = unsafe { core::slice::from_raw_parts(buffers, count as usize) };
    // As MsQuic: the encoded list (a length byte before each token) fits in 16 bits.
    let encoded: u64 = list.iter().map(|b| 1 + u64::from(b.Length)).sum();
    if encoded > u64::from(u16::MAX) {
        return None;
    }
    list.iter()
        .map(|b| {
            if b.Length == 0 || b.Length > MAX_ALPN_LENGTH || b.Buffer.is_null() {
                return None;
            }
            // SAFETY: non-NULL with `Length` readable bytes by the caller's contract.
            Some(unsafe { core::slice::from_raw_parts(b.Buffer, b.Length as usize) }.to_vec())
        })
        .collect()
}

/// `ConfigurationOpen`.
pub(crate) unsafe extern "C" fn open(
    registration: HQUIC,
    alpn_buffers: *const QUIC_BUFFER,
    alpn_buffer_count: u32,
    settings: *const QUIC_SETTINGS,
    settings_size: u32,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::call("ConfigurationOpen", || {
        // SAFETY: `registration` is an application handle; `get` validates it.
        let Some(reg) = (unsafe { Handle::<Registration>::get(registration) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if out.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: the ALPN list is as the API contract describes.
        let Some(alpns) = (unsafe { read_alpns(alpn_buffers, alpn_buffer_count) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        // SAFETY: the application passed `settings_size` readable bytes at `settings` (or NULL).
        let update = match unsafe { Settings::read_optional(settings, settings_size) } {
            Ok(update) => update,
            Err(_) => return QUIC_STATUS_INVALID_PARAMETER,
        };
        let Ok(settings) = Settings::for_configuration(update.as_ref()) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let config = Configuration {
            alpns,
            settings: Mutex::new(settings),
            tls: Mutex::new(None),
            cert_flags: std::sync::atomic::AtomicU32::new(0),
            guard: Mutex::new(Some(ChildGuard::new(reg))),
            params: ConfigParams::default(),
        };
        let h = Handle::into_hquic(Handle::new(config, context, core::ptr::null_mut()));
        // SAFETY: `out` is non-NULL and writable by the API contract.
        unsafe { out.write(h) };
        QUIC_STATUS_SUCCESS
    })
}

/// `ConfigurationClose`.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `close` validates it.
        if let Some(config) = unsafe { Handle::<Configuration>::close(h) } {
            config.obj.guard.lock().take();
        }
    });
}

/// `ConfigurationLoadCredential`: reads the credential description and builds the TLS
/// client or server setup for the configuration's ALPN list. With LOAD_ASYNCHRONOUS, as in
/// MsQuic on Linux, the completion handler is called inside the call on success and the call
/// returns PENDING; a failure is returned directly.
pub(crate) unsafe extern "C" fn load_credential(
    h: HQUIC,
    cred_config: *const QUIC_CREDENTIAL_CONFIG,
) -> QUIC_STATUS {
    boundary::call("ConfigurationLoadCredential", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(config) = (unsafe { Handle::<Configuration>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if cred_config.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        // SAFETY: non-NULL, and by the API contract a valid QUIC_CREDENTIAL_CONFIG.
        let cred = unsafe { &*cred_config };
        // SAFETY: the description's pointers are as its type says (API contract); everything
        // is copied out before this call returns.
        let (client, credentials) = match unsafe { credentials::read(cred) } {
            Ok(read) => read,
            Err(status) => return status,
        };
        let asynchronous = cred.Flags.0 & QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS.0 != 0;
        config.obj.cert_flags.store(
            cred.Flags.0 & CERT_FLAGS,
            std::sync::atomic::Ordering::Relaxed,
        );
        if !asynchronous {
            return match credentials::build(client, &credentials, &config.obj.alpns) {
                Ok(tls) => {
                    *config.obj.tls.lock() = Some(tls);
                    QUIC_STATUS_SUCCESS
                }
                Err(status) => status,
            };
        }
        let Some(handler) = cred.AsyncHandler else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        // MsQuic on Linux loads synchronously even when asked not to: a failure is returned
        // from the call (the handler is not called), a success is handed to the handler
        // before the call returns PENDING.
        match credentials::build(client, &credentials, &config.obj.alpns) {
            Ok(tls) => {
                *config.obj.tls.lock() = Some(tls);
                // SAFETY: the application's completion handler, called once as the API defines.
                unsafe {
                    handler(
                        config.as_hquic(),
                        config.header().context(),
                        QUIC_STATUS_SUCCESS,
                    )
                };
                QUIC_STATUS_PENDING
            }
            Err(status) => status,
        }
    })
}
