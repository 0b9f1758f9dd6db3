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

/// The library-wide settings and what configurations see of them.
struct Library {
    /// The settings as they are now (`QUIC_PARAM_GLOBAL_SETTINGS`), a refused update's
    /// partly applied fields included; new configurations and connections start from them.
    live: Settings,
    /// The settings as of the last change that succeeded: MsQuic refreshes every
    /// configuration's unset fields from the library's only when a change succeeds.
    published: Settings,
    /// Counts the changes that succeeded (and library resets); never goes back.
    generation: u64,
}

impl Library {
    /// Publishes the live settings to configurations (a change succeeded).
    fn publish(&mut self) {
        self.published = self.live.clone();
        self.generation += 1;
    }
}

/// The library-wide settings.
static GLOBAL: Mutex<Library> = Mutex::new(Library {
    live: Settings::DEFAULT,
    published: Settings::DEFAULT,
    generation: 1,
});

/// A copy of the library-wide settings: what configurations and connections opened now
/// start from.
pub fn global() -> Settings {
    GLOBAL.lock().live.clone()
}

/// The library-wide settings for a configuration being opened (MsQuic copies them then),
/// marked as refreshed at the current library generation.
pub(super) fn global_for_configuration() -> Settings {
    let lib = GLOBAL.lock();
    let mut s = lib.live.clone();
    s.library_generation = lib.generation;
    s
}

/// Refreshes a configuration's unset fields from the library-wide settings if they changed
/// (successfully) since the last refresh, as MsQuic does when the library settings change.
/// Until then a configuration keeps what it has, including what its own updates did to its
/// unset MTUs. Call it before reading or changing a configuration's settings.
pub fn refresh_configuration(settings: &mut Settings) {
    let lib = GLOBAL.lock();
    if settings.library_generation != lib.generation {
        settings.inherit(&lib.published);
        settings.library_generation = lib.generation;
    }
}

/// Records a successful change of the library-wide settings made through another parameter
/// (`QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS`, `QUIC_PARAM_GLOBAL_VERSION_SETTINGS`): MsQuic
/// applies those through the same settings code, which recomputes the library's MTU pair
/// (an unset `MinimumMtu` becomes 1248), and then refreshes every configuration.
pub fn global_changed_elsewhere() {
    let mut lib = GLOBAL.lock();
    lib.live.recompute_mtus();
    lib.publish();
}

/// Puts the library-wide settings back to MsQuic's defaults, as MsQuic does when the library
/// is initialized again after its last `MsQuicClose`.
pub fn reset_global() {
    let mut lib = GLOBAL.lock();
    lib.live = Settings::DEFAULT;
    lib.publish();
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
/// connection not yet started): a NULL `buf` or a `len` below 109 is INVALID_PARAMETER and
/// leaves `base` unchanged; otherwise each field set in the struct overwrites `base`'s and
/// becomes explicitly set there, in MsQuic's order, until a refused value, which answers
/// INVALID_PARAMETER with the fields before it applied ([`Settings::apply_with`]).
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
/// opened from now on start from; on success, configurations' unset fields follow too. A
/// refused update keeps the fields applied before the refused one (MsQuic's order), for new
/// configurations and connections, but existing configurations do not see them until the
/// next change that succeeds.
///
/// # Safety
/// As for [`set_settings_param`].
pub(crate) unsafe fn set_global_param(len: u32, buf: *const c_void) -> QUIC_STATUS {
    let mut lib = GLOBAL.lock();
    // SAFETY: the caller's contract is ours; reading the application's buffer calls no
    // application code, so holding the lock is harmless.
    let status = unsafe { set_settings_param(&mut lib.live, len, buf) };
    if status == QUIC_STATUS_SUCCESS {
        lib.publish();
    }
    status
}
