//! The worker-side half of a connection: its runtime connection, its streams by ID, and the
//! translation of engine events into MsQuic connection and stream events.
//!
//! A `ConnSlot` lives only on its connection's worker (in a map of the worker's, keyed by the
//! handle's address), so nothing here needs a lock; every application callback is made with
//! no borrow held, so the application may call back into the API inline.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::api::abi::*;
use crate::api::connection::sockaddr;
use crate::api::connection::{self, Connection};
use crate::api::connection::{cert_events, datagram};
use crate::api::door::callbacks;
use crate::api::door::handle::Handle;
use crate::api::door::status_names::StatusName;
use crate::api::global::counted;
use crate::api::registration::FinalEventScope;
use crate::api::stream::reset;
use crate::api::stream::{self, Stream};
use crate::proto::id_hash::IdMap;
use crate::proto::{self, CloseCause, Event, StreamId};
use crate::runtime::conn::{Conn, ConnEvent, ConnSink};
use crate::runtime::log::qlog;
use crate::runtime::tls::{ClientHello, HandshakeInfo, RecvBuffer, TlsError, TlsStatus};
use crate::runtime::worker::WorkerCx;

/// The connection slots of a worker, by handle address (a worker local: an external worker's
/// turns may run on different threads).
#[derive(Default)]
struct Slots(RefCell<IdMap<usize, Rc<ConnSlot>>>);

/// The slots of the worker the calling thread runs, if any.
fn slots() -> Option<Rc<Slots>> {
    crate::runtime::worker::with_current(|cx| cx.local::<Slots>())
}

/// The slot of connection handle `key` on this worker.
pub(crate) fn slot(key: usize) -> Option<Rc<ConnSlot>> {
    slots()?.0.borrow().get(&key).cloned()
}

/// Puts a slot on this worker.
pub(crate) fn insert(slot: Rc<ConnSlot>) {
    let key = slot.key();
    if let Some(slots) = slots() {
        slots.0.borrow_mut().insert(key, slot);
    }
}

fn remove(key: usize) -> Option<Rc<ConnSlot>> {
    slots()?.0.borrow_mut().remove(&key)
}

/// An accepted socket before ConnectionSetConfiguration: for TLS, with the bytes read so far
/// and the ClientHello they hold.
pub(crate) struct PendingAccept {
    /// The socket.
    pub(crate) sock: std::net::TcpStream,
    /// TLS only: the receive buffer (ClientHello still in it) and what it said.
    pub(crate) hello: Option<(RecvBuffer, ClientHello)>,
}

/// A connection's state on its worker.
pub(crate) struct ConnSlot {
    /// The application's handle.
    pub(crate) handle: Arc<Handle<Connection>>,
    /// The runtime connection, once started (client) or configured (server).
    pub(crate) conn: RefCell<Option<Rc<Conn>>>,
    /// An accepted socket waiting for ConnectionSetConfiguration.
    pub(crate) pending: RefCell<Option<PendingAccept>>,
    /// Server: the accept waiting for the application's answer to RESUMED.
    pub(crate) resume_finish: RefCell<Option<crate::api::connection::resumption::FinishAccept>>,
    /// The TLS handshake resumed a session (CONNECTED's SessionResumed).
    resumed: Cell<bool>,
    /// Client: session tickets that arrived before CONNECTED, reported after it.
    pub(crate) held_tickets: RefCell<Vec<u64>>,
    /// A client's connect under way (name resolution, then attempts), until `conn` is set.
    pub(crate) race: RefCell<Option<crate::runtime::conn::race::Race>>,
    /// Streams waiting for an ID (handshake or the peer's stream limit).
    blocked_starts: RefCell<Vec<Arc<Handle<Stream>>>>,
    /// The next stream index to promise a blocked start, by direction (`[bidi, uni]`).
    reserved_next: [Cell<u64>; 2],
    /// Streams with an ID, by ID.
    streams: RefCell<IdMap<u64, Arc<Handle<Stream>>>>,
    /// Client: the engine sends by the limits a resumption ticket remembers, for 0-RTT:
    /// streams open before the handshake.
    pub(crate) early_streams: Cell<bool>,
    /// Client: the server refused the early data.
    pub(crate) early_refused: Cell<bool>,
    /// The application-form ALPN the connection uses.
    pub(crate) alpn: RefCell<Vec<u8>>,
    /// Server: the ALPN choice of NEW_CONNECTION.
    pub(crate) alpn_choice: crate::api::connection::alpn_choice::AlpnChoice,
    pub(crate) connected: Cell<bool>,
    /// A SHUTDOWN_INITIATED_* event was raised or the application shut down.
    shutdown_started: Cell<bool>,
    /// The status and wire error code streams see in their final SHUTDOWN_COMPLETE.
    close_status: Cell<(QUIC_STATUS, u64)>,
    /// Why the transport is about to shut the connection down, for its log line.
    why: RefCell<Option<String>>,
    /// How the connection ended, in words, for the SHUTDOWN_COMPLETE log line.
    ended_how: RefCell<String>,
    /// The peer closed the connection (streams' ConnectionClosedRemotely).
    closed_remotely: Cell<bool>,
    /// An application closed the connection, ours or the peer's (streams'
    /// ConnectionShutdownByApp).
    by_app: Cell<bool>,
    /// Who closed first, for SHUTDOWN_COMPLETE's PeerAcknowledgedShutdown.
    close_ack: Cell<CloseAck>,
    completed: Cell<bool>,
    /// SHUTDOWN_COMPLETE was delivered: no event follows.
    ended: Cell<bool>,
    /// Datagrams sent before the peer's transport parameters were known.
    pub(crate) datagrams_waiting: datagram::Waiting,
    /// Datagrams the closing engine canceled, reported once the streams are done.
    datagrams_canceled: RefCell<Vec<u64>>,
    /// PEER_CERTIFICATE_RECEIVED returned PENDING: CONNECTED waits for the application.
    pub(crate) cert_pending: Cell<bool>,
    /// CONNECTED is due once the certificate is accepted.
    connected_waiting: Cell<bool>,
    /// The TLS handshake is done and PEER_CERTIFICATE_RECEIVED waits for the peer's
    /// transport parameters' events (MsQuic's order).
    cert_event_due: Cell<bool>,
    /// The peer's transport parameters are in: streams may open and datagrams go out.
    params_known: Cell<bool>,
    /// The engine's STREAMS_AVAILABLE for the peer's transport parameters is next: the
    /// handshake's own events already covered it.
    skip_streams_available: Cell<bool>,
}

