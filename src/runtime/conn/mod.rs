//! One QMux connection on a worker: a TCP socket, the byte channel over it (plain, or TLS
//! when it arrives), and the sans-IO engine from `proto`.
//!
//! The worker drives it from socket readiness and its timer. Events go to a [`ConnSink`]
//! with nothing borrowed, so the sink may call straight back into the connection (MsQuic's
//! inline API calls): [`Conn::with_engine`] borrows the engine briefly and then lets the
//! connection make progress.

pub mod first_bytes;
mod hello;
mod io_loop;
mod net_stats;
mod plain_write;
pub mod race;
mod send_buf;
mod socket;

pub use hello::{HelloReader, OnHello, OnRefused};
pub use net_stats::NetStats;
pub use socket::{TcpInfo, reset_on_close};

/// Frees the buffers this thread keeps for the next connections' reads, writes and copies:
/// its worker has been idle a while, so an idle process holds none.
pub fn release_pooled_buffers() {
    send_buf::release_pooled();
    crate::runtime::tls::release_pooled();
    crate::proto::spares::release_all();
    if let Some(release) = ALSO_RELEASE.get() {
        release();
    }
}

/// What the layer above keeps per thread, freed with the pooled buffers.
static ALSO_RELEASE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Has [`release_pooled_buffers`] also call `release` (the layer above's own per-thread
/// spares); the first call sets it, later ones are ignored.
pub fn also_release(release: fn()) {
    let _ = ALSO_RELEASE.set(release);
}

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::Interest;
use mio::net::TcpStream;

use crate::proto;
use crate::runtime::timers::SourceKey;
use crate::runtime::tls::{RecvBuffer, TlsError, TlsSession};
use crate::runtime::worker::{Source, WorkerCx};

/// What a connection reports to the layer above.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnEvent {
    /// The TCP connection is established (client side).
    TransportConnected,
    /// The transport failed before or during the connection (connect refused, reset, ...).
    TransportFailed(io::ErrorKind),
    /// The TLS handshake completed (the session can be inspected with [`Conn::tls`]).
    TlsHandshakeComplete,
    /// The TLS session failed; the alert, if any, was sent.
    TlsFailed(TlsError),
    /// The handshake (TCP connect, TLS and the peer's transport parameters) did not finish
    /// before the deadline given to [`Conn::set_handshake_deadline`]; the socket is closed.
    HandshakeTimedOut,
    /// A session ticket arrived (client): the number naming it in the process's table
    /// (see [`TlsSession::client_resuming`]).
    ResumptionTicket(u64),
    /// An event from the QMux engine.
    Engine(proto::Event),
    /// Network statistics, at the end of a worker turn in which the connection wrote
    /// stream or datagram data, when the sink wants them ([`ConnSink::wants_net_stats`]).
    NetworkStatistics(NetStats),
}

/// The byte channel between the socket and the engine.
pub enum Wire {
    /// QMux straight over TCP.
    Plain,
    /// QMux over TLS 1.3.
    Tls(Box<TlsSession>),
}

/// Receives a connection's events, on its worker, with nothing borrowed.
pub trait ConnSink {
    /// Handles one event. The sink may call back into `conn`.
    fn deliver(&self, cx: &WorkerCx, conn: &Rc<Conn>, event: ConnEvent);

    /// The address logs name the connection by (the API handle's); 0 if none.
    fn log_id(&self) -> usize {
        0
    }

    /// Whether [`ConnEvent::NetworkStatistics`] reports are wanted now (asked after writes
    /// of application data; the default wants none).
    fn wants_net_stats(&self) -> bool {
        false
    }

    /// The connection's work panicked (a bug in this library): the sink ends the connection.
    /// The default closes it with INTERNAL_ERROR (CONNECTION_CLOSE 0x1c, if it can still be
    /// written).
    fn on_panic(&self, cx: &WorkerCx, conn: &Rc<Conn>) {
        let _ = cx;
        conn.close_internal_error();
    }
}

