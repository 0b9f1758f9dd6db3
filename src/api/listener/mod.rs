//! Listeners: `ListenerOpen`, `ListenerClose`, `ListenerStart`, `ListenerStop`, and the
//! NEW_CONNECTION path of accepted connections.
//!
//! Listening sockets live on the library's shared workers, whatever the execution profile of
//! the registrations whose listeners use them: listeners of several registrations may share one
//! socket (same address, disjoint ALPNs), and a SCAVENGER or REAL_TIME registration's own
//! workers end when that registration closes, which must not take the socket from the others.
//! The ClientHello is read on a shared worker too; once it has picked the listener, the
//! connection moves to a worker of that listener's registration (its partition's, if set),
//! where NEW_CONNECTION is raised and the connection lives.

pub(crate) mod link;
pub(crate) mod params;

use core::ffi::c_void;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::api::abi::*;
use crate::api::configuration::credentials::LoadedTls;
use crate::api::configuration::read_alpns;
use crate::api::connection::alpn_choice;
use crate::api::connection::sockaddr;
use crate::api::connection::worker::{ConnSlot, PendingAccept};
use crate::api::connection::{self, Connection};
use crate::api::door::boundary;
use crate::api::door::callbacks;
use crate::api::door::handle::{Handle, Kind, Object};
use crate::api::door::status_names::StatusName;
use crate::api::listener::params::ListenerParams;
use crate::api::registration::{ChildGuard, FinalEventScope, Registration};
use crate::api::settings::Settings;
use crate::proto;
use crate::runtime::conn::{Conn, HelloReader, OnHello, OnRefused, Wire, reset_on_close};
use crate::runtime::counters;
use crate::runtime::listener::Listener as TcpListener;
use crate::runtime::log::qlog;
use crate::runtime::tls::{ClientHello, RecvBuffer, Resumption, TlsSession, alpn};
use crate::runtime::worker::{Pool, Worker, WorkerCx};

/// A listener.
pub(crate) struct Listener {
    guard: Mutex<Option<ChildGuard>>,
    registration: Arc<Handle<Registration>>,
    pool: Arc<Pool>,
    state: Mutex<ListenerState>,
    /// Signalled when the last running NEW_CONNECTION callback returns.
    callbacks_done: Condvar,
    /// Connections handed to the application (LISTENER_STATS).
    accepted: AtomicU64,
    /// Connections refused by the application or because the registration was shut down.
    rejected: AtomicU64,
    /// QUIC-only options kept for GetParam, and the partition (see `params`).
    pub(crate) params: ListenerParams,
}

#[derive(Default)]
struct ListenerState {
    /// NEW_CONNECTION callbacks running now (on any worker).
    in_flight: usize,
    /// The listener stopped while callbacks were running: the last one to return delivers
    /// STOP_COMPLETE, so that it is the listener's last event.
    stop_report_pending: bool,
    /// The worker the socket is on, while started.
    worker: Option<PoolWorker>,
    /// The worker of the most recent start, whose queue a stop may still be in.
    last_worker: Option<PoolWorker>,
    alpns: Vec<Vec<u8>>,
    local: Option<SocketAddr>,
    /// Stopped, with STOP_COMPLETE not yet delivered: a start is INVALID_STATE until then.
    stopping: bool,
    /// A ListenerStart is binding (without the lock held).
    starting: bool,
    /// LISTENER_LOCAL_ADDRESS: the address the application gave, with the port filled in when
    /// it asked for any (no address: family UNSPEC and the port), as MsQuic keeps it; kept
    /// after a stop, zero before the first start.
    reported: Option<QUIC_ADDR>,
}

impl Object for Listener {
    const KIND: Kind = Kind::Listener;
    const FINAL_DONE_AT_OPEN: bool = true;
}

impl callbacks::Delivers for Listener {
    type Event = QUIC_LISTENER_EVENT;

    fn log(h: usize, event: &QUIC_LISTENER_EVENT) {
        crate::api::door::event_log::listener(h, event);
    }
}

impl crate::api::registration::InFinalEvent for Handle<Listener> {
    fn closed_holding_place_in(&self, registration: &Registration) -> bool {
        self.is_closed_by_app()
            && self
                .obj
                .guard
                .lock()
                .as_ref()
                .is_some_and(|g| core::ptr::eq(&g.registration().obj, registration))
    }
}

impl Listener {
    /// LISTENER_LOCAL_ADDRESS: the address the application started the listener on, with
    /// the port chosen; all zero before the first start.
    pub(crate) fn local_address(&self) -> QUIC_ADDR {
        self.state.lock().reported.unwrap_or(QUIC_ADDR::zeroed())
    }

    /// Whether the listener is started (or being started).
    pub(crate) fn is_started(&self) -> bool {
        let s = self.state.lock();
        s.worker.is_some() || s.starting
    }