impl ConnSlot {
    /// A slot for `handle`.
    pub(crate) fn new(handle: Arc<Handle<Connection>>) -> Rc<Self> {
        Rc::new(Self {
            handle,
            conn: RefCell::new(None),
            pending: RefCell::new(None),
            resume_finish: RefCell::new(None),
            resumed: Cell::new(false),
            held_tickets: RefCell::new(Vec::new()),
            race: RefCell::new(None),
            blocked_starts: RefCell::new(Vec::new()),
            reserved_next: [Cell::new(0), Cell::new(0)],
            streams: RefCell::new(IdMap::default()),
            early_streams: Cell::new(false),
            early_refused: Cell::new(false),
            alpn: RefCell::new(Vec::new()),
            alpn_choice: Default::default(),
            connected: Cell::new(false),
            shutdown_started: Cell::new(false),
            close_status: Cell::new((QUIC_STATUS_SUCCESS, 0)),
            why: RefCell::new(None),
            ended_how: RefCell::new(String::new()),
            closed_remotely: Cell::new(false),
            by_app: Cell::new(false),
            close_ack: Cell::new(CloseAck::Unknown),
            completed: Cell::new(false),
            ended: Cell::new(false),
            datagrams_waiting: datagram::Waiting::default(),
            datagrams_canceled: RefCell::new(Vec::new()),
            cert_pending: Cell::new(false),
            connected_waiting: Cell::new(false),
            cert_event_due: Cell::new(false),
            params_known: Cell::new(false),
            skip_streams_available: Cell::new(false),
        })
    }

    /// The key of this slot (the handle's address).
    pub(crate) fn key(&self) -> usize {
        self.handle.as_hquic() as usize
    }

    /// A sink that routes the runtime's events to this slot.
    pub(crate) fn sink(self: &Rc<Self>) -> Box<dyn ConnSink> {
        Box::new(SlotSink(Rc::downgrade(self), self.key()))
    }

    /// The runtime connection, if there is one.
    pub(crate) fn conn(&self) -> Option<Rc<Conn>> {
        self.conn.borrow().clone()
    }

    /// Runs an engine command and lets the connection progress. `None` without a connection.
    pub(crate) fn with_engine<R>(
        &self,
        cx: &WorkerCx,
        f: impl FnOnce(&mut proto::Connection) -> R,
    ) -> Option<R> {
        let conn = self.conn()?;
        Some(conn.with_engine(cx, f))
    }

    /// Registers a started stream under its ID.
    pub(crate) fn add_stream(&self, id: u64, stream: Arc<Handle<Stream>>) {
        self.streams.borrow_mut().insert(id, stream);
    }

    /// Forgets a stream.
    pub(crate) fn remove_stream(&self, id: u64) -> Option<Arc<Handle<Stream>>> {
        self.streams.borrow_mut().remove(&id)
    }

    /// Parks a stream until it can take an ID.
    pub(crate) fn block_start(&self, stream: Arc<Handle<Stream>>) {
        self.blocked_starts.borrow_mut().push(stream);
    }

    /// The next stream index a blocked start may be promised in direction `d` (0 bidi, 1 uni).
    pub(crate) fn reserved_next(&self, d: usize) -> &Cell<u64> {
        &self.reserved_next[d]
    }

    /// How many more streams of `dir` a new StreamStart could open now: the peer's limit less
    /// the streams opened and the IDs promised to starts still waiting for it.
    pub(crate) fn streams_left(&self, dir: proto::Dir) -> u64 {
        let promised = self.reserved_next[usize::from(dir == proto::Dir::Uni)].get();
        self.inspect(|e| {
            let limit = e.max_streams(dir).0;
            let opened = limit - e.streams_available(dir);
            limit.saturating_sub(opened.max(promised))
        })
        .unwrap_or(0)
    }

    /// The parked streams, to try again.
    pub(crate) fn take_blocked_starts(&self) -> Vec<Arc<Handle<Stream>>> {
        std::mem::take(&mut *self.blocked_starts.borrow_mut())
    }

    /// Leaves the worker without any event (a connection the listener's callback rejected).
    pub(crate) fn complete_silently(&self) {
        self.completed.set(true);
        self.handle.obj.finished.store(true, Ordering::Release);
        self.conn.borrow_mut().take();
        remove(self.key());
        if self.handle.final_event_returned() {
            connection::release(&self.handle);
        }
    }

    /// The started stream with ID `id`.
    /// The streams known by ID, with their IDs.
    pub(crate) fn streams_snapshot(&self) -> Vec<(u64, Arc<Handle<Stream>>)> {
        self.streams
            .borrow()
            .iter()
            .map(|(id, s)| (*id, s.clone()))
            .collect()
    }

    pub(crate) fn stream(&self, id: StreamId) -> Option<Arc<Handle<Stream>>> {
        self.streams.borrow().get(&id.0).cloned()
    }