/// Where the socket is in its life.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Phase {
    /// A non-blocking connect is in progress.
    Connecting,
    /// Bytes flow.
    Open,
    /// The socket is gone (failed, or the engine drained).
    Finished,
}

/// A connection driven by a worker.
pub struct Conn {
    key: Cell<Option<SourceKey>>,
    inner: RefCell<Inner>,
    sink: Box<dyn ConnSink>,
    /// Set while `progress` runs, so nested calls from the sink only mark more work.
    progressing: Cell<bool>,
    /// More work was asked for while `progress` ran.
    again: Cell<bool>,
    /// The socket's send-buffer capacity as last read, when, and in which worker round.
    send_buffer: Cell<Option<(usize, Instant, u64)>>,
}

/// How long a reading of the socket's send-buffer capacity stands (it is asked for at every
/// stream start, for IDEAL_SEND_BUFFER_SIZE; TCP autotuning changes it over round trips).
const SEND_BUFFER_FRESH: Duration = Duration::from_millis(10);

/// Whether a send-buffer reading taken at `at` in worker round `read_in` still stands in
/// round `round`: always within the round it was read in (no clock read: a busy worker
/// starts many streams per round), else for [`SEND_BUFFER_FRESH`] by `now`. Round 0 is no
/// worker's, so there only the clock counts.
fn send_buffer_fresh(at: Instant, read_in: u64, round: u64, now: impl FnOnce() -> Instant) -> bool {
    (round != 0 && read_in == round) || now().saturating_duration_since(at) < SEND_BUFFER_FRESH
}

struct Inner {
    sock: TcpStream,
    phase: Phase,
    engine: proto::Connection,
    wire: Wire,
    /// TLS records produced but not yet written (handshake messages, alerts).
    tls_out: Vec<u8>,
    tls_failure: Option<TlsError>,
    /// The peer's first bytes were checked for the other transport (see [`first_bytes`]).
    first_checked: bool,
    /// The TLS session failed: once its alert is written, the connection is over.
    tls_dead: bool,
    tls_complete_raised: bool,
    /// Socket bytes not yet written; records are produced straight into it.
    pending: send_buf::SendBuf,
    /// The socket's local address, once asked for (it does not change once connecting).
    local: Cell<Option<SocketAddr>>,
    /// The peer's address, once the socket is known to be connected.
    peer: Cell<Option<SocketAddr>>,
    /// Socket reads land here for plain TCP (TLS reads into the session's buffer).
    rbuf: RecvBuffer,
    write_shut: bool,
    failure: Option<io::ErrorKind>,
    transport_connected_raised: bool,
    /// When the handshake must have finished, if bounded.
    handshake_deadline: Option<Instant>,
    /// The handshake deadline passed: `HandshakeTimedOut` is still to be raised.
    handshake_timed_out: bool,
    /// How long the socket may take no bytes while output waits (MsQuic's
    /// DisconnectTimeoutMs); `None` waits for ever.
    disconnect_timeout: Option<Duration>,
    /// While output waits for the socket: when it ends the connection unless a write makes
    /// progress first.
    write_stall_deadline: Option<Instant>,
    /// Bytes written to the socket so far.
    bytes_written: u64,
    /// Records sent and received already added to the library's counters.
    records_counted: (u64, u64),
    /// The address logs name this connection by (the API handle's).
    log_id: usize,
    /// The last read stopped at its budget with the socket still readable.
    more_input: bool,
    /// The last flush stopped at its budget with output left and the socket writable.
    more_output: bool,
    /// The TLS session's record budget ran out with records left in its receive buffer.
    tls_records_left: bool,
    /// Session tickets received and not yet reported.
    tickets: std::collections::VecDeque<u64>,
    /// The engine's Connected (and the limits event right after it), held while the TLS
    /// handshake is not over: a server's engine takes the client's transport parameters from
    /// early data (0-RTT), but the connection is connected only once the handshake is.
    held_events: std::collections::VecDeque<proto::Event>,
    /// What the next socket read asks for (see `io_loop::READ_MIN`).
    read_want: usize,
    /// A client's engine events since its early data went out, held until the connection
    /// is connected (they follow CONNECTED, as MsQuic completes 0-RTT sends once the
    /// server acknowledges them) or fails.
    client_held: std::collections::VecDeque<proto::Event>,
    /// `client_held` is being delivered.
    client_release: bool,
    /// Stream and datagram bytes the engine had written at the last network statistics
    /// check (see `net_stats.rs`).
    net_stats_mark: u64,
}

