//! The settings parameters: the library-wide settings behind a lock, and GetParam/SetParam of
//! a `QUIC_SETTINGS` against any level's [`Settings`].

use core::ffi::c_void;

use parking_lot::Mutex;

use super::parse::FULL_SIZE;
use super::{Apply, Settings};
use crate::api::abi::{
    QUIC_SETTINGS, QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_SUCCESS,
};

/// The library-wide settings (`QUIC_PARAM_GLOBAL_SETTINGS`).
static GLOBAL: Mutex<Settings> = Mutex::new(Settings::DEFAULT);

/// A copy of the library-wide settings: what configurations and connections inherit.
pub fn global() -> Settings {
    GLOBAL.lock().clone()
}

/// Puts the library-wide settings back to MsQuic's defaults, as MsQuic does when the library
/// is initialized again after its last `MsQuicClose`.
pub fn reset_global() {
    *GLOBAL.lock() = Settings::DEFAULT;
}

/// GetParam of a `QUIC_SETTINGS` (`QUIC_PARAM_{GLOBAL,CONFIGURATION,CONN}_SETTINGS`), with
/// MsQuic's conventions: `*len == 0` gets the full size (144) and BUFFER_TOO_SMALL, a
/// `*len` below 109 gets 109 and BUFFER_TOO_SMALL; a NULL `buf` is INVALID_PARAMETER; on
/// success every field that fits in `*len` is written, IsSet bits included, and `*len`
/// becomes `min(*len, 144)`.
///
/// # Safety
/// `len` must be NULL or valid for reads and writes; `buf` must be NULL or writable for
/// `*len` bytes.
pub unsafe fn get_settings_param(
    settings: &Settings,
    len: *mut u32,
    buf: *mut c_void,
) -> QUIC_STATUS {
    if len.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `len` is non-NULL and valid by the caller's contract.
    let have = unsafe { len.read() };
    let needed = match have {
        0 => Some(FULL_SIZE),
        n if n < QUIC_SETTINGS::MIN_SIZE => Some(QUIC_SETTINGS::MIN_SIZE),
        _ => None,
    };
    if let Some(needed) = needed {
        // SAFETY: as above.
        unsafe { len.write(needed) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `buf` is writable for `have` bytes by the caller's contract.
    let written = unsafe { settings.write_to(buf.cast(), have) };
    // SAFETY: as for the read of `len`.
    unsafe { len.write(written) };
    QUIC_STATUS_SUCCESS
}

/// SetParam of a `QUIC_SETTINGS` over `base` (the library's, a configuration's or a
/// connection not yet started): a NULL `buf`, a `len` below 109 or an invalid value is
/// INVALID_PARAMETER and leaves `base` unchanged; otherwise each field set in the struct
/// overwrites `base`'s and becomes explicitly set there.
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes.
pub unsafe fn set_settings_param(base: &mut Settings, len: u32, buf: *const c_void) -> QUIC_STATUS {
    // SAFETY: the caller's contract is ours.
    unsafe { set_settings_param_with(base, len, buf, Apply::OVERWRITE) }
}

/// [`set_settings_param`] with a choice of [`Apply`] rules: [`Apply::STARTED`] for
/// `QUIC_PARAM_CONN_SETTINGS` on a started connection (MTU and ECN then refused).
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes.
pub unsafe fn set_settings_param_with(
    base: &mut Settings,
    len: u32,
    buf: *const c_void,
    how: Apply,
) -> QUIC_STATUS {
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `buf` is non-NULL and readable for `len` bytes by the caller's contract.
    let update = unsafe { Settings::read_from(buf.cast(), len) };
    match update.and_then(|u| base.apply_with(&u, how)) {
        Ok(()) => QUIC_STATUS_SUCCESS,
        Err(invalid) => invalid.status(),
    }
}

/// `GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS)`.
///
/// # Safety
/// As for [`get_settings_param`].
pub(crate) unsafe fn get_global_param(len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let settings = global();
    // SAFETY: the caller's contract is ours.
    unsafe { get_settings_param(&settings, len, buf) }
}

/// `SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS)`: changes what configurations and connections
/// opened from now on inherit.
///
/// # Safety
/// As for [`set_settings_param`].
pub(crate) unsafe fn set_global_param(len: u32, buf: *const c_void) -> QUIC_STATUS {
    let mut settings = GLOBAL.lock();
    // SAFETY: the caller's contract is ours; reading the application's buffer calls no
    // application code, so holding the lock is harmless.
    unsafe { set_settings_param(&mut settings, len, buf) }
}
