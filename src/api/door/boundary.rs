//! The panic boundary: every table function runs its body through one of these helpers, so a
//! panic becomes a status (or nothing) instead of unwinding into C or aborting the host.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::api::abi::{
    QUIC_FAILED, QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INTERNAL_ERROR,
};
use crate::api::door::status_names::StatusName;
use crate::runtime::log::qlog;

thread_local! {
    /// Why the table call running on this thread is failing, in words, for its log line.
    static REASON: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The last failing table call on this thread, as logged (see [`take_last_failure`]).
    static LAST_FAILURE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Takes the last failure [`call`] saw on this thread (`None` since the last take): a
/// listener tells with it why its NEW_CONNECTION callback refused a connection.
pub(crate) fn take_last_failure() -> Option<String> {
    LAST_FAILURE.with(|f| f.borrow_mut().take())
}

/// Records why the current table call fails (said with its status in the log line that
/// [`call`] writes). Only for failure paths: the reason is taken by the next failing call.
pub(crate) fn fail_reason(reason: impl Into<String>) {
    let reason = reason.into();
    REASON.with(|r| *r.borrow_mut() = Some(reason));
}

/// Runs table function `name`'s body like [`status`], and logs a failing status (at `info`;
/// GetParam's BUFFER_TOO_SMALL, the usual size query, at `debug`) with its name and the
/// reason recorded by [`fail_reason`], if any.
pub(crate) fn call(name: &'static str, f: impl FnOnce() -> QUIC_STATUS) -> QUIC_STATUS {
    let status = status(f);
    if QUIC_FAILED(status) {
        let reason = REASON.with(|r| r.borrow_mut().take());
        let reason = reason.map(|r| format!(": {r}")).unwrap_or_default();
        if status == QUIC_STATUS_BUFFER_TOO_SMALL && name == "GetParam" {
            qlog!(Debug, 0, "{name} returned {}{reason}", StatusName(status));
        } else {
            let line = format!("{name} failed: {}{reason}", StatusName(status));
            qlog!(Info, 0, "{line}");
            LAST_FAILURE.with(|f| *f.borrow_mut() = Some(line));
        }
    }
    status
}

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
