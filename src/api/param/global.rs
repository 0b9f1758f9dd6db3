//! Library-wide parameters (`Handle == NULL`).

use core::ffi::c_void;

use crate::api::abi::{
    QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH,
    QUIC_PARAM_GLOBAL_LIBRARY_VERSION, QUIC_PARAM_GLOBAL_SETTINGS,
    QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS,
    QUIC_PARAM_GLOBAL_TLS_PROVIDER, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_NOT_SUPPORTED, QUIC_TLS_PROVIDER_OPENSSL,
};
use crate::api::param::buffer::answer;
use crate::api::param::conn_stats;
use crate::api::param::known;
use crate::api::{library, settings, workers};

/// The MsQuic version this library stands in for: 2.7.0, then our build number.
pub(crate) const LIBRARY_VERSION: [u32; 4] = [2, 7, 0, 0];

/// QUIC versions whose frames we carry: QUIC v1, in network byte order as MsQuic lists them.
pub(crate) const SUPPORTED_VERSIONS: [u32; 1] = [0x0000_0001u32.to_be()];

/// The git commit this library was built from, as 40 hex digits and a NUL.
fn git_hash() -> &'static [u8] {
    concat!(env!("MSQUIC_QMUX_GIT_HASH"), "\0").as_bytes()
}

fn words(w: &[u32]) -> Vec<u8> {
    w.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// `GetParam` with a NULL handle.
///
/// # Safety
/// As for [`answer`].
pub(crate) unsafe fn get(param: u32, len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let data = match param {
        QUIC_PARAM_GLOBAL_LIBRARY_VERSION => words(&LIBRARY_VERSION),
        QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS => words(&SUPPORTED_VERSIONS),
        QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH => git_hash().to_vec(),
        // As MsQuic on Linux answers: its certificate formats and flags are the ones we follow.
        QUIC_PARAM_GLOBAL_TLS_PROVIDER => QUIC_TLS_PROVIDER_OPENSSL.0.to_ne_bytes().to_vec(),
        // SAFETY: the caller's contract is `answer`'s, which is `get_global_param`'s.
        QUIC_PARAM_GLOBAL_SETTINGS => return unsafe { settings::get_global_param(len, buf) },
        // SAFETY: the caller's contract is `answer`'s, which is `get_param`'s.
        QUIC_PARAM_GLOBAL_EXECUTION_CONFIG => return unsafe { workers::get_param(len, buf) },
        QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES => {
            // SAFETY: the caller's contract is `get_v2_sizes`'s.
            return unsafe { conn_stats::get_v2_sizes(len, buf) };
        }
        p if known::is_global(p) => return QUIC_STATUS_NOT_SUPPORTED,
        _ => return QUIC_STATUS_INVALID_PARAMETER,
    };
    // SAFETY: the caller's contract is `answer`'s.
    unsafe { answer(len, buf, &data) }
}

/// `SetParam` with a NULL handle: read-only ids are invalid, the rest not supported yet.
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes.
pub(crate) unsafe fn set(param: u32, len: u32, buf: *const c_void) -> QUIC_STATUS {
    match param {
        // SAFETY: the caller's contract is `set_global_param`'s.
        QUIC_PARAM_GLOBAL_SETTINGS => unsafe { settings::set_global_param(len, buf) },
        QUIC_PARAM_GLOBAL_EXECUTION_CONFIG => {
            // SAFETY: the caller's contract is `set_param`'s.
            unsafe { workers::set_param(library::pool_started(), len, buf) }
        }
        QUIC_PARAM_GLOBAL_LIBRARY_VERSION
        | QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES
        | QUIC_PARAM_GLOBAL_TLS_PROVIDER
        | QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS
        | QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH => QUIC_STATUS_INVALID_PARAMETER,
        p if known::is_global(p) => QUIC_STATUS_NOT_SUPPORTED,
        _ => QUIC_STATUS_INVALID_PARAMETER,
    }
}
