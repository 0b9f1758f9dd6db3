//! The `QUIC_STATISTICS_V2` sizes: the ones `CONN_STATISTICS_V2` fills (`connection::stats`)
//! and `GLOBAL_STATISTICS_V2_SIZES` lists.

use core::ffi::c_void;

use crate::api::abi::{
    QUIC_STATISTICS_V2_SIZE_1, QUIC_STATISTICS_V2_SIZE_2, QUIC_STATISTICS_V2_SIZE_3,
    QUIC_STATISTICS_V2_SIZE_4, QUIC_STATISTICS_V2_SIZE_5, QUIC_STATUS,
    QUIC_STATUS_BUFFER_TOO_SMALL,
};
use crate::api::param::buffer::answer;

/// The `QUIC_STATISTICS_V2` sizes this library fills, oldest first.
pub(crate) const V2_SIZES: [u32; 5] = [
    QUIC_STATISTICS_V2_SIZE_1,
    QUIC_STATISTICS_V2_SIZE_2,
    QUIC_STATISTICS_V2_SIZE_3,
    QUIC_STATISTICS_V2_SIZE_4,
    QUIC_STATISTICS_V2_SIZE_5,
];

/// GetParam(`GLOBAL_STATISTICS_V2_SIZES`): the sizes, as many as fit (at least one).
///
/// # Safety
/// `len` must be valid for reads and writes; `buf` NULL or writable for `*len` bytes.
pub(crate) unsafe fn get_v2_sizes(len: *mut u32, buf: *mut c_void) -> QUIC_STATUS {
    // SAFETY: `len` is valid by the caller's contract.
    let have = unsafe { len.read() } as usize / size_of::<u32>();
    if have == 0 {
        // SAFETY: as above.
        unsafe { len.write(size_of_val(&V2_SIZES) as u32) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    let n = have.min(V2_SIZES.len());
    let bytes: Vec<u8> = V2_SIZES[..n].iter().flat_map(|s| s.to_ne_bytes()).collect();
    // SAFETY: the caller's contract is `answer`'s; `bytes` fits in `*len`.
    unsafe { answer(len, buf, &bytes) }
}
