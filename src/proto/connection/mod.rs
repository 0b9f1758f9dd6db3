//! One QMux connection as a deterministic state machine.

mod blocked;
mod buffering;
mod event_queue;
mod flood;
mod gather;
mod input;
mod live_config;
mod output;
mod stream_limits;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::BuildHasherDefault;

use crate::proto::id_hash::IdHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::error::{TransportError, TransportErrorCode};
use super::flow_control::{RecvWindow, SendCredit};
use super::record::{DEFAULT_MAX_RECORD_SIZE, RecordReader};
use super::shared::SharedBytes;
use super::stream_id::{Dir, Side, StreamId};
use super::streams::{self, Chunks, RecvStream, SendData, SendPhase, SendStream, Stream};
use super::transport_params::TransportParameters;
use super::varint;

pub use blocked::{BlockedTimes, StreamBlocked};
pub use buffering::release_spare_buffers;
pub use flood::{NOISE_BURST, NOISE_RATE, Noise};
pub use gather::{MAX_SLICES, REFER_MIN};

/// Settings for one connection; they become our transport parameters.
#[derive(Clone, Debug)]
pub struct Config {
    /// max_idle_timeout; zero disables the idle timeout on our side.
    pub max_idle_timeout: Duration,
    /// initial_max_data: the connection-wide receive window.
    pub initial_max_data: u64,
    /// initial_max_stream_data_bidi_local: window for bidi streams we open.
    pub initial_max_stream_data_bidi_local: u64,
    /// initial_max_stream_data_bidi_remote: window for bidi streams the peer opens.
    pub initial_max_stream_data_bidi_remote: u64,
    /// initial_max_stream_data_uni: window for uni streams the peer opens.
    pub initial_max_stream_data_uni: u64,
    /// How many bidi streams the peer may have open at once (topped up as they finish).
    pub max_streams_bidi: u64,
    /// How many uni streams the peer may have open at once (topped up as they finish).
    pub max_streams_uni: u64,
    /// max_record_size we advertise: the largest record we accept (at least 16382).
    pub max_record_size: u64,
    /// max_datagram_frame_size we advertise; `None` refuses DATAGRAM.
    pub max_datagram_frame_size: Option<u64>,
    /// Whether we advertise reset_stream_at (accept RESET_STREAM_AT).
    pub reset_stream_at: bool,
    /// Send a QX_PING request after this long without a record sent or received.
    pub keep_alive_interval: Option<Duration>,
    /// How long to wait, after closing, for the peer to end its sending direction.
    pub close_wait_timeout: Duration,
    /// How streams with data share the output.
    pub scheduling: Scheduling,
    /// Hold the RESET_STREAM answering a peer's STOP_SENDING until
    /// [`Connection::release_stop_reply`]: the application may first choose its code (and a
    /// reliable size) with [`Connection::reset_at`]. Off, the reply (code 0) goes at once.
    pub hold_stop_replies: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_idle_timeout: Duration::from_secs(30),
            initial_max_data: 16 << 20,
            initial_max_stream_data_bidi_local: 64 << 10,
            initial_max_stream_data_bidi_remote: 64 << 10,
            initial_max_stream_data_uni: 64 << 10,
            max_streams_bidi: 100,
            max_streams_uni: 100,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            max_datagram_frame_size: None,
            reset_stream_at: false,
            keep_alive_interval: None,
            close_wait_timeout: Duration::from_secs(3),
            scheduling: Scheduling::RoundRobin,
            hold_stop_replies: false,
        }
    }
}

impl Config {
    /// The transport parameters these settings advertise.
    pub fn transport_parameters(&self) -> TransportParameters {
        TransportParameters {
            max_idle_timeout: u64::try_from(self.max_idle_timeout.as_millis()).unwrap_or(u64::MAX),
            initial_max_data: self.initial_max_data,
            initial_max_stream_data_bidi_local: self.initial_max_stream_data_bidi_local,
            initial_max_stream_data_bidi_remote: self.initial_max_stream_data_bidi_remote,
            initial_max_stream_data_uni: self.initial_max_stream_data_uni,
            initial_max_streams_bidi: self.max_streams_bidi,
            initial_max_streams_uni: self.max_streams_uni,
            max_record_size: self.max_record_size.max(DEFAULT_MAX_RECORD_SIZE),
            max_datagram_frame_size: self.max_datagram_frame_size,
            reset_stream_at: self.reset_stream_at,
        }
    }
}

/// How streams of equal priority share the output.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum Scheduling {
    /// Each stream in turn gets up to one record's worth.
    #[default]
    RoundRobin,
    /// A stream sends everything it can before the next one starts.
    Fifo,
}

