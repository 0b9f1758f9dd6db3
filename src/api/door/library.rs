//! Library-wide state: the open count, the tables handed out, and teardown on the last close.
//! The shared worker pool is the global room's (`global::pool`); the default transport is the
//! registration room's (`registration::default_transport`).

use core::ffi::c_void;
use std::collections::HashSet;

use parking_lot::Mutex;

use crate::api::abi::{
    QUIC_API_TABLE, QUIC_API_VERSION_2, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS,
};
use crate::api::door::{handle, table};
use crate::api::global::{execution, lib_params, pool, workers};
use crate::api::registration::default_transport;
use crate::api::settings;

/// Tables handed out and not yet closed, by address. Its length is the library's reference
/// count: the first open initialises global state, the last close tears it down.
static OPEN_TABLES: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

/// `MsQuicOpenVersion`: hands out a fresh table for API version 2.
///
/// # Safety
/// `api` must be NULL or point to writable storage for one pointer.
pub(crate) unsafe fn open_version(version: u32, api: *mut *const c_void) -> QUIC_STATUS {
    if api.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    if version != QUIC_API_VERSION_2 {
        return QUIC_STATUS_NOT_SUPPORTED;
    }
    // The log level is read now, so a bad MSQUIC_QMUX_LOG is said at once.
    crate::runtime::log::enabled(crate::runtime::log::Level::Info);
    default_transport::read_env();
    crate::runtime::conn::also_release(crate::api::stream::release_spares);
    let mut tables = OPEN_TABLES.lock();
    let table = Box::into_raw(Box::new(table::TABLE));
    tables
        .get_or_insert_with(HashSet::new)
        .insert(table as usize);
    pool::library_opened();
    drop(tables);
    // SAFETY: `api` is non-NULL and, by the caller's contract, writable.
    unsafe { api.write(table as *const c_void) };
    QUIC_STATUS_SUCCESS
}

/// `MsQuicClose`: frees a table from `open_version`; NULL or an unknown pointer does nothing.
pub(crate) fn close(api: *const c_void) {
    if api.is_null() {
        return;
    }
    let (pool, executions) = {
        let mut guard = OPEN_TABLES.lock();
        let Some(open) = guard.as_mut() else { return };
        if !open.remove(&(api as usize)) {
            return;
        }
        // SAFETY: the address was in `OPEN_TABLES`, so it came from `Box::into_raw` in
        // `open_version` and has not been freed; removing it above makes this the only free.
        drop(unsafe { Box::from_raw(api as *mut QUIC_API_TABLE) });
        if !open.is_empty() {
            return;
        }
        *guard = None;
        let shared = pool::library_closed();
        default_transport::reset_logged();
        settings::reset_global();
        lib_params::reset();
        workers::reset();
        (shared, execution::take_all())
    };
    // Stops and joins the workers (unless this is one of them), outside the lock: a worker
    // finishing its last callbacks may itself call into the library. Stopped explicitly, not
    // only by dropping: whatever still holds the pool (an object the application never
    // closed, or one still referenced after its close) must not keep threads alive past the
    // last MsQuicClose.
    if let Some(pool) = &pool {
        pool.stop();
    }
    drop(pool);
    // The executions the application did not delete.
    drop(executions);
    // Closed handles are freed once the workers are done: a close completing in a callback
    // that was still returning on a worker has put its handle in the quarantine by now.
    handle::drain_quarantine();
    // No resolver thread outlives the library (lookups under way finish first).
    crate::runtime::resolver::shutdown();
}
