//! Connections: open, close, shutdown, start, configuration, resumption, datagrams,
//! certificate validation completion and keying-material export.

pub(crate) mod alpn_choice;
pub(crate) mod cert_events;
pub(crate) mod datagram;
pub(crate) mod link;
pub(crate) mod net_stats;
pub(crate) mod network_statistics;
pub(crate) mod on_panic;
pub(crate) mod options;
pub(crate) mod params;
pub(crate) mod pool;
pub(crate) mod quic_only;
pub(crate) mod resumption;
pub(crate) mod sockaddr;
pub(crate) mod start;
pub(crate) mod started_settings;
pub(crate) mod stats;
pub(crate) mod tls_secrets;
pub(crate) mod worker;
pub(crate) mod zero_rtt;

use core::ffi::{CStr, c_char, c_void};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use parking_lot::Mutex;

use crate::api::abi::{
    BOOLEAN, HQUIC, QUIC_ADDRESS_FAMILY, QUIC_CONNECTION_CALLBACK_HANDLER, QUIC_CONNECTION_EVENT,
    QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, QUIC_CONNECTION_SHUTDOWN_FLAGS, QUIC_HANDSHAKE_INFO,
    QUIC_SEND_RESUMPTION_FLAGS, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STATUS_PENDING, QUIC_STATUS_SUCCESS, QUIC_TRANSPORT_QMUX_TCP,
    QUIC_UINT62, QUIC_UINT62_MAX,
};
use crate::api::configuration::Configuration;
use crate::api::configuration::credentials::LoadedTls;
use crate::api::connection::cert_events::CertCheck;
use crate::api::connection::datagram::SendLimits;
use crate::api::connection::options::ConnOptions;
use crate::api::connection::quic_only::ConnParams;
use crate::api::connection::start::StartPlan;
use crate::api::connection::tls_secrets::TlsSecretsParam;
use crate::api::door::boundary;
use crate::api::door::handle::{Handle, Kind, Object};
use crate::api::global::counted::ConnCount;
use crate::api::registration::{ChildGuard, Registration};
use crate::api::settings::Settings;
use crate::api::stream::Stream;
use crate::runtime::counters;
use crate::runtime::log::qlog;
use crate::runtime::worker::{Pool, Worker, WorkerCx};
use worker::ConnSlot;

/// `AF_UNSPEC`, `AF_INET`, `AF_INET6` on Linux.
const FAMILIES: [QUIC_ADDRESS_FAMILY; 3] = [0, 2, 10];
/// `QUIC_MAX_SNI_LENGTH`.
pub(crate) const MAX_SNI_LENGTH: usize = 65535;
/// `QUIC_MAX_RESUMPTION_APP_DATA_LENGTH`.
const MAX_RESUMPTION_APP_DATA_LENGTH: u16 = 1000;
/// `QUIC_SEND_RESUMPTION_FLAG_FINAL`, the only defined flag.
const SEND_RESUMPTION_FLAGS_ALL: u32 = 0x1;

