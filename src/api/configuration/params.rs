//! Configuration parameters: `QUIC_PARAM_CONFIGURATION_SETTINGS`.

use core::ffi::c_void;

use crate::api::abi::{HQUIC, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER};
use crate::api::configuration::Configuration;
use crate::api::door::handle::Handle;
use crate::api::settings::{get_settings_param, refresh_configuration, set_settings_param};

/// Reads the configuration's settings. Fields it did not set follow the library-wide
/// settings: MsQuic refreshes every configuration's unset fields when they change.
///
/// # Safety
/// `h` is an application handle; `len` is valid; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn get(h: HQUIC, len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    // SAFETY: as above.
    let Some(config) = (unsafe { Handle::<Configuration>::borrow(h) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    let mut settings = config.obj.settings.lock();
    refresh_configuration(&mut settings);
    // SAFETY: as above.
    unsafe { get_settings_param(&settings, len, buf) }
}

/// Applies settings to the configuration (for connections started with it afterwards).
///
/// # Safety
/// `h` is an application handle; `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set(h: HQUIC, len: u32, buf: *const c_void) -> QUIC_STATUS {
    // SAFETY: as above.
    let Some(config) = (unsafe { Handle::<Configuration>::borrow(h) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    let mut settings = config.obj.settings.lock();
    refresh_configuration(&mut settings);
    // SAFETY: as above.
    unsafe { set_settings_param(&mut settings, len, buf) }
}
