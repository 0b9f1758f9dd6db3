//! Name resolution off the workers: a small pool of resolver threads runs the system's
//! blocking resolver (`getaddrinfo`, through std) and hands each result to a completion
//! closure, which posts it back to the worker that asked. A slow name server stalls only the
//! lookup, never the connections sharing the worker.
//!
//! Threads are started on demand, at most [`MAX_THREADS`]; a thread with nothing to do for
//! [`IDLE_EXIT`] ends. [`shutdown`] (the library's last close) ends them all and waits for
//! them, so no thread runs the library's code after it is unloaded.
//!
//! Test hook (debug builds only; release builds ignore it): `MSQUIC_QMUX_TEST_RESOLVE` holds
//! `NAME=ADDR[,ADDR...][@DELAY_MS]` entries separated by `;`. A lookup of `NAME` then answers
//! the listed addresses (in that order, each with the port asked for) instead of asking the
//! system, and sleeps `DELAY_MS` first; an entry without addresses (`NAME=@DELAY_MS`) only
//! delays the system's answer. C tests use it to make `localhost` resolve to both loopback
//! addresses in a chosen order, and to stand in for a slow name server.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Most resolver threads at a time; more lookups wait in the queue.
pub const MAX_THREADS: usize = 4;
/// How long a resolver thread waits for work before it ends.
pub const IDLE_EXIT: Duration = Duration::from_secs(5);

/// What a finished lookup is handed to (on a resolver thread).
pub type Done = Box<dyn FnOnce(io::Result<Vec<SocketAddr>>) + Send>;

struct Job {
    name: String,
    port: u16,
    done: Done,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Threads started and not yet ended.
    threads: usize,
    /// Threads waiting for work.
    idle: usize,
    /// [`shutdown`] is under way: threads end once the queue is empty.
    stopping: bool,
    handles: Vec<JoinHandle<()>>,
}

static STATE: Mutex<State> = Mutex::new(State {
    queue: VecDeque::new(),
    threads: 0,
    idle: 0,
    stopping: false,
    handles: Vec::new(),
});
static WORK: Condvar = Condvar::new();

/// The addresses `name` stands for, each with `port`, if `name` is an IP address literal:
/// no lookup is needed for it.
pub fn literal(name: &str, port: u16) -> Option<Vec<SocketAddr>> {
    let ip: IpAddr = name.parse().ok()?;
    Some(vec![SocketAddr::new(ip, port)])
}

/// Resolves `name` on a resolver thread and calls `done` there with every address it stands
/// for (in the resolver's order), each with `port`.
pub fn lookup(name: String, port: u16, done: Done) {
    let mut state = STATE.lock();
    state.stopping = false;
    state.queue.push_back(Job { name, port, done });
    if state.idle > 0 {
        WORK.notify_one();
        return;
    }
    if state.threads >= MAX_THREADS {
        return;
    }
    state.threads += 1;
    // Reap the handles of threads that ended by themselves.
    state.handles.retain(|h| !h.is_finished());
    match std::thread::Builder::new()
        .name("msquic-qmux-resolve".into())
        .spawn(serve)
    {
        Ok(handle) => state.handles.push(handle),
        Err(e) => {
            state.threads -= 1;
            if state.threads == 0 {
                // No thread will ever take the job: answer it here, outside the lock.
                let job = state.queue.pop_back();
                drop(state);
                if let Some(job) = job {
                    (job.done)(Err(e));
                }
            }
        }
    }
}

/// Ends every resolver thread once the lookups queued are done, and waits for them, unless
/// called on a worker thread: a lookup's completion may hold the last reference to that
/// worker's pool, whose drop waits for the worker; the threads then end by themselves.
pub fn shutdown() {
    let handles = {
        let mut state = STATE.lock();
        state.stopping = true;
        WORK.notify_all();
        std::mem::take(&mut state.handles)
    };
    if crate::runtime::worker::current_index().is_some() {
        return;
    }
    for h in handles {
        let _ = h.join();
    }
}