    /// What a stream's SHUTDOWN_COMPLETE says of the connection now: shutting down, by an
    /// application, closed by the peer, the error code and the status.
    pub(crate) fn stream_close_info(&self) -> (bool, bool, bool, u64, QUIC_STATUS) {
        let shutting_down = self.is_shutting_down();
        let (status, code) = if shutting_down {
            self.close_status.get()
        } else {
            (QUIC_STATUS_SUCCESS, 0)
        };
        (
            shutting_down,
            shutting_down && self.by_app.get(),
            self.closed_remotely.get(),
            code,
            status,
        )
    }

    /// Reads the engine's state without making progress; `None` without a connection.
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&proto::Connection) -> R) -> Option<R> {
        let conn = self.conn()?;
        Some(conn.inspect(f))
    }

    /// Whether the peer's transport parameters are in (streams may open, datagrams go out).
    pub(crate) fn params_known(&self) -> bool {
        self.params_known.get()
    }

    /// Whether the peer closed the connection.
    pub(crate) fn is_closed_remotely(&self) -> bool {
        self.closed_remotely.get()
    }

    /// Whether the connection is shutting down or over.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown_started.get() || self.completed.get()
    }

    /// The application asked for a shutdown: no SHUTDOWN_INITIATED event follows. The
    /// streams' ConnectionCloseStatus is MsQuic's status for the code (SUCCESS for 0, most
    /// codes INTERNAL_ERROR: MsQuic maps application codes through its transport table).
    pub(crate) fn app_shutdown(&self, cx: &WorkerCx, silent: bool, error_code: u64) {
        if self.is_shutting_down() {
            return;
        }
        self.close_status
            .set((status_of_transport(error_code), error_code));
        self.shutdown_locally(cx, silent, error_code);
    }

    /// ConnectionClose on a connection not shut down yet: a silent close for
    /// QUIC_STATUS_ABORTED, with INTERNAL_ERROR as its code, as MsQuic's handle close.
    pub(crate) fn close_handle_shutdown(&self, cx: &WorkerCx) {
        if self.is_shutting_down() {
            return;
        }
        qlog!(
            Info,
            self.key(),
            "ConnectionClose before any shutdown: a silent close ({} for the streams)",
            StatusName(QUIC_STATUS_ABORTED)
        );
        self.close_status
            .set((QUIC_STATUS_ABORTED, STATUS_CLOSE_CODE));
        self.shutdown_locally(cx, true, 0);
    }

    fn shutdown_locally(&self, cx: &WorkerCx, silent: bool, error_code: u64) {
        self.shutdown_started.set(true);
        self.publish_closed(connection::CLOSED_LOCALLY);
        self.by_app.set(true);
        qlog!(
            Info,
            self.key(),
            "ConnectionShutdown ErrorCode={error_code:#x} silent={silent}: the application \
             closes the connection"
        );
        self.ended_how.replace(format!(
            "closed by the application (ErrorCode {error_code:#x}{})",
            if silent { ", silently" } else { "" }
        ));
        if silent {
            self.close_ack.set(CloseAck::Silent);
        }
        let now = std::time::Instant::now();
        let engine = self.with_engine(cx, |e| {
            if silent {
                e.close_silently(now, error_code);
            } else {
                let reason = self.handle.obj.options.close_reason.lock().clone();
                e.close(now, error_code, reason.as_deref().unwrap_or_default());
            }
        });
        if engine.is_none() {
            // Never started: nothing on the wire, complete at once (MsQuic closes a client that
            // never started silently: acknowledged).
            self.complete(cx, !self.handle.obj.server);
        }
    }

    /// Records how the connection was closed for the calls answered off the worker.
    fn publish_closed(&self, how: u8) {
        self.handle.obj.closed.fetch_or(how, Ordering::Release);
    }

    /// ConnectionClose: a silent shutdown unless one is under way; either way the connection
    /// completes now, so SHUTDOWN_COMPLETE (AppCloseInProgress) comes before the call
    /// returns. After a graceful shutdown the runtime connection lives on by itself until
    /// its CONNECTION_CLOSE is written (and the peer ends or the close wait runs out): the
    /// peer sees SHUTDOWN_INITIATED_BY_PEER, as MsQuic's close frame reaches a MsQuic peer.
    pub(crate) fn close_handle(&self, cx: &WorkerCx) {
        if self.is_shutting_down() {
            // MsQuic's silent close after a local close counts as acknowledged.
            self.complete(cx, true);
        } else {
            self.close_handle_shutdown(cx);
        }
    }

    /// Raises SHUTDOWN_INITIATED_BY_TRANSPORT once. An `error_code` of 0 with a failure
    /// `status` is a local close for that status (idle timeout, unreachable, ...): MsQuic
    /// reports [`STATUS_CLOSE_CODE`] (QUIC_ERROR_INTERNAL_ERROR) as its code then, here and in
    /// the streams' SHUTDOWN_COMPLETE.
    pub(crate) fn transport_shutdown(&self, status: QUIC_STATUS, error_code: u64) {
        if self.shutdown_started.replace(true) {
            return;
        }
        self.publish_closed(if self.closed_remotely.get() {
            connection::CLOSED_REMOTELY
        } else {
            connection::CLOSED_LOCALLY
        });
        let error_code = if error_code == 0 && status != QUIC_STATUS_SUCCESS {
            STATUS_CLOSE_CODE
        } else {
            error_code
        };
        let why = self.why.borrow_mut().take();
        let why = why.unwrap_or_else(|| self.default_why(status, error_code));
        qlog!(
            Info,
            self.key(),
            "QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT Status={} \
             ErrorCode={error_code:#x}: {why}",
            StatusName(status)
        );
        self.ended_how.replace(format!(
            "shut down by the transport: {}",
            StatusName(status)
        ));
        self.close_status.set((status, error_code));
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                SHUTDOWN_INITIATED_BY_TRANSPORT:
                    QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT_PAYLOAD {
                        Status: status,
                        ErrorCode: error_code,
                    },
            },
        };
        self.emit(&mut event);
    }

    fn peer_shutdown(&self, error_code: u64) {
        if self.shutdown_started.replace(true) {
            return;
        }
        self.publish_closed(connection::CLOSED_REMOTELY);
        self.closed_remotely.set(true);
        self.ended_how.replace(format!(
            "closed by the peer's application (ErrorCode {error_code:#x})"
        ));
        // An application close, if the peer's: streams see ConnectionShutdownByApp, as in
        // MsQuic (its AppClosed is set for either side's application close).
        self.by_app.set(true);
        self.close_status
            .set((status_of_transport(error_code), error_code));
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                SHUTDOWN_INITIATED_BY_PEER:
                    QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER_PAYLOAD {
                        ErrorCode: error_code,
                    },
            },
        };
        self.emit(&mut event);
    }

    /// Ends everything: every stream's SHUTDOWN_COMPLETE, then the connection's, then the
    /// slot leaves the worker.
    pub(crate) fn complete(&self, cx: &WorkerCx, peer_acknowledged: bool) {
        if self.completed.replace(true) {
            return;
        }
        // A connect still under way ends here: its sockets close, no outcome follows.
        let race = self.race.borrow_mut().take();
        if let Some(race) = race {
            race.cancel(cx);
        }
        self.flush_engine_completions();
        let mut streams: Vec<_> = self.streams.borrow_mut().drain().map(|(_, s)| s).collect();
        // Streams started while blocked by the peer's limit (their START_COMPLETE reported
        // an ID) end with the connection too; starts still waiting for the handshake fail.
        let (promised, unstarted): (Vec<_>, Vec<_>) = self
            .take_blocked_starts()
            .into_iter()
            .partition(|s| s.obj.id().is_some());
        streams.extend(promised);
        for s in &unstarted {
            stream::start_refused(self, s);
        }
        self.publish_closed(connection::CLOSED_LOCALLY);
        let (status, code) = self.close_status.get();
        qlog!(
            Info,
            self.key(),
            "connection ended: {}",
            self.ended_how.borrow()
        );
        for s in streams {
            stream::connection_ended(
                &s,
                self.by_app.get(),
                self.closed_remotely.get(),
                code,
                status,
            );
        }
        let canceled = std::mem::take(&mut *self.datagrams_canceled.borrow_mut());
        for token in canceled {
            datagram::canceled(self, token);
        }
        datagram::cancel_waiting(self);
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                SHUTDOWN_COMPLETE: QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE_PAYLOAD::new(
                    self.connected.get(),
                    peer_acknowledged,
                    self.handle.is_closed_by_app(),
                ),
            },
        };
        if self.closed_remotely.get() {
            self.publish_closed(connection::CLOSED_REMOTELY);
        }
        self.handle.obj.finished.store(true, Ordering::Release);
        let scope = FinalEventScope::enter(self.handle.clone());
        self.emit(&mut event);
        drop(scope);
        self.ended.set(true);
        self.conn.borrow_mut().take();
        remove(self.key());
        // A ConnectionClose made before or during the event completes now, and the
        // connection leaves its registration.
        if self.handle.final_event_returned() {
            connection::release(&self.handle);
        }
    }

    /// The connection ends before its engine did (a transport failure, a handshake timeout,
    /// ConnectionClose): the engine is closed silently if it is still open, and the sends and
    /// datagrams it still held are reported now, since nothing may follow SHUTDOWN_COMPLETE.
    fn flush_engine_completions(&self) {
        let Some(conn) = self.conn() else { return };
        let now = std::time::Instant::now();
        let late: Vec<Event> = conn.with_engine_quiet(|e| {
            // A close already under way cancelled what it held (and may still have its
            // CONNECTION_CLOSE to write): only its undelivered events are taken.
            if !e.is_closed() {
                e.close_silently(now, 0);
            }
            std::iter::from_fn(|| e.poll_event()).collect()
        });
        for event in late {
            match event {
                Event::DatagramSent { token } => datagram::sent(self, token),
                Event::DatagramCanceled { token } => datagram::canceled(self, token),
                Event::SendComplete { id, token } | Event::SendCanceled { id, token } => {
                    if let Some(s) = self.stream(id) {
                        let canceled = matches!(event, Event::SendCanceled { .. });
                        stream::send_complete(&s, token, canceled);
                    }
                }
                _ => {}
            }
        }
    }

    /// Delivers a connection event to the application unless it closed the handle already,
    /// or the connection's SHUTDOWN_COMPLETE was delivered (nothing follows it).
    pub(crate) fn emit(&self, event: &mut QUIC_CONNECTION_EVENT) -> QUIC_STATUS {
        let closing_event = event.Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE;
        if self.ended.get() {
            return QUIC_STATUS_SUCCESS;
        }
        if self.handle.is_closed() && !closing_event {
            return QUIC_STATUS_SUCCESS;
        }
        callbacks::deliver(&self.handle, event)
    }

    fn on_event(self: &Rc<Self>, cx: &WorkerCx, conn: &Rc<Conn>, event: ConnEvent) {
        if self.completed.get() {
            // Closed by the application while the runtime connection finishes its close: what
            // it still reads concerns no one.
            return;
        }
        match event {
            ConnEvent::TransportConnected => {
                let mut info = self.handle.obj.info.lock();
                info.transport_us = connection::now_us();
                let dscp = self.handle.obj.options.dscp();
                if dscp != 0 {
                    let _ = conn.set_dscp(dscp);
                }
                info.local_address = conn.local_addr().ok().map(sockaddr::unmapped);
                if let Ok(peer) = conn.peer_addr() {
                    *self.handle.obj.remote_address.lock() = Some(sockaddr::unmapped(peer));
                }
            }
            ConnEvent::TlsHandshakeComplete => {
                if let Some(alpn) =
                    conn.tls(|s| s.and_then(|s| s.negotiated_alpn()).map(<[u8]>::to_vec))
                {
                    *self.alpn.borrow_mut() = alpn;
                }
                let handshake = conn.tls(|s| s.and_then(|s| s.handshake_info()));
                self.resumed.set(handshake.is_some_and(|h| h.resumed));
                self.handle.obj.info.lock().handshake = handshake.map(handshake_info);
                crate::api::connection::zero_rtt::on_handshake_complete(self, conn);
                // PEER_CERTIFICATE_RECEIVED follows the peer's transport parameters' events.
                self.cert_event_due
                    .set(self.handle.obj.cert_check.lock().is_some());
            }
            ConnEvent::TlsFailed(e) => {
                self.why.replace(Some(self.tls_why(&e)));
                let code = e.tls_alert_code().map_or(0, |a| 0x100 + u64::from(a));
                self.transport_shutdown(status_of_tls(&e), code);
                // The peer's alert is the peer closing first; a failure of ours is answered,
                // except by a client that never got the server's flight (no cipher suite
                // agreed): MsQuic's client, not connected, leaves silently.
                self.close_ack.set(if e.alert_received().is_some() {
                    CloseAck::PeerFirst
                } else {
                    CloseAck::LocalFirst
                });
                let answered = !self.handle.obj.server
                    || conn.tls(|s| s.and_then(|s| s.handshake_info())).is_some();
                self.complete(cx, self.peer_acknowledged(answered));
            }
            ConnEvent::HandshakeTimedOut => {
                // MsQuic reports handshake idle expiry as CONNECTION_IDLE.
                self.transport_shutdown(QUIC_STATUS_CONNECTION_IDLE, STATUS_CLOSE_CODE);
                self.complete(cx, true);
            }
            ConnEvent::TransportFailed(kind) => {
                // A reset before CONNECTED is the server refusing us (see the listener): MsQuic's
                // client sees the server's CONNECTION_CLOSE with CONNECTION_REFUSED (0x2).
                // After it, the peer's end without CONNECTION_CLOSE.
                let reset = matches!(
                    kind,
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                );
                let (status, code) = if reset && !self.connected.get() {
                    (QUIC_STATUS_CONNECTION_REFUSED, 0x2)
                } else if reset {
                    (self.status_of_peer_end(), STATUS_CLOSE_CODE)
                } else {
                    (status_of_io(kind), STATUS_CLOSE_CODE)
                };
                self.why.replace(Some(if reset && !self.connected.get() {
                    "the peer reset the TCP connection before the handshake finished: the \
                     server refused the connection (see the server's log)"
                        .to_string()
                } else {
                    format!("the TCP connection failed: {}", std::io::Error::from(kind))
                }));
                self.transport_shutdown(status, code);
                // MsQuic's silent ends: unreachable, refused before CONNECTED, the peer gone.
                self.complete(cx, true);
            }
            ConnEvent::ResumptionTicket(id) => {
                crate::api::connection::resumption::ticket_received(self, id)
            }
            ConnEvent::NetworkStatistics(stats) => {
                crate::api::connection::network_statistics::raise(self, conn, stats)
            }
            ConnEvent::Engine(event) => self.on_engine_event(cx, conn, event),
        }
    }

    /// The status for the peer's socket ending (FIN or RST) without a CONNECTION_CLOSE: what a
    /// MsQuic peer sees of a silently closed connection, CONNECTION_IDLE, once connected
    /// (at once here: TCP shows the end); ABORTED during the handshake.
    /// Gives the reason the next SHUTDOWN_INITIATED_BY_TRANSPORT logs.
    pub(crate) fn note_why(&self, why: String) {
        self.why.replace(Some(why));
    }

    /// Why a shutdown with `status` and `code` happens, when its raiser gave no reason.
    fn default_why(&self, status: QUIC_STATUS, code: u64) -> String {
        let phrase = self.handle.obj.options.close_reason.lock().clone();
        let phrase = phrase
            .filter(|p| !p.is_empty())
            .map(|p| format!(" (reason: {p:?})"))
            .unwrap_or_default();
        if status == QUIC_STATUS_CONNECTION_IDLE {
            if self.connected.get() {
                return "idle timeout, or the peer's end at its idle timeout (a graceful close)"
                    .to_string();
            }
            return "the handshake did not finish within the handshake idle timeout".to_string();
        }
        if status == QUIC_STATUS_SUCCESS {
            return format!(
                "the peer closed the connection with NO_ERROR (a graceful close){phrase}"
            );
        }
        if self.closed_remotely.get() {
            if status == QUIC_STATUS_ABORTED {
                return "the peer ended the TCP connection before the handshake finished"
                    .to_string();
            }
            return format!(
                "the peer closed the connection with transport error {code:#x}{phrase}"
            );
        }
        format!("this end closes the connection with transport error {code:#x}{phrase}")
    }

    /// Why a TLS session failed, in words, with the ALPN lists for an ALPN failure.
    fn tls_why(&self, e: &TlsError) -> String {
        let mut why = e.reason();
        if e.status() == TlsStatus::AlpnNegFailure {
            let ours: Vec<String> = self
                .handle
                .obj
                .info
                .lock()
                .alpns
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            why.push_str(&format!(" (this end's ALPNs: {ours:?})"));
        }
        why
    }

    fn status_of_peer_end(&self) -> QUIC_STATUS {
        if self.connected.get() {
            QUIC_STATUS_CONNECTION_IDLE
        } else {
            QUIC_STATUS_ABORTED
        }
    }

    /// The peer's transport parameters are in (after the TLS handshake): the events MsQuic
    /// raises as it takes them in, then PEER_CERTIFICATE_RECEIVED when asked for, then
    /// CONNECTED (once the certificate is accepted).
    ///
    /// A MsQuic client reads the server's parameters in the handshake, with the server's
    /// EncryptedExtensions; unless the server's whole flight fits one packet that is before the
    /// certificate is complete. It raises RELIABLE_RESET_NEGOTIATED (if enabled locally),
    /// PEER_ACCEPTED for the streams that were waiting for a stream limit, STREAMS_AVAILABLE
    /// (if the server allows any stream) and DATAGRAM_STATE_CHANGED (the real limits), then
    /// PEER_CERTIFICATE_RECEIVED, then CONNECTED. A MsQuic server reads the client's
    /// parameters before NEW_CONNECTION, when the connection has no handler yet: it sees
    /// RELIABLE_RESET_NEGOTIATED (raised as it is configured), PEER_CERTIFICATE_RECEIVED for
    /// a client certificate, then CONNECTED; its datagram limits change without an event.
    fn on_peer_params(self: &Rc<Self>, cx: &WorkerCx, conn: &Rc<Conn>) {
        reset::on_peer_params(self);
        self.params_known.set(true);
        let server = self.handle.obj.server;
        if !server {
            stream::retry_blocked_starts(self, cx);
            if self.peer_allows_streams() {
                self.raise_streams_available();
            }
        }
        datagram::on_connected(self, cx, !server);
        if self.cert_event_due.replace(false) {
            self.connected_waiting.set(true);
            // Raises CONNECTED through `resume_connected` once the certificate is accepted.
            cert_events::on_handshake_complete(self, cx, conn);
        } else if self.cert_pending.get() {
            self.connected_waiting.set(true);
        } else {
            self.raise_connected(cx);
        }
    }

    /// CONNECTED.
    fn raise_connected(self: &Rc<Self>, cx: &WorkerCx) {
        self.connected.set(true);
        self.handle.obj.counted.connected();
        let alpn = self.alpn.borrow().clone();
        {
            let mut info = self.handle.obj.info.lock();
            info.negotiated_alpn = Some(alpn.clone());
            info.connected_us = connection::now_us();
        }
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_CONNECTED,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                CONNECTED: QUIC_CONNECTION_EVENT_CONNECTED_PAYLOAD {
                    SessionResumed: u8::from(self.resumed.get()),
                    NegotiatedAlpnLength: alpn.len().min(255) as u8,
                    NegotiatedAlpn: alpn.as_ptr(),
                },
            },
        };
        self.emit(&mut event);
        if self.resumed.get() {
            crate::runtime::counters::inc(crate::runtime::counters::CONN_RESUMED);
            self.handle.obj.info.lock().resumed = true;
        }
        crate::api::connection::resumption::release_held(self);
        stream::retry_blocked_starts(self, cx);
    }

    /// Whether the peer's transport parameters allow any stream of ours (MsQuic raises
    /// STREAMS_AVAILABLE for them then, and so does the engine).
    fn peer_allows_streams(&self) -> bool {
        self.inspect(|e| {
            e.peer_params()
                .is_some_and(|p| p.initial_max_streams_bidi > 0 || p.initial_max_streams_uni > 0)
        })
        .unwrap_or(false)
    }

    /// STREAMS_AVAILABLE with what a new StreamStart could open now.
    fn raise_streams_available(&self) {
        let bidi = self.streams_left(proto::Dir::Bi);
        let uni = self.streams_left(proto::Dir::Uni);
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                STREAMS_AVAILABLE: QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE_PAYLOAD {
                    BidirectionalCount: bidi.min(u16::MAX as u64) as u16,
                    UnidirectionalCount: uni.min(u16::MAX as u64) as u16,
                },
            },
        };
        self.emit(&mut event);
    }

    /// ConnectionCertificateValidationComplete accepted the certificate: CONNECTED, if it
    /// was waiting for that.
    pub(crate) fn resume_connected(self: &Rc<Self>, cx: &WorkerCx) {
        if self.connected_waiting.replace(false) {
            self.raise_connected(cx);
        }
    }

    fn on_engine_event(self: &Rc<Self>, cx: &WorkerCx, conn: &Rc<Conn>, event: Event) {
        if matches!(event, Event::Connected) {
            // The engine follows Connected with STREAMS_AVAILABLE when the peer's parameters
            // allow streams; the handshake's events stand for it.
            self.skip_streams_available.set(self.peer_allows_streams());
        }
        match event {
            Event::Connected => self.on_peer_params(cx, conn),
            Event::PeerResetAt { id, reliable_size } => {
                if let Some(s) = self.stream(id) {
                    reset::peer_reset_at(&s, reliable_size);
                }
            }
            Event::StreamOpened { id } => stream::peer_started(self, cx, conn, id),
            Event::StreamReadable { id } => {
                if let Some(s) = self.stream(id) {
                    stream::deliver_receive(self, cx, &s);
                }
            }
            Event::StreamReset { id, error_code } => {
                if let Some(s) = self.stream(id) {
                    if reset::raises_send_aborted(&s) {
                        stream::peer_send_aborted(&s, error_code);
                    }
                }
            }
            Event::StopSending { id, error_code } => {
                // The reply (RESET_STREAM or RESET_STREAM_AT) is decided once the
                // application has seen PEER_RECEIVE_ABORTED, as in MsQuic.
                let s = self.stream(id);
                if let Some(s) = &s {
                    stream::peer_receive_aborted(s, error_code);
                    // As MsQuic: StreamSend gives ABORTED from here on (a send made inside
                    // the event is taken, then canceled by the reply).
                    s.obj.shut_send_by_peer();
                }
                conn.with_engine(cx, |e| reset::answer_stop(e, s.as_deref(), id));
            }
            Event::SendComplete { id, token } => {
                if let Some(s) = self.stream(id) {
                    stream::send_complete(&s, token, false);
                    stream::refresh_ideal_send(self, &s);
                }
            }
            Event::SendCanceled { id, token } => {
                if let Some(s) = self.stream(id) {
                    stream::send_complete(&s, token, true);
                }
            }
            Event::SendShutdownComplete { id, graceful } => {
                if let Some(s) = self.stream(id) {
                    if self.early_streams.get() {
                        // STREAM_0RTT_LENGTH is known from now on.
                        crate::api::connection::zero_rtt::note_sent(self, conn, &s, id);
                    }
                    stream::send_shutdown_complete(&s, graceful);
                }
            }
            Event::StreamClosed { id } => {
                if let Some(s) = self.remove_stream(id.0) {
                    stream::shutdown_complete(&s);
                }
            }
            Event::StreamsAvailable { .. } if self.skip_streams_available.replace(false) => {}
            Event::StreamsAvailable { .. } => {
                // Starts waiting for the limit take their slots first; the application hears
                // of what is left.
                stream::retry_blocked_starts(self, cx);
                self.raise_streams_available();
            }
            Event::DatagramReceived(data) => datagram::received(self, &data),
            Event::DatagramSent { token } => datagram::sent(self, token),
            // The connection is closing: as in MsQuic, its datagrams are canceled after its
            // streams are shut down (see `complete`).
            Event::DatagramCanceled { token } if self.shutdown_started.get() => {
                self.datagrams_canceled.borrow_mut().push(token)
            }
            Event::DatagramCanceled { token } => datagram::canceled(self, token),
            Event::PeerStreamsBlocked { dir } => {
                let mut event = QUIC_CONNECTION_EVENT {
                    Type: QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS,
                    payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                        PEER_NEEDS_STREAMS: QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS_PAYLOAD {
                            Bidirectional: u8::from(dir == proto::Dir::Bi),
                        },
                    },
                };
                self.emit(&mut event);
            }
            Event::Closed(cause) => self.on_closed(cause),
            Event::Drained => {
                let peer_ended = conn.inspect(proto::Connection::peer_ended);
                self.complete(cx, self.peer_acknowledged(peer_ended))
            }
        }
    }

    /// SHUTDOWN_COMPLETE's PeerAcknowledgedShutdown, as MsQuic sets it: false only when its
    /// close would have ended on the shutdown timer: the peer closed first (a client that was
    /// not connected yet leaves at once instead), or our CONNECTION_CLOSE went unanswered
    /// (`peer_ended`: the peer ended its direction after it).
    fn peer_acknowledged(&self, peer_ended: bool) -> bool {
        match self.close_ack.get() {
            CloseAck::PeerFirst => !self.connected.get() && !self.handle.obj.server,
            CloseAck::LocalFirst => peer_ended,
            CloseAck::Silent | CloseAck::Unknown => true,
        }
    }

    fn on_closed(&self, cause: CloseCause) {
        // The peer's reason phrase replaces ours (CONN_CLOSE_REASON_PHRASE reads it).
        if let CloseCause::PeerTransport { reason, .. }
        | CloseCause::PeerApplication { reason, .. } = &cause
        {
            if !reason.is_empty() {
                *self.handle.obj.options.close_reason.lock() = Some(reason.clone());
            }
        }
        let ack = match &cause {
            CloseCause::IdleTimeout | CloseCause::PeerEof { .. } => CloseAck::Silent,
            CloseCause::LocalClose { .. } | CloseCause::LocalError(_) => CloseAck::LocalFirst,
            CloseCause::PeerTransport { .. } | CloseCause::PeerApplication { .. } => {
                CloseAck::PeerFirst
            }
        };
        if self.close_ack.get() == CloseAck::Unknown {
            self.close_ack.set(ack);
        }
        match cause {
            CloseCause::IdleTimeout => {
                self.transport_shutdown(QUIC_STATUS_CONNECTION_IDLE, STATUS_CLOSE_CODE)
            }
            CloseCause::LocalError(e) => {
                counted::on_transport_close(e.code.0);
                if self.why.borrow().is_none() {
                    self.note_why(format!("this end closes the connection: {e}"));
                }
                self.transport_shutdown(status_of_transport(e.code.0), e.code.0)
            }
            CloseCause::LocalClose { .. } => {}
            CloseCause::PeerTransport { error_code, .. } => {
                counted::on_transport_close(error_code.0);
                self.closed_remotely.set(true);
                self.transport_shutdown(status_of_transport(error_code.0), error_code.0);
            }
            CloseCause::PeerApplication { error_code, .. } => self.peer_shutdown(error_code),
            CloseCause::PeerEof { .. } => {
                self.closed_remotely.set(true);
                if self.connected.get() {
                    self.note_why(
                        "the peer ended the TCP connection without CONNECTION_CLOSE (its idle \
                         timer fired, it closed silently, or its process ended)"
                            .to_string(),
                    );
                }
                self.transport_shutdown(self.status_of_peer_end(), STATUS_CLOSE_CODE);
            }
        }
    }
}