/// A connection: the application's handle; its live state is a [`ConnSlot`] on its worker.
pub(crate) struct Connection {
    guard: Mutex<Option<ChildGuard>>,
    /// The workers, and the index of the one this connection lives on.
    pub(crate) pool: Arc<Pool>,
    /// This connection's worker.
    pub(crate) worker: usize,
    /// The registration's transport when the connection was opened.
    pub(crate) transport: u32,
    /// Connection-level settings (over the configuration's at start).
    pub(crate) settings: Mutex<Settings>,
    /// `SendBufferingEnabled` as resolved at start: `false` makes StreamSend hold the
    /// application's buffers instead of copying them.
    pub(crate) send_buffering: AtomicBool,
    /// `StreamMultiReceiveEnabled` (preview) as resolved at start: RECEIVE events keep coming
    /// while earlier ones are outstanding.
    pub(crate) multi_receive: AtomicBool,
    /// `NetStatsEventEnabled` (preview) as resolved at start and changed by CONN_SETTINGS
    /// since: NETWORK_STATISTICS events are raised.
    pub(crate) net_stats_events: AtomicBool,
    /// The peer address set with CONN_REMOTE_ADDRESS before start.
    pub(crate) remote_address: Mutex<Option<SocketAddr>>,
    /// A client's name lookup under way: address reads from other threads wait for it.
    pub(crate) lookup: crate::api::connection::start::LookupGate,
    /// The local address set with CONN_LOCAL_ADDRESS before start (the client socket binds it).
    pub(crate) bind_address: Mutex<Option<SocketAddr>>,
    /// What the worker learned about the connection, readable from any thread.
    pub(crate) info: Mutex<ConnInfo>,
    started: Mutex<bool>,
    /// A configuration was applied (ConnectionStart, or ConnectionSetConfiguration on a
    /// server): MsQuic's Started, after which settings may no longer change MTU or ECN.
    pub(crate) configured: AtomicBool,
    /// Accepted by a listener (MsQuic's QuicConnIsServer).
    pub(crate) server: bool,
    /// SHUTDOWN_COMPLETE was delivered: the worker holds nothing for this connection.
    pub(crate) finished: AtomicBool,
    /// MsQuic's ClosedLocally and ClosedRemotely ([`CLOSED_LOCALLY`], [`CLOSED_REMOTELY`]),
    /// as the worker learns them: StreamOpen answers from them on any thread.
    pub(crate) closed: AtomicU8,
    /// What DatagramSend may send now.
    pub(crate) datagram_limits: Mutex<SendLimits>,
    /// Datagrams sent by the application and not yet taken by the worker.
    pub(crate) datagram_queue: crate::api::connection::datagram::ApiQueue,
    /// Options set with SetParam (close reason, scheduling, DSCP, close mode).
    pub(crate) options: ConnOptions,
    /// Client: what PEER_CERTIFICATE_RECEIVED needs, when the application asked for it.
    pub(crate) cert_check: Mutex<Option<CertCheck>>,
    /// This connection's place in the performance counters.
    pub(crate) counted: ConnCount,
    /// QUIC-only options kept for GetParam (see `quic_only`).
    pub(crate) params: ConnParams,
    /// The application's QUIC_TLS_SECRETS, if it set one.
    pub(crate) tls_secrets: TlsSecretsParam,
    /// Resumption: the client's ticket, whether a server sends tickets.
    pub(crate) resumption: crate::api::connection::resumption::ConnResumption,
}

/// [`Connection::closed`]: the connection was closed from this side (by the application or the
/// transport).
pub(crate) const CLOSED_LOCALLY: u8 = 1;
/// [`Connection::closed`]: the peer closed the connection.
pub(crate) const CLOSED_REMOTELY: u8 = 2;

/// State the worker caches on the handle as the connection progresses, so that GetParam
/// answers from any thread without a trip to the worker.
#[derive(Default)]
pub(crate) struct ConnInfo {
    /// The socket's local address, once the TCP connection is up.
    pub(crate) local_address: Option<SocketAddr>,
    /// The negotiated TLS parameters, once the TLS handshake completed.
    pub(crate) handshake: Option<QUIC_HANDSHAKE_INFO>,
    /// The application-form ALPN, once CONNECTED fired.
    pub(crate) negotiated_alpn: Option<Vec<u8>>,
    /// The configuration's ALPN list (ConnectionStart / ConnectionSetConfiguration), for
    /// log lines.
    pub(crate) alpns: Vec<Vec<u8>>,
    /// When the connection started (ConnectionStart, or accepted), in microseconds of the
    /// monotonic clock (MsQuic's time base).
    pub(crate) start_us: u64,
    /// When the TCP connection was up (the client's first flight goes then).
    pub(crate) transport_us: u64,
    /// When CONNECTED was raised.
    pub(crate) connected_us: u64,
    /// The largest smoothed RTT seen at a statistics query, in microseconds.
    pub(crate) max_rtt_us: u32,
    /// Both ends enabled reliable reset (RESET_STREAM_AT).
    pub(crate) reliable_reset_negotiated: bool,
    /// The TLS handshake resumed a session (set after CONNECTED, as MsQuic's statistics).
    pub(crate) resumed: bool,
}

/// The monotonic clock in microseconds (MsQuic's `CxPlatTimeUs64` on Linux).
pub(crate) fn now_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

impl Object for Connection {
    const KIND: Kind = Kind::Connection;
}

impl crate::api::door::callbacks::Delivers for Connection {
    type Event = QUIC_CONNECTION_EVENT;

    fn log(h: usize, event: &QUIC_CONNECTION_EVENT) {
        crate::api::door::event_log::connection(h, event);
    }
}

