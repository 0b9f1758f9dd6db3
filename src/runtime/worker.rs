//! A worker thread: one mio readiness loop over its sources (sockets), its timers and an
//! operation queue. Everything registered on a worker is driven only by that thread, so a source
//! never runs concurrently with itself, and code on the worker may call back into it (the
//! re-entrancy MsQuic's inline API calls need): nothing here is borrowed while a source runs.
//! An external worker (`external.rs`) has no thread: the application runs the same loop, one
//! turn at a time, on threads of its own.

use std::any::{Any, TypeId};
use std::cell::{Cell, RefCell};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use mio::{Events, Poll, Registry, Token, Waker};
use parking_lot::{Mutex, RwLock};

use crate::runtime::counters;
use crate::runtime::external::External;
use crate::runtime::log::qlog;
use crate::runtime::sys;
use crate::runtime::timers::{SourceKey, Timers};

/// Work sent to a worker from another thread.
pub type Op = Box<dyn FnOnce(&WorkerCx) + Send>;

/// Something a worker drives: a connection or a listener.
pub trait Source {
    /// Its socket is ready (`readable`/`writable` as mio reported).
    fn on_ready(self: Rc<Self>, cx: &WorkerCx, key: SourceKey, readable: bool, writable: bool);
    /// Its timer expired.
    fn on_timer(self: Rc<Self>, cx: &WorkerCx, key: SourceKey, now: Instant);
    /// Its `on_ready` or `on_timer` panicked (a bug in this library): the source ends what
    /// it was doing as well as it can. The default removes it from the worker. A panic here
    /// removes it too.
    fn on_panic(self: Rc<Self>, cx: &WorkerCx, key: SourceKey) {
        cx.remove(key);
    }
}

// Sockets are registered edge-triggered: a source that stops reading or writing before the
// socket would block gets no new readiness for what is left, so it asks to be run again
// (`WorkerCx::run_again`) and is called with `on_ready(true, true)` once everything else on
// the worker had its turn.

pub(crate) const WAKER: Token = Token(usize::MAX);
/// Debug builds: how long a worker thread waits for another worker before saying on stderr
/// that it may be deadlocked (see [`Worker::run`]).
const STALL_WARNING: Duration = Duration::from_secs(5);
/// Most events taken from the OS per wake-up.
pub(crate) const EVENT_CAPACITY: usize = 1024;
/// How long a worker with nothing to do keeps its pooled buffers (see
/// [`crate::runtime::conn::release_pooled_buffers`]).
const POOL_IDLE: Duration = Duration::from_secs(1);

/// The state of a worker, reachable only on its own thread (an external worker's: on the
/// thread running its turn or an inline call, see `external.rs`).
pub struct WorkerCx {
    index: usize,
    /// Unique among all workers: names the worker an external turn runs (see
    /// [`Worker::is_current`]).
    id: usize,
    registry: Registry,
    sources: RefCell<Slab>,
    timers: RefCell<Timers>,
    /// Sources to run again after the current round (see [`WorkerCx::run_again`]).
    rerun: RefCell<Vec<SourceKey>>,
    stopping: Cell<bool>,
    /// Per-worker state of the layers above, by type (see [`WorkerCx::local`]).
    /// A handful at most, so a list: looked up on every operation, no hashing.
    locals: RefCell<Vec<(TypeId, Rc<dyn Any>)>>,
    /// An operation was queued from this worker's own thread, without waking it: the next
    /// round must not wait.
    posted_here: Cell<bool>,
    /// Polls that returned the waker's event (another thread woke the worker).
    wakes: Cell<u64>,
}

impl WorkerCx {
    /// This worker's index in its pool.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Where sockets are registered (with the token [`WorkerCx::token`] gives).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Adds a source and returns its key.
    pub fn insert(&self, source: Rc<dyn Source>) -> SourceKey {
        self.sources.borrow_mut().insert(source)
    }

    /// Removes a source (and its timer).
    pub fn remove(&self, key: SourceKey) -> Option<Rc<dyn Source>> {
        self.timers.borrow_mut().set(key, None);
        self.sources.borrow_mut().remove(key)
    }

    /// The mio token for the socket of source `key`.
    pub fn token(&self, key: SourceKey) -> Token {
        Token(key)
    }

    /// Runs source `key` again (`on_ready` with both readable and writable) after the other
    /// sources, the queued operations and the timers have had their turn, without waiting
    /// for readiness: for a source that stopped with work left, to share the worker fairly.
    pub fn run_again(&self, key: SourceKey) {
        let mut rerun = self.rerun.borrow_mut();
        if !rerun.contains(&key) {
            rerun.push(key);
        }
    }

    /// Arms, re-arms or (with `None`) cancels the timer of source `key`.
    pub fn set_timer(&self, key: SourceKey, deadline: Option<Instant>) {
        self.timers.borrow_mut().set(key, deadline);
    }

    fn source(&self, key: SourceKey) -> Option<Rc<dyn Source>> {
        self.sources.borrow().get(key)
    }

