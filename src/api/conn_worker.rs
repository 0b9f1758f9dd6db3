//! The worker-side half of a connection: its runtime connection, its streams by ID, and the
//! translation of engine events into MsQuic connection and stream events.
//!
//! A `ConnSlot` lives only on its connection's worker (in a thread-local map keyed by the
//! handle's address), so nothing here needs a lock; every application callback is made with
//! no borrow held, so the application may call back into the API inline.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::api::abi::*;
use crate::api::callbacks;
use crate::api::connection::{self, Connection};
use crate::api::handle::Handle;
use crate::api::stream::{self, Stream};
use crate::api::stream_reset;
use crate::api::{cert_events, datagram};
use crate::proto::{self, CloseCause, Event, StreamId};
use crate::runtime::conn::{Conn, ConnEvent, ConnSink};
use crate::runtime::log::qlog;
use crate::runtime::tls::{ClientHello, HandshakeInfo, RecvBuffer, TlsError, TlsStatus};
use crate::runtime::worker::WorkerCx;

thread_local! {
    static SLOTS: RefCell<HashMap<usize, Rc<ConnSlot>>> = RefCell::new(HashMap::new());
}

/// The slot of connection handle `key` on this worker.
pub(crate) fn slot(key: usize) -> Option<Rc<ConnSlot>> {
    SLOTS.with(|s| s.borrow().get(&key).cloned())
}

/// Puts a slot on this worker.
pub(crate) fn insert(slot: Rc<ConnSlot>) {
    let key = slot.key();
    SLOTS.with(|s| s.borrow_mut().insert(key, slot));
}

fn remove(key: usize) -> Option<Rc<ConnSlot>> {
    SLOTS.with(|s| s.borrow_mut().remove(&key))
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
    /// Streams waiting for an ID (handshake or the peer's stream limit).
    blocked_starts: RefCell<Vec<Arc<Handle<Stream>>>>,
    /// The next stream index to promise a blocked start, by direction (`[bidi, uni]`).
    reserved_next: [Cell<u64>; 2],
    /// Streams with an ID, by ID.
    streams: RefCell<HashMap<u64, Arc<Handle<Stream>>>>,
    /// The application-form ALPN the connection uses.
    pub(crate) alpn: RefCell<Vec<u8>>,
    connected: Cell<bool>,
    /// A SHUTDOWN_INITIATED_* event was raised or the application shut down.
    shutdown_started: Cell<bool>,
    /// The status and wire error code streams see in their final SHUTDOWN_COMPLETE.
    close_status: Cell<(QUIC_STATUS, u64)>,
    /// The peer closed the connection (streams' ConnectionClosedRemotely).
    closed_remotely: Cell<bool>,
    /// An application closed the connection, ours or the peer's (streams'
    /// ConnectionShutdownByApp).
    by_app: Cell<bool>,
    completed: Cell<bool>,
    /// SHUTDOWN_COMPLETE was delivered: no event follows.
    ended: Cell<bool>,
    /// Datagrams sent before the peer's transport parameters were known.
    pub(crate) datagrams_waiting: datagram::Waiting,
    /// PEER_CERTIFICATE_RECEIVED returned PENDING: CONNECTED waits for the application.
    pub(crate) cert_pending: Cell<bool>,
    /// CONNECTED is due once the certificate is accepted.
    connected_waiting: Cell<bool>,
}

impl ConnSlot {
    /// A slot for `handle`.
    pub(crate) fn new(handle: Arc<Handle<Connection>>) -> Rc<Self> {
        Rc::new(Self {
            handle,
            conn: RefCell::new(None),
            pending: RefCell::new(None),
            blocked_starts: RefCell::new(Vec::new()),
            reserved_next: [Cell::new(0), Cell::new(0)],
            streams: RefCell::new(HashMap::new()),
            alpn: RefCell::new(Vec::new()),
            connected: Cell::new(false),
            shutdown_started: Cell::new(false),
            close_status: Cell::new((QUIC_STATUS_SUCCESS, 0)),
            closed_remotely: Cell::new(false),
            by_app: Cell::new(false),
            completed: Cell::new(false),
            ended: Cell::new(false),
            datagrams_waiting: datagram::Waiting::default(),
            cert_pending: Cell::new(false),
            connected_waiting: Cell::new(false),
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
    }

    /// The started stream with ID `id`.
    pub(crate) fn stream(&self, id: StreamId) -> Option<Arc<Handle<Stream>>> {
        self.streams.borrow().get(&id.0).cloned()
    }

    /// Reads the engine's state without making progress; `None` without a connection.
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&proto::Connection) -> R) -> Option<R> {
        let conn = self.conn()?;
        Some(conn.inspect(f))
    }

    /// Whether CONNECTED was raised.
    pub(crate) fn is_connected(&self) -> bool {
        self.connected.get()
    }