impl Handle<Connection> {
    /// Lets the registration find this connection (`RegistrationShutdown`); false if the
    /// registration is shut down and takes no new connection.
    fn track(self: &Arc<Self>) -> bool {
        match self.obj.guard.lock().as_ref() {
            Some(guard) => guard.registration().obj.track_connection(self),
            None => false,
        }
    }
}

impl crate::api::registration::InFinalEvent for Handle<Connection> {
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

impl Connection {
    /// Whether ConnectionStart was called (or the connection was accepted).
    pub(crate) fn is_started(&self) -> bool {
        *self.started.lock()
    }

    /// Whether RegistrationShutdown was called on this connection's registration.
    pub(crate) fn registration_shutting_down(&self) -> bool {
        self.guard
            .lock()
            .as_ref()
            .is_some_and(|g| g.registration().obj.is_shutting_down())
    }

    /// This connection's worker.
    pub(crate) fn worker(&self) -> &Worker {
        self.pool.worker(self.worker)
    }
}

/// The connection `h` names for the calls where MsQuic lets a stream stand for its connection
/// (ConnectionShutdown, ConnectionStart, ConnectionSetConfiguration,
/// ConnectionSendResumptionTicket, StreamOpen and the two validation-complete calls): a live
/// or closing connection handle, or a live or closing stream handle's connection.
/// ConnectionClose and DatagramSend take connection handles only.
///
/// # Safety
/// `h` is an application handle.
pub(crate) unsafe fn of_handle(h: HQUIC) -> Option<Arc<Handle<Connection>>> {
    // A handle being closed is still allocated, and MsQuic answers these calls for it (with
    // INVALID_STATE where the connection is closed).
    crate::api::door::handle::closing_accepted(|| {
        // SAFETY: the caller's contract is `get`'s.
        if let Some(conn) = unsafe { Handle::<Connection>::get(h) } {
            return Some(conn);
        }
        // SAFETY: as above.
        unsafe { Handle::<Stream>::borrow(h) }.map(|s| s.obj.connection.clone())
    })
}

/// Runs `f` with the connection's slot on its worker: inline when called there, else queued
/// (and, with `wait`, blocking until it ran). The slot is made if the connection has none yet.
pub(crate) fn on_slot(
    conn: &Arc<Handle<Connection>>,
    wait: bool,
    f: impl FnOnce(&WorkerCx, &Rc<ConnSlot>) + Send + 'static,
) {
    on_slot_else(conn, wait, f, || {});
}

/// As [`on_slot`], running `gone` (on the worker) instead of `f` when the connection is over.
pub(crate) fn on_slot_else(
    conn: &Arc<Handle<Connection>>,
    wait: bool,
    f: impl FnOnce(&WorkerCx, &Rc<ConnSlot>) + Send + 'static,
    gone: impl FnOnce() + Send + 'static,
) {
    let handle = conn.clone();
    let op = move |cx: &WorkerCx| {
        let key = handle.as_hquic() as usize;
        let slot = match worker::slot(key) {
            Some(slot) => slot,
            // The connection is over: nothing is left to act on.
            None if handle.obj.finished.load(Ordering::Acquire) => return gone(),
            None => {
                let slot = ConnSlot::new(handle.clone());
                worker::insert(slot.clone());
                slot
            }
        };
        // A panic ends this connection only.
        crate::api::connection::on_panic::contain(&handle, || f(cx, &slot));
    };
    let worker = conn.obj.worker();
    if worker.is_current() {
        let _ = worker.run(op);
        return;
    }
    // Queued from another thread: one connection operation, as MsQuic counts them.
    counters::inc(counters::CONN_OPER_QUEUED);
    counters::inc(counters::CONN_OPER_QUEUE_DEPTH);
    let op = move |cx: &WorkerCx| {
        counters::dec(counters::CONN_OPER_QUEUE_DEPTH);
        op(cx);
        counters::inc(counters::CONN_OPER_COMPLETED);
    };
    if wait {
        let _ = worker.run(op);
    } else {
        worker.post(Box::new(op));
    }
}

/// Makes the handle and slot of a server-side connection on the calling worker; `None` if
/// the registration is shut down.
pub(crate) fn new_server_connection(
    cx: &WorkerCx,
    registration: Arc<Handle<Registration>>,
    pool: Arc<Pool>,
) -> Option<Arc<Handle<Connection>>> {
    let transport = *registration.obj.transport.lock();
    let conn = Connection {
        guard: Mutex::new(Some(ChildGuard::new(registration))),
        pool,
        worker: cx.index(),
        transport,
        settings: Mutex::new(Settings::for_connection()),
        send_buffering: AtomicBool::new(true),
        multi_receive: AtomicBool::new(false),
        net_stats_events: AtomicBool::new(false),
        remote_address: Mutex::new(None),
        lookup: Default::default(),
        bind_address: Mutex::new(None),
        // An accepted socket is connected already.
        info: Mutex::new(ConnInfo {
            start_us: now_us(),
            transport_us: now_us(),
            ..ConnInfo::default()
        }),
        started: Mutex::new(true),
        configured: AtomicBool::new(false),
        server: true,
        finished: AtomicBool::new(false),
        closed: AtomicU8::new(0),
        datagram_limits: Mutex::new(SendLimits::default()),
        datagram_queue: Default::default(),
        options: ConnOptions::default(),
        cert_check: Mutex::new(None),
        counted: ConnCount::new(true),
        params: ConnParams::new(true),
        tls_secrets: TlsSecretsParam::default(),
        resumption: Default::default(),
    };
    let handle = Handle::new(conn, core::ptr::null_mut(), core::ptr::null_mut());
    if !handle.track() {
        return None;
    }
    worker::insert(ConnSlot::new(handle.clone()));
    Some(handle)
}

/// Releases what an application-closed connection held (its place in its registration and
/// in the performance counters), once its close has completed: the application's reference is
/// in the quarantine by then, so the connection is freed with it at the last MsQuicClose,
/// which a RegistrationClose waiting for this place comes before. A connection closed inside
/// its SHUTDOWN_COMPLETE callback is released when the callback returns, as MsQuic frees a
/// connection (and lets go of its registration) once its worker is done with it.
pub(crate) fn release(conn: &Handle<Connection>) {
    conn.obj.counted.release();
    if let Some(guard) = conn.obj.guard.lock().take() {
        guard
            .registration()
            .obj
            .forget_connection(conn.as_hquic() as usize);
    }
}

/// Starts a local shutdown (`ConnectionShutdown`, or `RegistrationShutdown` for each
/// connection): queued to the connection's worker, or inline on it.
pub(crate) fn shutdown_connection(conn: &Arc<Handle<Connection>>, silent: bool, error_code: u64) {
    on_slot(conn, false, move |cx, slot| {
        slot.app_shutdown(cx, silent, error_code)
    });
}

fn open_in(
    registration: HQUIC,
    partition: Option<u16>,
    handler: QUIC_CONNECTION_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
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
    let pool = reg.obj.pool.clone();
    let worker = match partition {
        Some(p) => {
            let partitions = std::thread::available_parallelism().map_or(1, |n| n.get());
            if usize::from(p) >= partitions {
                return QUIC_STATUS_INVALID_PARAMETER;
            }
            usize::from(p) % pool.len()
        }
        None => pool.pick().index(),
    };
    let transport = *reg.obj.transport.lock();
    let conn = Connection {
        guard: Mutex::new(Some(ChildGuard::new(reg))),
        pool,
        worker,
        transport,
        settings: Mutex::new(Settings::for_connection()),
        send_buffering: AtomicBool::new(true),
        multi_receive: AtomicBool::new(false),
        net_stats_events: AtomicBool::new(false),
        remote_address: Mutex::new(None),
        lookup: Default::default(),
        bind_address: Mutex::new(None),
        info: Mutex::new(ConnInfo::default()),
        started: Mutex::new(false),
        configured: AtomicBool::new(false),
        server: false,
        finished: AtomicBool::new(false),
        closed: AtomicU8::new(0),
        datagram_limits: Mutex::new(SendLimits::default()),
        datagram_queue: Default::default(),
        options: ConnOptions::default(),
        cert_check: Mutex::new(None),
        counted: ConnCount::new(false),
        params: ConnParams::new(false),
        tls_secrets: TlsSecretsParam::default(),
        resumption: Default::default(),
    };
    let handle = Handle::new(conn, context, handler as *mut c_void);
    if !handle.track() {
        // RegistrationShutdown was called (MsQuic's QuicConnRegister fails the same way).
        return QUIC_STATUS_INVALID_STATE;
    }
    let h = Handle::into_hquic(handle);
    // SAFETY: `out` is non-NULL and writable by the API contract.
    unsafe { out.write(h) };
    QUIC_STATUS_SUCCESS
}

/// `ConnectionOpen`.
pub(crate) unsafe extern "C" fn open(
    registration: HQUIC,
    handler: QUIC_CONNECTION_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::call("ConnectionOpen", || {
        open_in(registration, None, handler, context, out)
    })
}

/// `ConnectionOpenInPartition`: the partition must name one of the machine's processors.
pub(crate) unsafe extern "C" fn open_in_partition(
    registration: HQUIC,
    partition: u16,
    handler: QUIC_CONNECTION_CALLBACK_HANDLER,
    context: *mut c_void,
    out: *mut HQUIC,
) -> QUIC_STATUS {
    boundary::call("ConnectionOpenInPartition", || {
        open_in(registration, Some(partition), handler, context, out)
    })
}

/// `ConnectionClose`: shuts the connection down silently if it is not already, waits for
/// that on its worker (SHUTDOWN_COMPLETE is delivered with AppCloseInProgress), and frees the
/// handle. Until SHUTDOWN_COMPLETE has returned the handle still answers GetContext,
/// SetContext, SetCallbackHandler and GetParam.
pub(crate) unsafe extern "C" fn close(h: HQUIC) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `begin_close` validates it.
        let Some(conn) = (unsafe { Handle::<Connection>::begin_close(h) }) else {
            return;
        };
        // CONN_CLOSE_ASYNC: the cleanup goes on the worker's queue and the caller moves on.
        let wait = !conn.obj.options.close_async.load(Ordering::Relaxed);
        on_slot(&conn, wait, move |cx, slot| slot.close_handle(cx));
        // Completes the close if SHUTDOWN_COMPLETE has returned; otherwise its return does
        // (and releases the connection then, see `ConnSlot::complete`).
        if conn.end_close() {
            release(&conn);
        }
    });
}