/// Something the layer above should know about; see [`Connection::poll_event`].
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The peer's transport parameters were processed: streams and datagrams may be used.
    Connected,
    /// The peer opened a stream.
    StreamOpened {
        /// The stream.
        id: StreamId,
    },
    /// A stream has data or its end to read.
    StreamReadable {
        /// The stream.
        id: StreamId,
    },
    /// The peer sent RESET_STREAM_AT: the bytes below `reliable_size` are still delivered,
    /// then [`Event::StreamReset`] follows. Raised again if a later frame lowers the size.
    PeerResetAt {
        /// The stream.
        id: StreamId,
        /// The reliable size in force.
        reliable_size: u64,
    },
    /// The peer reset its sending half; reliable bytes, if any, were read first.
    StreamReset {
        /// The stream.
        id: StreamId,
        /// The peer's application error code.
        error_code: u64,
    },
    /// The peer asked us to stop sending; the engine has reset our sending half in reply.
    StopSending {
        /// The stream.
        id: StreamId,
        /// The peer's application error code.
        error_code: u64,
    },
    /// Data queued with a token was all written to the transport (implicit acknowledgement).
    SendComplete {
        /// The stream.
        id: StreamId,
        /// The token given when the data was queued.
        token: u64,
    },
    /// Data queued with a token will never be sent (the stream was reset or closed).
    SendCanceled {
        /// The stream.
        id: StreamId,
        /// The token given when the data was queued.
        token: u64,
    },
    /// Our sending half is done: the FIN (`graceful`) or a reset was written.
    SendShutdownComplete {
        /// The stream.
        id: StreamId,
        /// Whether it ended with FIN rather than a reset.
        graceful: bool,
    },
    /// Both halves of a stream are finished; the engine has forgotten it.
    StreamClosed {
        /// The stream.
        id: StreamId,
    },
    /// The peer's stream limits grew: how many more streams we may open now.
    StreamsAvailable {
        /// Bidirectional streams available.
        bidi: u64,
        /// Unidirectional streams available.
        uni: u64,
    },
    /// The peer sent STREAMS_BLOCKED: it wants to open more streams of `dir` than our
    /// limit allows.
    PeerStreamsBlocked {
        /// The direction the peer is blocked on.
        dir: Dir,
    },
    /// A DATAGRAM arrived.
    DatagramReceived(Vec<u8>),
    /// A queued datagram was written to the transport.
    DatagramSent {
        /// The token given when it was queued.
        token: u64,
    },
    /// A queued datagram will never be written: the connection is closing.
    DatagramCanceled {
        /// The token given when it was queued.
        token: u64,
    },
    /// The connection is ending, for this reason. Raised once.
    Closed(CloseCause),
    /// The connection is over; nothing more will happen. Raised once, after [`Event::Closed`].
    Drained,
}

/// Why a connection ended.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum CloseCause {
    /// No record was sent or received for the idle timeout.
    IdleTimeout,
    /// We found a protocol error in the peer's input and sent this CONNECTION_CLOSE.
    LocalError(TransportError),
    /// The application closed the connection with this code and reason.
    LocalClose {
        /// The application error code.
        error_code: u64,
        /// The reason phrase.
        reason: Vec<u8>,
    },
    /// The peer sent CONNECTION_CLOSE with a transport error code.
    PeerTransport {
        /// The transport error code.
        error_code: TransportErrorCode,
        /// The frame type the peer blamed.
        frame_type: u64,
        /// The peer's reason phrase.
        reason: Vec<u8>,
    },
    /// The peer sent CONNECTION_CLOSE with an application error code.
    PeerApplication {
        /// The application error code.
        error_code: u64,
        /// The peer's reason phrase.
        reason: Vec<u8>,
    },
    /// The peer ended its sending direction without CONNECTION_CLOSE.
    PeerEof {
        /// Whether it ended in the middle of a record (an abrupt end).
        mid_record: bool,
    },
}

/// Why an application command was refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum CommandError {
    /// The connection is closing or closed.
    ConnectionClosed,
    /// The peer's transport parameters have not arrived yet.
    NotConnected,
    /// The peer's stream limit is reached (a STREAMS_BLOCKED was queued).
    StreamLimit,
    /// No such stream (never opened, or already finished and forgotten).
    UnknownStream,
    /// The stream has no half in that direction for us.
    WrongDirection,
    /// The sending half was already finished or reset.
    SendClosed,
    /// The peer did not negotiate the feature (DATAGRAM, RESET_STREAM_AT).
    NotNegotiated,
    /// The datagram does not fit in one frame the peer accepts.
    TooLarge,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for CommandError {}

/// The frame we close with.
#[derive(Clone, Debug)]
enum CloseFrame {
    Transport(TransportError),
    Application { error_code: u64, reason: Vec<u8> },
}

/// Where the connection is in its life.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum State {
    /// Normal operation.
    Open,
    /// Ending: no more frames besides a pending CONNECTION_CLOSE; waiting for the peer's EOF.
    Closing,
    /// Over.
    Drained,
}

/// A QMux connection: a sans-IO state machine for one byte stream.
///
/// Time is a [`std::time::Instant`] passed in by the caller; the engine never reads a clock.
///
/// The caller drives it as follows, repeating while there is work:
/// 1. Feed bytes from the transport with [`Connection::handle_input`] or, handing over the
///    buffer so stream data is not copied, [`Connection::handle_input_shared`] (either always
///    takes them all; memory is bounded by flow control and max_record_size), the
///    transport's end with [`Connection::handle_eof`], and expired timers with
///    [`Connection::handle_timeout`].
/// 2. Call [`Connection::poll_transmit`] with a buffer until it returns 0 and write what it
///    produced to the transport, in order. Whole records only are produced.
/// 3. When [`Connection::wants_write_shutdown`] is true and `poll_transmit` returns 0, shut
///    down the transport's sending direction (TLS close_notify and TCP FIN).
/// 4. Drain [`Connection::poll_event`] (which also settles held buffered sends for the
///    bytes written in step 2, so drain it after every transmit pass).
/// 5. Arm a timer for [`Connection::poll_timeout`].
///
/// A caller serving many connections may bound each turn with
/// [`Connection::set_record_budget`]: input past the budget is held, and
/// [`Connection::resume_input`] with a new budget continues it on a later turn while
/// [`Connection::has_held_input`] says there is some. Input that changes nothing (redundant
/// frames, PADDING-only records, QX_PING storms; see [`Noise`]) is charged to a flood guard
/// that closes the connection with PROTOCOL_VIOLATION past its allowance.
///
/// Once [`Connection::is_drained`] is true, the transport can be closed and the connection
/// dropped. Application commands (open, send, read, ...) may be called at any point between.
#[derive(Debug)]
pub struct Connection {
    side: Side,
    config: Config,
    local_params: TransportParameters,
    peer_params: Option<TransportParameters>,
    /// Parameters remembered from an earlier connection, used for 0-RTT until the peer's
    /// arrive.
    remembered_params: Option<TransportParameters>,
    state: State,
    deframer: RecordReader,
    /// Bytes of input buffers (from `handle_input_shared`) that stream chunks reference,
    /// counted once per buffer by its size (see `streams::buffer` on memory).
    pinned: Arc<AtomicUsize>,
    /// The most `pinned` may reach: our connection receive window.
    pin_budget: usize,
    /// Whether any complete record has been processed (the first frame rule).
    got_first_frame: bool,
    /// Whether our QX_TRANSPORT_PARAMETERS has been written.
    tp_sent: bool,
    /// Our transport parameters, encoded once.
    tp_bytes: Vec<u8>,
    events: event_queue::EventQueue,
    /// An [`Event::StreamsAvailable`] waits in `events` (its counts are refreshed when taken).
    streams_available_queued: bool,
    /// The [`Event::StreamsAvailable`] of the peer's transport parameters waits in `events`
    /// (ahead of any other).
    params_streams_available_queued: bool,
    /// Our limit on the peer's streams, per direction, at which [`Event::PeerStreamsBlocked`]
    /// was raised: once per limit.
    peer_streams_blocked_raised: [Option<u64>; 2],
    /// The connection limit the peer last reported being blocked at (DATA_BLOCKED).
    data_blocked_seen: Option<u64>,
    /// Charges input that changes nothing (see `flood`).
    flood: flood::FloodGuard,
    /// Records that may still be processed before input is held; `None`: no bound.
    record_budget: Option<usize>,
    /// Output is restricted to what may go in TLS early data.
    early_output: bool,
    /// A stream was given a priority other than the default (until then the send queue
    /// is served in order without comparing priorities).
    priorities_set: bool,
    /// The stream data of ours that went out in TLS early data, by stream.
    early_sent: crate::proto::id_hash::IdMap<StreamId, u64>,
    /// The input being processed arrived in TLS early data.
    input_early: bool,
    /// Input received while the record budget was spent, in order.
    held_input: VecDeque<SharedBytes>,
    /// The peer's end of input arrived behind held input.
    eof_held: bool,

