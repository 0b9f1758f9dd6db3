//! Library-wide parameters (`Handle == NULL`).

use core::ffi::c_void;

use crate::api::abi::{
    QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS,
    QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, QUIC_PARAM_GLOBAL_LIBRARY_VERSION,
    QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, QUIC_PARAM_GLOBAL_PERF_COUNTERS,
    QUIC_PARAM_GLOBAL_QMUX_VERSION, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT,
    QUIC_PARAM_GLOBAL_SETTINGS, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY,
    QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES,
    QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, QUIC_PARAM_GLOBAL_TLS_PROVIDER,
    QUIC_PARAM_GLOBAL_VERSION_SETTINGS, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, QUIC_STATUS,
    QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE,
    QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS, QUIC_TLS_PROVIDER_OPENSSL,
};
use crate::api::door::library;
use crate::api::global::counted;
use crate::api::global::lib_params::{self, Flag};
use crate::api::global::workers;
use crate::api::param::buffer::answer;
use crate::api::param::known;
use crate::api::settings;
use crate::runtime::counters;

/// MsQuic's private `GLOBAL_VERSION_NEGOTIATION_ENABLED` (`BOOLEAN`, get/set).
const PRIVATE_VERSION_NEGOTIATION_ENABLED: u32 = 0x8100_0003;
/// MsQuic's private `GLOBAL_IN_USE` (`BOOLEAN`, get).
const PRIVATE_IN_USE: u32 = 0x8100_0004;
/// MsQuic's private `GLOBAL_DATAPATH_FEATURES` (`uint32_t`, get once initialized).
const PRIVATE_DATAPATH_FEATURES: u32 = 0x8100_0005;
/// MsQuic's private `GLOBAL_DATAPATH_DSCP_RECV_ENABLED` (`BOOLEAN`, set before the first
/// RegistrationOpen; get).
const PRIVATE_DATAPATH_DSCP_RECV_ENABLED: u32 = 0x8100_0007;

