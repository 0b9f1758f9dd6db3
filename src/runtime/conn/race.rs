//! Happy Eyeballs (RFC 8305) for a client's TCP connect: every address the server's name
//! resolves to is tried, families interleaved, the next attempt starting when the previous
//! one failed or after [`ATTEMPT_DELAY`] without an answer; the first socket to connect wins
//! and the others are closed. Everything ends at the deadline (the handshake timeout).
//!
//! [`Schedule`] decides, with time passed in and no I/O; [`Race`] runs it on a worker with
//! non-blocking sockets. A race may start before its addresses are known (the name is being
//! resolved): the deadline runs from the start, and [`Race::resolved`] hands them in later.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::Interest;
use mio::net::TcpStream;

use crate::runtime::timers::SourceKey;
use crate::runtime::worker::{Source, WorkerCx};

/// RFC 8305's recommended Connection Attempt Delay.
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// The order to try `addrs` in: the family of the first IPv4 address first if there is one
/// (servers commonly listen on the IPv4 wildcard only, and this library tried IPv4 first
/// before it tried more than one address), then alternating families, each family keeping the
/// resolver's order. Duplicates are dropped.
pub fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let mut v4: Vec<SocketAddr> = Vec::new();
    let mut v6: Vec<SocketAddr> = Vec::new();
    for a in addrs {
        let list = if a.is_ipv4() { &mut v4 } else { &mut v6 };
        if !list.contains(a) {
            list.push(*a);
        }
    }
    let (first, second) = if v4.is_empty() { (v6, v4) } else { (v4, v6) };
    let mut out = Vec::with_capacity(first.len() + second.len());
    let (mut a, mut b) = (first.into_iter(), second.into_iter());
    loop {
        match (a.next(), b.next()) {
            (None, None) => return out,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
}

/// How a race ended without a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaceFailure {
    /// Every attempt failed; the first attempt's error (the address a single-address client
    /// would have tried).
    Failed(io::ErrorKind),
    /// The deadline passed first.
    TimedOut,
}

/// What the driver of a [`Schedule`] does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Start an attempt to this address, then ask again.
    Start(SocketAddr),
    /// Nothing to do until this time (or an attempt's outcome); `None`: until an outcome.
    Wait(Option<Instant>),
    /// The race is lost.
    Lost(RaceFailure),
    /// An attempt connected (or the race was lost): nothing more to do.
    Over,
}

/// The attempt scheduler, sans I/O: the driver reports attempts' outcomes and asks for the
/// next step, with the time passed in.
#[derive(Debug)]
pub struct Schedule {
    candidates: Vec<SocketAddr>,
    /// The addresses are still to come ([`Schedule::resolved`]).
    pending: bool,
    next: usize,
    in_flight: usize,
    /// When the next attempt starts even though earlier ones have no answer yet.
    next_at: Option<Instant>,
    delay: Duration,
    deadline: Option<Instant>,
    first_error: Option<io::ErrorKind>,
    over: bool,
}

impl Schedule {
    /// A schedule whose addresses are still to be resolved.
    pub fn new(delay: Duration, deadline: Option<Instant>) -> Self {
        Self {
            candidates: Vec::new(),
            pending: true,
            next: 0,
            in_flight: 0,
            next_at: None,
            delay,
            deadline,
            first_error: None,
            over: false,
        }
    }

    /// The addresses to try, in order (see [`interleave`]); the first attempt may start now.
    pub fn resolved(&mut self, candidates: Vec<SocketAddr>) {
        self.candidates = candidates;
        self.pending = false;
    }

    /// The address of the first attempt, once the addresses are known.
    pub fn first(&self) -> Option<SocketAddr> {
        self.candidates.first().copied()
    }

    /// An attempt failed (at once or later): the next one starts now.
    pub fn attempt_failed(&mut self, kind: io::ErrorKind) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.first_error.get_or_insert(kind);
        self.next_at = None;
    }

    /// An attempt connected: the race is over.
    pub fn connected(&mut self) {
        self.over = true;
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Instant) -> Step {
        if self.over {
            return Step::Over;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            self.over = true;
            return Step::Lost(RaceFailure::TimedOut);
        }
        if self.pending {
            return Step::Wait(self.deadline);
        }
        let more = self.next < self.candidates.len();
        if more && (self.in_flight == 0 || self.next_at.is_none_or(|t| now >= t)) {
            let addr = self.candidates[self.next];
            self.next += 1;
            self.in_flight += 1;
            self.next_at = Some(now + self.delay);
            return Step::Start(addr);
        }
        if !more && self.in_flight == 0 {
            self.over = true;
            let kind = self.first_error.unwrap_or(io::ErrorKind::NotFound);
            return Step::Lost(RaceFailure::Failed(kind));
        }
        let wake = if more { self.next_at } else { None };
        let wake = match (wake, self.deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Step::Wait(wake)
    }
}