    // Closing.
    close_frame: Option<CloseFrame>,
    write_shutdown: bool,
    peer_eof: bool,
    close_wait_deadline: Option<Instant>,

    // Timers.
    last_activity: Instant,

    // QX_PING.
    next_ping_seq: u64,
    ping_pending: bool,
    largest_ping_sent: Option<u64>,
    largest_ping_received: Option<u64>,
    ping_response_pending: Option<u64>,

    // Connection flow control.
    recv_data: RecvWindow,
    max_data_pending: bool,
    send_data: SendCredit,
    data_blocked_pending: Option<u64>,

    // Streams.
    /// Boxed, so that the table's slots stay small and the boxes can be reused (see
    /// [`crate::proto::streams::boxed`]).
    streams: HashMap<StreamId, Box<Stream>, BuildHasherDefault<IdHasher>>,
    /// Next index we open, per direction (`[bidi, uni]`).
    next_local: [u64; 2],
    /// The peer's limit on streams we open.
    peer_max_streams: [u64; 2],
    /// Lowest peer stream index not yet opened.
    next_remote: [u64; 2],
    /// Our limit on streams the peer opens, and whether a raise awaits sending.
    max_remote: [u64; 2],
    max_streams_pending: [bool; 2],
    /// How many streams per direction the peer may have open at once.
    peer_allowance: [u64; 2],
    /// Peer streams per direction whose slots were given back.
    released: [u64; 2],
    /// Peer streams whose slot waits for `release_stream_slot`.
    held_slots: HashSet<StreamId, BuildHasherDefault<IdHasher>>,
    /// Held peer streams that finished: their slot goes back on release.
    owed_slots: HashSet<StreamId, BuildHasherDefault<IdHasher>>,

    // Blocked-time accounting (see `blocked`).
    /// The `now` of the latest call that passed one in.
    clock: Instant,
    /// Time sending waited for MAX_DATA.
    conn_blocked: blocked::Interval,
    /// Blocked times of streams the engine forgot, until the application drops them.
    finished_blocked: HashMap<StreamId, BlockedTimes, BuildHasherDefault<IdHasher>>,
    streams_blocked_pending: [Option<u64>; 2],
    streams_blocked_sent: [Option<u64>; 2],
    /// Streams with something to send, in scheduling order.
    send_queue: VecDeque<StreamId>,
    max_stream_data_pending: Vec<StreamId>,
    stream_data_blocked_pending: Vec<StreamId>,
    stop_sending_pending: VecDeque<(StreamId, u64)>,
    reset_pending: VecDeque<StreamId>,
    /// Streams whose reply to STOP_SENDING is held (see [`Config::hold_stop_replies`]).
    stop_replies_held: Vec<StreamId>,
    /// Buffered sends' copies and held sends (see `buffering`).
    buffering: buffering::SendBuffering,

    // Datagrams.
    datagrams: VecDeque<(Vec<u8>, u64)>,

    stats: Stats,
}

// The runtime moves connections between threads.
/// Slots of the stream table a connection keeps once it has no stream left.
const KEPT_STREAM_SLOTS: usize = 128;

const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Connection>();
};

/// Counters kept by the engine.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Stats {
    /// Bytes produced by `poll_transmit`.
    pub bytes_sent: u64,
    /// Bytes given to `handle_input`.
    pub bytes_received: u64,
    /// Records produced.
    pub records_sent: u64,
    /// Complete records received.
    pub records_received: u64,
    /// Stream payload bytes written.
    pub stream_bytes_sent: u64,
    /// Stream payload bytes received.
    pub stream_bytes_received: u64,
    /// Datagram payload bytes written.
    pub datagram_bytes_sent: u64,
}

fn di(dir: Dir) -> usize {
    match dir {
        Dir::Bi => 0,
        Dir::Uni => 1,
    }
}