    /// The worker's instance of `T`, made on first use: state that belongs to the worker
    /// rather than to the thread running it (an external worker's turns may run on different
    /// threads over time).
    pub fn local<T: Default + 'static>(&self) -> Rc<T> {
        let key = TypeId::of::<T>();
        let mut locals = self.locals.borrow_mut();
        let any = match locals.iter().find(|(k, _)| *k == key) {
            Some((_, any)) => any.clone(),
            None => {
                let any: Rc<dyn Any> = Rc::new(T::default());
                locals.push((key, any.clone()));
                any
            }
        };
        drop(locals);
        any.downcast::<T>().expect("keyed by its type")
    }

    /// A new context for worker `index`.
    pub(crate) fn new(index: usize, id: usize, registry: Registry) -> Self {
        Self {
            index,
            id,
            registry,
            sources: RefCell::new(Slab::default()),
            timers: RefCell::new(Timers::default()),
            rerun: RefCell::new(Vec::new()),
            stopping: Cell::new(false),
            locals: RefCell::new(Vec::new()),
            posted_here: Cell::new(false),
            wakes: Cell::new(0),
        }
    }

    /// Drops every source and every local, with this context current.
    pub(crate) fn clear(&self) {
        let sources = std::mem::take(&mut *self.sources.borrow_mut());
        drop(sources);
        let locals = std::mem::take(&mut *self.locals.borrow_mut());
        drop(locals);
    }

    /// Whether the worker was told to stop (from a callback on it).
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.get()
    }

    /// Takes the sources that asked to run again.
    pub(crate) fn take_rerun(&self) -> Vec<SourceKey> {
        std::mem::take(&mut *self.rerun.borrow_mut())
    }

    /// Whether a source asked to run again.
    pub(crate) fn has_rerun(&self) -> bool {
        !self.rerun.borrow().is_empty()
    }

    /// The earliest timer, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.borrow_mut().next_deadline()
    }
}

/// Keys are indices into a vector, with a free list; a key is reused only after removal.
#[derive(Default)]
struct Slab {
    entries: Vec<Option<Rc<dyn Source>>>,
    free: Vec<usize>,
}

impl Slab {
    fn insert(&mut self, source: Rc<dyn Source>) -> usize {
        match self.free.pop() {
            Some(key) => {
                self.entries[key] = Some(source);
                key
            }
            None => {
                self.entries.push(Some(source));
                self.entries.len() - 1
            }
        }
    }

    fn remove(&mut self, key: usize) -> Option<Rc<dyn Source>> {
        let taken = self.entries.get_mut(key)?.take();
        if taken.is_some() {
            self.free.push(key);
        }
        taken
    }

    fn get(&self, key: usize) -> Option<Rc<dyn Source>> {
        self.entries.get(key)?.clone()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<WorkerCx>>> = const { RefCell::new(None) };
    /// How many worker rounds this thread has begun (0: none, not a worker thread).
    static ROUNDS: Cell<u64> = const { Cell::new(0) };
}

/// The number of the worker round the calling thread is in: it changes every round, and is
/// 0 on a thread that runs no worker. Lets a figure read once stand for the rest of the
/// round without reading the clock again.
pub(crate) fn round_number() -> u64 {
    ROUNDS.try_with(Cell::get).unwrap_or(0)
}

/// Makes `cx` the calling thread's current worker, returning the one it replaces.
pub(crate) fn set_current(cx: Option<Rc<WorkerCx>>) -> Option<Rc<WorkerCx>> {
    CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), cx))
}

/// Runs `f` with the worker context of the calling thread, if it is a worker.
///
/// A thread whose thread-locals are already destroyed is no worker: the application's thread
/// calling MsQuicClose from an exit handler (glibc runs the main thread's thread-local
/// destructors before the `atexit` handlers and library destructors).
pub fn with_current<R>(f: impl FnOnce(&WorkerCx) -> R) -> Option<R> {
    let cx = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()?;
    Some(f(&cx))
}

/// The index of the worker the calling thread is, if any.
pub fn current_index() -> Option<usize> {
    with_current(WorkerCx::index)
}

/// How a worker thread is set up (MsQuic's execution profiles and global execution config).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerOptions {
    /// Pin the thread to this processor.
    pub cpu: Option<usize>,
    /// The thread's nice value (lower runs first). Raising priority needs privileges; a refusal
    /// leaves the thread at the default and is logged.
    pub nice: Option<i32>,
    /// Keep polling without sleeping for this long after the last piece of work.
    pub busy_poll: Duration,
}

/// A worker, seen from other threads.
pub struct Worker {
    index: usize,
    /// Unique among all workers (see [`WorkerCx`]).
    id: usize,
    /// The way to the worker, until [`Worker::stop`]: afterwards nothing is queued.
    link: RwLock<Option<Link>>,
    /// What runs the worker's loop.
    driver: Driver,
}

/// What runs a worker's loop.
enum Driver {
    /// A thread of its own.
    Thread {
        /// The worker's thread: indices repeat across pools (the shared workers and a
        /// registration's own), so only the thread tells whether the caller is this worker.
        thread_id: std::thread::ThreadId,
        /// The thread, until it is joined (or left to end by itself, when it stops itself).
        thread: Mutex<Option<JoinHandle<()>>>,
    },
    /// The application's thread, one turn per [`Worker::poll_external`].
    External(External),
}

/// What other threads use to reach a running worker.
struct Link {
    tx: Sender<Op>,
    waker: Arc<Waker>,
    /// Set by a worker thread while it may block in its poll: only then does a queued
    /// operation need the waker (see [`Asleep`]). Always set for an external worker, whose
    /// readiness the application watches.
    asleep: Arc<Asleep>,
}