    /// `QUIC_LISTENER_STATISTICS`: connections accepted and rejected; no packets are dropped
    /// by a binding, as there is no UDP binding.
    pub(crate) fn statistics(&self) -> QUIC_LISTENER_STATISTICS {
        QUIC_LISTENER_STATISTICS {
            TotalAcceptedConnections: self.accepted.load(Ordering::Relaxed),
            TotalRejectedConnections: self.rejected.load(Ordering::Relaxed),
            BindingRecvDroppedPackets: 0,
        }
    }

    /// Waits until no NEW_CONNECTION callback is running, apart from one the calling thread
    /// may itself be in (so a stop from inside the callback cannot wait for itself).
    fn wait_for_callbacks(&self, key: usize) {
        let own = usize::from(IN_CALLBACK.with(Cell::get) == key);
        let mut state = self.state.lock();
        while state.in_flight > own {
            self.callbacks_done.wait(&mut state);
        }
    }
}

/// A running NEW_CONNECTION callback, counted in `ListenerState::in_flight`.
struct CallbackGuard<'a>(&'a Handle<Listener>);

impl<'a> CallbackGuard<'a> {
    /// Counts a NEW_CONNECTION callback about to run, unless the listener is stopped: once
    /// a stop has taken the listener's worker, no callback starts.
    fn enter(listener: &'a Handle<Listener>) -> Option<Self> {
        let mut state = listener.obj.state.lock();
        state.worker.as_ref()?;
        state.in_flight += 1;
        Some(Self(listener))
    }
}

impl Drop for CallbackGuard<'_> {
    fn drop(&mut self) {
        let listener = &self.0.obj;
        let mut state = listener.state.lock();
        if state.in_flight == 1 && state.stop_report_pending {
            // The last callback of a stopped listener: STOP_COMPLETE now, still counted as
            // running so that ListenerClose waits for it.
            state.stop_report_pending = false;
            drop(state);
            report_stop(self.0);
            state = listener.state.lock();
        }
        state.in_flight -= 1;
        if state.in_flight == 0 {
            listener.callbacks_done.notify_all();
        }
    }
}

/// Delivers STOP_COMPLETE; a ListenerClose made before or inside it completes on its return.
/// The callback counts as the listener's own, so that a ListenerClose inside it does not
/// wait for itself when a NEW_CONNECTION callback's end delivers it.
fn report_stop(listener: &Handle<Listener>) {
    let mut event = QUIC_LISTENER_EVENT {
        Type: QUIC_LISTENER_EVENT_STOP_COMPLETE,
        payload: QUIC_LISTENER_EVENT_PAYLOAD {
            STOP_COMPLETE: QUIC_LISTENER_EVENT_STOP_COMPLETE_PAYLOAD::new(
                listener.is_closed_by_app(),
            ),
        },
    };
    // Stopped from now on, except inside the callback: a start from there is INVALID_STATE,
    // as in MsQuic (stopped once the callback returns).
    listener.obj.state.lock().stopping = false;
    let key = listener.as_hquic() as usize;
    let outer = IN_STOP_COMPLETE.with(|c| c.replace(key));
    let outer_cb = IN_CALLBACK.with(|c| c.replace(key));
    listener.final_event_started();
    let scope = FinalEventScope::enter(listener.arc());
    callbacks::deliver(listener, &mut event);
    drop(scope);
    // A ListenerClose made inside the event completes now, and the listener leaves its
    // registration (whose RegistrationClose waits for that, as in MsQuic).
    if listener.final_event_returned() {
        listener.obj.guard.lock().take();
    }
    IN_CALLBACK.with(|c| c.set(outer_cb));
    IN_STOP_COMPLETE.with(|c| c.set(outer));
}

thread_local! {
    /// The listener (handle address) whose STOP_COMPLETE callback this thread is in, or 0.
    static IN_STOP_COMPLETE: Cell<usize> = const { Cell::new(0) };
    /// The listener (handle address) whose NEW_CONNECTION callback this thread is in, or 0.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// The listening sockets of a worker, by bound address (a worker local).
#[derive(Default)]
struct Sockets(RefCell<HashMap<SocketAddr, Rc<TcpListener>>>);

/// A worker named by its pool and index: indices repeat across pools (the shared workers and a
/// registration's own), so an index alone does not name a thread.
#[derive(Clone)]
struct PoolWorker {
    pool: Arc<Pool>,
    index: usize,
}

impl PoolWorker {
    fn worker(&self) -> &Worker {
        self.pool.worker(self.index)
    }
}

/// The worker of `pool` for a new connection of `listener` (or for its socket): its
/// partition's if LISTENER_PARTITION_INDEX is set, else the next in round-robin order.
fn worker_for<'a>(listener: &Listener, pool: &'a Pool) -> &'a Worker {
    match listener.params.partition() {
        Some(p) => pool.worker(usize::from(p) % pool.len()),
        None => pool.pick(),
    }
}