/// MsQuic's QUIC_HANDSHAKE_INFO for a negotiated TLS 1.3 session.
fn handshake_info(info: HandshakeInfo) -> QUIC_HANDSHAKE_INFO {
    // As MsQuic's OpenSSL mapping: HashStrength and the key exchange fields stay 0.
    let (cipher, cipher_bits, hash) = match QUIC_CIPHER_SUITE(info.cipher_suite.into()) {
        QUIC_CIPHER_SUITE_TLS_AES_128_GCM_SHA256 => (
            QUIC_CIPHER_ALGORITHM_AES_128,
            128,
            QUIC_HASH_ALGORITHM_SHA_256,
        ),
        QUIC_CIPHER_SUITE_TLS_AES_256_GCM_SHA384 => (
            QUIC_CIPHER_ALGORITHM_AES_256,
            256,
            QUIC_HASH_ALGORITHM_SHA_384,
        ),
        QUIC_CIPHER_SUITE_TLS_CHACHA20_POLY1305_SHA256 => (
            QUIC_CIPHER_ALGORITHM_CHACHA20,
            256,
            QUIC_HASH_ALGORITHM_SHA_256,
        ),
        _ => (QUIC_CIPHER_ALGORITHM_NONE, 0, QUIC_HASH_ALGORITHM_NONE),
    };
    QUIC_HANDSHAKE_INFO {
        TlsProtocolVersion: if info.protocol_version == 0x0304 {
            QUIC_TLS_PROTOCOL_1_3
        } else {
            QUIC_TLS_PROTOCOL_UNKNOWN
        },
        CipherAlgorithm: cipher,
        CipherStrength: cipher_bits,
        Hash: hash,
        HashStrength: 0,
        KeyExchangeAlgorithm: QUIC_KEY_EXCHANGE_ALGORITHM_NONE,
        KeyExchangeStrength: 0,
        CipherSuite: QUIC_CIPHER_SUITE(info.cipher_suite.into()),
        TlsGroup: QUIC_TLS_GROUP(info.key_exchange_group.map_or(0, u32::from)),
    }
}

