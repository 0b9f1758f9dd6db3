//! Library-wide parameters that QMux over TCP has no machinery for, kept as MsQuic keeps them:
//! validated with MsQuic's checks, stored, returned. Stateless retry, load balancing by
//! connection id and stateless reset are QUIC-over-UDP mechanisms; a TCP listener never
//! sends a Retry or a stateless reset, and has no connection ids to encode a server id in.
//! Forgotten at the last `MsQuicClose`, as MsQuic's library state is.

use core::ffi::c_void;

use parking_lot::Mutex;

use crate::api::abi::{
    QUIC_AEAD_ALGORITHM_AES_128_GCM, QUIC_AEAD_ALGORITHM_AES_256_GCM, QUIC_GLOBAL_SETTINGS,
    QUIC_LOAD_BALANCING_COUNT, QUIC_LOAD_BALANCING_SERVER_ID_IP, QUIC_STATELESS_RESET_KEY_LENGTH,
    QUIC_STATELESS_RETRY_CONFIG, QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS,
    QUIC_XDP_MAP_CONFIG,
};
use crate::api::param::buffer::{answer, read_exact};
use crate::api::param::versions::{self, VersionLists};

/// MsQuic's default share of memory for handshakes before retry (65 / 65535, about 0.1%).
const DEFAULT_RETRY_MEMORY_LIMIT: u16 = 65;

/// What the library keeps; see the module comment.
#[derive(Clone)]
struct State {
    retry_memory_limit: u16,
    load_balancing_mode: u16,
    fixed_server_id: u32,
    /// `QUIC_GLOBAL_SETTINGS` IsSet bits of the three fields above.
    is_set: u64,
    versions: Option<VersionLists>,
    version_negotiation: bool,
    dscp_recv: bool,
    reset_key: Option<[u8; QUIC_STATELESS_RESET_KEY_LENGTH as usize]>,
    retry_config: Option<(u32, u32, Vec<u8>)>,
    /// `GLOBAL_XDP_MAP_CONFIG`: the `QUIC_XDP_MAP_CONFIG` array as the application gave it.
    xdp_maps: Vec<u8>,
}

const DEFAULT: State = State {
    retry_memory_limit: DEFAULT_RETRY_MEMORY_LIMIT,
    load_balancing_mode: 0,
    fixed_server_id: 0,
    is_set: 0,
    versions: None,
    version_negotiation: false,
    dscp_recv: false,
    reset_key: None,
    retry_config: None,
    xdp_maps: Vec::new(),
};

static STATE: Mutex<State> = Mutex::new(DEFAULT);

/// Back to MsQuic's defaults (the last `MsQuicClose`).
pub(crate) fn reset() {
    *STATE.lock() = DEFAULT;
}

/// The library-wide version lists, if the application set any.
pub(crate) fn global_versions() -> Option<VersionLists> {
    STATE.lock().versions.clone()
}

