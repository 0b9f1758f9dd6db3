//! A configuration's GetParam/SetParam: CONFIGURATION_SETTINGS, CONFIGURATION_TICKET_KEYS
//! (set only), the QUIC-only CONFIGURATION_VERSION_SETTINGS (kept and returned as MsQuic
//! does) and the Windows-only Schannel attribute (refused both ways, as MsQuic on Linux).
//! Configuration ids asked through a connection or stream handle come here too: each id
//! checks its handle is a configuration's.

use core::ffi::c_void;

use parking_lot::Mutex;

use crate::api::abi::{
    HQUIC, QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W,
    QUIC_PARAM_CONFIGURATION_SETTINGS, QUIC_PARAM_CONFIGURATION_TICKET_KEYS,
    QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_SUCCESS,
};
use crate::api::configuration::Configuration;
use crate::api::door::handle::Handle;
use crate::api::global::lib_params;
use crate::api::param::versions::{self, VersionLists};
use crate::api::settings::{get_settings_param, refresh_configuration, set_settings_param};

/// A configuration's version lists (CONFIGURATION_VERSION_SETTINGS).
#[derive(Default)]
pub(crate) struct ConfigParams {
    versions: Mutex<Option<VersionLists>>,
}

impl ConfigParams {
    /// The configuration's version lists, else the library's (MsQuic copies the library's
    /// settings into a configuration's unset fields).
    pub(crate) fn versions(&self) -> Option<VersionLists> {
        self.versions
            .lock()
            .clone()
            .or_else(lib_params::global_versions)
    }
}

/// GetParam for a configuration's ids; `None` if it is not one of them (or `h` is no
/// configuration).
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
        QUIC_PARAM_CONFIGURATION_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let config = unsafe { Handle::<Configuration>::borrow(h) }?;
            // SAFETY: as above.
            unsafe { get_settings(config, len, buf) }
        }
        QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let config = unsafe { Handle::<Configuration>::borrow(h) }?;
            let v = config.obj.params.versions();
            // SAFETY: the handle and buffers are as this function's contract says.
            unsafe { versions::answer(v.as_ref(), len, buf) }
        }
        // Schannel's attribute exists on Windows only (MsQuic on Linux refuses it both ways).
        QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W => QUIC_STATUS_INVALID_PARAMETER,
        _ => return None,
    };
    Some(status)
}

/// SetParam for a configuration's ids; `None` if it is not one of them (or `h` is no
/// configuration).
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
        QUIC_PARAM_CONFIGURATION_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let config = unsafe { Handle::<Configuration>::borrow(h) }?;
            // SAFETY: as above.
            unsafe { set_settings(config, len, buf) }
        }
        QUIC_PARAM_CONFIGURATION_TICKET_KEYS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            let config = unsafe { Handle::<Configuration>::borrow(h) }?;
            // SAFETY: as above.
            unsafe { crate::api::connection::link::set_ticket_keys(config, len, buf) }
        }
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
                    refresh_configuration(&mut settings);
                    settings.recompute_mtus();
                    QUIC_STATUS_SUCCESS
                }
                Err(status) => status,
            }
        }
        QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W => QUIC_STATUS_INVALID_PARAMETER,
        _ => return None,
    };
    Some(status)
}

/// Reads the configuration's settings. Fields it did not set follow the library-wide
/// settings: MsQuic refreshes every configuration's unset fields when they change.
///
/// # Safety
/// `len` is valid; `buf` is NULL or writable for `*len` bytes.
unsafe fn get_settings(
    config: &Handle<Configuration>,
    len: *mut u32,
    buf: *mut c_void,
) -> QUIC_STATUS {
    let mut settings = config.obj.settings.lock();
    refresh_configuration(&mut settings);
    // SAFETY: as above.
    unsafe { get_settings_param(&settings, len, buf) }
}

/// Applies settings to the configuration (for connections started with it afterwards).
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
unsafe fn set_settings(
    config: &Handle<Configuration>,
    len: u32,
    buf: *const c_void,
) -> QUIC_STATUS {
    let mut settings = config.obj.settings.lock();
    refresh_configuration(&mut settings);
    // SAFETY: as above.
    unsafe { set_settings_param(&mut settings, len, buf) }
}
