//! MsQuic's buffer conventions for `GetParam` and `SetParam`.

use core::ffi::c_void;

use crate::api::abi::{
    QUIC_ADDR, QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_SUCCESS,
};

/// Answers a `GetParam` with `data`: too small a `*len` gets the needed size and
/// `BUFFER_TOO_SMALL` (the probing convention); a NULL buffer that is large enough is
/// `INVALID_PARAMETER`; on success the bytes are copied and `*len` is set to their count.
///
/// # Safety
/// `len` must be valid for reads and writes; `buf` must be NULL or writable for `*len` bytes.
pub(crate) unsafe fn answer(len: *mut u32, buf: *mut c_void, data: &[u8]) -> QUIC_STATUS {
    let Ok(needed) = u32::try_from(data.len()) else {
        return QUIC_STATUS_INVALID_PARAMETER;
    };
    // SAFETY: `len` is valid by the caller's contract.
    let have = unsafe { len.read() };
    if have < needed {
        // SAFETY: as above.
        unsafe { len.write(needed) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    // SAFETY: `buf` is writable for `have >= needed` bytes and does not overlap our `data`.
    unsafe {
        core::ptr::copy_nonoverlapping(data.as_ptr(), buf.cast::<u8>(), data.len());
        len.write(needed);
    }
    QUIC_STATUS_SUCCESS
}

/// Reads a `SetParam` value of exactly `size_of::<T>()` bytes.
///
/// # Safety
/// `buf` must be NULL or readable for `len` bytes.
pub(crate) unsafe fn read_exact<T: Copy>(len: u32, buf: *const c_void) -> Option<T> {
    if buf.is_null() || len as usize != size_of::<T>() {
        return None;
    }
    // SAFETY: `buf` holds `size_of::<T>()` readable bytes; the read tolerates misalignment.
    Some(unsafe { buf.cast::<T>().read_unaligned() })
}

/// The bytes of a `QUIC_ADDR`, as GetParam hands an address out.
pub(crate) fn addr_bytes(addr: &QUIC_ADDR) -> [u8; size_of::<QUIC_ADDR>()] {
    // SAFETY: QUIC_ADDR is plain old data of exactly this size.
    unsafe { core::mem::transmute_copy(addr) }
}