/// MsQuic's status for a failed TLS session.
fn status_of_tls(e: &TlsError) -> QUIC_STATUS {
    match e.status() {
        TlsStatus::AlpnNegFailure => QUIC_STATUS_ALPN_NEG_FAILURE,
        TlsStatus::UserCanceled => QUIC_STATUS_USER_CANCELED,
        TlsStatus::TlsAlert(alert) => QUIC_STATUS_TLS_ALERT(u32::from(alert)),
        TlsStatus::InvalidParameter => QUIC_STATUS_INVALID_PARAMETER,
        TlsStatus::BufferTooSmall => QUIC_STATUS_BUFFER_TOO_SMALL,
        TlsStatus::InvalidState => QUIC_STATUS_INVALID_STATE,
        TlsStatus::VerNegError => QUIC_STATUS_VER_NEG_ERROR,
        _ => QUIC_STATUS_HANDSHAKE_FAILURE,
    }
}

/// The ErrorCode MsQuic reports with a shutdown whose cause is a status rather than a wire
/// error code (`QUIC_ERROR_INTERNAL_ERROR`).
pub(crate) const STATUS_CLOSE_CODE: u64 = 0x1;

/// MsQuic's status for a transport failure of the socket. A refused TCP connect means nothing
/// listens there: MsQuic reports the ICMP port unreachable its datagram draws as UNREACHABLE.
fn status_of_io(kind: std::io::ErrorKind) -> QUIC_STATUS {
    use std::io::ErrorKind as K;
    match kind {
        K::ConnectionRefused | K::HostUnreachable | K::NetworkUnreachable => {
            QUIC_STATUS_UNREACHABLE
        }
        K::TimedOut => QUIC_STATUS_CONNECTION_TIMEOUT,
        K::AddrNotAvailable => QUIC_STATUS_ADDRESS_NOT_AVAILABLE,
        _ => QUIC_STATUS_ABORTED,
    }
}

