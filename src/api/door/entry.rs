//! The library's only two exported symbols, bound to the version node `msquic` as in
//! Microsoft's build (`MsQuicOpenVersion@@msquic`, `MsQuicClose@@msquic`).

use core::ffi::c_void;

use crate::api::abi::QUIC_STATUS;
use crate::api::door::{boundary, library};

/// Opens the library and returns a function table for `Version` (only 2 is supported).
///
/// # Safety
/// `QuicApi` must be NULL or point to writable storage for one pointer.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub unsafe extern "C" fn MsQuicOpenVersion(
    Version: u32,
    QuicApi: *mut *const c_void,
) -> QUIC_STATUS {
    // SAFETY: the caller's contract is `open_version`'s.
    boundary::call("MsQuicOpenVersion", || unsafe {
        library::open_version(Version, QuicApi)
    })
}

/// Frees a table returned by `MsQuicOpenVersion`; the last close tears the library down.
///
/// # Safety
/// `QuicApi` must be NULL or a table from `MsQuicOpenVersion` not yet closed.
#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub unsafe extern "C" fn MsQuicClose(QuicApi: *const c_void) {
    boundary::unit(|| library::close(QuicApi));
}

// Bind both exports to the `msquic` version node that build.rs's version script defines.
#[cfg(all(target_os = "linux", not(test)))]
core::arch::global_asm!(
    ".symver MsQuicOpenVersion, MsQuicOpenVersion@@msquic",
    ".symver MsQuicClose, MsQuicClose@@msquic",
);