    /// Whether the connection is shutting down or over.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown_started.get() || self.completed.get()
    }

    /// The application asked for a shutdown: no SHUTDOWN_INITIATED event follows.
    pub(crate) fn app_shutdown(&self, cx: &WorkerCx, silent: bool, error_code: u64) {
        if self.is_shutting_down() {
            return;
        }
        self.shutdown_started.set(true);
        self.by_app.set(true);
        self.close_status.set((QUIC_STATUS_ABORTED, error_code));
        qlog!(
            Info,
            self.key(),
            "connection shutdown by application code={error_code:#x} silent={silent}"
        );
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
            // Never started: nothing on the wire, complete at once.
            self.complete(cx, false);
        }
    }

    /// ConnectionClose: as a silent [`ConnSlot::app_shutdown`], and a shutdown already under
    /// way (graceful, or started by the transport or the peer) is cut short, so that
    /// SHUTDOWN_COMPLETE is delivered before ConnectionClose returns, as in MsQuic.
    pub(crate) fn app_close(&self, cx: &WorkerCx) {
        self.app_shutdown(cx, true, 0);
        if self.completed.get() {
            return;
        }
        let now = std::time::Instant::now();
        let _ = self.with_engine(cx, |e| e.close_silently(now, 0));
        self.complete(cx, false);
    }

    /// Raises SHUTDOWN_INITIATED_BY_TRANSPORT once.
    pub(crate) fn transport_shutdown(&self, status: QUIC_STATUS, error_code: u64) {
        if self.shutdown_started.replace(true) {
            return;
        }
        qlog!(
            Info,
            self.key(),
            "connection shutdown by transport status={status:#x} code={error_code:#x}"
        );
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
        self.closed_remotely.set(true);
        qlog!(
            Info,
            self.key(),
            "connection shutdown by peer code={error_code:#x}"
        );
        // An application close, if the peer's: streams see ConnectionShutdownByApp, as in
        // MsQuic (its AppClosed is set for either side's application close).
        self.by_app.set(true);
        self.close_status.set((QUIC_STATUS_ABORTED, error_code));
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
        let _ = cx;
        self.flush_engine_completions();
        let mut streams: Vec<_> = self.streams.borrow_mut().drain().map(|(_, s)| s).collect();
        // Streams started while blocked by the peer's limit (their START_COMPLETE reported
        // an ID) end with the connection too.
        streams.extend(
            self.take_blocked_starts()
                .into_iter()
                .filter(|s| s.obj.id().is_some()),
        );
        let (status, code) = self.close_status.get();
        qlog!(
            Info,
            self.key(),
            "connection shutdown complete status={status:#x} code={code:#x} connected={}",
            self.connected.get()
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
        self.handle.obj.finished.store(true, Ordering::Release);
        self.emit(&mut event);
        self.ended.set(true);
        self.conn.borrow_mut().take();
        remove(self.key());
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
        if self.handle.is_closed_by_app() && !closing_event {
            return QUIC_STATUS_SUCCESS;
        }
        callbacks::connection(&self.handle, event)
    }

    fn on_event(self: &Rc<Self>, cx: &WorkerCx, conn: &Rc<Conn>, event: ConnEvent) {
        match event {
            ConnEvent::TransportConnected => {
                let mut info = self.handle.obj.info.lock();
                info.transport_us = connection::now_us();
                let dscp = self.handle.obj.options.dscp();
                if dscp != 0 {
                    let _ = conn.set_dscp(dscp);
                }
                info.local_address = conn.local_addr().ok();
                if let Ok(peer) = conn.peer_addr() {
                    *self.handle.obj.remote_address.lock() = Some(peer);
                }
            }
            ConnEvent::TlsHandshakeComplete => {
                if let Some(alpn) =
                    conn.tls(|s| s.and_then(|s| s.negotiated_alpn()).map(<[u8]>::to_vec))
                {
                    *self.alpn.borrow_mut() = alpn;
                }
                let handshake = conn.tls(|s| s.and_then(|s| s.handshake_info()));
                self.handle.obj.info.lock().handshake = handshake.map(handshake_info);
                cert_events::on_handshake_complete(self, cx, conn);
            }
            ConnEvent::TlsFailed(e) => {
                let code = e.tls_alert_code().map_or(0, |a| 0x100 + u64::from(a));
                self.transport_shutdown(status_of_tls(&e), code);
                self.complete(cx, false);
            }
            ConnEvent::HandshakeTimedOut => {
                // MsQuic reports handshake idle expiry as CONNECTION_IDLE.
                self.transport_shutdown(QUIC_STATUS_CONNECTION_IDLE, 0);
                self.complete(cx, false);
            }
            ConnEvent::TransportFailed(kind) => {
                // A reset before CONNECTED is the server refusing us (see the listener).
                let refused = !self.connected.get()
                    && matches!(
                        kind,
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    );
                let status = if refused {
                    QUIC_STATUS_CONNECTION_REFUSED
                } else {
                    status_of_io(kind)
                };
                self.transport_shutdown(status, 0);
                self.complete(cx, false);
            }
            ConnEvent::Engine(event) => self.on_engine_event(cx, conn, event),
        }
    }

    /// CONNECTED: the handshake and the peer's transport parameters are done.
    fn raise_connected(self: &Rc<Self>, cx: &WorkerCx) {
        stream_reset::on_peer_params(self);
        self.connected.set(true);
        datagram::on_connected(self, cx);
        let alpn = self.alpn.borrow().clone();
        {
            let mut info = self.handle.obj.info.lock();
            info.negotiated_alpn = Some(alpn.clone());
            info.connected_us = connection::now_us();
        }
        qlog!(
            Info,
            self.key(),
            "connection connected alpn={}",
            String::from_utf8_lossy(&alpn)
        );
        let mut event = QUIC_CONNECTION_EVENT {
            Type: QUIC_CONNECTION_EVENT_CONNECTED,
            payload: QUIC_CONNECTION_EVENT_PAYLOAD {
                CONNECTED: QUIC_CONNECTION_EVENT_CONNECTED_PAYLOAD {
                    SessionResumed: 0,
                    NegotiatedAlpnLength: alpn.len().min(255) as u8,
                    NegotiatedAlpn: alpn.as_ptr(),
                },
            },
        };
        self.emit(&mut event);
        stream::retry_blocked_starts(self, cx);
    }

    /// ConnectionCertificateValidationComplete accepted the certificate: CONNECTED, if it
    /// was waiting for that.
    pub(crate) fn resume_connected(self: &Rc<Self>, cx: &WorkerCx) {
        if self.connected_waiting.replace(false) {
            self.raise_connected(cx);
        }
    }

    fn on_engine_event(self: &Rc<Self>, cx: &WorkerCx, conn: &Rc<Conn>, event: Event) {
        if !matches!(event, Event::Connected | Event::Closed(_) | Event::Drained) {
            qlog!(Debug, self.key(), "stream event {event:?}");
        }
        match event {
            Event::Connected if self.cert_pending.get() => {
                // The application has yet to accept the server's certificate.
                self.connected_waiting.set(true);
            }
            Event::Connected => self.raise_connected(cx),
            Event::PeerResetAt { id, reliable_size } => {
                if let Some(s) = self.stream(id) {
                    stream_reset::peer_reset_at(&s, reliable_size);
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
                    stream::peer_send_aborted(&s, error_code);
                }
            }
            Event::StopSending { id, error_code } => {
                if let Some(s) = self.stream(id) {
                    stream::peer_receive_aborted(&s, error_code);
                }
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
                    stream::send_shutdown_complete(&s, graceful);
                }
            }
            Event::StreamClosed { id } => {
                if let Some(s) = self.remove_stream(id.0) {
                    stream::shutdown_complete(&s);
                }
            }
            Event::StreamsAvailable { .. } => {
                // Starts waiting for the limit take their slots first; the application hears
                // of what is left.
                stream::retry_blocked_starts(self, cx);
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
            Event::DatagramReceived(data) => datagram::received(self, &data),
            Event::DatagramSent { token } => datagram::sent(self, token),
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
            Event::Drained => self.complete(cx, self.closed_remotely.get() || self.by_app.get()),
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
        match cause {
            CloseCause::IdleTimeout => self.transport_shutdown(QUIC_STATUS_CONNECTION_IDLE, 0),
            CloseCause::LocalError(e) => {
                self.transport_shutdown(status_of_transport(e.code.0), e.code.0)
            }
            CloseCause::LocalClose { .. } => {}
            CloseCause::PeerTransport { error_code, .. } => {
                self.closed_remotely.set(true);
                self.transport_shutdown(status_of_transport(error_code.0), error_code.0);
            }
            CloseCause::PeerApplication { error_code, .. } => self.peer_shutdown(error_code),
            CloseCause::PeerEof { .. } => {
                self.closed_remotely.set(true);
                self.transport_shutdown(QUIC_STATUS_ABORTED, 0);
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
        _ => QUIC_STATUS_HANDSHAKE_FAILURE,
    }
}

/// MsQuic's status for a transport failure of the socket.
fn status_of_io(kind: std::io::ErrorKind) -> QUIC_STATUS {
    use std::io::ErrorKind as K;
    match kind {
        K::ConnectionRefused => QUIC_STATUS_CONNECTION_REFUSED,
        K::HostUnreachable | K::NetworkUnreachable => QUIC_STATUS_UNREACHABLE,
        K::TimedOut => QUIC_STATUS_CONNECTION_TIMEOUT,
        K::AddrNotAvailable => QUIC_STATUS_ADDRESS_NOT_AVAILABLE,
        _ => QUIC_STATUS_ABORTED,
    }
}

/// MsQuic's status for a QUIC transport error code.
fn status_of_transport(code: u64) -> QUIC_STATUS {
    match code {
        0x0 => QUIC_STATUS_SUCCESS,
        0x2 => QUIC_STATUS_CONNECTION_REFUSED,
        0x3..=0x8 | 0xA | 0xD => QUIC_STATUS_PROTOCOL_ERROR,
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
}