/// GetParam(`GLOBAL_PERF_COUNTERS`): MsQuic's convention, less than one counter's room
/// probes the whole array's size; otherwise as many whole counters as fit.
///
/// # Safety
/// `len` is valid; `buf` is NULL or writable for `*len` bytes.
unsafe fn get_perf_counters(len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let all = counters::snapshot();
    // SAFETY: `len` is valid by the caller's contract.
    let have = unsafe { len.read() } as usize;
    if have < size_of::<u64>() {
        // SAFETY: as above.
        unsafe { len.write(size_of_val(&all) as u32) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let n = (have / size_of::<u64>()).min(all.len());
    // SAFETY: `buf` is writable for `have >= n * 8` bytes; the writes tolerate misalignment.
    unsafe {
        for (i, v) in all[..n].iter().enumerate() {
            buf.cast::<u64>().add(i).write_unaligned(*v);
        }
        len.write((n * size_of::<u64>()) as u32);
    }
    QUIC_STATUS_SUCCESS
}

/// The MsQuic version this library stands in for: 2.7.0, then our build number.
pub(crate) const LIBRARY_VERSION: [u32; 4] = [2, 7, 0, 0];

/// QUIC versions whose frames we carry: QUIC v1, in network byte order as MsQuic lists them.
pub(crate) const SUPPORTED_VERSIONS: [u32; 1] = [0x0000_0001u32.to_be()];

/// The git commit this library was built from, as 40 hex digits and a NUL.
fn git_hash() -> &'static [u8] {
    concat!(env!("MSQUIC_QMUX_GIT_HASH"), "\0").as_bytes()
}

/// This library's own semantic version (Cargo's `version`), as text and a NUL.
fn qmux_version() -> &'static [u8] {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()
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
        QUIC_PARAM_GLOBAL_QMUX_VERSION => qmux_version().to_vec(),
        // As MsQuic on Linux answers: its certificate formats and flags are the ones we follow.
        QUIC_PARAM_GLOBAL_TLS_PROVIDER => QUIC_TLS_PROVIDER_OPENSSL.0.to_ne_bytes().to_vec(),
        // SAFETY: the caller's contract is `answer`'s, which is `get_global_param`'s.
        QUIC_PARAM_GLOBAL_SETTINGS => return unsafe { settings::get_global_param(len, buf) },
        // SAFETY: the caller's contract is `answer`'s, which is `get_param`'s.
        QUIC_PARAM_GLOBAL_EXECUTION_CONFIG => return unsafe { workers::get_param(len, buf) },
        QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES => {
            // SAFETY: the caller's contract is `get_v2_sizes`'s.
            return unsafe { crate::api::connection::link::get_v2_sizes(len, buf) };
        }
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_PERF_COUNTERS => return unsafe { get_perf_counters(len, buf) },
        QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT => {
            // SAFETY: the handle and buffers are as this function's contract says.
            return unsafe { lib_params::get_u16(true, len, buf) };
        }
        QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE => {
            // SAFETY: the handle and buffers are as this function's contract says.
            return unsafe { lib_params::get_u16(false, len, buf) };
        }
        QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS => {
            // SAFETY: the handle and buffers are as this function's contract says.
            return unsafe { lib_params::get_global_settings(len, buf) };
        }
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_VERSION_SETTINGS => return unsafe { lib_params::get_versions(len, buf) },
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG => return unsafe { lib_params::get_xdp_maps(len, buf) },
        PRIVATE_VERSION_NEGOTIATION_ENABLED => {
            // SAFETY: the handle and buffers are as this function's contract says.
            return unsafe { lib_params::get_flag(Flag::VersionNegotiation, len, buf) };
        }
        PRIVATE_DATAPATH_DSCP_RECV_ENABLED => {
            // SAFETY: the handle and buffers are as this function's contract says.
            return unsafe { lib_params::get_flag(Flag::DscpRecv, len, buf) };
        }
        PRIVATE_IN_USE => vec![u8::from(counted::in_use())],
        PRIVATE_DATAPATH_FEATURES => {
            // SAFETY: `len` is valid by the caller's contract.
            if unsafe { len.read() } >= 4 && !buf.is_null() && !library::pool_started() {
                return QUIC_STATUS_INVALID_STATE;
            }
            // No UDP datapath features (segmentation, ECN, DSCP, ...) apply to TCP.
            0u32.to_ne_bytes().to_vec()
        }
        // Set-only in MsQuic (the retry secret is readable in its debug builds only).
        QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY | QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG => {
            return QUIC_STATUS_INVALID_PARAMETER;
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
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT => unsafe { lib_params::set_retry_memory(len, buf) },
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE => unsafe {
            lib_params::set_load_balancing(len, buf, counted::in_use())
        },
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS => unsafe { lib_params::set_global_settings(len, buf) },
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_VERSION_SETTINGS => unsafe { lib_params::set_versions(len, buf) },
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG => unsafe {
            lib_params::set_xdp_maps(len, buf, library::pool_started())
        },
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY => unsafe {
            lib_params::set_reset_key(len, buf, library::pool_started())
        },
        // SAFETY: the handle and buffers are as this function's contract says.
        QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG => unsafe {
            lib_params::set_retry_config(len, buf)
        },
        // SAFETY: the handle and buffers are as this function's contract says.
        PRIVATE_VERSION_NEGOTIATION_ENABLED => unsafe {
            lib_params::set_flag(Flag::VersionNegotiation, len, buf, false)
        },
        // SAFETY: the handle and buffers are as this function's contract says.
        PRIVATE_DATAPATH_DSCP_RECV_ENABLED => unsafe {
            lib_params::set_flag(Flag::DscpRecv, len, buf, library::pool_started())
        },
        QUIC_PARAM_GLOBAL_LIBRARY_VERSION
        | QUIC_PARAM_GLOBAL_PERF_COUNTERS
        | QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES
        | QUIC_PARAM_GLOBAL_TLS_PROVIDER
        | QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS
        | QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH
        | QUIC_PARAM_GLOBAL_QMUX_VERSION => QUIC_STATUS_INVALID_PARAMETER,
        p if known::is_global(p) => QUIC_STATUS_NOT_SUPPORTED,
        _ => QUIC_STATUS_INVALID_PARAMETER,
    }
}