/// How a race ended.
pub enum Outcome {
    /// This socket connected to this address; it is not registered anywhere.
    Connected(TcpStream, SocketAddr),
    /// No socket connected.
    Lost(RaceFailure),
}

/// Called once, on the worker, with nothing borrowed, when a race ends (never after
/// [`Race::cancel`]).
pub type OnOutcome = Box<dyn FnOnce(&WorkerCx, Outcome)>;

/// A race on a worker; dropping the handle does not stop it (see [`Race::cancel`]).
#[derive(Clone)]
pub struct Race(Rc<Racer>);

struct Racer {
    key: Cell<Option<SourceKey>>,
    inner: RefCell<RaceInner>,
    done: RefCell<Option<OnOutcome>>,
}

struct RaceInner {
    schedule: Schedule,
    /// The local address to bind each socket to (CONN_LOCAL_ADDRESS), if any.
    bind: Option<SocketAddr>,
    attempts: Vec<(SocketAddr, TcpStream)>,
    /// The race was lost inside [`Race::resolved`]: the timer reports it.
    lost: Option<RaceFailure>,
}

impl Race {
    /// Starts a race on the calling worker; the addresses come with [`Race::resolved`].
    /// `done` hears the outcome, unless the race is canceled first.
    pub fn start(
        cx: &WorkerCx,
        bind: Option<SocketAddr>,
        deadline: Option<Instant>,
        done: OnOutcome,
    ) -> Self {
        let racer = Rc::new(Racer {
            key: Cell::new(None),
            inner: RefCell::new(RaceInner {
                schedule: Schedule::new(ATTEMPT_DELAY, deadline),
                bind,
                attempts: Vec::new(),
                lost: None,
            }),
            done: RefCell::new(Some(done)),
        });
        let key = cx.insert(racer.clone());
        racer.key.set(Some(key));
        cx.set_timer(key, deadline);
        Self(racer)
    }

    /// The addresses to try, in order: the first attempt starts now. An outcome is never
    /// delivered from inside this call (an attempt failing at once is reported from the
    /// worker's loop).
    pub fn resolved(&self, cx: &WorkerCx, candidates: Vec<SocketAddr>) {
        self.0.inner.borrow_mut().schedule.resolved(candidates);
        self.0.step(cx, Instant::now(), false);
    }

    /// The local address of the latest attempt's socket.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        let inner = self.0.inner.borrow();
        inner.attempts.last()?.1.local_addr().ok()
    }

    /// Stops the race: its sockets are closed and no outcome is delivered.
    pub fn cancel(&self, cx: &WorkerCx) {
        self.0.done.borrow_mut().take();
        self.0.leave(cx);
    }
}

impl Racer {
    /// Starts what the schedule asks for; delivers the outcome if the race ended and
    /// `may_finish`, else leaves it for the timer.
    fn step(self: &Rc<Self>, cx: &WorkerCx, now: Instant, may_finish: bool) {
        let Some(key) = self.key.get() else { return };
        loop {
            let step = self.inner.borrow_mut().schedule.poll(now);
            match step {
                Step::Start(addr) => {
                    let mut inner = self.inner.borrow_mut();
                    match connect(inner.bind, addr) {
                        Ok(mut sock) => {
                            let interest = Interest::READABLE | Interest::WRITABLE;
                            match cx.registry().register(&mut sock, cx.token(key), interest) {
                                Ok(()) => inner.attempts.push((addr, sock)),
                                Err(e) => inner.schedule.attempt_failed(e.kind()),
                            }
                        }
                        Err(e) => inner.schedule.attempt_failed(e.kind()),
                    }
                }
                Step::Wait(at) => return cx.set_timer(key, at),
                Step::Lost(failure) if may_finish => {
                    return self.finish(cx, Outcome::Lost(failure));
                }
                Step::Lost(failure) => {
                    // Reported from the worker's loop: the timer fires at once.
                    self.inner.borrow_mut().lost = Some(failure);
                    return cx.set_timer(key, Some(now));
                }
                Step::Over => return,
            }
        }
    }