/// MsQuic's status for a QUIC transport error code (its QuicErrorCodeToStatus): only
/// PROTOCOL_VIOLATION is PROTOCOL_ERROR; flow control, stream limit, stream state, final size,
/// frame encoding and transport parameter errors are INTERNAL_ERROR, as any unnamed code; the
/// TLS alerts MsQuic names get their own status.
fn status_of_transport(code: u64) -> QUIC_STATUS {
    match code {
        0x0 => QUIC_STATUS_SUCCESS,
        0x2 => QUIC_STATUS_CONNECTION_REFUSED,
        0xA => QUIC_STATUS_PROTOCOL_ERROR,
        // MsQuic's APPLICATION_ERROR constant and the TLS user_canceled alert.
        0xB | 0x15A => QUIC_STATUS_USER_CANCELED,
        0x11 => QUIC_STATUS_VER_NEG_ERROR,
        0x128 => QUIC_STATUS_HANDSHAKE_FAILURE,
        0x178 => QUIC_STATUS_ALPN_NEG_FAILURE,
        0x100..=0x1FF => QUIC_STATUS_TLS_ALERT((code & 0xFF) as u32),
        _ => QUIC_STATUS_INTERNAL_ERROR,
    }
}

/// Routes runtime events to a slot that may already be gone; the slot's key names it in logs.
struct SlotSink(Weak<ConnSlot>, usize);

impl ConnSink for SlotSink {
    fn deliver(&self, cx: &WorkerCx, conn: &Rc<Conn>, event: ConnEvent) {
        if let Some(slot) = self.0.upgrade() {
            slot.on_event(cx, conn, event);
        }
    }

    fn log_id(&self) -> usize {
        self.1
    }

    fn wants_net_stats(&self) -> bool {
        self.0
            .upgrade()
            .is_some_and(|slot| crate::api::connection::network_statistics::wanted(&slot))
    }

    fn on_panic(&self, cx: &WorkerCx, conn: &Rc<Conn>) {
        match self.0.upgrade() {
            Some(slot) => crate::api::connection::on_panic::end(cx, &slot),
            None => conn.close_internal_error(),
        }
    }
}

/// Who closed a connection first, for SHUTDOWN_COMPLETE's PeerAcknowledgedShutdown.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CloseAck {
    /// Not closed yet.
    Unknown,
    /// Without a CONNECTION_CLOSE on either side (silent shutdown, idle timeout, the peer's
    /// socket ending): nothing to wait for.
    Silent,
    /// Our CONNECTION_CLOSE (or TLS alert) went first.
    LocalFirst,
    /// The peer's went first.
    PeerFirst,
}
