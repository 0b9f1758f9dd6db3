//! Application-driven execution (`ExecutionCreate`, `ExecutionDelete`, `ExecutionPoll`).
//!
//! `ExecutionCreate` makes one external worker (no thread) per config and puts each worker's
//! readiness descriptor (its own epoll instance) in the application's epoll instance
//! (`*Config->EventQ`), level-triggered readable, with `data.ptr` pointing at a `QUIC_SQE`
//! whose completion does nothing: the work is done by `ExecutionPoll`, which runs one bounded
//! turn of the worker on the calling thread and returns the milliseconds until its next
//! timer (0: call again at once; `UINT32_MAX`: no timer). The workers become the library's
//! shared workers at the first `RegistrationOpen`, so every registration (whatever its
//! profile), listener and connection runs on them and every callback is made inside
//! `ExecutionPoll` (or inside a blocking API call such as ConnectionClose made from outside
//! it, which runs on the calling thread as MsQuic runs such calls inline with custom
//! executions).

use core::ffi::c_void;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::api::abi::{
    QUIC_EXECUTION, QUIC_EXECUTION_CONFIG, QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS, QUIC_SQE,
    QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER, QUIC_STATUS_INVALID_STATE,
    QUIC_STATUS_OUT_OF_MEMORY, QUIC_STATUS_SUCCESS,
};
use crate::api::door::boundary;
use crate::api::global::{pool, workers};
use crate::runtime::worker::{Pool, processor_count};

/// One execution handed to the application; its address is the `QUIC_EXECUTION*`.
struct Execution {
    /// The application's epoll instance.
    epfd: RawFd,
    /// Where the application's epoll events point (`data.ptr`).
    sqe: Box<QUIC_SQE>,
    /// Whether the worker's descriptor is in `epfd`.
    attached: bool,
}

/// The executions of one `ExecutionCreate` and their workers.
pub(crate) struct Executions {
    pool: Arc<Pool>,
    /// Boxed: each address is a handle the application holds.
    #[allow(clippy::vec_box)]
    list: Vec<Box<Execution>>,
}

impl Executions {
    /// The worker index of handle `handle`, if it is one of these.
    fn index_of(&self, handle: usize) -> Option<usize> {
        self.list
            .iter()
            .position(|e| std::ptr::addr_of!(**e) as usize == handle)
    }
}

impl Drop for Executions {
    /// Takes the workers out of the application's epoll instances and stops them. The
    /// entries are kept: an event the application has already taken from its queue may still
    /// point at one, and calling its completion must stay harmless.
    fn drop(&mut self) {
        let mut retired = RETIRED.lock();
        for (i, e) in self.list.iter_mut().enumerate() {
            if e.attached {
                let _ = self.pool.worker(i).detach_external(e.epfd);
            }
            let sqe = std::mem::replace(
                &mut e.sqe,
                Box::new(QUIC_SQE {
                    fd: -1,
                    Completion: None,
                }),
            );
            retired.push(sqe);
        }
        drop(retired);
        self.pool.stop();
    }
}

/// The entries of deleted executions (16 bytes each, one per execution ever created), boxed
/// so that their addresses stay put.
#[allow(clippy::vec_box)]
static RETIRED: Mutex<Vec<Box<QUIC_SQE>>> = Mutex::new(Vec::new());

/// The live executions (MsQuic keeps one set: a new `ExecutionCreate` replaces it).
static LIVE: Mutex<Option<Executions>> = Mutex::new(None);

/// Takes the live executions (the last `MsQuicClose`); dropping them stops their workers.
pub(crate) fn take_all() -> Option<Executions> {
    LIVE.lock().take()
}

/// The completion of our entries: nothing to do, `ExecutionPoll` does the work.
unsafe extern "C" fn completion(_cqe: *mut c_void) {}

