//! Registrations: `RegistrationOpen`, `RegistrationClose`, `RegistrationShutdown` and
//! `RegistrationClose2`, plus the child count that makes `RegistrationClose` wait.

pub(crate) mod default_transport;
pub(crate) mod params;

use core::ffi::{CStr, c_void};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::{Condvar, Mutex};

use crate::api::abi::{
    HQUIC, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, QUIC_CONNECTION_SHUTDOWN_FLAGS,
    QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER, QUIC_REGISTRATION_CONFIG, QUIC_STATUS,
    QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE, QUIC_STATUS_OUT_OF_MEMORY,
    QUIC_STATUS_SUCCESS, QUIC_UINT62, QUIC_UINT62_MAX,
};
use crate::api::connection::link::{Connection, shutdown_connection};
use crate::api::door::boundary;
use crate::api::door::handle::{Handle, Kind, Object};
use crate::api::global::{pool, workers};
use crate::runtime::worker::Pool;

/// Highest `QUIC_EXECUTION_PROFILE` value (REAL_TIME).
const MAX_EXECUTION_PROFILE: u32 = 3;

/// A registration: the application's execution context and the parent of every other object.
#[expect(
    dead_code,
    reason = "kept as given; MsQuic has no parameter that reads them back"
)]
pub(crate) struct Registration {
    /// `QUIC_REGISTRATION_CONFIG::AppName`, if given.
    pub(crate) app_name: Option<String>,
    /// `QUIC_REGISTRATION_CONFIG::ExecutionProfile`, validated.
    pub(crate) execution_profile: u32,
    /// The transport (`QUIC_PARAM_REGISTRATION_TRANSPORT`).
    pub(crate) transport: Mutex<u32>,
    /// The workers that run this registration's connections: the library's shared ones, or
    /// (SCAVENGER, REAL_TIME) threads of its own.
    pub(crate) pool: Arc<Pool>,
    /// `pool` is the registration's own: its threads end when the registration's close
    /// completes.
    own_pool: bool,
    /// Open child objects (configurations, listeners, connections).
    children: Mutex<usize>,
    children_gone: Condvar,
    /// The registration's connections, for `RegistrationShutdown`.
    connections: Mutex<Connections>,
}

/// The connections of a registration and whether it is shut down, under one lock so that a
/// connection is either shut down by `RegistrationShutdown` or refused.
#[derive(Default)]
struct Connections {
    /// By handle address, until the application closes the handle. Weak: a connection is
    /// owned by its handle, not by its registration.
    live: HashMap<usize, Weak<Handle<Connection>>>,
    /// `RegistrationShutdown` was called: as in MsQuic, the registration takes no new
    /// connection or listener from then on.
    shutting_down: bool,
}

impl Object for Registration {
    const KIND: Kind = Kind::Registration;
}

impl Registration {
    /// How many children are open now.
    pub(crate) fn child_count(&self) -> usize {
        *self.children.lock()
    }

    /// Tracks a connection until [`Registration::forget_connection`]; false (and not
    /// tracked) once the registration is shut down.
    pub(crate) fn track_connection(&self, conn: &Arc<Handle<Connection>>) -> bool {
        let mut connections = self.connections.lock();
        if connections.shutting_down {
            return false;
        }
        let key = conn.as_hquic() as usize;
        connections.live.insert(key, Arc::downgrade(conn));
        true
    }

    /// Stops tracking the connection whose handle is at `key` (it was closed).
    pub(crate) fn forget_connection(&self, key: usize) {
        self.connections.lock().live.remove(&key);
    }