impl Conn {
    /// Starts a client connection to `addr` on the calling worker.
    pub fn connect(
        cx: &WorkerCx,
        addr: SocketAddr,
        wire: Wire,
        config: proto::Config,
        sink: Box<dyn ConnSink>,
    ) -> io::Result<Rc<Self>> {
        Self::connect_from(cx, None, addr, wire, config, sink)
    }

    /// Starts a client connection to `addr` on the calling worker, from the socket address
    /// `local` if given (bound before connecting).
    pub fn connect_from(
        cx: &WorkerCx,
        local: Option<SocketAddr>,
        addr: SocketAddr,
        wire: Wire,
        config: proto::Config,
        sink: Box<dyn ConnSink>,
    ) -> io::Result<Rc<Self>> {
        let sock = match local {
            None => TcpStream::connect(addr)?,
            Some(local) => TcpStream::from_std(crate::runtime::sys::bound_connect(local, addr)?),
        };
        let engine = proto::Connection::new(proto::Side::Client, config, Instant::now());
        Self::install(cx, sock, Phase::Connecting, wire, engine, sink)
    }

    /// Starts a client connection on the calling worker over `sock`, a socket that another
    /// source saw connected to `peer` (a [`race::Race`] winner): the client speaks first at
    /// its first readiness, without asking the socket again whether it connected.
    pub fn connected(
        cx: &WorkerCx,
        sock: TcpStream,
        peer: SocketAddr,
        wire: Wire,
        config: proto::Config,
        sink: Box<dyn ConnSink>,
    ) -> io::Result<Rc<Self>> {
        let engine = proto::Connection::new(proto::Side::Client, config, Instant::now());
        let conn = Self::install(cx, sock, Phase::Connecting, wire, engine, sink)?;
        conn.inner.borrow().peer.set(Some(peer));
        Ok(conn)
    }

    /// Takes over an accepted server-side socket (non-blocking, as a
    /// [`crate::runtime::listener::Listener`] accepts it) on the calling worker. Bytes the
    /// ClientHello reader buffered (the ClientHello, and early data after it) are processed
    /// by [`Conn::begin`], once the caller has kept the connection where its sink finds it.
    pub fn accept(
        cx: &WorkerCx,
        sock: std::net::TcpStream,
        wire: Wire,
        config: proto::Config,
        sink: Box<dyn ConnSink>,
    ) -> io::Result<Rc<Self>> {
        debug_assert!(crate::runtime::sys::is_nonblocking(&sock));
        let engine = proto::Connection::new(proto::Side::Server, config, Instant::now());
        let conn = Self::install(
            cx,
            TcpStream::from_std(sock),
            Phase::Open,
            wire,
            engine,
            sink,
        )?;
        Ok(conn)
    }

    /// Processes what an accepted connection's socket delivered before it was taken over,
    /// now rather than at the next readiness, and delivers the events that follow.
    pub fn begin(self: &Rc<Self>, cx: &WorkerCx) {
        self.inner.borrow_mut().process_tls();
        self.progress(cx);
    }

    /// Bounds the handshake: unless the engine is connected (the peer's transport parameters
    /// arrived) by `deadline`, the connection ends with [`ConnEvent::HandshakeTimedOut`].
    pub fn set_handshake_deadline(&self, cx: &WorkerCx, deadline: Instant) {
        self.inner.borrow_mut().handshake_deadline = Some(deadline);
        self.settle(cx);
    }

