//! `QUIC_VERSION_SETTINGS` (global, configuration and connection): MsQuic's validation and
//! its stored form. QMux carries QUIC v1 frames only, so the lists change nothing on the
//! wire; they are checked, kept and returned as MsQuic does.

use core::ffi::c_void;

use crate::api::abi::{
    QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_SUCCESS,
    QUIC_VERSION_SETTINGS,
};

/// QUIC versions MsQuic knows, in network byte order read as a little-endian integer: 2, 1,
/// draft-29 and Microsoft's first.
const SUPPORTED: [u32; 4] = [0xcf43_336b, 0x0100_0000, 0x1d00_00ff, 0x0000_cdab];

/// Versions of the reserved (greasing) pattern `?a?a?a?a`.
fn reserved(v: u32) -> bool {
    v & 0x0f0f_0f0f == 0x0a0a_0a0a
}

/// Version lists as MsQuic keeps them: each value byte-swapped from the application's form
/// (and returned that way by GetParam, as MsQuic does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VersionLists {
    acceptable: Vec<u32>,
    offered: Vec<u32>,
    fully_deployed: Vec<u32>,
}

const HEADER: usize = size_of::<QUIC_VERSION_SETTINGS>();

/// Reads `len` u32 from `ptr`.
///
/// # Safety
/// `ptr` is readable for `len` u32 (the application's contract), or `len` is 0.
unsafe fn list(ptr: *const u32, len: u32) -> Option<Vec<u32>> {
    if len == 0 {
        return Some(Vec::new());
    }
    if ptr.is_null() {
        return None;
    }
    // SAFETY: as above; the reads tolerate misalignment.
    Some(
        (0..len as usize)
            .map(|i| unsafe { ptr.add(i).read_unaligned() })
            .collect(),
    )
}

/// SetParam of a version settings id: `Ok(None)` for all-empty lists (back to the default),
/// INVALID_PARAMETER for a NULL buffer, a short size or a version MsQuic does not know.
///
/// # Safety
/// `buf` is NULL or readable for `len` bytes, and its list pointers as long as their lengths.
pub(crate) unsafe fn parse(
    len: u32,
    buf: *const c_void,
) -> Result<Option<VersionLists>, QUIC_STATUS> {
    if buf.is_null() || (len as usize) < HEADER {
        return Err(QUIC_STATUS_INVALID_PARAMETER);
    }
    // SAFETY: `buf` holds at least a whole QUIC_VERSION_SETTINGS.
    let s = unsafe { buf.cast::<QUIC_VERSION_SETTINGS>().read_unaligned() };
    let read = |p, n| {
        // SAFETY: the lists are as the caller's contract says.
        let v = unsafe { list(p, n) }.ok_or(QUIC_STATUS_INVALID_PARAMETER)?;
        let swapped: Vec<u32> = v.iter().map(|x| x.swap_bytes()).collect();
        if swapped
            .iter()
            .all(|&x| SUPPORTED.contains(&x) || reserved(x))
        {
            Ok(swapped)
        } else {
            Err(QUIC_STATUS_INVALID_PARAMETER)
        }
    };
    let lists = VersionLists {
        acceptable: read(s.AcceptableVersions, s.AcceptableVersionsLength)?,
        offered: read(s.OfferedVersions, s.OfferedVersionsLength)?,
        fully_deployed: read(s.FullyDeployedVersions, s.FullyDeployedVersionsLength)?,
    };
    if lists == VersionLists::default() {
        return Ok(None);
    }
    Ok(Some(lists))
}

/// GetParam of a version settings id: the struct followed by the three lists (their pointers
/// into the caller's buffer); all zero with no lists set.
///
/// # Safety
/// `len` is valid for reads and writes; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn answer(
    lists: Option<&VersionLists>,
    len: *mut u32,
    buf: *mut c_void,
) -> QUIC_STATUS {
    let empty = VersionLists::default();
    let l = lists.unwrap_or(&empty);
    let words = l.acceptable.len() + l.offered.len() + l.fully_deployed.len();
    let needed = HEADER + words * size_of::<u32>();
    // SAFETY: `len` is valid by the caller's contract.
    if (unsafe { len.read() } as usize) < needed {
        // SAFETY: as above.
        unsafe { len.write(needed as u32) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let base = buf.cast::<u8>();
    // SAFETY: `buf` is writable for `needed` bytes; each list goes right after the previous.
    unsafe {
        let first = base.add(HEADER).cast::<u32>();
        let mut at = first;
        let mut put = |v: &[u32]| {
            let start = at;
            for (i, x) in v.iter().enumerate() {
                at.add(i).write_unaligned(*x);
            }
            at = at.add(v.len());
            start
        };
        let (a, o, f) = if lists.is_some() {
            (put(&l.acceptable), put(&l.offered), put(&l.fully_deployed))
        } else {
            (
                core::ptr::null_mut(),
                core::ptr::null_mut(),
                core::ptr::null_mut(),
            )
        };
        let header = QUIC_VERSION_SETTINGS {
            AcceptableVersions: a,
            OfferedVersions: o,
            FullyDeployedVersions: f,
            AcceptableVersionsLength: l.acceptable.len() as u32,
            OfferedVersionsLength: l.offered.len() as u32,
            FullyDeployedVersionsLength: l.fully_deployed.len() as u32,
        };
        buf.cast::<QUIC_VERSION_SETTINGS>().write_unaligned(header);
        len.write(needed as u32);
    }
    QUIC_STATUS_SUCCESS
}