    /// Whether `RegistrationShutdown` was called.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.connections.lock().shutting_down
    }

    /// Marks the registration shut down and returns its live connections; `None` if it
    /// already was.
    fn begin_shutdown(&self) -> Option<Vec<Arc<Handle<Connection>>>> {
        let mut connections = self.connections.lock();
        if connections.shutting_down {
            return None;
        }
        connections.shutting_down = true;
        Some(
            connections
                .live
                .values()
                .filter_map(Weak::upgrade)
                .collect(),
        )
    }

    /// Debug builds: MsQuic forbids RegistrationClose inside a callback, where it deadlocks;
    /// here it hangs whenever closing the children still open needs this worker thread. Says
    /// so on stderr (before the handle is closed, so that a test can wait for the handle).
    fn warn_if_close_may_deadlock(&self) {
        if !cfg!(debug_assertions) || crate::runtime::worker::current_index().is_none() {
            return;
        }
        let children = *self.children.lock();
        if children > closed_in_final_events(self) {
            eprintln!(
                "msquic-qmux: RegistrationClose called on a worker thread (inside a callback) \
                 while {children} object(s) of the registration are open: MsQuic forbids \
                 this, and it deadlocks if closing them needs this worker"
            );
        }
    }

    fn wait_for_children(&self) {
        // Children closed inside the final event this thread is delivering give their place
        // back once it returns: MsQuic forbids RegistrationClose there (it would wait
        // forever); here it does not wait for them.
        let own = closed_in_final_events(self);
        let mut children = self.children.lock();
        while *children > own {
            self.children_gone.wait(&mut children);
        }
    }

    /// The close completes (every child is closed): the registration's own worker threads
    /// end now rather than when the closed handle leaves the quarantine. Its closed children
    /// may still hold the pool, but a stopped pool has no thread or descriptor left.
    fn close_completed(&self) {
        self.wait_for_children();
        if self.own_pool {
            self.pool.stop();
        }
    }
}

/// A child (connection, listener) whose final event (SHUTDOWN_COMPLETE, STOP_COMPLETE) a
/// thread is delivering. Its close, if made inside the event, completes (and gives back its
/// place in the registration) only once the event returns, as MsQuic frees it only then.
pub(crate) trait InFinalEvent {
    /// Whether the application closed the child and it still holds a place in `registration`.
    fn closed_holding_place_in(&self, registration: &Registration) -> bool;
}

thread_local! {
    /// The children whose final event this thread is delivering, innermost last.
    static FINAL_EVENTS: RefCell<Vec<Arc<dyn InFinalEvent>>> = const { RefCell::new(Vec::new()) };
}

/// While alive, the calling thread is delivering the final event of a child.
pub(crate) struct FinalEventScope(());

impl FinalEventScope {
    /// `child`'s final event is being delivered on this thread until the scope is dropped.
    pub(crate) fn enter(child: Arc<dyn InFinalEvent>) -> Self {
        FINAL_EVENTS.with(|f| f.borrow_mut().push(child));
        Self(())
    }
}

impl Drop for FinalEventScope {
    fn drop(&mut self) {
        let child = FINAL_EVENTS.with(|f| f.borrow_mut().pop());
        drop(child);
    }
}

/// How many children of `registration` the application closed inside the final events this
/// thread is delivering.
fn closed_in_final_events(registration: &Registration) -> usize {
    FINAL_EVENTS.with(|f| {
        f.borrow()
            .iter()
            .filter(|c| c.closed_holding_place_in(registration))
            .count()
    })
}

/// Held by each child object while its handle is open; dropping it lets
/// `RegistrationClose` proceed.
pub(crate) struct ChildGuard {
    registration: Arc<Handle<Registration>>,
}

impl ChildGuard {
    /// Counts a new child of `registration`.
    pub(crate) fn new(registration: Arc<Handle<Registration>>) -> Self {
        *registration.obj.children.lock() += 1;
        Self { registration }
    }

    /// The registration this child belongs to.
    pub(crate) fn registration(&self) -> &Arc<Handle<Registration>> {
        &self.registration
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let reg = &self.registration.obj;
        let mut children = reg.children.lock();
        *children -= 1;
        if *children == 0 {
            reg.children_gone.notify_all();
        }
    }
}