    /// Bounds how long output may wait for a socket that accepts no bytes: after `timeout`
    /// without any write progress, the connection fails with
    /// [`ConnEvent::TransportFailed`]`(TimedOut)` (decisions.md §4, DisconnectTimeoutMs).
    pub fn set_disconnect_timeout(&self, cx: &WorkerCx, timeout: Duration) {
        {
            let mut inner = self.inner.borrow_mut();
            inner.disconnect_timeout = Some(timeout);
            inner.write_stall_deadline = None;
            inner.note_write_progress(false, Instant::now());
        }
        self.settle(cx);
    }

    /// Sends a session ticket carrying `app_data` (server, resumption on, handshake over;
    /// see [`TlsSession::send_resumption_ticket`]).
    pub fn send_resumption_ticket(
        self: &Rc<Self>,
        cx: &WorkerCx,
        app_data: &[u8],
    ) -> Result<(), TlsError> {
        let result = {
            let inner = &mut *self.inner.borrow_mut();
            match &mut inner.wire {
                Wire::Tls(s) => s.send_resumption_ticket(app_data, &mut inner.tls_out),
                Wire::Plain => Err(TlsError::new(crate::runtime::tls::TlsErrorKind::NotReady)),
            }
        };
        self.progress(cx);
        result
    }

    /// The TLS session, if the connection uses TLS.
    pub fn tls<R>(&self, f: impl FnOnce(Option<&TlsSession>) -> R) -> R {
        match &self.inner.borrow().wire {
            Wire::Tls(s) => f(Some(s)),
            Wire::Plain => f(None),
        }
    }

    fn install(
        cx: &WorkerCx,
        sock: TcpStream,
        phase: Phase,
        wire: Wire,
        engine: proto::Connection,
        sink: Box<dyn ConnSink>,
    ) -> io::Result<Rc<Self>> {
        let _ = sock.set_nodelay(true);
        // Plain connections read into their own buffer (a TLS session has its own).
        let rbuf = RecvBuffer::default();
        let conn = Rc::new(Self {
            key: Cell::new(None),
            inner: RefCell::new(Inner {
                sock,
                phase,
                engine,
                wire,
                tls_out: Vec::new(),
                tls_failure: None,
                first_checked: false,
                tls_dead: false,
                tls_complete_raised: false,
                pending: send_buf::SendBuf::with_capacity(io_loop::SEND_BUF_SIZE),
                local: Cell::new(None),
                peer: Cell::new(None),
                rbuf,
                write_shut: false,
                failure: None,
                transport_connected_raised: phase == Phase::Open,
                handshake_deadline: None,
                handshake_timed_out: false,
                disconnect_timeout: None,
                write_stall_deadline: None,
                bytes_written: 0,
                records_counted: (0, 0),
                log_id: sink.log_id(),
                more_input: false,
                more_output: false,
                tls_records_left: false,
                tickets: std::collections::VecDeque::new(),
                held_events: std::collections::VecDeque::new(),
                read_want: io_loop::READ_MIN,
                client_held: std::collections::VecDeque::new(),
                client_release: false,
                net_stats_mark: 0,
            }),
            sink,
            progressing: Cell::new(false),
            again: Cell::new(false),
            send_buffer: Cell::new(None),
        });
        let key = cx.insert(conn.clone());
        conn.key.set(Some(key));
        let registered = cx.registry().register(
            &mut conn.inner.borrow_mut().sock,
            cx.token(key),
            Interest::READABLE | Interest::WRITABLE,
        );
        if let Err(e) = registered {
            cx.remove(key);
            return Err(e);
        }
        Ok(conn)
    }

    /// Runs `f` on the engine (an application command), then lets the connection make
    /// progress: output is written, events are delivered, the timer is re-armed.
    pub fn with_engine<R>(
        self: &Rc<Self>,
        cx: &WorkerCx,
        f: impl FnOnce(&mut proto::Connection) -> R,
    ) -> R {
        let r = f(&mut self.inner.borrow_mut().engine);
        self.progress(cx);
        r
    }