/// `ConnectionShutdown`: starts a graceful (CONNECTION_CLOSE with the application's error
/// code) or silent shutdown; completion is reported with SHUTDOWN_COMPLETE.
pub(crate) unsafe extern "C" fn shutdown(
    h: HQUIC,
    flags: QUIC_CONNECTION_SHUTDOWN_FLAGS,
    error_code: QUIC_UINT62,
) {
    boundary::unit(|| {
        // SAFETY: `h` is an application handle; `of_handle` validates it.
        let Some(conn) = (unsafe { of_handle(h) }) else {
            return;
        };
        if error_code > QUIC_UINT62_MAX {
            return;
        }
        let silent = flags.0 & QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT.0 != 0;
        conn.obj.tls_secrets.close();
        shutdown_connection(&conn, silent, error_code);
    });
}

/// `ConnectionStart`: resolves the server name off the connection's worker, connects over
/// TCP to its addresses (Happy Eyeballs, `start.rs`) and runs QMux; CONNECTED or
/// SHUTDOWN_* events report the outcome.
pub(crate) unsafe extern "C" fn start(
    h: HQUIC,
    configuration: HQUIC,
    family: QUIC_ADDRESS_FAMILY,
    server_name: *const c_char,
    server_port: u16,
) -> QUIC_STATUS {
    boundary::call("ConnectionStart", || {
        // SAFETY: both are application handles; `of_handle` and `get` validate them.
        let (conn, config) = unsafe { (of_handle(h), Handle::<Configuration>::get(configuration)) };
        let (Some(conn), Some(config)) = (conn, config) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if server_port == 0 || !FAMILIES.contains(&family) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let remote = *conn.obj.remote_address.lock();
        let bind = *conn.obj.bind_address.lock();
        // As MsQuic: a server connection, or no name and no CONN_REMOTE_ADDRESS, before the
        // started state.
        if conn.obj.server {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let mut too_long = false;
        let name = if server_name.is_null() {
            if remote.is_none() {
                return QUIC_STATUS_INVALID_PARAMETER;
            }
            String::new()
        } else {
            // SAFETY: a non-NULL ServerName is NUL-terminated by the API contract.
            let bytes = unsafe { CStr::from_ptr(server_name) }.to_bytes();
            too_long = bytes.len() > MAX_SNI_LENGTH;
            String::from_utf8_lossy(bytes).into_owned()
        };
        // MsQuic's order: started, then credentials, then the name's length.
        let tls = {
            let mut started = conn.obj.started.lock();
            // Closed (or shut down) on this side counts as started: MsQuic's ClosedLocally.
            let closed = conn.is_closed_by_app()
                || conn.obj.closed.load(Ordering::Acquire) & CLOSED_LOCALLY != 0;
            if *started || closed {
                return QUIC_STATUS_INVALID_STATE;
            }
            let tls = if conn.obj.transport == QUIC_TRANSPORT_QMUX_TCP {
                None
            } else {
                match config.obj.tls.lock().clone() {
                    Some(LoadedTls::Client(c)) => Some(c),
                    // A client needs client credentials (ConfigurationLoadCredential).
                    _ => {
                        boundary::fail_reason(
                            "the configuration has no client credential \
                             (ConfigurationLoadCredential with QUIC_CREDENTIAL_FLAG_CLIENT)",
                        );
                        return QUIC_STATUS_INVALID_PARAMETER;
                    }
                }
            };
            if too_long {
                return QUIC_STATUS_INVALID_PARAMETER;
            }
            *started = true;
            tls
        };
        conn.obj.tls_secrets.close();
        conn.obj.info.lock().start_us = now_us();
        if let Some(client) = &tls {
            // The name the certificate must match: the server name, else the address.
            let check_name = match (name.is_empty(), remote) {
                (false, _) | (true, None) => name.clone(),
                (true, Some(addr)) => addr.ip().to_string(),
            };
            *conn.obj.cert_check.lock() = CertCheck::client(
                config.obj.cert_flags.load(Ordering::Relaxed),
                client.clone(),
                check_name,
            );
        }
        conn.obj.counted.started();
        conn.obj.params.adopt(&config.obj.params);
        let settings = adopt_settings(&conn, &config);
        let alpn = config.obj.alpns.first().cloned().unwrap_or_default();
        conn.obj.info.lock().alpns = config.obj.alpns.clone();
        let mut engine = settings.engine_config(false);
        engine.scheduling = conn.obj.options.scheduling();
        let handshake_deadline = settings
            .handshake_idle_timeout()
            .map(|d| std::time::Instant::now() + d);
        let disconnect_timeout = settings.disconnect_timeout();
        qlog!(
            Info,
            h as usize,
            "connection start server={name:?} port={server_port} family={family}"
        );
        let reg_down = conn.obj.registration_shutting_down();
        let plan = StartPlan {
            name,
            port: server_port,
            family,
            remote,
            bind,
            tls,
            engine,
            handshake_deadline,
            disconnect_timeout,
        };
        on_slot(&conn, false, move |cx, slot| {
            if reg_down {
                // As MsQuic: a start after RegistrationShutdown shuts the connection down
                // (silently, as it never reached the network).
                slot.app_shutdown(cx, true, 0);
                return;
            }
            *slot.alpn.borrow_mut() = alpn;
            crate::api::connection::start::begin(cx, slot, plan);
        });
        QUIC_STATUS_PENDING
    })
}

/// The connection's settings with the configuration's explicitly set fields adopted where
/// the connection set none of its own, as ConnectionStart and ConnectionSetConfiguration
/// take them. The first time, they become the connection's settings (GetParam then reports
/// them, IsSet included, as MsQuic does) and MTU and ECN are fixed from then on.
fn adopt_settings(conn: &Handle<Connection>, config: &Handle<Configuration>) -> Settings {
    let mut settings = conn.obj.settings.lock().clone();
    settings.adopt(&config.obj.settings.lock(), false);
    if !conn.obj.configured.swap(true, Ordering::AcqRel) {
        *conn.obj.settings.lock() = settings.clone();
    }
    conn.obj
        .send_buffering
        .store(settings.send_buffering_enabled, Ordering::Relaxed);
    conn.obj
        .multi_receive
        .store(settings.stream_multi_receive_enabled, Ordering::Relaxed);
    conn.obj
        .net_stats_events
        .store(settings.net_stats_event_enabled, Ordering::Relaxed);
    settings
}

/// `ConnectionSetConfiguration`: on a server connection accepted by a listener, starts QMux
/// with the configuration's settings.
pub(crate) unsafe extern "C" fn set_configuration(h: HQUIC, configuration: HQUIC) -> QUIC_STATUS {
    boundary::call("ConnectionSetConfiguration", || {
        // SAFETY: both are application handles; `of_handle` and `get` validate them.
        let (conn, config) = unsafe { (of_handle(h), Handle::<Configuration>::get(configuration)) };
        let (Some(conn), Some(config)) = (conn, config) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        if !conn.obj.server {
            // A client takes its configuration in ConnectionStart (as MsQuic checks).
            boundary::fail_reason("a client connection takes its configuration in ConnectionStart");
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        if conn.obj.transport != QUIC_TRANSPORT_QMUX_TCP && config.obj.tls.lock().is_none() {
            // No credentials loaded: refused by the call itself, from any thread, as MsQuic.
            boundary::fail_reason(
                "the configuration has no credential (a TLS server needs \
                 ConfigurationLoadCredential with a certificate)",
            );
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        conn.obj.params.adopt(&config.obj.params);
        let settings = adopt_settings(&conn, &config);
        let resumption_level = settings.server_resumption_level;
        conn.obj.resumption.set_level(resumption_level);
        let mut engine = settings.engine_config(true);
        engine.scheduling = conn.obj.options.scheduling();
        let handshake_timeout = settings.handshake_idle_timeout();
        let disconnect_timeout = settings.disconnect_timeout();
        let alpns = config.obj.alpns.clone();
        let tls = config.obj.tls.lock().clone();
        conn.obj.info.lock().alpns = alpns.clone();
        // A server hears of the client's certificate (or of its absence).
        *conn.obj.cert_check.lock() = match &tls {
            Some(LoadedTls::Server(server)) => CertCheck::server(
                config.obj.cert_flags.load(Ordering::Relaxed),
                server.clone(),
            ),
            _ => None,
        };
        conn.obj.tls_secrets.close();
        let (tx, rx) = crossbeam_channel::bounded(1);
        on_slot(&conn, false, move |cx, slot| {
            let status = crate::api::listener::link::configure_accepted(
                cx,
                slot,
                engine,
                handshake_timeout,
                disconnect_timeout,
                crate::api::listener::link::AcceptConfig {
                    alpns,
                    tls,
                    resumption_level,
                },
            );
            let _ = tx.send(status);
        });
        // Inline (from NEW_CONNECTION) the answer is ready; queued, it comes later.
        rx.try_recv().unwrap_or(QUIC_STATUS_PENDING)
    })
}

/// `ConnectionSendResumptionTicket`: arguments are validated (a client gets INVALID_PARAMETER,
/// as in MsQuic), then a server sends a ticket carrying the data (see `resumption`).
pub(crate) unsafe extern "C" fn send_resumption_ticket(
    h: HQUIC,
    flags: QUIC_SEND_RESUMPTION_FLAGS,
    data_length: u16,
    data: *const u8,
) -> QUIC_STATUS {
    boundary::call("ConnectionSendResumptionTicket", || {
        // SAFETY: `h` is an application handle; `of_handle` validates it.
        let conn = unsafe { of_handle(h) };
        // A client sends no tickets (MsQuic checks it after the arguments).
        if conn.as_ref().is_none_or(|c| !c.obj.server)
            || flags.0 & !SEND_RESUMPTION_FLAGS_ALL != 0
            || data_length > MAX_RESUMPTION_APP_DATA_LENGTH
            || (data_length > 0 && data.is_null())
        {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        let Some(conn) = conn else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        // SAFETY: `data` is readable for `data_length` bytes (API contract).
        let data = unsafe { crate::api::connection::resumption::copy_data(data_length, data) };
        crate::api::connection::resumption::send_ticket(&conn, flags, data)
    })
}

/// `ConnectionResumptionTicketValidationComplete`: a server's answer to RESUMED (a client
/// gets INVALID_PARAMETER, as in MsQuic).
pub(crate) unsafe extern "C" fn resumption_ticket_validation_complete(
    h: HQUIC,
    result: BOOLEAN,
) -> QUIC_STATUS {
    boundary::call("ConnectionResumptionTicketValidationComplete", || {
        // SAFETY: `h` is an application handle; `of_handle` validates it.
        match unsafe { of_handle(h) } {
            Some(c) if c.obj.server => {
                crate::api::connection::resumption::validation_complete(&c, result)
            }
            _ => QUIC_STATUS_INVALID_PARAMETER,
        }
    })
}