impl Connection {
    /// A new connection on `side`, starting at `now`. Its first output is our transport
    /// parameters, which should be written as soon as the transport is writable.
    pub fn new(side: Side, config: Config, now: Instant) -> Self {
        let local_params = config.transport_parameters();
        let mut tp_bytes = Vec::new();
        local_params.encode(&mut tp_bytes);
        Self {
            side,
            deframer: RecordReader::new(local_params.max_record_size),
            pinned: Arc::new(AtomicUsize::new(0)),
            pin_budget: usize::try_from(local_params.initial_max_data).unwrap_or(usize::MAX),
            recv_data: RecvWindow::new(local_params.initial_max_data),
            max_remote: [
                local_params.initial_max_streams_bidi,
                local_params.initial_max_streams_uni,
            ],
            peer_allowance: [
                local_params.initial_max_streams_bidi,
                local_params.initial_max_streams_uni,
            ],
            released: [0; 2],
            held_slots: HashSet::default(),
            owed_slots: HashSet::default(),
            clock: now,
            conn_blocked: blocked::Interval::default(),
            finished_blocked: HashMap::default(),
            local_params,
            config,
            peer_params: None,
            remembered_params: None,
            state: State::Open,
            got_first_frame: false,
            tp_sent: false,
            tp_bytes,
            events: event_queue::EventQueue::default(),
            streams_available_queued: false,
            params_streams_available_queued: false,
            peer_streams_blocked_raised: [None; 2],
            data_blocked_seen: None,
            flood: flood::FloodGuard::default(),
            record_budget: None,
            early_output: false,
            priorities_set: false,
            early_sent: Default::default(),
            input_early: false,
            held_input: VecDeque::new(),
            eof_held: false,
            close_frame: None,
            write_shutdown: false,
            peer_eof: false,
            close_wait_deadline: None,
            last_activity: now,
            next_ping_seq: 0,
            ping_pending: false,
            largest_ping_sent: None,
            largest_ping_received: None,
            ping_response_pending: None,
            max_data_pending: false,
            send_data: SendCredit::new(0),
            data_blocked_pending: None,
            streams: HashMap::default(),
            next_local: [0; 2],
            peer_max_streams: [0; 2],
            next_remote: [0; 2],
            max_streams_pending: [false; 2],
            streams_blocked_pending: [None; 2],
            streams_blocked_sent: [None; 2],
            send_queue: VecDeque::new(),
            max_stream_data_pending: Vec::new(),
            stream_data_blocked_pending: Vec::new(),
            stop_sending_pending: VecDeque::new(),
            reset_pending: VecDeque::new(),
            stop_replies_held: Vec::new(),
            buffering: Default::default(),
            datagrams: VecDeque::new(),
            stats: Stats::default(),
        }
    }

    // ---- Getters ----

    /// Which side we are.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The transport parameters we advertise.
    pub fn local_params(&self) -> &TransportParameters {
        &self.local_params
    }

    /// The peer's transport parameters, once received.
    pub fn peer_params(&self) -> Option<&TransportParameters> {
        self.peer_params.as_ref()
    }

    /// Uses transport parameters remembered from an earlier connection to the same server, so
    /// streams and datagrams can be sent in TLS early data (0-RTT) before the server's
    /// parameters arrive (RFC 9000 §7.4.1). Call right after [`Connection::new`], on a client.
    /// Records stay within 16382 bytes until the server's parameters arrive (max_record_size
    /// is not remembered). If the server's parameters then lower any remembered limit, the
    /// connection closes with PROTOCOL_VIOLATION. If the server rejects early data, start over
    /// with a new `Connection`.
    pub fn use_remembered_params(&mut self, params: TransportParameters) {
        if self.side.is_client() && self.peer_params.is_none() && self.next_local == [0, 0] {
            self.send_data = SendCredit::new(params.initial_max_data);
            self.peer_max_streams = [
                params.initial_max_streams_bidi,
                params.initial_max_streams_uni,
            ];
            self.remembered_params = Some(params);
        }
    }

    /// The limits we send by: the peer's parameters, or remembered ones during 0-RTT.
    fn limits(&self) -> Option<&TransportParameters> {
        self.peer_params
            .as_ref()
            .or(self.remembered_params.as_ref())
    }

    /// Whether the peer's transport parameters have been processed.
    pub fn is_connected(&self) -> bool {
        self.peer_params.is_some()
    }

    /// Whether the connection is closing or closed.
    pub fn is_closed(&self) -> bool {
        self.state != State::Open
    }

    /// Whether the peer ended its sending direction of the transport.
    pub fn peer_ended(&self) -> bool {
        self.peer_eof
    }

    /// Whether the connection is over and the transport can be closed.
    pub fn is_drained(&self) -> bool {
        self.state == State::Drained
    }

    /// Whether the transport's sending direction should be shut down once `poll_transmit`
    /// has nothing more.
    pub fn wants_write_shutdown(&self) -> bool {
        self.write_shutdown && self.close_frame.is_none()
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes of input buffers given to [`Connection::handle_input_shared`] that received
    /// stream data still references (each buffer counted once, by its allocated size). It never
    /// exceeds our connection receive window (initial_max_data): past that, data is copied.
    pub fn pinned_input_bytes(&self) -> usize {
        self.pinned.load(Ordering::Relaxed)
    }

    /// The idle timeout in force: the smaller of the two non-zero max_idle_timeout values.
    pub fn idle_timeout(&self) -> Option<Duration> {
        let local = u64::try_from(self.config.max_idle_timeout.as_millis()).unwrap_or(u64::MAX);
        let peer = self.peer_params.as_ref().map_or(0, |p| p.max_idle_timeout);
        let ms = match (local, peer) {
            (0, 0) => return None,
            (0, x) | (x, 0) => x,
            (a, b) => a.min(b),
        };
        Some(Duration::from_millis(ms))
    }

    /// The streams the engine still tracks (opened and not yet closed), in no particular order.
    pub fn stream_ids(&self) -> impl Iterator<Item = StreamId> + '_ {
        self.streams.keys().copied()
    }

    /// Bytes queued on a stream and not yet written, if we can send on it.
    pub fn send_pending(&self, id: StreamId) -> Option<u64> {
        self.streams
            .get(&id)?
            .send
            .as_ref()
            .map(SendStream::pending)
    }