    /// Runs `f` on the engine without making progress (the caller makes progress later, or
    /// `f` changes nothing that needs it).
    pub fn with_engine_quiet<R>(&self, f: impl FnOnce(&mut proto::Connection) -> R) -> R {
        f(&mut self.inner.borrow_mut().engine)
    }

    /// Reads engine state without making progress.
    pub fn inspect<R>(&self, f: impl FnOnce(&proto::Connection) -> R) -> R {
        f(&self.inner.borrow().engine)
    }

    /// The socket's send-buffer capacity (`SO_SNDBUF`, read again when the last reading is
    /// from an earlier worker round and older than `SEND_BUFFER_FRESH`); `WouldBlock` if
    /// asked from inside an engine command.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        let round = crate::runtime::worker::round_number();
        let mut now = None;
        if let Some((size, at, read_in)) = self.send_buffer.get() {
            if send_buffer_fresh(at, read_in, round, || *now.insert(Instant::now())) {
                // Still fresh: it stands for the rest of this round too.
                self.send_buffer.set(Some((size, at, round)));
                return Ok(size);
            }
        }
        let inner = self
            .inner
            .try_borrow()
            .map_err(|_| io::Error::from(io::ErrorKind::WouldBlock))?;
        let size = crate::runtime::sys::send_buffer_size(&inner.sock)?;
        let now = now.unwrap_or_else(Instant::now);
        self.send_buffer.set(Some((size, now, round)));
        Ok(size)
    }

    /// The local address of the socket (asked of the socket once).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let inner = self.inner.borrow();
        remembered(&inner.local, || inner.sock.local_addr())
    }

    /// The peer's address (asked of the socket once it is connected).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        let inner = self.inner.borrow();
        remembered(&inner.peer, || inner.sock.peer_addr())
    }

    /// Bytes the socket did not take yet, kept in the send buffer (for tests).
    #[cfg(test)]
    pub(super) fn unwritten_bytes(&self) -> usize {
        self.inner.borrow().pending.unsent().len()
    }

    /// Whether the connection is over and has left its worker.
    pub fn is_finished(&self) -> bool {
        self.inner.borrow().phase == Phase::Finished
    }

    /// Moves everything forward: writes output, delivers events (re-entrantly safe), re-arms
    /// the timer, and leaves the worker once the engine is drained or the socket failed.
    /// For an application command: a network statistics report its writes make due waits
    /// for a turn of the worker's (asked for here), so it is never raised inside the
    /// application's call.
    fn progress(self: &Rc<Self>, cx: &WorkerCx) {
        self.progress_from(cx, false);
    }

    /// [`Conn::progress`] for one of the worker's turns (readiness, timer): it ends with a
    /// network statistics report if one is due.
    fn progress_turn(self: &Rc<Self>, cx: &WorkerCx) {
        self.progress_from(cx, true);
    }

    fn progress_from(self: &Rc<Self>, cx: &WorkerCx, turn: bool) {
        if self.progressing.replace(true) {
            self.again.set(true);
            return;
        }
        // Cleared however the loop ends: a panic in a sink (caught at the worker's boundary)
        // leaves the connection able to make progress as it ends.
        let guard = ClearOnDrop(&self.progressing);
        let mut reported = false;
        loop {
            self.again.set(false);
            self.inner.borrow_mut().flush();
            // Taking the engine's events ends its transmit pass: held buffered sends take the
            // room the flush's written bytes freed (copied and completed) before delivery.
            while let Some(event) = self.next_event() {
                self.sink.deliver(cx, self, event);
            }
            if turn && !reported && !self.again.get() {
                // One report per turn, after the turn's other events.
                if let Some(event) = self.take_net_stats() {
                    reported = true;
                    self.sink.deliver(cx, self, event);
                }
            }
            if !self.again.get() {
                break;
            }
        }
        drop(guard);
        // Data written without a report (by an application command): the report comes
        // with the worker's next turn. After a report, later writes wait for a later turn.
        let rerun = !reported && self.net_stats_due();
        self.settle(cx);
        if let Some(key) = self.key.get().filter(|_| rerun) {
            cx.run_again(key);
        }
    }

    /// Closes the engine with the transport error INTERNAL_ERROR (its CONNECTION_CLOSE is
    /// written as the connection makes progress), unless it is closed already.
    pub fn close_internal_error(&self) {
        let now = Instant::now();
        self.with_engine_quiet(|e| {
            e.close_with_error(now, proto::TransportError::INTERNAL_ERROR("internal error"))
        });
    }

    fn next_event(&self) -> Option<ConnEvent> {
        let mut inner = self.inner.borrow_mut();
        if !inner.transport_connected_raised && inner.phase == Phase::Open {
            inner.transport_connected_raised = true;
            return Some(ConnEvent::TransportConnected);
        }
        if let Some(e) = inner.tls_failure.take() {
            return Some(ConnEvent::TlsFailed(e));
        }
        if let Some(kind) = inner.failure.take() {
            return Some(ConnEvent::TransportFailed(kind));
        }
        if std::mem::take(&mut inner.handshake_timed_out) {
            return Some(ConnEvent::HandshakeTimedOut);
        }
        if !inner.tls_complete_raised && inner.tls_complete() {
            inner.tls_complete_raised = true;
            return Some(ConnEvent::TlsHandshakeComplete);
        }
        if inner.tls_complete_raised {
            let inner = &mut *inner;
            if let Some(event) = inner.held_events.pop_front() {
                return Some(ConnEvent::Engine(event));
            }
            if let Wire::Tls(s) = &mut inner.wire {
                inner.tickets.extend(s.take_tickets());
            }
            if let Some(id) = inner.tickets.pop_front() {
                return Some(ConnEvent::ResumptionTicket(id));
            }
        }
        let mut event = loop {
            if inner.client_release {
                if let Some(event) = inner.client_held.pop_front() {
                    return Some(ConnEvent::Engine(event));
                }
            }
            let event = inner.engine.poll_event()?;
            let failing =
                inner.tls_dead || inner.phase == Phase::Finished || inner.engine.is_closed();
            let unsettled = matches!(&inner.wire, Wire::Tls(s) if s.early_data_unsettled());
            if inner.client_held.is_empty() && !unsettled {
                break event;
            }
            if failing {
                // The connection is ending: what was held goes first.
                inner.client_release = true;
                inner.client_held.push_back(event);
                continue;
            }
            if !unsettled && matches!(event, proto::Event::Connected) {
                inner.client_release = true;
                break event;
            }
            inner.client_held.push_back(event);
        };
        if matches!(inner.wire, Wire::Tls(_)) && !inner.tls_complete_raised {
            if matches!(event, proto::Event::Connected) {
                inner.held_events.push_back(event);
                event = inner.engine.poll_event()?;
            }
            if !inner.held_events.is_empty()
                && inner.held_events.len() < 2
                && matches!(event, proto::Event::StreamsAvailable { .. })
            {
                inner.held_events.push_back(event);
                event = inner.engine.poll_event()?;
            }
        }
        if let proto::Event::Closed(proto::CloseCause::LocalError(e)) = &event {
            // The reason (a flood, a protocol error in the peer's input) goes to the log.
            crate::runtime::log::qlog!(Info, inner.log_id, "closing the connection: {e}");
        }
        Some(ConnEvent::Engine(event))
    }

    /// Re-arms the timer, or leaves the worker when done.
    fn settle(&self, cx: &WorkerCx) {
        let Some(key) = self.key.get() else { return };
        let mut inner = self.inner.borrow_mut();
        inner.count_records();
        let done = inner.phase == Phase::Finished || inner.engine.is_drained();
        if done {
            inner.phase = Phase::Finished;
            let _ = cx.registry().deregister(&mut inner.sock);
            if !inner.write_shut {
                // (Once the sending direction is shut, shutting the receiving one changes
                // nothing on the wire.)
                let _ = inner.sock.shutdown(std::net::Shutdown::Both);
            }
            drop(inner);
            self.key.set(None);
            cx.remove(key);
        } else {
            inner.release_idle_buffers();
            let mut deadline = inner.engine.poll_timeout();
            if let Some(h) = inner.handshake_deadline {
                if !inner.handshake_done() {
                    deadline = Some(deadline.map_or(h, |d| d.min(h)));
                }
            }
            if let Some(w) = inner.write_stall_deadline {
                deadline = Some(deadline.map_or(w, |d| d.min(w)));
            }
            cx.set_timer(key, deadline);
            if inner.more_input
                || inner.more_output
                || inner.tls_records_left
                || inner.engine.has_held_input()
            {
                // Edge-triggered readiness will not come back for what is left.
                cx.run_again(key);
            }
        }
    }
}

