//! The panic boundary: every table function runs its body through one of these helpers, so a
//! panic becomes a status (or nothing) instead of unwinding into C or aborting the host.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::api::abi::{QUIC_STATUS, QUIC_STATUS_INTERNAL_ERROR};

/// Runs `f`; a panic becomes `QUIC_STATUS_INTERNAL_ERROR`.
pub(crate) fn status(f: impl FnOnce() -> QUIC_STATUS) -> QUIC_STATUS {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(QUIC_STATUS_INTERNAL_ERROR)
}

/// Runs `f` for a function that returns nothing; a panic is swallowed.
pub(crate) fn unit(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Runs `f`; a panic returns `fallback`.
pub(crate) fn value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::abi::QUIC_STATUS_SUCCESS;

    #[test]
    fn panics_become_statuses() {
        assert_eq!(status(|| panic!("boom")), QUIC_STATUS_INTERNAL_ERROR);
        assert_eq!(status(|| QUIC_STATUS_SUCCESS), QUIC_STATUS_SUCCESS);
        unit(|| panic!("boom"));
        assert_eq!(value(7u32, || panic!("boom")), 7);
        assert!(value(std::ptr::null_mut::<u8>(), || panic!("boom")).is_null());
    }
}