    /// Leaves the worker and hands `outcome` to the completion.
    fn finish(self: &Rc<Self>, cx: &WorkerCx, outcome: Outcome) {
        self.leave(cx);
        let done = self.done.borrow_mut().take();
        if let Some(done) = done {
            done(cx, outcome);
        }
    }

    /// Closes every attempt's socket and leaves the worker.
    fn leave(&self, cx: &WorkerCx) {
        let Some(key) = self.key.take() else { return };
        let attempts = std::mem::take(&mut self.inner.borrow_mut().attempts);
        for (_, mut sock) in attempts {
            let _ = cx.registry().deregister(&mut sock);
        }
        cx.remove(key);
    }

    /// Checks every attempt after a readiness event: the first connected one wins.
    fn check_attempts(&self, cx: &WorkerCx) -> Option<(TcpStream, SocketAddr)> {
        let mut inner = self.inner.borrow_mut();
        let mut i = 0;
        while i < inner.attempts.len() {
            let sock = &inner.attempts[i].1;
            let state = match sock.take_error() {
                Ok(Some(e)) | Err(e) => Err(e.kind()),
                Ok(None) => match sock.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
                    Err(e) => Err(e.kind()),
                },
            };
            match state {
                Ok(false) => i += 1,
                Ok(true) => {
                    let (addr, mut sock) = inner.attempts.swap_remove(i);
                    let _ = cx.registry().deregister(&mut sock);
                    inner.schedule.connected();
                    return Some((sock, addr));
                }
                Err(kind) => {
                    let (_, mut sock) = inner.attempts.remove(i);
                    let _ = cx.registry().deregister(&mut sock);
                    inner.schedule.attempt_failed(kind);
                }
            }
        }
        None
    }
}

/// Starts a non-blocking connect to `addr`, from `bind` if given.
fn connect(bind: Option<SocketAddr>, addr: SocketAddr) -> io::Result<TcpStream> {
    match bind {
        None => TcpStream::connect(addr),
        Some(local) => Ok(TcpStream::from_std(crate::runtime::sys::bound_connect(
            local, addr,
        )?)),
    }
}

impl Source for Racer {
    fn on_ready(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey, _r: bool, _w: bool) {
        if let Some((sock, addr)) = self.check_attempts(cx) {
            return self.finish(cx, Outcome::Connected(sock, addr));
        }
        self.step(cx, Instant::now(), true);
    }

    fn on_panic(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey) {
        // A bug in this library: the race ends as if every attempt had failed.
        self.finish(cx, Outcome::Lost(RaceFailure::Failed(io::ErrorKind::Other)));
    }

    fn on_timer(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey, now: Instant) {
        // A loss found inside `resolved` waits for this timer.
        let lost = self.inner.borrow_mut().lost.take();
        if let Some(failure) = lost {
            return self.finish(cx, Outcome::Lost(failure));
        }
        self.step(cx, now, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn families_alternate_ipv4_first() {
        let addrs = [
            a("[::1]:1"),
            a("[::2]:1"),
            a("10.0.0.1:1"),
            a("[::3]:1"),
            a("10.0.0.2:1"),
            a("10.0.0.1:1"),
        ];
        assert_eq!(
            interleave(&addrs),
            vec![
                a("10.0.0.1:1"),
                a("[::1]:1"),
                a("10.0.0.2:1"),
                a("[::2]:1"),
                a("[::3]:1"),
            ]
        );
        assert_eq!(
            interleave(&[a("[::1]:1"), a("[::2]:1")]),
            vec![a("[::1]:1"), a("[::2]:1")]
        );
        assert!(interleave(&[]).is_empty());
    }

    #[test]
    fn waits_for_the_addresses_until_the_deadline() {
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(5);
        let mut s = Schedule::new(ATTEMPT_DELAY, Some(deadline));
        assert_eq!(s.poll(t0), Step::Wait(Some(deadline)));
        assert_eq!(s.poll(deadline), Step::Lost(RaceFailure::TimedOut));
        assert_eq!(s.poll(deadline), Step::Over);
    }

    #[test]
    fn the_next_attempt_starts_after_the_delay_and_the_first_to_connect_wins() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ATTEMPT_DELAY, None);
        s.resolved(vec![a("10.0.0.1:1"), a("[::1]:1"), a("10.0.0.2:1")]);
        assert_eq!(s.first(), Some(a("10.0.0.1:1")));
        assert_eq!(s.poll(t0), Step::Start(a("10.0.0.1:1")));
        let t1 = t0 + ATTEMPT_DELAY;
        assert_eq!(s.poll(t0), Step::Wait(Some(t1)));
        assert_eq!(s.poll(t1 - Duration::from_millis(1)), Step::Wait(Some(t1)));
        assert_eq!(s.poll(t1), Step::Start(a("[::1]:1")));
        let t2 = t1 + ATTEMPT_DELAY;
        assert_eq!(s.poll(t1), Step::Wait(Some(t2)));
        // The second attempt connects before the third starts.
        s.connected();
        assert_eq!(s.poll(t2), Step::Over);
    }