/// A resolver thread's loop.
fn serve() {
    let mut state = STATE.lock();
    loop {
        if let Some(job) = state.queue.pop_front() {
            drop(state);
            let result = resolve(&job.name, job.port);
            // The completion (and what it holds) is dropped here, off the lock.
            (job.done)(result);
            state = STATE.lock();
            continue;
        }
        if state.stopping {
            break;
        }
        state.idle += 1;
        let timed_out = WORK.wait_for(&mut state, IDLE_EXIT).timed_out();
        state.idle -= 1;
        if timed_out && state.queue.is_empty() {
            break;
        }
    }
    state.threads -= 1;
}

/// The blocking lookup a resolver thread runs.
pub fn resolve(name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Some(entry) = test_hook::entry(name) {
        if !entry.delay.is_zero() {
            std::thread::sleep(entry.delay);
        }
        if !entry.addrs.is_empty() {
            return Ok(entry
                .addrs
                .iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect());
        }
    }
    Ok((name, port).to_socket_addrs()?.collect())
}

/// `MSQUIC_QMUX_TEST_RESOLVE` (see the module's documentation); inert in release builds.
mod test_hook {
    use std::net::IpAddr;
    use std::time::Duration;

    /// The variable tests set.
    pub(super) const ENV_VAR: &str = "MSQUIC_QMUX_TEST_RESOLVE";

    /// What the hook says of one name.
    #[derive(Debug, Default, PartialEq)]
    pub(super) struct Entry {
        pub(super) addrs: Vec<IpAddr>,
        pub(super) delay: Duration,
    }

    /// The entry for `name`, in debug builds when the variable names it.
    pub(super) fn entry(name: &str) -> Option<Entry> {
        if !cfg!(debug_assertions) {
            return None;
        }
        let value = std::env::var(ENV_VAR).ok()?;
        parse(&value, name)
    }

    /// The entry for `name` in a value of [`ENV_VAR`].
    pub(super) fn parse(value: &str, name: &str) -> Option<Entry> {
        value.split(';').find_map(|item| {
            let (n, rest) = item.trim().split_once('=')?;
            if !n.trim().eq_ignore_ascii_case(name) {
                return None;
            }
            let (addrs, delay) = match rest.split_once('@') {
                Some((a, d)) => (a, d.trim().parse().ok()?),
                None => (rest, 0),
            };
            let addrs = addrs
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            Some(Entry {
                addrs,
                delay: Duration::from_millis(delay),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_need_no_lookup() {
        let v4 = literal("127.0.0.1", 7).unwrap();
        assert_eq!(v4, vec!["127.0.0.1:7".parse().unwrap()]);
        assert_eq!(literal("::1", 7).unwrap(), vec!["[::1]:7".parse().unwrap()]);
        assert!(literal("localhost", 7).is_none());
    }

    #[test]
    fn the_test_hook_parses_names_addresses_and_delays() {
        let value = "a.test=127.0.0.1,::1;slow.test=@250; b.test = ::1 @10";
        let a = test_hook::parse(value, "A.test").unwrap();
        assert_eq!(
            a.addrs,
            vec![
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(a.delay, Duration::ZERO);
        let slow = test_hook::parse(value, "slow.test").unwrap();
        assert!(slow.addrs.is_empty());
        assert_eq!(slow.delay, Duration::from_millis(250));
        assert_eq!(
            test_hook::parse(value, "b.test").unwrap().delay,
            Duration::from_millis(10)
        );
        assert!(test_hook::parse(value, "c.test").is_none());
        assert!(test_hook::parse("x=nonsense", "x").is_none());
    }

    #[test]
    fn lookups_complete_on_resolver_threads() {
        let (tx, rx) = crossbeam_channel::bounded(4);
        for _ in 0..3 {
            let tx = tx.clone();
            lookup(
                "127.0.0.1".into(),
                9,
                Box::new(move |r| {
                    let on_resolver = std::thread::current().name() == Some("msquic-qmux-resolve");
                    let _ = tx.send((r.map_err(|e| e.kind()), on_resolver));
                }),
            );
        }
        for _ in 0..3 {
            let (r, on_resolver) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(r, Ok(vec!["127.0.0.1:9".parse().unwrap()]));
            assert!(on_resolver);
        }
        assert!(STATE.lock().threads <= MAX_THREADS);
    }
}
