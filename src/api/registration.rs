//! Registrations: `RegistrationOpen`, `RegistrationClose`, `RegistrationShutdown` and
//! `RegistrationClose2`, plus the child count that makes `RegistrationClose` wait.

use core::ffi::{CStr, c_void};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::api::abi::{
    HQUIC, QUIC_CONNECTION_SHUTDOWN_FLAGS, QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER,
    QUIC_REGISTRATION_CONFIG, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STATUS_SUCCESS, QUIC_UINT62,
};
use crate::api::handle::{Handle, Kind, Object};
use crate::api::{boundary, library};
use crate::runtime::worker::Pool;

/// Highest `QUIC_EXECUTION_PROFILE` value (REAL_TIME).
const MAX_EXECUTION_PROFILE: u32 = 3;

/// A registration: the application's execution context and the parent of every other object.
#[expect(
    dead_code,
    reason = "app name and profile are read by the runtime, which comes next"
)]
pub(crate) struct Registration {
    /// `QUIC_REGISTRATION_CONFIG::AppName`, if given.
    pub(crate) app_name: Option<String>,
    /// `QUIC_REGISTRATION_CONFIG::ExecutionProfile`, validated.
    pub(crate) execution_profile: u32,
    /// The transport (`QUIC_PARAM_REGISTRATION_TRANSPORT`).
    pub(crate) transport: Mutex<u32>,
    /// The library's workers, which run this registration's connections.
    pub(crate) pool: Arc<Pool>,
    /// Open child objects (configurations, listeners, connections).
    children: Mutex<usize>,
    children_gone: Condvar,
}

impl Object for Registration {
    const KIND: Kind = Kind::Registration;
}

impl Registration {
    /// How many children are open now.
    pub(crate) fn child_count(&self) -> usize {
        *self.children.lock()
    }

    fn wait_for_children(&self) {
        let mut children = self.children.lock();
        while *children > 0 {
            self.children_gone.wait(&mut children);
        }
    }
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
    boundary::status(|| {
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
        let Some(pool) = library::pool() else {
            return QUIC_STATUS_INVALID_STATE;
        };
        let reg = Registration {
            pool,
            app_name,
            execution_profile,
            transport: Mutex::new(library::default_transport()),
            children: Mutex::new(0),
            children_gone: Condvar::new(),
        };
        let h = Handle::into_hquic(Handle::new(
            reg,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
        ));
        // SAFETY: `out` is non-NULL and writable by the API contract.
        unsafe { out.write(h) };
        QUIC_STATUS_SUCCESS
    })
}

/// `RegistrationClose`: waits until every child is closed, then frees the registration.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `close` validates it.
        if let Some(reg) = unsafe { Handle::<Registration>::close(h) } {
            reg.obj.wait_for_children();
        }
    });
}

/// `RegistrationShutdown`: shuts down every connection of the registration. With no
/// connections able to start yet, there is nothing to shut down.
pub(crate) unsafe extern "C" fn shutdown(
    h: HQUIC,
    _flags: QUIC_CONNECTION_SHUTDOWN_FLAGS,
    _error_code: QUIC_UINT62,
) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `borrow` validates it.
        let _ = unsafe { Handle::<Registration>::borrow(h) };
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
            reg.obj.wait_for_children();
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