/// Whether a worker thread may be blocked in its poll. The thread sets it, then looks at its
/// queue, before a poll that may block; a thread that queues an operation looks at it after
/// queuing. A sequentially consistent fence on each side makes sure that one of them sees
/// the other's write: either the worker finds the operation and does not block, or the
/// thread that queued it sees the flag and wakes the worker.
#[derive(Debug)]
pub(crate) struct Asleep(std::sync::atomic::AtomicBool);

impl Asleep {
    fn new(asleep: bool) -> Arc<Self> {
        Arc::new(Self(std::sync::atomic::AtomicBool::new(asleep)))
    }

    /// Before a poll that may block: whether the queue is still empty (block only then).
    fn settle(&self, rx: &Receiver<Op>) -> bool {
        self.0.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if rx.is_empty() {
            return true;
        }
        self.0.store(false, Ordering::Relaxed);
        false
    }

    /// The poll returned.
    fn woke(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// After queuing: whether the worker needs the waker.
    fn needs_wake(&self) -> bool {
        fence(Ordering::SeqCst);
        self.0.load(Ordering::Relaxed)
    }
}

/// Gives each worker its id.
static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

fn next_id() -> usize {
    NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Worker {
    /// Starts worker `index` with default options.
    pub fn spawn(index: usize) -> io::Result<Self> {
        Self::spawn_with(index, WorkerOptions::default())
    }

    /// Starts worker `index` set up as `options` say.
    pub fn spawn_with(index: usize, options: WorkerOptions) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let registry = poll.registry().try_clone()?;
        let (tx, rx) = crossbeam_channel::unbounded();
        // The thread keeps its own reference to the waker: the eventfd stays open (and a wake
        // already written stays pending) until the thread has left its loop.
        let own_waker = waker.clone();
        let id = next_id();
        let asleep = Asleep::new(false);
        let own_asleep = asleep.clone();
        let thread = std::thread::Builder::new()
            .name(format!("msquic-qmux-{index}"))
            .spawn(move || {
                apply(index, &options);
                run(
                    index,
                    id,
                    poll,
                    registry,
                    rx,
                    options.busy_poll,
                    &own_asleep,
                );
                drop(own_waker);
            })?;
        Ok(Self {
            index,
            id,
            link: RwLock::new(Some(Link { tx, waker, asleep })),
            driver: Driver::Thread {
                thread_id: thread.thread().id(),
                thread: Mutex::new(Some(thread)),
            },
        })
    }

    /// Makes worker `index` without a thread: the application runs its turns
    /// ([`Worker::poll_external`]) and watches [`Worker::external_fd`] for readiness.
    pub fn external(index: usize) -> io::Result<Self> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = crossbeam_channel::unbounded();
        let id = next_id();
        let cx = WorkerCx::new(index, id, poll.registry().try_clone()?);
        Ok(Self {
            index,
            id,
            link: RwLock::new(Some(Link {
                tx,
                waker,
                asleep: Asleep::new(true),
            })),
            driver: Driver::External(External::new(cx, poll, rx)),
        })
    }

    /// An external worker's readiness descriptor (an epoll instance, readable while the
    /// worker has something to do); `None` for a worker with a thread.
    pub fn external_fd(&self) -> Option<std::os::fd::RawFd> {
        match &self.driver {
            Driver::External(e) => Some(e.fd()),
            Driver::Thread { .. } => None,
        }
    }

    /// Adds an external worker's readiness descriptor to the application's epoll instance
    /// `epfd` (level-triggered readable, the event carrying `data`).
    pub fn attach_external(&self, epfd: std::os::fd::RawFd, data: u64) -> io::Result<()> {
        let fd = self.external_fd().ok_or(io::ErrorKind::Unsupported)?;
        sys::epoll_add(epfd, fd, data)
    }

    /// Removes an external worker's readiness descriptor from `epfd`.
    pub fn detach_external(&self, epfd: std::os::fd::RawFd) -> io::Result<()> {
        let fd = self.external_fd().ok_or(io::ErrorKind::Unsupported)?;
        sys::epoll_del(epfd, fd)
    }

    /// Whether the worker's turns are run by the application ([`Worker::external`]).
    pub fn is_external(&self) -> bool {
        matches!(self.driver, Driver::External(_))
    }

    /// Runs one bounded turn of an external worker on the calling thread (ready sockets,
    /// queued operations, due timers, sources that asked to run again) and says how long
    /// the application may wait before the next: zero when work is left, `None` when no
    /// timer is armed. `None` too for a stopped or threaded worker. From inside a turn of
    /// this worker it runs nothing and answers zero.
    pub fn poll_external(&self) -> Option<Option<Duration>> {
        let Driver::External(e) = &self.driver else {
            return None;
        };
        if self.is_current() {
            return Some(Some(Duration::ZERO));
        }
        e.turn()
    }

    /// This worker's index in its pool.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Is the calling thread this worker? For an external worker: is the calling thread
    /// inside one of its turns or inline calls?
    pub fn is_current(&self) -> bool {
        match &self.driver {
            Driver::Thread { thread_id, .. } => std::thread::current().id() == *thread_id,
            Driver::External(_) => with_current(|cx| cx.id == self.id).unwrap_or(false),
        }
    }