/// The address in `cell`, or what `ask` answers (then kept in `cell`).
fn remembered(
    cell: &Cell<Option<SocketAddr>>,
    ask: impl FnOnce() -> io::Result<SocketAddr>,
) -> io::Result<SocketAddr> {
    if let Some(addr) = cell.get() {
        return Ok(addr);
    }
    let addr = ask()?;
    cell.set(Some(addr));
    Ok(addr)
}

/// Sets a flag to false when dropped.
struct ClearOnDrop<'a>(&'a Cell<bool>);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl Inner {
    /// Gives back the buffers nothing waits in, once the connection has made its progress:
    /// the send buffer when the socket took everything, the receive buffer when no partial
    /// record is left, and the handshake's output buffer. The next read or output takes
    /// storage again (from the worker thread's pool when one was given back), so an idle
    /// connection holds none of them and busy ones share a few.
    fn release_idle_buffers(&mut self) {
        self.pending.release_idle();
        match &mut self.wire {
            Wire::Plain => self.rbuf.release_idle(),
            Wire::Tls(s) => s.incoming().release_idle(),
        }
        if self.tls_out.is_empty() && self.tls_out.capacity() > 0 {
            self.tls_out = Vec::new();
        }
    }
}

impl Source for Conn {
    fn on_panic(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey) {
        self.again.set(false);
        self.sink.on_panic(cx, &self);
        // Writes the CONNECTION_CLOSE, and leaves the worker once the engine is done.
        self.progress(cx);
    }

