//! An external worker: a worker without a thread of its own, whose turns the application
//! runs on its own threads (MsQuic's application-driven execution, `ExecutionPoll`).
//!
//! Its state (sources, timers, per-worker locals, the mio poll) sits behind a lock. A thread
//! that runs a turn, or an API call that has to run on the worker from outside a turn, takes
//! the lock and makes the worker current on that thread for as long as it holds it, so
//! callbacks see the same re-entrancy as on a worker thread (calls back into the worker run
//! inline). The worker is readable for the application through the poll's own epoll
//! descriptor: it becomes readable whenever a socket, a wake-up or a queued operation needs a
//! turn.

use std::os::fd::{AsRawFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use mio::{Events, Poll};
use parking_lot::Mutex;

use crate::runtime::worker::{EVENT_CAPACITY, Op, WorkerCx, round, run_queued, set_current};

/// The thread-less half of a [`crate::runtime::worker::Worker`].
pub(crate) struct External {
    fd: RawFd,
    /// The worker's state; `None` once stopped.
    state: Mutex<Option<Driven>>,
}

/// What a turn needs.
struct Driven {
    cx: Rc<WorkerCx>,
    poll: Poll,
    rx: Receiver<Op>,
    events: Events,
}

// SAFETY: a `Driven` is reachable only through `External::state`'s lock, and everything it
// owns or reaches by `Rc` (the context, its sources and locals) is touched only by the thread
// holding that lock: `Entered` puts a clone of the context in the thread's CURRENT slot and
// takes it out again before the lock is released, and nothing on a worker keeps a clone of
// the context or of a source anywhere else (sources and locals live in the context; what
// leaves the worker is `Send`). So the non-atomic reference counts and `RefCell`s are never
// used by two threads without the lock's ordering between them.
unsafe impl Send for Driven {}

/// Makes a context current on this thread until dropped (then the previous one again).
struct Entered(Option<Rc<WorkerCx>>);

impl Entered {
    fn new(cx: &Rc<WorkerCx>) -> Self {
        Self(set_current(Some(cx.clone())))
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        set_current(self.0.take());
    }
}

impl External {
    /// Wraps a new worker's state.
    pub(crate) fn new(cx: WorkerCx, poll: Poll, rx: Receiver<Op>) -> Self {
        Self {
            fd: poll.as_raw_fd(),
            state: Mutex::new(Some(Driven {
                cx: Rc::new(cx),
                poll,
                rx,
                events: Events::with_capacity(EVENT_CAPACITY),
            })),
        }
    }

    /// The poll's epoll descriptor.
    pub(crate) fn fd(&self) -> RawFd {
        self.fd
    }

    /// One turn on the calling thread (see `Worker::poll_external`); `None` once stopped.
    pub(crate) fn turn(&self) -> Option<Option<Duration>> {
        let mut guard = self.state.lock();
        let driven = guard.as_mut()?;
        let entered = Entered::new(&driven.cx);
        let cx = driven.cx.clone();
        let again = cx.take_rerun();
        let ok = round(
            &cx,
            &mut driven.poll,
            &mut driven.events,
            &driven.rx,
            Some(Duration::ZERO),
            again,
        )
        .is_ok();
        if !ok || cx.stopping() {
            drop(cx);
            drop(entered);
            let driven = guard.take();
            drop(guard);
            finish(driven);
            return Some(None);
        }
        let wait = if cx.has_rerun() || !driven.rx.is_empty() {
            Some(Duration::ZERO)
        } else {
            cx.next_deadline()
                .map(|at| at.saturating_duration_since(Instant::now()))
        };
        drop(cx);
        drop(entered);
        Some(wait)
    }

    /// Runs `f` on the worker from outside its turns: the operations already queued first,
    /// then `f`, on the calling thread. `None` once stopped or if `f` panicked.
    pub(crate) fn run_inline<R>(&self, f: impl FnOnce(&WorkerCx) -> R) -> Option<R> {
        let mut guard = self.state.lock();
        let driven = guard.as_mut()?;
        let entered = Entered::new(&driven.cx);
        let cx = driven.cx.clone();
        run_queued(&cx, &driven.rx);
        let result = catch_unwind(AssertUnwindSafe(|| f(&cx))).ok();
        let stopping = cx.stopping();
        drop(cx);
        drop(entered);
        if stopping {
            let driven = guard.take();
            drop(guard);
            finish(driven);
        }
        result
    }

    /// Ends the worker from outside its turns: what is queued runs, then every source and
    /// local is dropped. Idempotent.
    pub(crate) fn stop(&self) {
        let driven = self.state.lock().take();
        finish(driven);
    }
}

/// Runs what is left queued, then drops the worker's sources and locals with it current.
fn finish(driven: Option<Driven>) {
    let Some(driven) = driven else { return };
    let entered = Entered::new(&driven.cx);
    run_queued(&driven.cx, &driven.rx);
    driven.cx.clear();
    drop(entered);
}