/// One listening TCP socket and the started listeners sharing it. Listeners on one address
/// must have disjoint ALPN lists (MsQuic's model); an accepted connection goes to the one
/// whose list holds the client's first acceptable token.
struct SharedSocket {
    /// The worker the socket is on: one of the library's shared workers.
    worker: PoolWorker,
    /// The listeners, in start order, with their application-form ALPN lists.
    listeners: Mutex<Vec<Member>>,
}

/// A started listener on a shared socket, with its application-form ALPN list.
type Member = (Arc<Handle<Listener>>, Vec<Vec<u8>>);

impl SharedSocket {
    /// The first listener (plain TCP has no ClientHello to route by).
    fn first(&self) -> Option<Arc<Handle<Listener>>> {
        self.listeners.lock().first().map(|(l, _)| l.clone())
    }

    /// The listener for a client's offered wire tokens: the first offered token any listener
    /// takes (either wire form of decisions.md §2) picks the listener that has it.
    fn route(&self, offered: &[Vec<u8>]) -> Option<Arc<Handle<Listener>>> {
        let listeners = self.listeners.lock();
        let all: Vec<Vec<u8>> = listeners.iter().flat_map(|(_, a)| a.clone()).collect();
        let (_, app) = alpn::select(offered, &all)?;
        listeners
            .iter()
            .find(|(_, a)| a.iter().any(|t| t.as_slice() == app))
            .map(|(l, _)| l.clone())
    }

    /// Every ALPN the listeners on this socket take, for log lines.
    fn alpn_names(&self) -> Vec<String> {
        let listeners = self.listeners.lock();
        listeners.iter().flat_map(|(_, a)| alpn_names(a)).collect()
    }
}

/// Every bound listening socket in the process, by bound address. Each one added or removed
/// is told to the performance counters (`global::counted`, the library's "in use").
static SHARED: Mutex<BTreeMap<SocketAddr, Arc<SharedSocket>>> = Mutex::new(BTreeMap::new());

/// `ListenerOpen`.
pub(crate) unsafe extern "C" fn open(
    registration: HQUIC,
    handler: QUIC_LISTENER_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::call("ListenerOpen", || {
        // SAFETY: `registration` is an application handle; `get` validates it.
        let Some(reg) = (unsafe { Handle::<Registration>::get(registration) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let Some(handler) = handler else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if out.is_null() {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        if reg.obj.is_shutting_down() {
            return QUIC_STATUS_INVALID_STATE;
        }
        let listener = Listener {
            guard: Mutex::new(Some(ChildGuard::new(reg.clone()))),
            pool: reg.obj.pool.clone(),
            registration: reg,
            state: Mutex::new(ListenerState::default()),
            callbacks_done: Condvar::new(),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            params: ListenerParams::default(),
        };
        let h = Handle::into_hquic(Handle::new(listener, context, handler as *mut c_void));
        // SAFETY: `out` is non-NULL and writable by the API contract.
        unsafe { out.write(h) };
        QUIC_STATUS_SUCCESS
    })
}

/// Stops the socket of a started listener (on its worker) and reports STOP_COMPLETE. From
/// the moment the worker is taken here no NEW_CONNECTION callback starts; STOP_COMPLETE
/// comes after the ones already running have returned (with `wait`, the caller waits for
/// them first; without, the last of them delivers it).
fn stop_and_report(listener: &Arc<Handle<Listener>>, wait: bool) {
    let (worker, local) = {
        let mut state = listener.obj.state.lock();
        let Some(worker) = state.worker.take() else {
            return;
        };
        state.stopping = true;
        (worker, state.local)
    };
    qlog!(
        Info,
        listener.as_hquic() as usize,
        "listener stop address={local:?}"
    );
    // Leave the shared socket; the last listener on it closes it.
    let last = local.filter(|local| {
        let mut shared = SHARED.lock();
        let Some(entry) = shared.get(local) else {
            return false;
        };
        let empty = {
            let mut ls = entry.listeners.lock();
            ls.retain(|(l, _)| !Arc::ptr_eq(l, listener));
            ls.is_empty()
        };
        if empty && shared.remove(local).is_some() {
            crate::api::global::counted::listener_socket_closed();
        }
        empty
    });
    if wait {
        listener
            .obj
            .wait_for_callbacks(listener.as_hquic() as usize);
    }
    let l = listener.clone();
    let op = move |cx: &WorkerCx| {
        if let Some(sock) = last.and_then(|a| cx.local::<Sockets>().0.borrow_mut().remove(&a)) {
            sock.stop(cx);
        }
        {
            let mut state = l.obj.state.lock();
            // A start after the stop (before this ran) has its own address already.
            if state.worker.is_none() {
                state.local = None;
            }
            if state.in_flight > 0 {
                state.stop_report_pending = true;
                return;
            }
        }
        report_stop(&l);
    };
    let w = worker.worker();
    if wait || w.is_current() {
        let _ = w.run(op);
    } else {
        w.post(Box::new(op));
    }
}

/// RegistrationShutdown: stops every started listener of `registration`, as MsQuic's
/// ListenerStop on each (STOP_COMPLETE without AppCloseInProgress, delivered on the
/// listener's worker).
pub(crate) fn stop_all_of(registration: &Registration) {
    let listeners: Vec<Arc<Handle<Listener>>> = SHARED
        .lock()
        .values()
        .flat_map(|shared| {
            shared
                .listeners
                .lock()
                .iter()
                .map(|(l, _)| l.clone())
                .collect::<Vec<_>>()
        })
        .filter(|l| core::ptr::eq(&l.obj.registration.obj, registration))
        .collect();
    for listener in listeners {
        stop_and_report(&listener, false);
    }
}

/// `ListenerClose`: stops the listener if it is started (STOP_COMPLETE is delivered with
/// AppCloseInProgress) and frees the handle once STOP_COMPLETE has returned (until then it
/// still answers GetContext, SetContext, SetCallbackHandler and GetParam).
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `begin_close` validates it.
        if let Some(listener) = unsafe { Handle::<Listener>::begin_close(h) } {
            let last = listener.obj.state.lock().last_worker.clone();
            stop_and_report(&listener, true);
            // Stopped earlier (ListenerStop): a callback that began before that stop may
            // still be running on another worker. None runs once ListenerClose returns.
            listener
                .obj
                .wait_for_callbacks(listener.as_hquic() as usize);
            // A ListenerStop queued before this close must have finished (and delivered
            // STOP_COMPLETE) before the close returns: the worker's queue is in order.
            if let Some(w) = last {
                let _ = w.worker().run(|_| ());
            }
            // From inside STOP_COMPLETE, the close completes when it returns, and the
            // listener leaves its registration then.
            if listener.end_close() {
                listener.obj.guard.lock().take();
            }
        }
    });
}