    fn on_ready(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey, readable: bool, writable: bool) {
        self.inner.borrow_mut().on_ready(readable, writable);
        self.progress_turn(cx);
    }

    fn on_timer(self: Rc<Self>, cx: &WorkerCx, _key: SourceKey, now: Instant) {
        {
            let mut inner = self.inner.borrow_mut();
            let expired = inner.handshake_deadline.is_some_and(|d| now >= d)
                && !inner.handshake_done()
                && inner.phase != Phase::Finished;
            let mut stalled = inner.write_stall_deadline.is_some_and(|d| now >= d);
            if stalled && !expired {
                // Writability is only signalled once the socket's send buffer has drained
                // well below full, so a slow reader can take bytes for a while without
                // one: try a write before giving up.
                inner.flush();
                stalled = inner.write_stall_deadline.is_some_and(|d| now >= d);
            }
            if expired {
                inner.phase = Phase::Finished;
                inner.handshake_timed_out = true;
            } else if stalled {
                crate::runtime::log::qlog!(
                    Info,
                    inner.log_id,
                    "the socket took no bytes for the disconnect timeout"
                );
                inner.write_stall_deadline = None;
                inner.fail(io::ErrorKind::TimedOut);
            } else {
                inner.engine.handle_timeout(now);
            }
        }
        self.progress_turn(cx);
    }
}

#[cfg(test)]
mod tests;
