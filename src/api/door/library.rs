//! Library-wide state: the open count, the tables handed out, and teardown on the last close.

use core::ffi::c_void;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::api::abi::{
    QUIC_API_TABLE, QUIC_API_VERSION_2, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_NOT_SUPPORTED, QUIC_STATUS_SUCCESS,
};
use crate::api::door::{handle, table};
use crate::api::global::{execution, lib_params, workers};
use crate::api::registration::params::{TRANSPORT_ENV, transport_from_env, transport_name};
use crate::api::settings;
use crate::runtime::worker::Pool;

/// Tables handed out and not yet closed, by address. Its length is the library's reference
/// count: the first open initialises global state, the last close tears it down.
static OPEN_TABLES: Mutex<Option<HashSet<usize>>> = Mutex::new(None);

/// The shared worker threads, started by the first `RegistrationOpen` (after which the
/// global execution config is fixed, as in MsQuic) and stopped after the last close.
static POOL: Mutex<Option<Arc<Pool>>> = Mutex::new(None);

/// The library's shared workers, started now if they are not yet; `None` when no table is
/// open or the threads cannot be started.
pub(crate) fn pool() -> Option<Arc<Pool>> {
    let tables = OPEN_TABLES.lock();
    tables.as_ref()?;
    let mut pool = POOL.lock();
    if pool.is_none() {
        *pool = Some(workers::start_shared().ok()?);
    }
    pool.clone()
}

/// Forgets the shared workers if they are `stopped` (the application's executions, deleted):
/// a later `RegistrationOpen` starts threads.
pub(crate) fn forget_pool(stopped: &Arc<Pool>) {
    let mut pool = POOL.lock();
    if pool.as_ref().is_some_and(|p| Arc::ptr_eq(p, stopped)) {
        *pool = None;
    }
}

/// Whether the shared workers have been started (the execution config is then fixed).
pub(crate) fn pool_started() -> bool {
    POOL.lock().is_some()
}

/// The transport new registrations start with, read from the environment at each open.
static DEFAULT_TRANSPORT: AtomicU32 = AtomicU32::new(0);

/// Whether MSQUIC_QMUX_TRANSPORT chose [`DEFAULT_TRANSPORT`] (else it is the default).
static TRANSPORT_FROM_ENV: AtomicBool = AtomicBool::new(false);

/// Whether the transport line was logged since the library was opened.
static TRANSPORT_LOGGED: AtomicBool = AtomicBool::new(false);

/// The transport a new registration starts with (decisions.md §1).
pub(crate) fn default_transport() -> u32 {
    DEFAULT_TRANSPORT.load(Ordering::Relaxed)
}

/// Logs the default transport, and where it came from, for the first registration opened
/// (`log_id`) since the library was opened.
pub(crate) fn log_transport_once(log_id: usize) {
    let transport = default_transport();
    if !TRANSPORT_LOGGED.swap(true, Ordering::Relaxed) {
        let source = if TRANSPORT_FROM_ENV.load(Ordering::Relaxed) {
            format!("from {}", TRANSPORT_ENV)
        } else {
            format!("the default; {} not set", TRANSPORT_ENV)
        };
        crate::runtime::log::qlog!(
            Info,
            log_id,
            "transport: {} ({source})",
            transport_name(transport)
        );
    }
}

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
    let (transport, from_env) = transport_from_env();
    DEFAULT_TRANSPORT.store(transport, Ordering::Relaxed);
    TRANSPORT_FROM_ENV.store(from_env, Ordering::Relaxed);
    crate::runtime::conn::also_release(crate::api::stream::release_spares);
    let mut tables = OPEN_TABLES.lock();
    let table = Box::into_raw(Box::new(table::TABLE));
    tables
        .get_or_insert_with(HashSet::new)
        .insert(table as usize);
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
        TRANSPORT_LOGGED.store(false, Ordering::Relaxed);
        settings::reset_global();
        lib_params::reset();
        workers::reset();
        (POOL.lock().take(), execution::take_all())
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