/// `GLOBAL_RETRY_MEMORY_PERCENT`: any `u16`.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_retry_memory(len: u32, buf: *const c_void) -> QUIC_STATUS {
    // SAFETY: as above.
    let Some(v) = (unsafe { read_exact::<u16>(len, buf) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    let mut s = STATE.lock();
    s.retry_memory_limit = v;
    s.is_set |= QUIC_GLOBAL_SETTINGS::IS_SET_RETRY_MEMORY_LIMIT;
    QUIC_STATUS_SUCCESS
}

/// `GLOBAL_LOAD_BALACING_MODE`: DISABLED or SERVER_ID_IP (MsQuic refuses SERVER_ID_FIXED
/// here), and no change while the library is in use.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_load_balancing(len: u32, buf: *const c_void, in_use: bool) -> QUIC_STATUS {
    // SAFETY: as above.
    let Some(v) = (unsafe { read_exact::<u16>(len, buf) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    if u32::from(v) > QUIC_LOAD_BALANCING_SERVER_ID_IP.0 {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let mut s = STATE.lock();
    if in_use && s.load_balancing_mode != v {
        return QUIC_STATUS_INVALID_STATE;
    }
    s.load_balancing_mode = v;
    s.is_set |= QUIC_GLOBAL_SETTINGS::IS_SET_LOAD_BALANCING_MODE;
    QUIC_STATUS_SUCCESS
}

/// GetParam of the two `u16` values.
///
/// # Safety
/// `len` is valid; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn get_u16(retry: bool, len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let s = STATE.lock();
    let v = if retry {
        s.retry_memory_limit
    } else {
        s.load_balancing_mode
    };
    drop(s);
    // SAFETY: as above.
    unsafe { answer(len, buf, &v.to_ne_bytes()) }
}

const GLOBAL_MIN: usize = 12; // through LoadBalancingMode

/// `GLOBAL_GLOBAL_SETTINGS` set: at least through `LoadBalancingMode`; `FixedServerID` when
/// the size covers it; only fields whose IsSet bit is set; a mode past SERVER_ID_FIXED is
/// refused. Success also counts as a change of the library settings
/// ([`global_changed_elsewhere`](crate::api::settings::global_changed_elsewhere)).
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_global_settings(len: u32, buf: *const c_void) -> QUIC_STATUS {
    if buf.is_null() || (len as usize) < GLOBAL_MIN {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let mut g = QUIC_GLOBAL_SETTINGS::default();
    let n = (len as usize).min(size_of::<QUIC_GLOBAL_SETTINGS>());
    // SAFETY: `buf` is readable for `len >= n` bytes; `g` is plain data of at least `n`.
    unsafe {
        core::ptr::copy_nonoverlapping(
            buf.cast::<u8>(),
            (&mut g as *mut QUIC_GLOBAL_SETTINGS).cast::<u8>(),
            n,
        )
    };
    if n < size_of::<QUIC_GLOBAL_SETTINGS>() {
        g.set_is_set(QUIC_GLOBAL_SETTINGS::IS_SET_FIXED_SERVER_ID, false);
    }
    let mut s = STATE.lock();
    if g.is_set(QUIC_GLOBAL_SETTINGS::IS_SET_RETRY_MEMORY_LIMIT) {
        s.retry_memory_limit = g.RetryMemoryLimit;
        s.is_set |= QUIC_GLOBAL_SETTINGS::IS_SET_RETRY_MEMORY_LIMIT;
    }
    // Checked after RetryMemoryLimit is stored, as MsQuic's settings code does (a refused
    // mode leaves that field applied).
    if g.is_set(QUIC_GLOBAL_SETTINGS::IS_SET_LOAD_BALANCING_MODE)
        && u32::from(g.LoadBalancingMode) >= QUIC_LOAD_BALANCING_COUNT.0
    {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    if g.is_set(QUIC_GLOBAL_SETTINGS::IS_SET_LOAD_BALANCING_MODE) {
        s.load_balancing_mode = g.LoadBalancingMode;
    }
    if g.is_set(QUIC_GLOBAL_SETTINGS::IS_SET_FIXED_SERVER_ID) {
        s.fixed_server_id = g.FixedServerID;
    }
    s.is_set |= g.IsSetFlags
        & (QUIC_GLOBAL_SETTINGS::IS_SET_RETRY_MEMORY_LIMIT
            | QUIC_GLOBAL_SETTINGS::IS_SET_LOAD_BALANCING_MODE
            | QUIC_GLOBAL_SETTINGS::IS_SET_FIXED_SERVER_ID);
    drop(s);
    crate::api::settings::global_changed_elsewhere();
    QUIC_STATUS_SUCCESS
}

/// `GLOBAL_GLOBAL_SETTINGS` get: a 0 length probes the full size, less than 12 bytes gets
/// 12; `FixedServerID` is written when it fits.
///
/// # Safety
/// `len` is valid; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn get_global_settings(len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    const FULL: usize = size_of::<QUIC_GLOBAL_SETTINGS>();
    // SAFETY: `len` is valid.
    let have = unsafe { len.read() } as usize;
    if have == 0 {
        // SAFETY: as above.
        unsafe { len.write(FULL as u32) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if have < GLOBAL_MIN {
        // SAFETY: as above.
        unsafe { len.write(GLOBAL_MIN as u32) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let s = STATE.lock().clone();
    let mut g = QUIC_GLOBAL_SETTINGS {
        IsSetFlags: s.is_set,
        RetryMemoryLimit: s.retry_memory_limit,
        LoadBalancingMode: s.load_balancing_mode,
        FixedServerID: s.fixed_server_id,
    };
    let n = have.min(FULL);
    if n < FULL {
        g.set_is_set(QUIC_GLOBAL_SETTINGS::IS_SET_FIXED_SERVER_ID, false);
    }
    // SAFETY: `g` is plain data; `buf` is writable for `have >= n` bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(
            (&g as *const QUIC_GLOBAL_SETTINGS).cast::<u8>(),
            buf.cast::<u8>(),
            n,
        );
        len.write(n as u32);
    }
    QUIC_STATUS_SUCCESS
}

/// `GLOBAL_VERSION_SETTINGS` set (which also turns the version negotiation extension on).
///
/// # Safety
/// As for [`versions::parse`].
pub(crate) unsafe fn set_versions(len: u32, buf: *const c_void) -> QUIC_STATUS {
    // SAFETY: as above.
    match unsafe { versions::parse(len, buf) } {
        Ok(v) => {
            let mut s = STATE.lock();
            s.versions = v;
            s.version_negotiation = true;
            drop(s);
            crate::api::settings::global_changed_elsewhere();
            QUIC_STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// `GLOBAL_VERSION_SETTINGS` get.
///
/// # Safety
/// As for [`versions::answer`].
pub(crate) unsafe fn get_versions(len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let v = global_versions();
    // SAFETY: as above.
    unsafe { versions::answer(v.as_ref(), len, buf) }
}

/// `GLOBAL_STATELESS_RESET_KEY` (set only): 32 bytes, once the library is initialized (the
/// first RegistrationOpen), INVALID_STATE before, as in MsQuic.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_reset_key(len: u32, buf: *const c_void, initialized: bool) -> QUIC_STATUS {
    if !initialized {
        return QUIC_STATUS_INVALID_STATE;
    }
    // SAFETY: as above.
    let Some(key) =
        (unsafe { read_exact::<[u8; QUIC_STATELESS_RESET_KEY_LENGTH as usize]>(len, buf) })
    else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    STATE.lock().reset_key = Some(key);
    QUIC_STATUS_SUCCESS
}

/// `GLOBAL_STATELESS_RETRY_CONFIG` (set only): the struct's size, a secret, AES-128-GCM with
/// 16 bytes or AES-256-GCM with 32, and a rotation interval above 0.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes; its `Secret` readable for `SecretLength`.
pub(crate) unsafe fn set_retry_config(len: u32, buf: *const c_void) -> QUIC_STATUS {
    // SAFETY: as above.
    let Some(c) = (unsafe { read_exact::<QUIC_STATELESS_RETRY_CONFIG>(len, buf) }) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    if c.Secret.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let key_len = match c.Algorithm {
        QUIC_AEAD_ALGORITHM_AES_128_GCM => 16,
        QUIC_AEAD_ALGORITHM_AES_256_GCM => 32,
        _ => return QUIC_STATUS_INVALID_PARAMETER,
    };
    if c.RotationMs == 0 || c.SecretLength != key_len {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `Secret` is readable for `SecretLength` bytes by the caller's contract.
    let secret = unsafe { core::slice::from_raw_parts(c.Secret, key_len as usize) }.to_vec();
    STATE.lock().retry_config = Some((c.Algorithm.0, c.RotationMs, secret));
    QUIC_STATUS_SUCCESS
}

/// A `BOOLEAN` library flag MsQuic keeps privately.
#[derive(Clone, Copy)]
pub(crate) enum Flag {
    /// `GLOBAL_VERSION_NEGOTIATION_ENABLED`.
    VersionNegotiation,
    /// `GLOBAL_DATAPATH_DSCP_RECV_ENABLED`.
    DscpRecv,
}

/// Sets a flag: one byte or more (the first byte counts) for VERSION_NEGOTIATION_ENABLED;
/// exactly one byte, and only before the datapath starts (the first RegistrationOpen), for
/// DSCP_RECV_ENABLED, as MsQuic's test set-up relies on.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_flag(
    flag: Flag,
    len: u32,
    buf: *const c_void,
    initialized: bool,
) -> QUIC_STATUS {
    if buf.is_null() || len == 0 {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `buf` holds at least one byte.
    let v = unsafe { buf.cast::<u8>().read() } != 0;
    let mut s = STATE.lock();
    match flag {
        Flag::VersionNegotiation => s.version_negotiation = v,
        Flag::DscpRecv => {
            if len != 1 {
                return QUIC_STATUS_INVALID_PARAMETER;
            }
            if initialized {
                return QUIC_STATUS_INVALID_STATE;
            }
            s.dscp_recv = v;
        }
    }
    QUIC_STATUS_SUCCESS
}

/// Reads a flag (one byte).
///
/// # Safety
/// `len` is valid; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn get_flag(flag: Flag, len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let s = STATE.lock();
    let v = match flag {
        Flag::VersionNegotiation => s.version_negotiation,
        Flag::DscpRecv => s.dscp_recv,
    };
    drop(s);
    // SAFETY: as above.
    unsafe { answer(len, buf, &[u8::from(v)]) }
}

/// `GLOBAL_XDP_MAP_CONFIG` set (preview): an array of `QUIC_XDP_MAP_CONFIG`, taken any number
/// of times (each replacing the last) until the library's lazy initialization (the first
/// RegistrationOpen), INVALID_STATE after; a length of 0 clears it. A length that is not a
/// whole number of entries, or a NULL buffer with a length, is INVALID_PARAMETER. Over TCP
/// there is no XDP datapath: the maps are kept and returned, never used.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes.
pub(crate) unsafe fn set_xdp_maps(len: u32, buf: *const c_void, initialized: bool) -> QUIC_STATUS {
    let len = len as usize;
    if len % size_of::<QUIC_XDP_MAP_CONFIG>() != 0 || (len != 0 && buf.is_null()) {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    if initialized {
        return QUIC_STATUS_INVALID_STATE;
    }
    let maps = if len == 0 {
        Vec::new()
    } else {
        // SAFETY: `buf` is non-NULL and readable for `len` bytes by the caller's contract.
        unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) }.to_vec()
    };
    STATE.lock().xdp_maps = maps;
    QUIC_STATUS_SUCCESS
}

/// `GLOBAL_XDP_MAP_CONFIG` get: the array last set; when none is set, a length of 0 and
/// SUCCESS whatever the buffer (as MsQuic answers for an unset execution config).
///
/// # Safety
/// `len` is valid; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn get_xdp_maps(len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    let maps = STATE.lock().xdp_maps.clone();
    if maps.is_empty() {
        // SAFETY: `len` is valid.
        unsafe { len.write(0) };
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: as above.
    unsafe { answer(len, buf, &maps) }
}