/// `ExecutionCreate`: INVALID_PARAMETER for a zero count, a NULL array or event queue, or an
/// ideal processor the machine does not have; INVALID_STATE once a registration has been
/// opened (the shared workers run); OUT_OF_MEMORY when a worker cannot be made or its
/// descriptor cannot join the event queue (not an epoll instance), as MsQuic reports any
/// failure to make its workers.
pub(crate) unsafe extern "C" fn create(
    _flags: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS,
    _polling_idle_timeout_us: u32,
    count: u32,
    configs: *mut QUIC_EXECUTION_CONFIG,
    executions: *mut *mut QUIC_EXECUTION,
) -> QUIC_STATUS {
    boundary::call("ExecutionCreate", || {
        if count == 0 || count > u32::from(u16::MAX) || configs.is_null() || executions.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let count = count as usize;
        // SAFETY: non-NULL, and by the caller's contract `count` readable configs.
        let configs = unsafe { core::slice::from_raw_parts(configs, count) };
        let processors = processor_count();
        let mut fds = Vec::with_capacity(count);
        for config in configs {
            if config.EventQ.is_null() || config.IdealProcessor as usize >= processors {
                return QUIC_STATUS_INVALID_PARAMETER;
            }
            // SAFETY: non-NULL; by the caller's contract it points at the event queue.
            fds.push(unsafe { config.EventQ.read() });
        }
        if pool::pool_started() {
            return QUIC_STATUS_INVALID_STATE;
        }
        let Ok(pool) = Pool::external(count) else {
            return QUIC_STATUS_OUT_OF_MEMORY;
        };
        let mut set = Executions {
            pool: Arc::new(pool),
            list: Vec::with_capacity(count),
        };
        for (i, epfd) in fds.into_iter().enumerate() {
            let worker = set.pool.worker(i);
            let Some(fd) = worker.external_fd() else {
                return QUIC_STATUS_OUT_OF_MEMORY;
            };
            let mut e = Box::new(Execution {
                epfd,
                sqe: Box::new(QUIC_SQE {
                    fd,
                    Completion: Some(completion),
                }),
                attached: false,
            });
            let data = std::ptr::addr_of!(*e.sqe) as u64;
            if worker.attach_external(epfd, data).is_err() {
                // Dropping `set` detaches the ones attached and stops the workers.
                return QUIC_STATUS_OUT_OF_MEMORY;
            }
            e.attached = true;
            set.list.push(e);
        }
        for (i, e) in set.list.iter().enumerate() {
            let handle = std::ptr::addr_of!(**e).cast_mut().cast::<QUIC_EXECUTION>();
            // SAFETY: non-NULL, and by the caller's contract writable for `count` pointers.
            unsafe { executions.add(i).write(handle) };
        }
        workers::set_executions(Some(set.pool.clone()));
        let replaced = LIVE.lock().replace(set);
        drop(replaced);
        QUIC_STATUS_SUCCESS
    })
}

/// `ExecutionDelete`: as MsQuic, deletes every execution, whatever the arguments: their
/// workers stop (after every registration using them is closed) and leave the event queues.
/// A later `RegistrationOpen` runs on threads of the library's own.
pub(crate) unsafe extern "C" fn delete(_count: u32, _executions: *mut *mut QUIC_EXECUTION) {
    boundary::unit(|| {
        let Some(set) = LIVE.lock().take() else {
            return;
        };
        workers::set_executions(None);
        pool::forget_pool(&set.pool);
        drop(set);
    });
}

/// `ExecutionPoll`: one turn of the execution's worker on the calling thread; returns the
/// milliseconds until its next timer (at least 1), 0 when work is left, `UINT32_MAX` when
/// no timer is armed (or for a handle that is not a live execution).
pub(crate) unsafe extern "C" fn poll(execution: *mut QUIC_EXECUTION) -> u32 {
    boundary::value(u32::MAX, || {
        let found = LIVE.lock().as_ref().and_then(|set| {
            let index = set.index_of(execution as usize)?;
            Some((set.pool.clone(), index))
        });
        let Some((pool, index)) = found else {
            return u32::MAX;
        };
        match pool.worker(index).poll_external() {
            Some(Some(wait)) => wait_ms(wait),
            Some(None) | None => u32::MAX,
        }
    })
}

/// A wait as `ExecutionPoll` returns it: 0 stays 0, anything else rounds up to whole
/// milliseconds, below `UINT32_MAX` (which means "no timer").
fn wait_ms(wait: Duration) -> u32 {
    if wait.is_zero() {
        return 0;
    }
    let ms = wait.as_nanos().div_ceil(1_000_000);
    u32::try_from(ms).unwrap_or(u32::MAX - 1).min(u32::MAX - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_and_stay_below_no_timer() {
        assert_eq!(wait_ms(Duration::ZERO), 0);
        assert_eq!(wait_ms(Duration::from_micros(1)), 1);
        assert_eq!(wait_ms(Duration::from_millis(25)), 25);
        assert_eq!(wait_ms(Duration::from_micros(25_001)), 26);
        assert_eq!(wait_ms(Duration::from_secs(u64::MAX / 2)), u32::MAX - 1);
    }
}
