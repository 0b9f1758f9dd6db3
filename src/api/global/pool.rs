//! The library's shared worker pool: started by the first `RegistrationOpen` (after which the
//! global execution config is fixed, as in MsQuic), used by registrations and listeners, and
//! taken for teardown by the last `MsQuicClose` (`door::library`).

use std::sync::Arc;

use parking_lot::Mutex;

use crate::api::global::workers;
use crate::runtime::worker::Pool;

/// Whether a table is open, and the shared workers once started. Under one lock so that no
/// pool starts once the last table is closed.
struct Shared {
    /// At least one table from `MsQuicOpenVersion` is open.
    open: bool,
    /// The shared worker threads, if started.
    pool: Option<Arc<Pool>>,
}

/// The library's shared pool state.
static SHARED: Mutex<Shared> = Mutex::new(Shared {
    open: false,
    pool: None,
});

/// `MsQuicOpenVersion` handed out a table: [`pool`] may start the workers from now on.
pub(crate) fn library_opened() {
    SHARED.lock().open = true;
}

/// The last table was closed: no pool starts until the next open; returns the shared workers
/// (if started) for the caller to stop.
pub(crate) fn library_closed() -> Option<Arc<Pool>> {
    let mut shared = SHARED.lock();
    shared.open = false;
    shared.pool.take()
}

/// The library's shared workers, started now if they are not yet; `None` when no table is
/// open or the threads cannot be started.
pub(crate) fn pool() -> Option<Arc<Pool>> {
    let mut shared = SHARED.lock();
    if !shared.open {
        return None;
    }
    if shared.pool.is_none() {
        shared.pool = Some(workers::start_shared().ok()?);
    }
    shared.pool.clone()
}

/// Forgets the shared workers if they are `stopped` (the application's executions, deleted):
/// a later `RegistrationOpen` starts threads.
pub(crate) fn forget_pool(stopped: &Arc<Pool>) {
    let mut shared = SHARED.lock();
    if shared
        .pool
        .as_ref()
        .is_some_and(|p| Arc::ptr_eq(p, stopped))
    {
        shared.pool = None;
    }
}

/// Whether the shared workers have been started (the execution config is then fixed).
pub(crate) fn pool_started() -> bool {
    SHARED.lock().pool.is_some()
}