    /// Application bytes queued and not yet written: stream data of every stream, and
    /// datagrams.
    pub fn unsent_bytes(&self) -> u64 {
        let streams: u64 = self
            .streams
            .values()
            .filter_map(|s| s.send.as_ref())
            .map(SendStream::pending)
            .sum();
        let datagrams: u64 = self.datagrams.iter().map(|(d, _)| d.len() as u64).sum();
        streams + datagrams
    }

    /// Changes how streams of equal priority share the transport from now on.
    pub fn set_scheduling(&mut self, scheduling: Scheduling) {
        self.config.scheduling = scheduling;
    }

    /// Whether some data queued on stream `id` still waits to report its token.
    pub fn send_waiting(&self, id: StreamId) -> bool {
        self.streams
            .get(&id)
            .and_then(|s| s.send.as_ref())
            .is_some_and(SendStream::has_waiting_token)
    }

    /// Reports `token` as complete now, in order with the other events: for a caller that
    /// keeps nothing of the send's data (it was copied), so there is nothing to wait for.
    pub fn complete_send(&mut self, id: StreamId, token: u64) {
        self.events.push_back(Event::SendComplete { id, token });
    }

    /// How many more streams of `dir` we may open now.
    pub fn streams_available(&self, dir: Dir) -> u64 {
        self.peer_max_streams[di(dir)].saturating_sub(self.next_local[di(dir)])
    }

    /// The stream limits in force for `dir`: `(peer's limit on streams we open, our limit on
    /// streams the peer opens)`, as stream counts.
    pub fn max_streams(&self, dir: Dir) -> (u64, u64) {
        (self.peer_max_streams[di(dir)], self.max_remote[di(dir)])
    }

    /// The largest datagram payload the peer accepts, if it accepts datagrams.
    pub fn max_datagram_size(&self) -> Option<usize> {
        let record_max = self
            .peer_params
            .as_ref()
            .map_or(DEFAULT_MAX_RECORD_SIZE, |p| p.max_record_size);
        let frame_max = self.limits()?.max_datagram_frame_size?.min(record_max);
        // Type byte plus a Length field sized for the payload.
        let mut payload = frame_max.saturating_sub(1);
        while payload > 0 && 1 + varint::size(payload) as u64 + payload > frame_max {
            payload -= 1;
        }
        usize::try_from(payload).ok()
    }

    // ---- Driving ----