/// `ListenerStart`: binds a TCP socket (NULL or UNSPEC: the dual-stack wildcard; port 0: one
/// the OS picks) and accepts connections for the given ALPNs.
pub(crate) unsafe extern "C" fn start(
    h: HQUIC,
    alpn_buffers: *const QUIC_BUFFER,
    alpn_buffer_count: u32,
    local_address: *const QUIC_ADDR,
) -> QUIC_STATUS {
    boundary::call("ListenerStart", || {
        // SAFETY: `h` is an application handle; `get` validates it.
        let Some(listener) = (unsafe { Handle::<Listener>::get(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        // SAFETY: the ALPN list is as the API contract describes.
        let Some(alpns) = (unsafe { read_alpns(alpn_buffers, alpn_buffer_count) }) else {
            boundary::fail_reason("the ALPN list is empty or holds an empty or too long token");
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let requested = if local_address.is_null() {
            None
        } else {
            // SAFETY: non-NULL, and by the API contract it points to a QUIC_ADDR.
            let addr = unsafe { &*local_address };
            match sockaddr::from_quic(addr) {
                Some(a) => Some(a),
                None if addr.family() == QUIC_ADDRESS_FAMILY_UNSPEC => {
                    Some(SocketAddr::from(([0u16; 8], addr.port())))
                }
                None => return QUIC_STATUS_INVALID_PARAMETER,
            }
        };
        let bind = requested.unwrap_or_else(|| SocketAddr::from(([0u16; 8], 0)));
        let given = if local_address.is_null() {
            QUIC_ADDR::zeroed()
        } else {
            // SAFETY: as above.
            unsafe { *local_address }
        };
        // What LISTENER_LOCAL_ADDRESS reports once the port is known.
        let reported = move |port: u16| {
            let mut addr = given;
            if addr.port() == 0 {
                sockaddr::set_port(&mut addr, port);
            }
            addr
        };
        {
            let mut state = listener.obj.state.lock();
            if state.worker.is_some()
                || state.starting
                || state.stopping
                || IN_STOP_COMPLETE.with(Cell::get) == h as usize
            {
                return QUIC_STATUS_INVALID_STATE;
            }
            // The state is not locked while the worker binds: its own work on this listener
            // (a stop's last steps, callbacks) may need the lock meanwhile.
            state.starting = true;
        }
        // As MsQuic matches listeners by family: an IPv6 address given explicitly takes IPv6
        // peers only; no address, or UNSPEC, is the dual-stack wildcard.
        let v6_only = given.family() == QUIC_ADDRESS_FAMILY_INET6;
        let status = bind_and_register(&listener, h, bind, v6_only, alpns, reported);
        listener.obj.state.lock().starting = false;
        status
    })
}

/// ListenerStart's second half: joins the listener sharing `bind` or binds a new socket on a
/// worker, then records the listener as started.
fn bind_and_register(
    listener: &Arc<Handle<Listener>>,
    h: HQUIC,
    bind: SocketAddr,
    v6_only: bool,
    alpns: Vec<Vec<u8>>,
    reported: impl Fn(u16) -> QUIC_ADDR,
) -> QUIC_STATUS {
    {
        let shared = SHARED.lock();
        if bind.port() != 0 {
            if let Some(entry) = shared.get(&bind) {
                // Another listener has the address: share its socket if the ALPNs are disjoint.
                let mut ls = entry.listeners.lock();
                if ls.iter().any(|(_, a)| a.iter().any(|t| alpns.contains(t))) {
                    boundary::fail_reason(format!(
                        "another listener on {bind} already takes one of {:?}",
                        alpn_names(&alpns)
                    ));
                    return QUIC_STATUS_ALPN_IN_USE;
                }
                ls.push((listener.clone(), alpns.clone()));
                qlog!(
                    Info,
                    h as usize,
                    "listener start address={bind} (shared) alpn={:?}",
                    alpn_names(&alpns)
                );
                let mut state = listener.obj.state.lock();
                state.worker = Some(entry.worker.clone());
                state.last_worker = Some(entry.worker.clone());
                state.alpns = alpns;
                state.local = Some(bind);
                state.reported = Some(reported(bind.port()));
                return QUIC_STATUS_SUCCESS;
            }
        }
        // SHARED is not held while the worker binds: that worker may be inside a callback
        // that stops a listener (ListenerStop takes SHARED), which would never return.
        drop(shared);
        // On the library's shared workers, which outlive every registration's own (see the
        // module's comment); they exist while any registration does.
        let host = crate::api::global::pool::pool().unwrap_or_else(|| listener.obj.pool.clone());
        let worker = PoolWorker {
            index: worker_for(&listener.obj, &host).index(),
            pool: host,
        };
        let entry = Arc::new(SharedSocket {
            worker: worker.clone(),
            listeners: Mutex::new(vec![(listener.clone(), alpns.clone())]),
        });
        let e = entry.clone();
        let bound = worker.worker().run(move |cx| {
            let on_accept = accept_handler(e);
            let sock = TcpListener::bind(cx, bind, v6_only, on_accept)?;
            let local = sock.local_addr()?;
            cx.local::<Sockets>().0.borrow_mut().insert(local, sock);
            Ok::<_, std::io::Error>(local)
        });
        match bound {
            Some(Ok(local)) => {
                qlog!(
                    Info,
                    h as usize,
                    "listener start address={local} alpn={:?}",
                    alpn_names(&alpns)
                );
                if SHARED.lock().insert(local, entry).is_none() {
                    crate::api::global::counted::listener_socket_opened();
                }
                let mut state = listener.obj.state.lock();
                state.worker = Some(worker.clone());
                state.last_worker = Some(worker);
                state.alpns = alpns;
                state.local = Some(local);
                state.reported = Some(reported(local.port()));
                QUIC_STATUS_SUCCESS
            }
            Some(Err(e)) => {
                boundary::fail_reason(format!("cannot listen on {bind}: {e}"));
                match e.kind() {
                    std::io::ErrorKind::AddrInUse => QUIC_STATUS_ADDRESS_IN_USE,
                    std::io::ErrorKind::AddrNotAvailable => QUIC_STATUS_INVALID_ADDRESS,
                    _ => QUIC_STATUS_INTERNAL_ERROR,
                }
            }
            None => QUIC_STATUS_INTERNAL_ERROR,
        }
    }
}

/// ALPN tokens as text, for logs.
/// A client's offered wire tokens as the application tokens they stand for (a token and its
/// QMux form `Xqx` are one), for log lines.
fn offered_names(offered: &[Vec<u8>]) -> Vec<String> {
    let plain: Vec<Vec<u8>> = offered
        .iter()
        .filter(|t| !offered.iter().any(|o| alpn::qmux_form(o) == **t))
        .cloned()
        .collect();
    alpn_names(&plain)
}

fn alpn_names(alpns: &[Vec<u8>]) -> Vec<String> {
    alpns
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// `ListenerStop`: stops accepting; STOP_COMPLETE follows.
pub(crate) unsafe extern "C" fn stop(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `get` validates it.
        if let Some(listener) = unsafe { Handle::<Listener>::get(h) } {
            stop_and_report(&listener, false);
        }
    });
}

/// What the listener's socket does with each accepted connection: hand it to a shared worker,
/// the one the first listener's connection would go to if that listener's registration runs
/// on the shared workers (most often the only listener, and then no second move is needed).
fn accept_handler(shared: Arc<SharedSocket>) -> crate::runtime::listener::OnAccept {
    Box::new(move |_cx, sock, peer| {
        let Some(first) = shared.first() else {
            return;
        };
        let host = &shared.worker.pool;
        let target = if Arc::ptr_eq(&first.obj.pool, host) {
            worker_for(&first.obj, host)
        } else {
            host.pick()
        };
        let shared = shared.clone();
        target.post(Box::new(move |cx| accept_on_worker(cx, shared, sock, peer)));
    })
}

/// Raises NEW_CONNECTION on the worker `listener`'s connection belongs to: this one (a shared
/// worker) if it is one of the listener's registration's and no partition asks for another,
/// else one of that registration's, where the socket moves first.
fn deliver(
    cx: &WorkerCx,
    host: &Arc<Pool>,
    listener: Arc<Handle<Listener>>,
    sock: std::net::TcpStream,
    peer: SocketAddr,
    hello: Option<(RecvBuffer, ClientHello)>,
) {
    let pool = listener.obj.pool.clone();
    let target = match listener.obj.params.partition() {
        Some(_) => Some(worker_for(&listener.obj, &pool)).filter(|w| !w.is_current()),
        None if Arc::ptr_eq(&pool, host) => None,
        None => Some(pool.pick()),
    };
    match target {
        None => raise_new_connection(cx, &listener, sock, peer, hello),
        Some(w) => w.post(Box::new(move |cx| {
            raise_new_connection(cx, &listener, sock, peer, hello);
        })),
    }
}

/// TLS alert record `no_application_protocol` (fatal), sent before any handshake keys.
const NO_APPLICATION_PROTOCOL: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 120];

/// On a shared worker: for TLS, reads the ClientHello first, which picks the listener; then
/// NEW_CONNECTION on that listener's worker.
fn accept_on_worker(
    cx: &WorkerCx,
    shared: Arc<SharedSocket>,
    sock: std::net::TcpStream,
    peer: SocketAddr,
) {
    let Some(first) = shared.first() else {
        return;
    };
    let transport = *first.obj.registration.obj.transport.lock();
    let first_key = first.as_hquic() as usize;
    if transport == QUIC_TRANSPORT_QMUX_TCP {
        deliver(cx, &shared.worker.pool, first, sock, peer, None);
        return;
    }
    // Before the application picks a configuration, a server connection runs on the
    // library-wide settings, as in MsQuic: their HandshakeIdleTimeoutMs bounds the wait for the
    // ClientHello (0: no limit).
    let deadline = Settings::for_connection()
        .handshake_idle_timeout()
        .map(|t| Instant::now() + t);
    let on_hello: OnHello = Box::new(move |cx, mut sock, buf, hello| {
        match shared.route(&hello.alpn) {
            Some(listener) => {
                deliver(
                    cx,
                    &shared.worker.pool,
                    listener,
                    sock,
                    peer,
                    Some((buf, hello)),
                );
            }
            None => {
                // No listener on this address takes any of the client's protocols.
                qlog!(
                    Info,
                    first_key,
                    "listener refused a connection from {peer}: {} (no matching ALPN): the \
                     client offered {:?}, the listeners on this address take {:?}",
                    StatusName(QUIC_STATUS_ALPN_NEG_FAILURE),
                    offered_names(&hello.alpn),
                    shared.alpn_names()
                );
                let _ = std::io::Write::write_all(&mut sock, &NO_APPLICATION_PROTOCOL);
            }
        }
    });
    let on_refused: OnRefused = Box::new(move |why, plain| {
        let status = if plain {
            format!("{}: ", StatusName(QUIC_STATUS_VER_NEG_ERROR))
        } else {
            String::new()
        };
        qlog!(
            Info,
            first_key,
            "listener refused a connection from {peer}: {status}{why}"
        );
    });
    let _ = HelloReader::start(cx, sock, deadline, on_hello, on_refused);
}

/// Raises NEW_CONNECTION for an accepted socket on the connection's worker.
fn raise_new_connection(
    cx: &WorkerCx,
    listener: &Arc<Handle<Listener>>,
    mut sock: std::net::TcpStream,
    peer: SocketAddr,
    hello: Option<(RecvBuffer, ClientHello)>,
) {
    if listener.is_closed_by_app() {
        return;
    }
    // Held until the callback has returned: ListenerStop/Close wait for it.
    let Some(_running) = CallbackGuard::enter(listener) else {
        return;
    };
    let alpns = listener.obj.state.lock().alpns.clone();
    let (negotiated, client_alpns, server_name) = match &hello {
        None => {
            // Plain TCP: no ClientHello; the listener's first token is the protocol, and its
            // list stands in for the client's.
            (
                alpns.first().cloned().unwrap_or_default(),
                alpn::encode(&alpns),
                None,
            )
        }
        Some((_, h)) => match alpn::select(&h.alpn, &alpns) {
            Some((_wire, app)) => (
                app.to_vec(),
                alpn::encode(&alpn::app_list(&h.alpn, &alpns)),
                h.server_name.clone(),
            ),
            None => {
                // No listener takes any of the client's protocols.
                counters::inc(counters::CONN_NO_ALPN);
                qlog!(
                    Info,
                    listener.as_hquic() as usize,
                    "listener refused a connection from {peer}: {} (no matching ALPN): the \
                     client offered {:?}, the listener takes {:?}",
                    StatusName(QUIC_STATUS_ALPN_NEG_FAILURE),
                    offered_names(&h.alpn),
                    alpn_names(&alpns)
                );
                let _ = std::io::Write::write_all(&mut sock, &NO_APPLICATION_PROTOCOL);
                return;
            }
        },
    };
    // A dual-stack socket reports an IPv4 peer as `::ffff:a.b.c.d`; MsQuic reports IPv4.
    let local = sock.local_addr().ok().map(sockaddr::unmapped);
    let peer = sockaddr::unmapped(peer);
    let Some(conn) = connection::new_server_connection(
        cx,
        listener.obj.registration.clone(),
        listener.obj.pool.clone(),
    ) else {
        // The registration is shut down: the connection is refused (the socket is reset).
        listener.obj.rejected.fetch_add(1, Ordering::Relaxed);
        qlog!(
            Info,
            listener.as_hquic() as usize,
            "listener refused a connection from {peer}: its registration is shut down"
        );
        let _ = reset_on_close(&sock);
        return;
    };
    let Some(slot) = crate::api::connection::worker::slot(conn.as_hquic() as usize) else {
        return;
    };
    conn.obj.info.lock().local_address = local;
    *conn.obj.remote_address.lock() = Some(peer);
    *slot.pending.borrow_mut() = Some(PendingAccept { sock, hello });
    *slot.alpn.borrow_mut() = negotiated.clone();
    let local_q = sockaddr::to_quic(local.unwrap_or(peer));
    let remote_q = sockaddr::to_quic(peer);
    let sni = server_name.unwrap_or_default();
    let info = QUIC_NEW_CONNECTION_INFO {
        QuicVersion: 1,
        LocalAddress: &local_q,
        RemoteAddress: &remote_q,
        CryptoBufferLength: 0,
        ClientAlpnListLength: client_alpns.len() as u16,
        ServerNameLength: sni.len().min(u16::MAX as usize) as u16,
        NegotiatedAlpnLength: negotiated.len() as u8,
        CryptoBuffer: core::ptr::null(),
        ClientAlpnList: client_alpns.as_ptr(),
        NegotiatedAlpn: negotiated.as_ptr(),
        ServerName: if sni.is_empty() {
            core::ptr::null()
        } else {
            sni.as_ptr().cast()
        },
    };
    let app_ref = Handle::into_hquic(conn.clone());
    let mut event = QUIC_LISTENER_EVENT {
        Type: QUIC_LISTENER_EVENT_NEW_CONNECTION,
        payload: QUIC_LISTENER_EVENT_PAYLOAD {
            NEW_CONNECTION: QUIC_LISTENER_EVENT_NEW_CONNECTION_PAYLOAD {
                Info: &info,
                Connection: app_ref,
            },
        },
    };
    let key = listener.as_hquic() as usize;
    slot.alpn_choice.begin(&info, &client_alpns);
    let outer = IN_CALLBACK.with(|c| c.replace(key));
    boundary::take_last_failure();
    let status = callbacks::deliver(listener, &mut event);
    IN_CALLBACK.with(|c| c.set(outer));
    slot.alpn_choice.end();
    if QUIC_FAILED(status) {
        // Rejected: the library closes the connection; the application must not. The socket
        // is reset, which the client reports as CONNECTION_REFUSED, as MsQuic's client does
        // when a server application refuses it.
        listener.obj.rejected.fetch_add(1, Ordering::Relaxed);
        counters::inc(counters::CONN_APP_REJECT);
        let during = boundary::take_last_failure()
            .map(|f| format!(" (in the callback, {f})"))
            .unwrap_or_default();
        qlog!(
            Info,
            key,
            "listener refused a connection from {peer}: the NEW_CONNECTION callback returned \
             {}{during}; the client sees QUIC_STATUS_CONNECTION_REFUSED",
            StatusName(status)
        );
        // SAFETY: `app_ref` is the reference handed out above and was not closed by the app.
        drop(unsafe { Handle::<Connection>::close(app_ref) });
        if let Some(pending) = slot.pending.borrow_mut().take() {
            let _ = reset_on_close(&pending.sock);
        }
        slot.complete_silently();
        connection::release(&conn);
    } else {
        listener.obj.accepted.fetch_add(1, Ordering::Relaxed);
        // As MsQuic, which moves every accepted connection to its worker and tells the
        // application so: the connection's first event is IDEAL_PROCESSOR_CHANGED, naming the
        // worker it lives on (what CONN_IDEAL_PROCESSOR answers).
        if !slot.is_shutting_down() {
            let worker = conn.obj.worker as u16;
            let mut event = QUIC_CONNECTION_EVENT {
                Type: QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED,
                payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                    IDEAL_PROCESSOR_CHANGED:
                        QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED_PAYLOAD {
                            IdealProcessor: worker,
                            PartitionIndex: worker,
                        },
                },
            };
            slot.emit(&mut event);
        }
    }
}

/// What an accepted connection takes from its configuration for the handshake.
pub(crate) struct AcceptConfig {
    /// The configuration's ALPN tokens.
    pub(crate) alpns: Vec<Vec<u8>>,
    /// Its credentials.
    pub(crate) tls: Option<LoadedTls>,
    /// ServerResumptionLevel.
    pub(crate) resumption_level: u8,
}

/// ConnectionSetConfiguration on an accepted connection: starts TLS (if used) and QMux on its
/// socket.
pub(crate) fn configure_accepted(
    cx: &WorkerCx,
    slot: &Rc<ConnSlot>,
    engine: proto::Config,
    handshake_timeout: Option<Duration>,
    disconnect_timeout: Duration,
    config: AcceptConfig,
) -> QUIC_STATUS {
    let AcceptConfig {
        alpns,
        tls,
        resumption_level,
    } = config;
    let Some(pending) = slot.pending.borrow_mut().take() else {
        return QUIC_STATUS_INVALID_STATE;
    };
    let offered: Vec<Vec<u8>> = match &pending.hello {
        Some((_, hello)) => hello.alpn.clone(),
        None => slot.alpn_choice.offered(),
    };
    let current = slot.alpn.borrow().clone();
    let chosen = alpn_choice::choose(&offered, &current, slot.alpn_choice.chosen(), &alpns);
    if let Some((_, app)) = &chosen {
        *slot.alpn.borrow_mut() = app.clone();
    }
    let wire = match pending.hello {
        None => {
            if chosen.is_none() {
                if let Some(first) = alpns.first() {
                    *slot.alpn.borrow_mut() = first.clone();
                }
            }
            Wire::Plain
        }
        Some((buf, hello)) => {
            let Some(LoadedTls::Server(server)) = tls else {
                // A server configuration needs server credentials.
                *slot.pending.borrow_mut() = Some(PendingAccept {
                    sock: pending.sock,
                    hello: Some((buf, hello)),
                });
                return QUIC_STATUS_INVALID_PARAMETER;
            };
            let wire = chosen.map(|(w, _)| w);
            let offered = (resumption_level > 0)
                .then(|| TlsSession::offered_ticket_data(&server, &hello))
                .flatten()
                .map(|state| {
                    crate::api::connection::resumption::check_offered(
                        &state,
                        &engine.transport_parameters(),
                    )
                });
            let sock = pending.sock;
            let started = Instant::now();
            let deadline = handshake_timeout.map(|t| started + t);
            let finish = move |cx: &WorkerCx, slot: &Rc<ConnSlot>, resumption: Resumption| {
                // The handshake's time runs from ConnectionSetConfiguration.
                let handshake_timeout =
                    handshake_timeout.map(|t| t.saturating_sub(started.elapsed()));
                // RESUME_AND_ZERORTT: a resumed session takes its early data (0-RTT).
                let resumption = match resumption {
                    Resumption::On if resumption_level >= 2 => Resumption::EarlyData,
                    r => r,
                };
                let session =
                    TlsSession::server_resuming(&server, &hello, buf, wire.as_deref(), resumption);
                match session {
                    Ok(mut session) => {
                        if let Some(sink) =
                            crate::api::connection::tls_secrets::take_sink(&slot.handle)
                        {
                            session.set_secret_sink(sink);
                        }
                        let wire = Wire::Tls(Box::new(session));
                        accept_on(
                            cx,
                            slot,
                            sock,
                            wire,
                            engine,
                            handshake_timeout,
                            disconnect_timeout,
                        )
                    }
                    Err(_) => QUIC_STATUS_INTERNAL_ERROR,
                }
            };
            let on = if resumption_level > 0 {
                Resumption::On
            } else {
                Resumption::Off
            };
            return match offered {
                // RESUMED first; the handshake goes on with the application's answer.
                Some(Some(data)) => {
                    crate::api::connection::resumption::defer_accept(
                        cx,
                        slot,
                        data,
                        Box::new(finish),
                        deadline,
                    );
                    QUIC_STATUS_PENDING
                }
                // A ticket remembering higher limits than this server's now: refused.
                Some(None) => finish(cx, slot, Resumption::Refused),
                None => finish(cx, slot, on),
            };
        }
    };
    accept_on(
        cx,
        slot,
        pending.sock,
        wire,
        engine,
        handshake_timeout,
        disconnect_timeout,
    )
}

/// Runs an accepted connection over `wire` on its socket.
fn accept_on(
    cx: &WorkerCx,
    slot: &Rc<ConnSlot>,
    sock: std::net::TcpStream,
    wire: Wire,
    engine: proto::Config,
    handshake_timeout: Option<Duration>,
    disconnect_timeout: Duration,
) -> QUIC_STATUS {
    match Conn::accept(cx, sock, wire, engine, slot.sink()) {
        Ok(conn) => {
            qlog!(Info, slot.key(), "connection accepted");
            if let Some(timeout) = handshake_timeout {
                conn.set_handshake_deadline(cx, Instant::now() + timeout);
            }
            let dscp = slot.handle.obj.options.dscp();
            if dscp != 0 {
                let _ = conn.set_dscp(dscp);
            }
            conn.set_disconnect_timeout(cx, disconnect_timeout);
            *slot.conn.borrow_mut() = Some(conn.clone());
            conn.begin(cx);
            QUIC_STATUS_PENDING
        }
        Err(_) => QUIC_STATUS_INTERNAL_ERROR,
    }
}