    #[test]
    fn a_failed_attempt_starts_the_next_at_once() {
        let t0 = Instant::now();
        let mut s = Schedule::new(ATTEMPT_DELAY, None);
        s.resolved(vec![a("10.0.0.1:1"), a("[::1]:1")]);
        assert_eq!(s.poll(t0), Step::Start(a("10.0.0.1:1")));
        let t = t0 + Duration::from_millis(10);
        s.attempt_failed(io::ErrorKind::ConnectionRefused);
        assert_eq!(s.poll(t), Step::Start(a("[::1]:1")));
        // The last attempt has no deadline and no next: it waits for its outcome.
        assert_eq!(s.poll(t), Step::Wait(None));
        s.attempt_failed(io::ErrorKind::TimedOut);
        // The first attempt's error is the race's.
        assert_eq!(
            s.poll(t),
            Step::Lost(RaceFailure::Failed(io::ErrorKind::ConnectionRefused))
        );
    }

    #[test]
    fn the_deadline_ends_attempts_in_flight() {
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_millis(400);
        let mut s = Schedule::new(ATTEMPT_DELAY, Some(deadline));
        s.resolved(vec![a("10.0.0.1:1"), a("10.0.0.2:1"), a("10.0.0.3:1")]);
        assert_eq!(s.poll(t0), Step::Start(a("10.0.0.1:1")));
        assert_eq!(s.poll(t0), Step::Wait(Some(t0 + ATTEMPT_DELAY)));
        let t1 = t0 + ATTEMPT_DELAY;
        assert_eq!(s.poll(t1), Step::Start(a("10.0.0.2:1")));
        // The next start would come after the deadline: the deadline wakes first.
        assert_eq!(s.poll(t1), Step::Wait(Some(deadline)));
        assert_eq!(s.poll(deadline), Step::Lost(RaceFailure::TimedOut));
    }

    /// A port on 127.0.0.1 nothing listens on.
    fn closed_port() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }

    /// Runs a race on a worker over `candidates`; what it ended with: the address connected
    /// to, or the failure.
    fn race_on_worker(
        candidates: Vec<SocketAddr>,
        deadline: Option<Instant>,
    ) -> Result<SocketAddr, RaceFailure> {
        let pool = crate::runtime::worker::Pool::new(1).unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        pool.worker(0).run(move |cx| {
            let done: OnOutcome = Box::new(move |_, outcome| {
                let _ = tx.send(match outcome {
                    Outcome::Connected(_, addr) => Ok(addr),
                    Outcome::Lost(f) => Err(f),
                });
            });
            Race::start(cx, None, deadline, done).resolved(cx, candidates);
        });
        rx.recv_timeout(Duration::from_secs(10)).unwrap()
    }

    #[test]
    fn a_refused_address_gives_way_to_the_next_on_a_worker() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap();
        let refused = closed_port();
        let t0 = Instant::now();
        assert_eq!(race_on_worker(vec![refused, open], None), Ok(open));
        // The refusal started the next attempt without the attempt delay.
        assert!(t0.elapsed() < ATTEMPT_DELAY);
        assert_eq!(
            race_on_worker(vec![closed_port()], None),
            Err(RaceFailure::Failed(io::ErrorKind::ConnectionRefused))
        );
        let deadline = Some(Instant::now());
        assert_eq!(
            race_on_worker(vec![open], deadline),
            Err(RaceFailure::TimedOut)
        );
    }

    #[test]
    fn no_address_loses_at_once() {
        let mut s = Schedule::new(ATTEMPT_DELAY, None);
        s.resolved(Vec::new());
        assert_eq!(
            s.poll(Instant::now()),
            Step::Lost(RaceFailure::Failed(io::ErrorKind::NotFound))
        );
    }
}