    /// Queues `op` to run on the worker and wakes it. Once the worker is stopped the op is
    /// dropped on the calling thread instead.
    pub fn post(&self, op: Op) {
        let refused = {
            let link = self.link.read();
            match link.as_ref() {
                None => Some(op),
                Some(link) => match link.tx.send(op) {
                    Ok(()) => {
                        counters::inc(counters::WORK_OPER_QUEUED);
                        counters::inc(counters::WORK_OPER_QUEUE_DEPTH);
                        // Queued by the worker thread itself: its loop looks at the queue
                        // before it waits again, so no wake-up (a system call) is needed.
                        let here = matches!(self.driver, Driver::Thread { .. })
                            && self.is_current()
                            && with_current(|cx| cx.posted_here.set(true)).is_some();
                        if !here && link.asleep.needs_wake() {
                            // A failed wake leaves the op queued until the next readiness
                            // event; the waker only fails if the poll instance is gone, and
                            // then the worker is stopping.
                            let _ = link.waker.wake();
                        }
                        None
                    }
                    Err(e) => Some(e.into_inner()),
                },
            }
        };
        // Dropped outside the lock: what the op holds may stop workers as it goes.
        drop(refused);
    }

    /// Runs `f` on the worker and returns its result: inline if called on the worker, else
    /// queued, blocking the caller until it has run. `None` if the worker has stopped.
    pub fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&WorkerCx) -> R + Send + 'static,
    ) -> Option<R> {
        if self.is_current() {
            return with_current(f);
        }
        if let Driver::External(e) = &self.driver {
            // No thread of its own to queue to: run here, after what is queued.
            return e.run_inline(f);
        }
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        self.post(Box::new(move |cx| {
            let _ = done_tx.send(f(cx));
        }));
        self.wait_reply(&done_rx)
    }

    /// Waits for the result of an operation queued by [`Worker::run`]. Debug builds: a
    /// worker thread waiting for another worker deadlocks if that worker waits for it in turn
    /// (a blocking Close from one worker's callback on another's object, while the other does
    /// the same): after [`STALL_WARNING`] without an answer this says so on stderr, then waits
    /// on.
    fn wait_reply<R>(&self, rx: &Receiver<R>) -> Option<R> {
        if cfg!(debug_assertions) {
            if let Some(waiter) = current_index() {
                match rx.recv_timeout(STALL_WARNING) {
                    Ok(r) => return Some(r),
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return None,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => eprintln!(
                        "msquic-qmux: worker thread {waiter} has waited {STALL_WARNING:?} for \
                         worker {} to run a blocking call made from a callback: a deadlock if \
                         that worker is waiting for this one",
                        self.index
                    ),
                }
            }
        }
        rx.recv().ok()
    }

    /// Tells the thread to leave its loop once the work in hand is done, and closes the way
    /// to it. Idempotent; does not wait (see [`Worker::join`]).
    pub fn signal_stop(&self) {
        if self.is_current() {
            // From the worker itself (a callback): the loop ends when this returns.
            with_current(|cx| cx.stopping.set(true));
        }
        let Some(link) = self.link.write().take() else {
            return;
        };
        if let Driver::External(e) = &self.driver {
            drop(link);
            // Inside a turn of its own the turn ends it; elsewhere it ends now.
            if !self.is_current() {
                e.stop();
            }
            return;
        }
        // Queued behind the work already queued, which runs first.
        if link.tx.send(Box::new(|cx| cx.stopping.set(true))).is_ok() {
            let _ = link.waker.wake();
        }
    }

    /// Waits for the thread to end after [`Worker::signal_stop`]; from the worker itself it
    /// does not wait (the thread ends by itself when its current work returns).
    pub fn join(&self) {
        let Driver::Thread { thread, .. } = &self.driver else {
            return;
        };
        let Some(thread) = thread.lock().take() else {
            return;
        };
        if !self.is_current() {
            let _ = thread.join();
        }
    }

    /// Stops the thread and waits for it to end (unless called from it).
    pub fn stop(&self) {
        self.signal_stop();
        self.join();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Applies the thread-level options on the new thread itself.
fn apply(index: usize, options: &WorkerOptions) {
    if let Some(cpu) = options.cpu {
        if let Err(e) = sys::pin_current_thread(cpu) {
            qlog!(
                Info,
                index,
                "worker {index}: cannot pin to processor {cpu}: {e}"
            );
        }
    }
    if let Some(nice) = options.nice {
        if let Err(e) = sys::set_current_thread_nice(nice) {
            qlog!(Info, index, "worker {index}: cannot set nice {nice}: {e}");
        }
    }
}

fn run(
    index: usize,
    id: usize,
    mut poll: Poll,
    registry: Registry,
    rx: Receiver<Op>,
    busy_poll: Duration,
    asleep: &Asleep,
) {
    let cx = Rc::new(WorkerCx::new(index, id, registry));
    CURRENT.with(|c| *c.borrow_mut() = Some(cx.clone()));
    let mut events = Events::with_capacity(EVENT_CAPACITY);
    let mut last_work = Instant::now();
    // When the pooled buffers go, if no work comes first.
    let mut release_at: Option<Instant> = None;
    // The time a working round ended, which is also the next round's start (one clock read
    // fewer per round).
    let mut ended: Option<Instant> = None;
    while !cx.stopping.get() {
        let now = ended.take().unwrap_or_else(Instant::now);
        if release_at.is_some_and(|at| now >= at) {
            release_at = None;
            crate::runtime::conn::release_pooled_buffers();
        }
        // Sources that asked to run again in the last round: they run at the end of this
        // one, after the others (ones asking during this round wait for the next).
        let again = std::mem::take(&mut *cx.rerun.borrow_mut());
        let pending = !again.is_empty() || cx.posted_here.replace(false);
        let polling = !pending && !busy_poll.is_zero() && now < last_work + busy_poll;
        if polling {
            // Polling is for a processor nobody else wants: another runnable thread (the
            // peer process on the same machine, say) goes first, and this thread comes back
            // when the scheduler next picks it.
            std::thread::yield_now();
        }
        let mut timeout = if pending || polling {
            Some(Duration::ZERO)
        } else {
            let next = cx.timers.borrow_mut().next_deadline();
            let next = match (next, release_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            next.map(|at| at.saturating_duration_since(now))
        };
        // Other threads wake the worker only while it may block.
        let may_block = timeout != Some(Duration::ZERO);
        if may_block && !asleep.settle(&rx) {
            timeout = Some(Duration::ZERO);
        }
        let result = round(&cx, &mut poll, &mut events, &rx, timeout, again);
        if may_block {
            asleep.woke();
        }
        match result {
            Err(()) => break,
            Ok(true) => {
                last_work = Instant::now();
                release_at = Some(last_work + POOL_IDLE);
                ended = Some(last_work);
            }
            Ok(false) => {}
        }
    }
    // Drop every source on this thread, where they were made.
    cx.clear();
    CURRENT.with(|c| c.borrow_mut().take());
}

/// One round of a worker's loop: waits up to `timeout` for readiness, then runs the ready
/// sources, the queued operations, the due timers and the sources in `again`. `Ok(true)`
/// when something ran; `Err` when the poll failed (the worker cannot go on).
pub(crate) fn round(
    cx: &WorkerCx,
    poll: &mut Poll,
    events: &mut Events,
    rx: &Receiver<Op>,
    timeout: Option<Duration>,
    again: Vec<SourceKey>,
) -> Result<bool, ()> {
    if let Err(e) = poll.poll(events, timeout) {
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(());
        }
    }
    let _ = ROUNDS.try_with(|r| r.set(r.get() + 1));
    let mut worked = false;
    for event in events.iter() {
        if event.token() == WAKER {
            cx.wakes.set(cx.wakes.get() + 1);
            continue;
        }
        worked = true;
        let key = event.token().0;
        if let Some(source) = cx.source(key) {
            let (r, w) = (event.is_readable(), event.is_writable());
            contain(cx, key, source, |s| s.on_ready(cx, key, r, w));
        }
    }
    worked |= run_queued(cx, rx);
    let now = Instant::now();
    let due = cx.timers.borrow_mut().expired(now);
    for key in due {
        if let Some(source) = cx.source(key) {
            contain(cx, key, source, |s| s.on_timer(cx, key, now));
        }
    }
    // Sources that stopped with work left, now that everything else had a turn.
    for key in again {
        if let Some(source) = cx.source(key) {
            worked = true;
            contain(cx, key, source, |s| s.on_ready(cx, key, true, true));
        }
    }
    Ok(worked)
}

/// Runs the operations queued so far, each under the panic boundary; whether any ran.
pub(crate) fn run_queued(cx: &WorkerCx, rx: &Receiver<Op>) -> bool {
    let index = cx.index;
    let mut ran = false;
    while let Ok(op) = rx.try_recv() {
        counters::dec(counters::WORK_OPER_QUEUE_DEPTH);
        if catch_unwind(AssertUnwindSafe(|| op(cx))).is_err() {
            qlog!(Info, index, "worker {index}: an operation panicked");
        }
        counters::inc(counters::WORK_OPER_COMPLETED);
        ran = true;
    }
    ran
}

/// The panic boundary around a source's work: a panic (a bug in this library) ends only
/// that source's work ([`Source::on_panic`]), and the worker and its other sources go on.
fn contain(cx: &WorkerCx, key: SourceKey, source: Rc<dyn Source>, f: impl FnOnce(Rc<dyn Source>)) {
    let again = source.clone();
    if catch_unwind(AssertUnwindSafe(|| f(source))).is_ok() {
        return;
    }
    qlog!(
        Info,
        key,
        "worker {}: a source panicked; ending it",
        cx.index
    );
    let same = |s: &Rc<dyn Source>| std::ptr::addr_eq(Rc::as_ptr(s), Rc::as_ptr(&again));
    if catch_unwind(AssertUnwindSafe(|| again.clone().on_panic(cx, key))).is_err()
        && cx.source(key).is_some_and(|s| same(&s))
    {
        let _ = catch_unwind(AssertUnwindSafe(|| cx.remove(key)));
    }
}

/// A fixed set of workers; connections are spread over them.
pub struct Pool {
    workers: Vec<Worker>,
    next: std::sync::atomic::AtomicUsize,
}

impl Pool {
    /// Starts `count` workers (at least one).
    pub fn new(count: usize) -> io::Result<Self> {
        Self::with_options(vec![WorkerOptions::default(); count.max(1)])
    }

    /// Starts one worker per entry of `options` (one default worker if it is empty).
    pub fn with_options(mut options: Vec<WorkerOptions>) -> io::Result<Self> {
        if options.is_empty() {
            options.push(WorkerOptions::default());
        }
        let workers = options
            .into_iter()
            .enumerate()
            .map(|(i, o)| Worker::spawn_with(i, o))
            .collect::<io::Result<_>>()?;
        Ok(Self {
            workers,
            next: Default::default(),
        })
    }

    /// `count` external workers (see [`Worker::external`]).
    pub fn external(count: usize) -> io::Result<Self> {
        let workers = (0..count.max(1))
            .map(Worker::external)
            .collect::<io::Result<_>>()?;
        Ok(Self {
            workers,
            next: Default::default(),
        })
    }

    /// Whether the workers are external ones, driven by the application.
    pub fn is_external(&self) -> bool {
        self.workers.iter().any(Worker::is_external)
    }

    /// One worker per available core.
    pub fn per_core() -> io::Result<Self> {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// How many workers there are.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Always false: a pool has at least one worker.
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Worker `index` modulo the pool size (MsQuic's partition index).
    pub fn worker(&self, index: usize) -> &Worker {
        &self.workers[index % self.workers.len()]
    }

    /// The next worker in round-robin order.
    pub fn pick(&self) -> &Worker {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.worker(n)
    }

    /// Stops every worker and waits for their threads to end (all signalled first, so they
    /// wind down together). A worker that is the calling thread is not waited for: it ends
    /// when its current work returns. Afterwards the pool runs nothing: `post` drops its op
    /// and `run` returns `None`.
    pub fn stop(&self) {
        for w in &self.workers {
            w.signal_stop();
        }
        for w in &self.workers {
            w.join();
        }
    }
}

/// The number of processors on the machine: processor numbers given to
/// [`WorkerOptions::cpu`] are below it.
pub fn processor_count() -> usize {
    sys::processor_count()
}

/// The processors this process may run on (its affinity mask), in increasing order.
pub fn allowed_processors() -> Vec<usize> {
    sys::allowed_processors()
}

/// How long tests wait for a worker before failing.
#[cfg(test)]
const TEST_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use crossbeam_channel::RecvTimeoutError;

    use super::*;

    #[test]
    fn run_is_inline_on_the_worker_and_queued_elsewhere() {
        let pool = Pool::new(2).unwrap();
        let w0 = pool.worker(0);
        assert!(!w0.is_current());
        assert_eq!(w0.run(|cx| cx.index()), Some(0));
        // From inside worker 0, running on worker 0 is inline (no deadlock).
        let (tx, rx) = crossbeam_channel::bounded(1);
        let pool = Arc::new(pool);
        let p = pool.clone();
        pool.worker(0).post(Box::new(move |_| {
            let inline = p.worker(0).run(|cx| cx.index());
            let _ = tx.send((inline, current_index()));
        }));
        assert_eq!(rx.recv_timeout(TEST_WAIT).unwrap(), (Some(0), Some(0)));
        assert_eq!(pool.worker(1).run(|cx| cx.index()), Some(1));
        assert_eq!(pool.pick().index() + pool.pick().index(), 1);
    }

    /// Tells its owner, by being dropped, that the worker holding it left its loop.
    struct Sentinel(crossbeam_channel::Sender<()>);

    impl Source for Sentinel {
        fn on_ready(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: bool, _: bool) {}
        fn on_timer(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: Instant) {}
    }

    impl Drop for Sentinel {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }

    /// Puts a [`Sentinel`] on `worker`; the receiver hears when the worker's loop ends.
    fn watch(worker: &Worker) -> crossbeam_channel::Receiver<()> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        worker.run(move |cx| {
            cx.insert(Rc::new(Sentinel(tx)));
        });
        rx
    }

    #[test]
    fn stop_ends_every_thread_and_later_work_is_refused() {
        let pool = Pool::new(2).unwrap();
        let ended: Vec<_> = (0..2).map(|i| watch(pool.worker(i))).collect();
        pool.stop();
        for rx in &ended {
            // Joined inside `stop`: the loop has ended already.
            assert_eq!(rx.try_recv(), Ok(()));
        }
        assert_eq!(pool.worker(0).run(|cx| cx.index()), None);
        let (tx, rx) = crossbeam_channel::bounded::<()>(1);
        pool.worker(1).post(Box::new(move |_| drop(tx)));
        // The op was dropped unrun (its sender with it).
        assert_eq!(
            rx.recv_timeout(TEST_WAIT),
            Err(RecvTimeoutError::Disconnected)
        );
        pool.stop();
    }

    #[test]
    fn stop_from_a_worker_of_the_pool_does_not_wait_for_itself() {
        let pool = Arc::new(Pool::new(2).unwrap());
        let ended: Vec<_> = (0..2).map(|i| watch(pool.worker(i))).collect();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let p = pool.clone();
        pool.worker(0).post(Box::new(move |_| {
            p.stop();
            // Worker 1 was joined; this thread ends once this op returns.
            let _ = tx.send(p.worker(0).run(|_| ()).is_some());
        }));
        assert_eq!(rx.recv_timeout(TEST_WAIT), Ok(true));
        for rx in &ended {
            assert_eq!(rx.recv_timeout(TEST_WAIT), Ok(()));
        }
        assert_eq!(pool.worker(0).run(|_| ()), None);
    }

    struct Tick {
        fired: crossbeam_channel::Sender<Instant>,
    }

    impl Source for Tick {
        fn on_ready(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: bool, _: bool) {}
        fn on_timer(self: Rc<Self>, cx: &WorkerCx, key: SourceKey, now: Instant) {
            let _ = self.fired.send(now);
            cx.remove(key);
        }
    }

    /// Panics in `on_timer`; says whether `on_panic` ran.
    struct Faulty {
        contained: crossbeam_channel::Sender<()>,
    }

    impl Source for Faulty {
        fn on_ready(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: bool, _: bool) {}
        fn on_timer(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: Instant) {
            panic!("injected");
        }
        fn on_panic(self: Rc<Self>, cx: &WorkerCx, key: SourceKey) {
            let _ = self.contained.send(());
            cx.remove(key);
        }
    }

    #[test]
    fn a_panic_ends_only_the_source_or_operation_that_raised_it() {
        let pool = Pool::new(1).unwrap();
        let (contained_tx, contained) = crossbeam_channel::bounded(1);
        let (tx, fired) = crossbeam_channel::bounded(1);
        let now = Instant::now();
        pool.worker(0).run(move |cx| {
            let faulty = cx.insert(Rc::new(Faulty {
                contained: contained_tx,
            }));
            cx.set_timer(faulty, Some(now));
            let tick = cx.insert(Rc::new(Tick { fired: tx }));
            cx.set_timer(tick, Some(now + Duration::from_millis(20)));
        });
        assert_eq!(contained.recv_timeout(TEST_WAIT), Ok(()));
        // The other source's timer still fires, and the worker still runs operations, even
        // after one of them panicked (its caller hears `None`).
        assert!(fired.recv_timeout(TEST_WAIT).is_ok());
        assert_eq!(pool.worker(0).run(|_| -> u8 { panic!("injected") }), None);
        assert_eq!(pool.worker(0).run(|cx| cx.index()), Some(0));
        pool.worker(0)
            .run(|cx| assert!(cx.sources.borrow().entries.iter().all(Option::is_none)));
    }

    #[test]
    fn each_round_has_its_own_number_and_other_threads_none() {
        assert_eq!(round_number(), 0);
        let pool = Pool::new(1).unwrap();
        let first = pool.worker(0).run(|_| round_number()).unwrap();
        let second = pool.worker(0).run(|_| round_number()).unwrap();
        assert!(first > 0);
        assert!(second > first, "a later operation runs in a later round");
    }

    #[test]
    fn a_polling_worker_gives_way_to_another_thread_on_its_processor() {
        let cpu = allowed_processors()[0];
        let pool = Pool::with_options(vec![WorkerOptions {
            cpu: Some(cpu),
            busy_poll: Duration::from_secs(60),
            ..WorkerOptions::default()
        }])
        .unwrap();
        // After this operation the worker has nothing to do and polls for a minute.
        let start = pool.worker(0).run(|_| sys::thread_cpu_time()).unwrap();
        sys::pin_current_thread(cpu).unwrap();
        let mine = sys::thread_cpu_time();
        let deadline = Instant::now() + Duration::from_secs(30);
        while sys::thread_cpu_time() < mine + Duration::from_millis(300) {
            assert!(
                Instant::now() < deadline,
                "this thread got no processor time"
            );
            std::hint::spin_loop();
        }
        let spun = sys::thread_cpu_time() - mine;
        let polled = pool.worker(0).run(|_| sys::thread_cpu_time()).unwrap() - start;
        // Two threads that both kept the processor would share it about evenly.
        assert!(
            polled * 4 < spun,
            "the polling worker took {polled:?} while this thread ran {spun:?}"
        );
    }

    #[test]
    fn operations_from_other_threads_wake_a_worker_only_while_it_may_block() {
        // A worker that keeps polling (its last work is always recent) is never woken.
        let awake = Pool::with_options(vec![WorkerOptions {
            busy_poll: Duration::from_secs(60),
            ..WorkerOptions::default()
        }])
        .unwrap();
        let before = awake.worker(0).run(|cx| cx.wakes.get()).unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        for i in 0..1000 {
            let tx = tx.clone();
            awake.worker(0).post(Box::new(move |_| tx.send(i).unwrap()));
        }
        for i in 0..1000 {
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(i));
        }
        let after = awake.worker(0).run(|cx| cx.wakes.get()).unwrap();
        assert_eq!(after, before, "a polling worker was woken");

        // A worker blocked in its poll is woken by each operation queued while it sleeps.
        let sleeper = Pool::with_options(vec![WorkerOptions::default()]).unwrap();
        let worker = sleeper.worker(0);
        let before = worker.run(|cx| cx.wakes.get()).unwrap();
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut last = before;
        for i in 0..50 {
            let link = worker.link.read();
            let asleep = link.as_ref().map(|l| l.asleep.clone()).unwrap();
            drop(link);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !asleep.0.load(Ordering::SeqCst) {
                assert!(Instant::now() < deadline, "the worker never went to sleep");
                std::thread::yield_now();
            }
            let tx = tx.clone();
            worker.post(Box::new(move |cx| tx.send((i, cx.wakes.get())).unwrap()));
            let (got, wakes) = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("an operation queued to a sleeping worker did not run");
            assert_eq!(got, i);
            last = wakes;
        }
        // The operations themselves saw the waker's events. Wakes that come while the eventfd
        // is still readable from the last one are seen as one, so fewer than 50 may be
        // counted.
        assert!(last > before, "no operation was woken for");
    }

    #[test]
    fn timers_fire_on_the_worker() {
        let pool = Pool::new(1).unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let start = Instant::now();
        let deadline = start + Duration::from_millis(20);
        pool.worker(0).run(move |cx| {
            let key = cx.insert(Rc::new(Tick { fired: tx }));
            cx.set_timer(key, Some(deadline));
        });
        let fired = rx.recv_timeout(TEST_WAIT).unwrap();
        assert!(fired >= deadline);
    }

    /// Asks to run again until it has run `left` times, reporting each run.
    struct Again {
        left: Cell<u32>,
        runs: crossbeam_channel::Sender<&'static str>,
    }

    impl Source for Again {
        fn on_ready(self: Rc<Self>, cx: &WorkerCx, key: SourceKey, _: bool, _: bool) {
            let _ = self.runs.send("source");
            let left = self.left.get() - 1;
            self.left.set(left);
            if left > 0 {
                cx.run_again(key);
            }
        }
        fn on_timer(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: Instant) {}
    }

    #[test]
    fn a_source_asking_to_run_again_runs_after_queued_operations() {
        let pool = Arc::new(Pool::new(1).unwrap());
        let (tx, rx) = crossbeam_channel::unbounded();
        let p = pool.clone();
        pool.worker(0).post(Box::new(move |cx| {
            let source = Rc::new(Again {
                left: Cell::new(3),
                runs: tx.clone(),
            });
            let key = cx.insert(source.clone());
            // It runs, asks to run again, and an operation is queued meanwhile: the
            // operation goes first, then the source runs again without any readiness.
            source.on_ready(cx, key, true, true);
            p.worker(0).post(Box::new(move |_| {
                let _ = tx.send("op");
            }));
        }));
        let seen: Vec<_> = (0..4)
            .map(|_| rx.recv_timeout(TEST_WAIT).expect("the source runs again"))
            .collect();
        assert_eq!(seen, ["source", "op", "source", "source"]);
        // It stopped asking: nothing more runs.
        pool.worker(0).run(|_| ()).unwrap();
        assert!(rx.try_recv().is_err());
    }

    /// Whether `fd` (an epoll instance) has something ready, without waiting.
    fn readable(fd: std::os::fd::RawFd) -> bool {
        let mut poll = Poll::new().unwrap();
        let mut events = Events::with_capacity(1);
        let mut source = mio::unix::SourceFd(&fd);
        poll.registry()
            .register(&mut source, Token(0), mio::Interest::READABLE)
            .unwrap();
        poll.poll(&mut events, Some(Duration::ZERO)).unwrap();
        !events.is_empty()
    }

    #[test]
    fn an_external_worker_runs_only_in_the_turns_of_its_caller() {
        let pool = Arc::new(Pool::external(1).unwrap());
        let w = pool.worker(0);
        assert!(pool.is_external() && w.is_external());
        let fd = w.external_fd().unwrap();
        // Nothing armed: no timer to wait for.
        assert_eq!(w.poll_external(), Some(None));
        assert!(!readable(fd));
        // A posted operation makes the descriptor readable and runs in the next turn, on
        // this thread, with the worker current.
        let (tx, rx) = crossbeam_channel::unbounded();
        let p = pool.clone();
        w.post(Box::new(move |cx| {
            let _ = tx.send((
                cx.index(),
                p.worker(0).is_current(),
                std::thread::current().id(),
            ));
        }));
        assert!(readable(fd));
        assert!(rx.try_recv().is_err());
        assert_eq!(w.poll_external(), Some(None));
        assert_eq!(rx.try_recv(), Ok((0, true, std::thread::current().id())));
        assert!(!w.is_current());
        // A timer: the turn says how long to wait, and a later turn fires it.
        let (fired_tx, fired) = crossbeam_channel::bounded(1);
        let deadline = Instant::now() + Duration::from_millis(30);
        // `run` from outside a turn runs inline.
        w.run(move |cx| {
            let key = cx.insert(Rc::new(Tick { fired: fired_tx }));
            cx.set_timer(key, Some(deadline));
        })
        .unwrap();
        let wait = w.poll_external().unwrap().unwrap();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(30));
        // The application's wait (epoll_wait with that timeout, nothing else being ready).
        std::thread::sleep(wait);
        let give_up = Instant::now() + TEST_WAIT;
        while fired.try_recv().is_err() {
            assert!(Instant::now() < give_up, "the timer never fired");
            let _ = w.poll_external();
        }
        assert!(Instant::now() >= deadline);
        // Stopped: nothing runs any more.
        pool.stop();
        assert_eq!(w.poll_external(), None);
        assert_eq!(w.run(|cx| cx.index()), None);
    }

    /// Echoes everything it reads.
    struct Echo {
        sock: RefCell<mio::net::TcpStream>,
    }

    impl Source for Echo {
        fn on_ready(self: Rc<Self>, cx: &WorkerCx, key: SourceKey, readable: bool, _: bool) {
            if !readable {
                return;
            }
            let mut buf = [0u8; 4096];
            loop {
                let n = match self.sock.borrow_mut().read(&mut buf) {
                    Ok(0) => {
                        cx.remove(key);
                        return;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(_) => {
                        cx.remove(key);
                        return;
                    }
                };
                self.sock.borrow_mut().write_all(&buf[..n]).unwrap();
            }
        }
        fn on_timer(self: Rc<Self>, _: &WorkerCx, _: SourceKey, _: Instant) {}
    }

    #[test]
    fn sockets_are_driven_by_readiness() {
        let pool = Pool::new(1).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).unwrap();
        client.set_read_timeout(Some(TEST_WAIT)).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        pool.worker(0).run(move |cx| {
            let echo = Rc::new(Echo {
                sock: RefCell::new(mio::net::TcpStream::from_std(server)),
            });
            let key = cx.insert(echo.clone());
            cx.registry()
                .register(
                    &mut *echo.sock.borrow_mut(),
                    cx.token(key),
                    mio::Interest::READABLE,
                )
                .unwrap();
        });
        client.write_all(b"hello").unwrap();
        let mut got = [0u8; 5];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
    }
}