    /// The next event, if any.
    ///
    /// Taking events first ends the transmit pass for buffered sends: held sends that room
    /// freed by written bytes now takes are copied and reported complete (see
    /// `connection::buffering`), after the completions of sends the pass wrote whole.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.settle_held();
        match self.events.pop_front()? {
            Event::StreamsAvailable { .. } => {
                // One waits at a time (besides the transport parameters' own), carrying the
                // counts of when it is taken.
                if !std::mem::take(&mut self.params_streams_available_queued) {
                    self.streams_available_queued = false;
                }
                Some(Event::StreamsAvailable {
                    bidi: self.streams_available(Dir::Bi),
                    uni: self.streams_available(Dir::Uni),
                })
            }
            event => Some(event),
        }
    }

    /// Charges `count` units of peer input that changed nothing, found outside the engine
    /// (the TLS layer's KeyUpdates and empty records), to the flood guard: past its
    /// allowance the connection closes with PROTOCOL_VIOLATION naming the flood.
    pub fn note_peer_noise(&mut self, now: Instant, noise: Noise, count: usize) {
        self.clock = now;
        if let Err(e) = self.noise(now, noise, count) {
            self.fail(now, e);
        }
    }

    /// Charges the flood guard; the error to close with once it overflows.
    fn noise(&mut self, now: Instant, noise: Noise, count: usize) -> Result<(), TransportError> {
        if count == 0 || self.state != State::Open {
            return Ok(());
        }
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if self.flood.charge(now, count) {
            return Err(TransportError::PROTOCOL_VIOLATION(noise.reason()));
        }
        Ok(())
    }

    /// When [`Connection::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Drained => None,
            State::Closing => self.close_wait_deadline,
            State::Open => {
                let idle = self.idle_timeout().map(|d| self.last_activity + d);
                let keep_alive = match self.config.keep_alive_interval {
                    Some(d) if !self.ping_pending && self.is_connected() => {
                        Some(self.last_activity + d)
                    }
                    _ => None,
                };
                match (idle, keep_alive) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
        }
    }

    /// Handles timers that expired at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = now;
        match self.state {
            State::Drained => {}
            State::Closing => {
                if self.close_wait_deadline.is_some_and(|d| now >= d) {
                    self.drain();
                }
            }
            State::Open => {
                if let Some(d) = self.idle_timeout() {
                    if now >= self.last_activity + d {
                        // No frames on idle timeout (qmux-02 §7.1): just end our direction.
                        self.write_shutdown = true;
                        self.enter_closing(now, CloseCause::IdleTimeout);
                        return;
                    }
                }
                if let Some(d) = self.config.keep_alive_interval {
                    if self.is_connected() && !self.ping_pending && now >= self.last_activity + d {
                        self.ping();
                    }
                }
            }
        }
    }

    /// The peer ended its sending direction of the transport.
    pub fn handle_eof(&mut self, now: Instant) {
        if self.has_held_input() {
            // It ends the input after what is held.
            self.eof_held = true;
            return;
        }
        self.peer_eof = true;
        match self.state {
            State::Open => {
                let mid_record = self.deframer.is_mid_record();
                self.write_shutdown = true;
                self.enter_closing(now, CloseCause::PeerEof { mid_record });
                self.drain();
            }
            State::Closing => {
                if self.close_frame.is_none() {
                    self.drain();
                }
            }
            State::Drained => {}
        }
    }

    // ---- Application commands ----

    /// Closes the connection with an application error code: CONNECTION_CLOSE (0x1d) is
    /// queued, then the sending direction ends.
    pub fn close(&mut self, now: Instant, error_code: u64, reason: &[u8]) {
        if self.state != State::Open {
            return;
        }
        let reason = reason.to_vec();
        self.close_frame = Some(CloseFrame::Application {
            error_code,
            reason: reason.clone(),
        });
        self.write_shutdown = true;
        self.enter_closing(now, CloseCause::LocalClose { error_code, reason });
    }

    /// Closes the connection with a transport error code (CONNECTION_CLOSE type 0x1c), e.g.
    /// CONNECTION_REFUSED when the application turns a connection down.
    pub fn close_with_error(&mut self, now: Instant, error: TransportError) {
        self.fail(now, error);
    }

    /// Ends the connection without any frame (MsQuic's silent shutdown): the sending direction
    /// ends and the connection is drained at once.
    pub fn close_silently(&mut self, now: Instant, error_code: u64) {
        if self.state != State::Open {
            self.drain();
            return;
        }
        self.write_shutdown = true;
        self.enter_closing(
            now,
            CloseCause::LocalClose {
                error_code,
                reason: Vec::new(),
            },
        );
        self.drain();
    }

    /// Queues a QX_PING request.
    pub fn ping(&mut self) {
        if self.state == State::Open {
            self.ping_pending = true;
        }
    }

    /// Opens a stream, if the peer's limit allows.
    pub fn open(&mut self, dir: Dir) -> Result<StreamId, CommandError> {
        self.check_open()?;
        let Some(peer) = self.limits() else {
            return Err(CommandError::NotConnected);
        };
        let (bidi_credit, uni_credit) = (
            peer.initial_max_stream_data_bidi_remote,
            peer.initial_max_stream_data_uni,
        );
        let d = di(dir);
        if self.next_local[d] >= self.peer_max_streams[d] {
            let limit = self.peer_max_streams[d];
            if self.streams_blocked_sent[d] != Some(limit) {
                self.streams_blocked_pending[d] = Some(limit);
            }
            return Err(CommandError::StreamLimit);
        }
        let id = StreamId::new(self.side, dir, self.next_local[d]);
        self.next_local[d] += 1;
        let blocked = self.new_stream_blocked();
        let stream = match dir {
            Dir::Bi => Stream {
                send: Some(SendStream::new(bidi_credit).with_blocked(blocked)),
                recv: Some(RecvStream::new(
                    self.local_params.initial_max_stream_data_bidi_local,
                )),
            },
            Dir::Uni => Stream {
                send: Some(SendStream::new(uni_credit).with_blocked(blocked)),
                recv: None,
            },
        };
        self.streams.insert(id, streams::boxed(stream));
        Ok(id)
    }

    /// Queues data on a stream. With a `token`, [`Event::SendComplete`] reports when all of
    /// it was written (or [`Event::SendCanceled`] if it never will be).
    pub fn send(
        &mut self,
        id: StreamId,
        data: SendData,
        token: Option<u64>,
    ) -> Result<(), CommandError> {
        self.check_open()?;
        let send = self.send_half(id)?;
        if !send.is_writable() {
            return Err(CommandError::SendClosed);
        }
        send.push(data, token);
        self.schedule(id);
        Ok(())
    }

    /// Allows the last `len` bytes queued on a stream in TLS early data (0-RTT, see
    /// [`Connection::set_early_output`]), if all data queued before them is.
    pub fn allow_early(&mut self, id: StreamId, len: u64) {
        if let Ok(send) = self.send_half(id) {
            send.allow_early(len);
        }
    }

    /// The bytes of a stream of ours that went out in TLS early data (0-RTT).
    pub fn stream_early_sent(&self, id: StreamId) -> u64 {
        self.early_sent.get(&id).copied().unwrap_or(0)
    }

    /// Restricts the records produced from now on to what may go in TLS early data (0-RTT):
    /// our transport parameters, control frames, frames opening streams, the stream data
    /// queued as allowed there ([`Connection::allow_early`]) and FINs right after it; no
    /// datagrams. Off again, everything else follows.
    pub fn set_early_output(&mut self, on: bool) {
        self.early_output = on;
    }

    /// Like [`Connection::handle_input`], for plaintext that arrived in TLS early data
    /// (0-RTT): streams it opens and the data it carries are marked so
    /// ([`Connection::stream_early`]). Early data ends at a record boundary, so it is all
    /// processed at once, whatever the record budget.
    pub fn handle_input_early(&mut self, now: Instant, input: &[u8]) {
        let budget = self.record_budget.take();
        self.input_early = true;
        self.handle_input(now, input);
        self.input_early = false;
        self.record_budget = budget;
    }

    /// For a stream the peer opened: whether TLS early data opened it, and the end of the
    /// data it received in early data (MsQuic's 0-RTT flags).
    pub fn stream_early(&self, id: StreamId) -> (bool, u64) {
        self.streams
            .get(&id)
            .and_then(|s| s.recv.as_ref())
            .map_or((false, 0), |r| (r.opened_early, r.early_end))
    }

    /// Ends the sending half with FIN once queued data is written.
    pub fn finish(&mut self, id: StreamId) -> Result<(), CommandError> {
        self.check_open()?;
        let send = self.send_half(id)?;
        if !send.is_writable() {
            return Err(CommandError::SendClosed);
        }
        send.phase = SendPhase::Finishing;
        self.schedule(id);
        Ok(())
    }

    /// Abandons the sending half with RESET_STREAM; queued data is dropped.
    pub fn reset(&mut self, id: StreamId, error_code: u64) -> Result<(), CommandError> {
        self.reset_at(id, error_code, 0)
    }

    /// Abandons the sending half with RESET_STREAM_AT once the first `reliable_size` bytes
    /// are written (0 means a plain RESET_STREAM). A plain reset also overrides a
    /// RESET_STREAM_AT not written yet (as MsQuic's reset trumps its reliable reset): the
    /// data still owed below the reliable size is dropped and its sends canceled.
    pub fn reset_at(
        &mut self,
        id: StreamId,
        error_code: u64,
        reliable_size: u64,
    ) -> Result<(), CommandError> {
        self.check_open()?;
        if reliable_size > 0 && !self.limits().is_some_and(|p| p.reset_stream_at) {
            return Err(CommandError::NotNegotiated);
        }
        let held = self.stop_replies_held.contains(&id);
        let send = self.send_half(id)?;
        match send.phase {
            SendPhase::Open | SendPhase::Finishing => {}
            SendPhase::ResetPending { .. } if held => {
                // The reply to the peer's STOP_SENDING is still open: this sets its code and
                // reliable size (the data past what was written is already dropped).
                send.phase = SendPhase::ResetPending {
                    error_code,
                    reliable_size: reliable_size.min(send.offset()),
                };
                return Ok(());
            }
            SendPhase::ResetPending {
                reliable_size: r, ..
            } if r > 0 && reliable_size == 0 => {}
            _ => return Err(CommandError::SendClosed),
        }
        let reliable_size = reliable_size.min(send.offset() + send.pending());
        let canceled = if reliable_size <= send.offset() {
            send.discard()
        } else {
            send.truncate_to(reliable_size)
        };
        send.phase = SendPhase::ResetPending {
            error_code,
            reliable_size,
        };
        let now_due = reliable_size <= send.offset();
        for token in canceled {
            self.events.push_back(Event::SendCanceled { id, token });
        }
        if now_due {
            self.reset_pending.push_back(id);
        } else {
            self.schedule(id);
        }
        Ok(())
    }

    /// Sends the held reply to the peer's STOP_SENDING on `id` (see
    /// [`Config::hold_stop_replies`]): RESET_STREAM with code 0 unless [`Self::reset_at`]
    /// chose otherwise meanwhile. Nothing happens for a stream with no held reply.
    pub fn release_stop_reply(&mut self, id: StreamId) {
        if let Some(i) = self.stop_replies_held.iter().position(|&s| s == id) {
            self.stop_replies_held.swap_remove(i);
            self.reset_pending.push_back(id);
        }
    }

    /// Asks the peer to stop sending (STOP_SENDING); data arriving from now on is discarded.
    pub fn stop_sending(&mut self, id: StreamId, error_code: u64) -> Result<(), CommandError> {
        self.check_open()?;
        let recv = self.recv_half(id)?;
        if recv.is_stopped() || recv.reset().is_some() || recv.final_size().is_some() {
            // Already stopped, or the peer already ended the stream: nothing to ask.
            let credit = recv.stop(error_code);
            self.credit_connection(credit);
            self.maybe_close_stream(id);
            return Ok(());
        }
        let credit = recv.stop(error_code);
        self.stop_sending_pending.push_back((id, error_code));
        self.credit_connection(credit);
        self.maybe_close_stream(id);
        Ok(())
    }

    /// Opens a stream on the peer before any data: an empty STREAM frame at offset 0 goes out
    /// unless data or a FIN is written first.
    pub fn announce(&mut self, id: StreamId) -> Result<(), CommandError> {
        self.check_open()?;
        let send = self.send_half(id)?;
        if send.offset() == 0 && send.pending() == 0 && send.is_writable() {
            send.announce = true;
        }
        self.schedule(id);
        Ok(())
    }

    /// Sets a stream's priority: streams with a higher value send first.
    pub fn set_priority(&mut self, id: StreamId, priority: u16) -> Result<(), CommandError> {
        self.send_half(id)?.priority = priority;
        self.priorities_set |= priority != crate::proto::streams::DEFAULT_PRIORITY;
        Ok(())
    }

    /// The bytes ready to read on a stream, without consuming them: the chunks they arrived
    /// in, which for [`Connection::handle_input_shared`] point into the caller's input
    /// buffers (see [`Chunks::slices`]).
    pub fn peek(&mut self, id: StreamId) -> Result<Chunks<'_>, CommandError> {
        Ok(self.recv_half(id)?.chunks())
    }

    /// Consumes `n` bytes after [`Connection::peek`]; returns how many were consumed.
    /// Credit goes back to the peer as data is consumed, and chunks consumed whole are
    /// dropped, releasing input buffers no other chunk (or clone) refers to.
    pub fn consume(&mut self, id: StreamId, n: usize) -> Result<usize, CommandError> {
        let recv = self.recv_half(id)?;
        let n = recv.consume(n);
        self.after_consume(id, n as u64);
        Ok(n)
    }

    /// Whether we asked the peer to stop sending on a stream (its data is then discarded);
    /// `false` for a stream that is gone or cannot receive.
    pub fn recv_stopped(&self, id: StreamId) -> bool {
        self.streams
            .get(&id)
            .and_then(|s| s.recv.as_ref())
            .is_some_and(|r| r.is_stopped())
    }

    /// Asks for another [`Event::StreamReadable`] as soon as more data arrives on a stream,
    /// although nothing was consumed: for a reader that takes copies of the bytes and
    /// consumes them later.
    pub fn rearm_readable(&mut self, id: StreamId) -> Result<(), CommandError> {
        self.recv_half(id)?.notified = false;
        Ok(())
    }

    /// Sets a stream's receive limit explicitly: from now on the stream's MAX_STREAM_DATA
    /// no longer follows consumption but only these calls; a limit above the current one is
    /// advertised. Used when the application's own buffers bound what the peer may send.
    pub fn set_recv_limit(&mut self, id: StreamId, max: u64) -> Result<(), CommandError> {
        let recv = self.recv_half(id)?;
        if recv.window.raise_to(max)
            && recv.reset().is_none()
            && recv.final_size().is_none()
            && !recv.max_data_queued
        {
            recv.max_data_queued = true;
            self.max_stream_data_pending.push(id);
        }
        Ok(())
    }

    /// Reads into `buf`: `(bytes read, whether the stream's end was reached)`.
    pub fn read(&mut self, id: StreamId, buf: &mut [u8]) -> Result<(usize, bool), CommandError> {
        let recv = self.recv_half(id)?;
        let (n, fin) = recv.read(buf);
        self.after_consume(id, n as u64);
        Ok((n, fin))
    }

    /// Queues a datagram; [`Event::DatagramSent`] with `token` reports when it was written.
    pub fn send_datagram(&mut self, data: Vec<u8>, token: u64) -> Result<(), CommandError> {
        self.check_open()?;
        if self.limits().is_none() {
            return Err(CommandError::NotConnected);
        }
        let max = self
            .max_datagram_size()
            .ok_or(CommandError::NotNegotiated)?;
        if data.len() > max {
            return Err(CommandError::TooLarge);
        }
        self.datagrams.push_back((data, token));
        Ok(())
    }

    // ---- Internals shared by input and output ----

    fn check_open(&self) -> Result<(), CommandError> {
        if self.state == State::Open {
            Ok(())
        } else {
            Err(CommandError::ConnectionClosed)
        }
    }

    fn send_half(&mut self, id: StreamId) -> Result<&mut SendStream, CommandError> {
        if !id.can_send(self.side) {
            return Err(CommandError::WrongDirection);
        }
        let stream = self
            .streams
            .get_mut(&id)
            .ok_or(CommandError::UnknownStream)?;
        stream.send.as_mut().ok_or(CommandError::WrongDirection)
    }

    fn recv_half(&mut self, id: StreamId) -> Result<&mut RecvStream, CommandError> {
        if !id.can_recv(self.side) {
            return Err(CommandError::WrongDirection);
        }
        let stream = self
            .streams
            .get_mut(&id)
            .ok_or(CommandError::UnknownStream)?;
        stream.recv.as_mut().ok_or(CommandError::WrongDirection)
    }

    /// Puts a stream with something to send into the send queue.
    fn schedule(&mut self, id: StreamId) {
        if let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) {
            if !send.queued && send.wants_frame() {
                send.queued = true;
                self.send_queue.push_back(id);
            }
        }
    }

    /// The peer is blocked by our limit on stream `id`: the next update may grow the stream's
    /// window, up to the connection's (see [`RecvWindow::update`]). Returns whether the
    /// report was news (see [`RecvWindow::note_blocked`]).
    ///
    /// [`RecvWindow::update`]: crate::proto::flow_control::RecvWindow::update
    /// [`RecvWindow::note_blocked`]: crate::proto::flow_control::RecvWindow::note_blocked
    fn on_stream_blocked(&mut self, id: StreamId, limit: u64) -> bool {
        let cap = self.local_params.initial_max_data;
        self.streams
            .get_mut(&id)
            .and_then(|s| s.recv.as_mut())
            .is_some_and(|recv| recv.window.note_blocked(limit, cap))
    }

    /// Returns connection credit for `n` bytes the application will never read.
    fn credit_connection(&mut self, n: u64) {
        if n > 0 {
            self.recv_data.consume(n);
            if self.recv_data.should_update() {
                self.max_data_pending = true;
            }
        }
    }

    fn after_consume(&mut self, id: StreamId, n: u64) {
        self.credit_connection(n);
        let Some(recv) = self.streams.get_mut(&id).and_then(|s| s.recv.as_mut()) else {
            return;
        };
        if n > 0
            && recv.reset().is_none()
            && recv.final_size().is_none()
            && recv.window.should_update()
            && !recv.max_data_queued
        {
            recv.max_data_queued = true;
            self.max_stream_data_pending.push(id);
        }
        if let Some(r) = recv.reset_due() {
            recv.reset_delivered = true;
            self.events.push_back(Event::StreamReset {
                id,
                error_code: r.error_code,
            });
        }
        self.maybe_close_stream(id);
    }

    /// Forgets a stream whose halves are both done; tops up the peer's stream limit.
    fn maybe_close_stream(&mut self, id: StreamId) {
        if !self.streams.get(&id).is_some_and(|s| s.is_closed()) {
            return;
        }
        if let Some(mut stream) = self.streams.remove(&id) {
            if let Some(send) = stream.send.take() {
                self.keep_blocked_times(id, &send.blocked);
            }
            streams::unbox(stream);
        }
        if self.streams.is_empty() && self.streams.capacity() > KEPT_STREAM_SLOTS {
            // The table grown for a burst of many streams is not kept by a connection that
            // has none left; a small one is, as a connection opening a stream per request
            // often has none open for a moment.
            self.streams.shrink_to(KEPT_STREAM_SLOTS);
        }
        self.events.push_back(Event::StreamClosed { id });
        if id.initiator() != self.side {
            // Keep the peer's allowance at the configured number of open streams.
            self.peer_stream_finished(id);
        }
    }

    fn enter_closing(&mut self, now: Instant, cause: CloseCause) {
        self.state = State::Closing;
        self.close_wait_deadline = Some(now + self.config.close_wait_timeout);
        self.events.push_back(Event::Closed(cause));
        // Nothing but a pending CONNECTION_CLOSE goes out from here: queued data is canceled.
        self.send_queue.clear();
        let canceled: Vec<u64> = self.datagrams.drain(..).map(|(_, token)| token).collect();
        self.events.extend(
            canceled
                .into_iter()
                .map(|token| Event::DatagramCanceled { token }),
        );
        let mut ids: Vec<StreamId> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) {
                for token in send.discard() {
                    self.events.push_back(Event::SendCanceled { id, token });
                }
            }
        }
    }

    fn drain(&mut self) {
        if self.state != State::Drained {
            self.state = State::Drained;
            self.close_frame = None;
            self.events.push_back(Event::Drained);
        }
    }

    /// Closes the connection with a transport error (an error in the peer's input, or our
    /// own decision).
    fn fail(&mut self, now: Instant, err: TransportError) {
        if self.state != State::Open {
            return;
        }
        self.close_frame = Some(CloseFrame::Transport(err.clone()));
        self.write_shutdown = true;
        self.enter_closing(now, CloseCause::LocalError(err));
    }
}