/// `RegistrationOpen`.
pub(crate) unsafe extern "C" fn open(
    config: *const QUIC_REGISTRATION_CONFIG,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::call("RegistrationOpen", || {
        if out.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let (app_name, execution_profile) = if config.is_null() {
            (None, 0)
        } else {
            // SAFETY: non-NULL, and by the API contract it points to a QUIC_REGISTRATION_CONFIG.
            let config = unsafe { &*config };
            let profile = config.ExecutionProfile.0;
            if profile > MAX_EXECUTION_PROFILE {
                return QUIC_STATUS_INVALID_PARAMETER;
            }
            let name = (!config.AppName.is_null()).then(|| {
                // SAFETY: a non-NULL AppName is a NUL-terminated string by the API contract.
                unsafe { CStr::from_ptr(config.AppName) }
                    .to_string_lossy()
                    .into_owned()
            });
            (name, profile)
        };
        let Some(shared) = pool::pool() else {
            return QUIC_STATUS_INVALID_STATE;
        };
        let Ok(pool) = workers::for_profile(execution_profile, shared.clone()) else {
            return QUIC_STATUS_OUT_OF_MEMORY;
        };
        let reg = Registration {
            own_pool: !Arc::ptr_eq(&pool, &shared),
            pool,
            app_name,
            execution_profile,
            transport: Mutex::new(default_transport::default_transport()),
            children: Mutex::new(0),
            children_gone: Condvar::new(),
            connections: Mutex::new(Connections::default()),
        };
        let h = Handle::into_hquic(Handle::new(
            reg,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        ));
        default_transport::log_transport_once(h as usize);
        // SAFETY: `out` is non-NULL and writable by the API contract.
        unsafe { out.write(h) };
        QUIC_STATUS_SUCCESS
    })
}

/// `RegistrationClose`: waits until every child is closed, then ends the registration's own
/// worker threads (joined, unless the call comes from one of them) and frees the registration.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        if let Some(reg) = unsafe { Handle::<Registration>::borrow(h) } {
            reg.obj.warn_if_close_may_deadlock();
        }
        // SAFETY: `h` is an application handle; `close` validates it.
        if let Some(reg) = unsafe { Handle::<Registration>::close(h) } {
            reg.obj.close_completed();
        }
    });
}

/// `RegistrationShutdown`: shuts down every open connection of the registration, client and
/// server side, exactly as `ConnectionShutdown(flags, error_code)` on each would. Like that
/// call it does not wait; each connection reports SHUTDOWN_COMPLETE. As in MsQuic it happens
/// once: afterwards the registration refuses new connections (ConnectionOpen and
/// ListenerOpen return INVALID_STATE, listeners drop incoming connections), and a second call
/// does nothing.
pub(crate) unsafe extern "C" fn shutdown(
    h: HQUIC,
    flags: QUIC_CONNECTION_SHUTDOWN_FLAGS,
    error_code: QUIC_UINT62,
) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        let Some(reg) = (unsafe { Handle::<Registration>::borrow(h) }) else {
            return;
        };
        if error_code > QUIC_UINT62_MAX {
            return;
        }
        let silent = flags.0 & QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT.0 != 0;
        let Some(connections) = reg.obj.begin_shutdown() else {
            return;
        };
        for conn in connections {
            // As in MsQuic, a client connection that was never started is left alone: it
            // gets no events until the application closes it.
            if !conn.is_closed_by_app() && conn.obj.is_started() {
                shutdown_connection(&conn, silent, error_code);
            }
        }
        // As MsQuic, the registration's listeners are stopped too.
        crate::api::listener::link::stop_all_of(&reg.obj);
    });
}

/// `RegistrationClose2`: closes without blocking the caller and calls `handler` once every
/// child is closed.
pub(crate) unsafe extern "C" fn close2(
    h: HQUIC,
    handler: QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER,
    context: *mut c_void,
) {
    boundary::unit(|| {
        let Some(handler) = handler else { return };
        // SAFETY: `h` is an application handle; `close` validates it.
        let Some(reg) = (unsafe { Handle::<Registration>::close(h) }) else {
            return;
        };
        let context = SendPtr(context);
        std::thread::spawn(move || {
            let context = context;
            reg.obj.close_completed();
            drop(reg);
            // SAFETY: the application gave us this callback and context for this purpose.
            unsafe { handler(context.0) };
        });
    });
}

/// A context pointer carried to another thread; the application owns what it points to.
struct SendPtr(*mut c_void);
// SAFETY: the pointer is only handed back to the application, which chose to share it.
unsafe impl Send for SendPtr {}
