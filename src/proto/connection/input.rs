//! Processing the peer's bytes: records, then frames.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{CloseCause, Connection, Event, Noise, State, di};
use crate::proto::coding::Reader;
use crate::proto::error::{TransportError, TransportErrorCode};
use crate::proto::frame::{self, Frame, FrameType, ResetStream, StreamFrame};
use crate::proto::record::Deframed;
use crate::proto::shared::SharedBytes;
use crate::proto::stream_id::{Dir, StreamId};
use crate::proto::streams::{
    self, InputPin, RecvStream, ResetInfo, SHARE_MIN, SendPhase, SendStream, Stream,
};
use crate::proto::transport_params::TransportParameters;

/// Where the records being processed came from: a buffer handed over by the caller (stream
/// data may then be referenced instead of copied), or bytes to copy.
struct Source<'a> {
    /// The caller's buffer that the current records lie in, if they do.
    shared: Option<&'a SharedBytes>,
    /// This buffer's charge in the pinned total, once a chunk references it.
    pin: Option<Arc<InputPin>>,
    /// Referencing this buffer would exceed the budget: copy.
    refused: bool,
}

impl<'a> Source<'a> {
    fn new(shared: Option<&'a SharedBytes>) -> Self {
        Self {
            shared,
            pin: None,
            refused: false,
        }
    }

    /// `data` (part of the current record) as a reference into the caller's buffer, with the
    /// buffer's pin, if it should be referenced rather than copied (see `streams::buffer`).
    fn share(
        &mut self,
        data: &[u8],
        pinned: &Arc<AtomicUsize>,
        budget: usize,
    ) -> Option<(SharedBytes, &Arc<InputPin>)> {
        let input = self.shared?;
        if data.len() < SHARE_MIN || self.refused {
            return None;
        }
        let offset = input.offset_of(data)?;
        if self.pin.is_none() {
            let size = input.owner_capacity();
            if pinned.load(Ordering::Relaxed).saturating_add(size) > budget {
                self.refused = true;
                return None;
            }
            self.pin = Some(InputPin::new(size, pinned));
        }
        let pin = self.pin.as_ref()?;
        Some((input.slice(offset..offset + data.len()), pin))
    }
}

impl Connection {
    /// Feeds bytes received from the transport. All of `input` is always taken: a partial
    /// record is buffered (at most our max_record_size), complete ones are processed at once
    /// (or, past a record budget, held for [`Connection::resume_input`]), independent of
    /// whether the application reads any stream. Stream data is copied; see
    /// [`Connection::handle_input_shared`] for the way without.
    ///
    /// A protocol error closes the connection ([`Event::Closed`] with
    /// [`CloseCause::LocalError`]) and queues CONNECTION_CLOSE; later input is discarded.
    pub fn handle_input(&mut self, now: Instant, input: &[u8]) {
        if self.state != State::Open {
            self.held_input.clear();
        }
        if self.has_held_input() {
            self.held_input
                .push_back(SharedBytes::from_vec(input.to_vec()));
            return;
        }
        let used = self.process_input(now, input, None);
        if used < input.len() {
            let rest = SharedBytes::from_vec(input[used..].to_vec());
            self.held_input.push_back(rest);
        }
    }

    /// Like [`Connection::handle_input`], but takes ownership of the buffer, as a fresh
    /// buffer from a socket read can be: STREAM frame payloads are kept as references into
    /// `input` instead of copied, [`Connection::peek`] shows them in place, and the buffer is
    /// released once [`Connection::consume`] (or `read`) has gone past every byte referring
    /// to it. Only a record that straddles two input buffers is assembled by copying; the
    /// stream data in it is then referenced in the assembled record, which is counted and
    /// released like an input buffer.
    ///
    /// Memory stays bounded by flow control: frames under [`SHARE_MIN`] bytes are copied, and
    /// the input buffers referenced at any time add up to at most our connection receive
    /// window (each call's buffer counted by its whole allocation, see
    /// [`Connection::pinned_input_bytes`]); past that, data is copied as `handle_input` does.
    /// So a buffer much larger than the stream data in it costs copying, not memory. Hand over
    /// buffers sized for the reads they hold: a large allocation holding a small read uses up
    /// the allowance quickly.
    pub fn handle_input_shared(&mut self, now: Instant, input: SharedBytes) {
        if self.state != State::Open {
            self.held_input.clear();
        }
        if self.has_held_input() {
            self.held_input.push_back(input);
            return;
        }
        let used = self.process_input(now, input.as_slice(), Some(&input));
        if used < input.len() {
            self.held_input.push_back(input.slice(used..input.len()));
        }
    }

    /// Bounds the records processed from now on until the next call: past `records`, input
    /// is held (see [`Connection::has_held_input`]) until [`Connection::resume_input`] after
    /// a new budget. `None` (the default) processes everything at once. A caller serving
    /// many connections sets a budget per turn, so a peer sending tiny records as fast as
    /// the transport takes them gets a bounded share of work (and events) per turn.
    pub fn set_record_budget(&mut self, records: Option<usize>) {
        self.record_budget = records;
    }

    /// Whether received input waits for a record budget (see
    /// [`Connection::set_record_budget`]). Once the connection is closing, held input is
    /// dropped unprocessed, as later input is.
    pub fn has_held_input(&self) -> bool {
        !self.held_input.is_empty() && self.state == State::Open
    }

    /// How many pieces of input are held (for tests).
    #[cfg(test)]
    pub(crate) fn held_pieces(&self) -> usize {
        self.held_input.len()
    }

    /// Processes held input, within the record budget; a held end of input follows it.
    pub fn resume_input(&mut self, now: Instant) {
        while let Some(piece) = self.held_input.pop_front() {
            if self.state != State::Open {
                self.held_input.clear();
                break;
            }
            if self.record_budget == Some(0) {
                self.held_input.push_front(piece);
                return;
            }
            let used = self.process_input(now, piece.as_slice(), Some(&piece));
            if used < piece.len() {
                self.held_input.push_front(piece.slice(used..piece.len()));
                return;
            }
        }
        if std::mem::take(&mut self.eof_held) {
            self.handle_eof(now);
        }
    }

    /// Processes `input`, which is `shared` if the caller handed over its buffer, until the
    /// record budget runs out; returns the bytes used (all of them unless it ran out).
    fn process_input(&mut self, now: Instant, input: &[u8], shared: Option<&SharedBytes>) -> usize {
        self.clock = now;
        let mut source = Source::new(shared);
        let mut pos = 0;
        while pos < input.len() && self.state == State::Open {
            if self.record_budget == Some(0) {
                self.stats.bytes_received += pos as u64;
                return pos;
            }
            let (used, found) = match self.deframer.next(&input[pos..]) {
                Ok(x) => x,
                Err(e) => {
                    self.fail(now, e);
                    break;
                }
            };
            let start = pos;
            pos += used;
            if !matches!(found, Deframed::NeedMore) {
                if let Some(left) = &mut self.record_budget {
                    *left -= 1;
                }
            }
            let result = match found {
                Deframed::NeedMore => break,
                Deframed::Input(range) => self.process_record(
                    now,
                    &input[start + range.start..start + range.end],
                    &mut source,
                ),
                Deframed::Buffered if shared.is_some() => {
                    // With shared input, a record assembled from several inputs is shared
                    // too, so its stream data is not copied a second time; its storage goes
                    // back to the deframer unless stream data still refers to it.
                    let record = SharedBytes::from_vec(self.deframer.take_buffer());
                    let r = self.process_record(
                        now,
                        record.as_slice(),
                        &mut Source::new(Some(&record)),
                    );
                    if let Ok(buf) = record.into_vec() {
                        self.deframer.restore_buffer(buf);
                    }
                    r
                }
                Deframed::Buffered => {
                    let buf = self.deframer.take_buffer();
                    let r = self.process_record(now, &buf, &mut Source::new(None));
                    self.deframer.restore_buffer(buf);
                    r
                }
            };
            if let Err(e) = result {
                self.fail(now, e);
                break;
            }
        }
        // Whatever is left after a close is dropped: all of it counts as taken.
        self.stats.bytes_received += input.len() as u64;
        input.len()
    }

    fn process_record(
        &mut self,
        now: Instant,
        payload: &[u8],
        source: &mut Source<'_>,
    ) -> Result<(), TransportError> {
        self.stats.records_received += 1;
        self.last_activity = now;
        if !self.got_first_frame {
            // Judge the first frame by its type alone, before decoding (a forbidden type
            // there is still "first frame is not QX_TRANSPORT_PARAMETERS").
            let ty = FrameType(Reader::new(payload).varint().unwrap_or(0));
            if !ty.is_transport_parameters() {
                return Err(TransportError::PROTOCOL_VIOLATION(
                    "first frame is not QX_TRANSPORT_PARAMETERS",
                )
                .with_frame(ty));
            }
            self.got_first_frame = true;
        }
        let mut only_padding = true;
        for frame in frame::Iter::new(payload) {
            let frame = frame?;
            if self.state != State::Open {
                break; // The peer closed in this record; ignore what follows.
            }
            let ty = frame.ty();
            only_padding &= matches!(frame, Frame::Padding(_));
            self.process_frame(now, frame, source)
                .map_err(|e| match e.frame_type {
                    Some(_) => e,
                    None => e.with_frame(ty),
                })?;
        }
        if only_padding {
            self.noise(now, Noise::EmptyRecord, 1)?;
        }
        Ok(())
    }

    fn process_frame(
        &mut self,
        now: Instant,
        frame: Frame<'_>,
        source: &mut Source<'_>,
    ) -> Result<(), TransportError> {
        match frame {
            Frame::Padding(_) => {}
            Frame::TransportParameters { params, .. } => {
                if self.peer_params.is_some() {
                    return Err(TransportError::PROTOCOL_VIOLATION(
                        "QX_TRANSPORT_PARAMETERS received twice",
                    ));
                }
                let params = TransportParameters::decode(params)?;
                self.on_peer_params(params)?;
            }
            Frame::Stream(f) => {
                if f.data.is_empty() && !f.fin && self.stream_was_open(f.id) {
                    self.noise(now, Noise::EmptyStreamFrame, 1)?;
                }
                self.on_stream(f, source)?
            }
            Frame::ResetStream(r) => {
                if !self.on_reset(r, 0)? {
                    self.noise(now, Noise::Repeated, 1)?;
                }
            }
            Frame::ResetStreamAt {
                reset,
                reliable_size,
            } => {
                if !self.local_params.reset_stream_at {
                    return Err(TransportError::FRAME_ENCODING_ERROR(
                        "RESET_STREAM_AT not negotiated",
                    ));
                }
                if !self.on_reset(reset, reliable_size)? {
                    self.noise(now, Noise::Repeated, 1)?;
                }
            }
            Frame::StopSending { id, error_code } => {
                if !self.on_stop_sending(id, error_code)? {
                    self.noise(now, Noise::Repeated, 1)?;
                }
            }
            Frame::MaxData(max) => {
                if self.send_data.raise(max) {
                    self.conn_blocked.end(self.clock);
                    // Streams waiting only on connection credit may go again.
                    let ids: Vec<StreamId> = self.streams.keys().copied().collect();
                    for id in ids {
                        self.schedule(id);
                    }
                } else {
                    self.noise(now, Noise::RedundantCredit, 1)?;
                }
            }
            Frame::MaxStreamData { id, max } => {
                if !id.can_send(self.side) {
                    return Err(TransportError::STREAM_STATE_ERROR(
                        "MAX_STREAM_DATA for a receive-only stream",
                    ));
                }
                let clock = self.clock;
                let raised = match self.send_stream_for_frame(id)? {
                    Some(send) => {
                        let raised = send.credit.raise(max);
                        if raised {
                            send.blocked.flow_control.end(clock);
                        }
                        raised
                    }
                    None => false,
                };
                if raised {
                    self.schedule(id);
                } else {
                    self.noise(now, Noise::RedundantCredit, 1)?;
                }
            }
            Frame::MaxStreams { dir, count } => {
                let d = di(dir);
                if count > self.peer_max_streams[d] {
                    self.peer_max_streams[d] = count;
                    self.streams_available_event();
                } else {
                    self.noise(now, Noise::RedundantCredit, 1)?;
                }
            }
            Frame::DataBlocked(limit) => {
                // Only the first report of our current limit says anything.
                if limit == self.recv_data.max() && self.data_blocked_seen != Some(limit) {
                    self.data_blocked_seen = Some(limit);
                } else {
                    self.noise(now, Noise::RedundantBlocked, 1)?;
                }
            }
            Frame::StreamDataBlocked { id, limit } => {
                if !id.can_recv(self.side) {
                    return Err(TransportError::STREAM_STATE_ERROR(
                        "STREAM_DATA_BLOCKED for a send-only stream",
                    ));
                }
                self.open_peer_streams(id)?;
                if !self.on_stream_blocked(id, limit) {
                    self.noise(now, Noise::RedundantBlocked, 1)?;
                }
            }
            Frame::StreamsBlocked { dir, limit } => {
                // Raised when the peer is blocked at (or, as MsQuic allows, above) our
                // current limit, once per limit: a stale report, or a repeated one, changes
                // nothing.
                let d = di(dir);
                let ours = self.max_remote[d];
                if limit >= ours && self.peer_streams_blocked_raised[d] != Some(ours) {
                    self.peer_streams_blocked_raised[d] = Some(ours);
                    self.events.push_back(Event::PeerStreamsBlocked { dir });
                } else {
                    self.noise(now, Noise::RedundantBlocked, 1)?;
                }
            }
            Frame::ConnectionClose {
                error_code,
                frame_type,
                reason,
            } => {
                self.on_peer_close(
                    now,
                    CloseCause::PeerTransport {
                        error_code: TransportErrorCode(error_code),
                        frame_type,
                        reason: reason.to_vec(),
                    },
                );
            }
            Frame::ApplicationClose { error_code, reason } => {
                self.on_peer_close(
                    now,
                    CloseCause::PeerApplication {
                        error_code,
                        reason: reason.to_vec(),
                    },
                );
            }
            Frame::Datagram { data, has_len } => {
                let Some(max) = self.local_params.max_datagram_frame_size else {
                    return Err(TransportError::PROTOCOL_VIOLATION(
                        "DATAGRAM not negotiated",
                    ));
                };
                let size = Frame::Datagram { data, has_len }.encoded_len() as u64;
                if size > max {
                    return Err(TransportError::PROTOCOL_VIOLATION("DATAGRAM too large"));
                }
                self.events
                    .push_back(Event::DatagramReceived(data.to_vec()));
            }
            Frame::PingRequest(seq) => {
                self.noise(now, Noise::PingRequest, 1)?;
                if self.largest_ping_received.is_some_and(|prev| seq <= prev) {
                    return Err(TransportError::PROTOCOL_VIOLATION(
                        "QX_PING request number not increasing",
                    ));
                }
                self.largest_ping_received = Some(seq);
                // Coalesce: one response carrying the largest number.
                self.ping_response_pending = Some(seq);
            }
            Frame::PingResponse(seq) => {
                if self.largest_ping_sent.is_none_or(|largest| seq > largest) {
                    return Err(TransportError::PROTOCOL_VIOLATION(
                        "QX_PING response to a request never sent",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether what was sent by remembered limits fits the server's `params`: streams opened,
    /// stream data and connection data; PROTOCOL_VIOLATION if not.
    fn check_early_usage(&self, params: &TransportParameters) -> Result<(), TransportError> {
        let streams_fit = self.next_local[0] <= params.initial_max_streams_bidi
            && self.next_local[1] <= params.initial_max_streams_uni;
        let data_fits = self.send_data.used() <= params.initial_max_data
            && self.streams.iter().all(|(id, stream)| {
                let limit = match id.dir() {
                    Dir::Bi => params.initial_max_stream_data_bidi_remote,
                    Dir::Uni => params.initial_max_stream_data_uni,
                };
                id.initiator() != self.side
                    || stream
                        .send
                        .as_ref()
                        .is_none_or(|s| s.credit.used() <= limit)
            });
        if streams_fit && data_fits {
            Ok(())
        } else {
            Err(TransportError::PROTOCOL_VIOLATION(
                "data sent by limits remembered for 0-RTT exceeds the server's",
            ))
        }
    }

    fn on_peer_params(&mut self, params: TransportParameters) -> Result<(), TransportError> {
        if self.remembered_params.take().is_some() {
            // Sent by remembered limits (0-RTT): what went out must fit the server's limits
            // (a server that took the early data may not lower them, RFC 9000 §7.4.1; one that
            // refused it gets the same bytes again after the handshake). From here on the
            // server's limits rule, lower ones included.
            self.check_early_usage(&params)?;
            self.send_data.reset_max(params.initial_max_data);
            for (id, stream) in self.streams.iter_mut() {
                if let Some(send) = stream.send.as_mut() {
                    if id.initiator() == self.side {
                        send.credit.reset_max(match id.dir() {
                            Dir::Bi => params.initial_max_stream_data_bidi_remote,
                            Dir::Uni => params.initial_max_stream_data_uni,
                        });
                    }
                }
            }
            let ids: Vec<StreamId> = self.streams.keys().copied().collect();
            for id in ids {
                self.schedule(id);
            }
            self.peer_max_streams = [
                params.initial_max_streams_bidi,
                params.initial_max_streams_uni,
            ];
        } else {
            self.send_data = crate::proto::flow_control::SendCredit::new(params.initial_max_data);
        }
        self.peer_max_streams = [
            params
                .initial_max_streams_bidi
                .max(self.peer_max_streams[0]),
            params.initial_max_streams_uni.max(self.peer_max_streams[1]),
        ];
        self.peer_params = Some(params);
        self.events.push_back(Event::Connected);
        // The limits the parameters give are an event of their own (the layer above may
        // stand for it with the handshake's events), not merged with later raises.
        let bidi = self.streams_available(Dir::Bi);
        let uni = self.streams_available(Dir::Uni);
        if bidi > 0 || uni > 0 {
            self.params_streams_available_queued = true;
            self.events.push_back(Event::StreamsAvailable { bidi, uni });
        }
        Ok(())
    }

    /// Queues [`Event::StreamsAvailable`] unless one already waits (its counts are those of
    /// when it is taken, see `poll_event`).
    fn streams_available_event(&mut self) {
        let bidi = self.streams_available(Dir::Bi);
        let uni = self.streams_available(Dir::Uni);
        if (bidi > 0 || uni > 0) && !self.streams_available_queued {
            self.streams_available_queued = true;
            self.events.push_back(Event::StreamsAvailable { bidi, uni });
        }
    }

    /// Whether stream `id` was opened before (by us, or by the peer earlier).
    fn stream_was_open(&self, id: StreamId) -> bool {
        id.initiator() == self.side || id.index() < self.next_remote[di(id.dir())]
    }

    fn on_peer_close(&mut self, now: Instant, cause: CloseCause) {
        // Answer with nothing more; end our direction (qmux-02 §7.3).
        self.write_shutdown = true;
        self.enter_closing(now, cause);
        if self.peer_eof {
            self.drain();
        }
    }

    /// Opens peer streams up to and including `id` if it is a new one.
    ///
    /// Returns whether the stream exists now (false: it was opened before and is finished).
    fn open_peer_streams(&mut self, id: StreamId) -> Result<bool, TransportError> {
        if id.initiator() == self.side {
            if id.index() >= self.next_local[di(id.dir())] {
                return Err(TransportError::STREAM_STATE_ERROR("stream not opened yet"));
            }
            return Ok(self.streams.contains_key(&id));
        }
        let d = di(id.dir());
        if id.index() < self.next_remote[d] {
            return Ok(self.streams.contains_key(&id));
        }
        if id.index() >= self.max_remote[d] {
            return Err(TransportError::STREAM_LIMIT_ERROR(
                "peer exceeded its stream limit",
            ));
        }
        let peer = self.peer_params.clone().unwrap_or_default();
        let blocked = self.new_stream_blocked();
        for index in self.next_remote[d]..=id.index() {
            let new_id = StreamId::new(id.initiator(), id.dir(), index);
            let stream = match id.dir() {
                Dir::Bi => Stream {
                    send: Some(
                        SendStream::new(peer.initial_max_stream_data_bidi_local)
                            .with_blocked(blocked),
                    ),
                    recv: Some(RecvStream::new(
                        self.local_params.initial_max_stream_data_bidi_remote,
                    )),
                },
                Dir::Uni => Stream {
                    send: None,
                    recv: Some(RecvStream::new(
                        self.local_params.initial_max_stream_data_uni,
                    )),
                },
            };
            let mut stream = stream;
            if let Some(recv) = stream.recv.as_mut() {
                recv.opened_early = self.input_early;
            }
            self.streams.insert(new_id, streams::boxed(stream));
            self.events.push_back(Event::StreamOpened { id: new_id });
        }
        self.next_remote[d] = id.index() + 1;
        Ok(true)
    }

    fn send_stream_for_frame(
        &mut self,
        id: StreamId,
    ) -> Result<Option<&mut SendStream>, TransportError> {
        if !self.open_peer_streams(id)? {
            return Ok(None);
        }
        Ok(self.streams.get_mut(&id).and_then(|s| s.send.as_mut()))
    }

    fn recv_stream_for_frame(
        &mut self,
        id: StreamId,
    ) -> Result<Option<&mut RecvStream>, TransportError> {
        if !id.can_recv(self.side) {
            return Err(TransportError::STREAM_STATE_ERROR(
                "frame for a send-only stream",
            ));
        }
        if !self.open_peer_streams(id)? {
            return Ok(None);
        }
        Ok(self.streams.get_mut(&id).and_then(|s| s.recv.as_mut()))
    }

    fn on_stream(
        &mut self,
        f: StreamFrame<'_>,
        source: &mut Source<'_>,
    ) -> Result<(), TransportError> {
        let shared = source.share(f.data, &self.pinned, self.pin_budget);
        let early = self.input_early;
        let Some(recv) = self.recv_stream_for_frame(f.id)? else {
            return Ok(()); // A finished stream: nothing to do.
        };
        if early {
            recv.early_end = recv.early_end.max(f.offset + f.data.len() as u64);
        }
        let acc = match shared {
            Some((data, pin)) => recv.ingest_shared(f.offset, data, pin, f.fin)?,
            None => recv.ingest(f.offset, f.data, f.fin)?,
        };
        let notify = !recv.notified && (!recv.chunks().is_empty() || recv.chunks().fin);
        if notify {
            recv.notified = true;
        }
        self.charge_connection(acc.new_bytes)?;
        self.stats.stream_bytes_received += f.data.len() as u64;
        self.credit_connection(acc.discarded);
        if notify {
            self.events.push_back(Event::StreamReadable { id: f.id });
        }
        self.maybe_close_stream(f.id);
        Ok(())
    }

    fn charge_connection(&mut self, new_bytes: u64) -> Result<(), TransportError> {
        let total = self.recv_data.received() + new_bytes;
        self.recv_data
            .on_received(total)
            .map_err(|_| TransportError::FLOW_CONTROL_ERROR("connection data above limit"))
    }

    /// Handles RESET_STREAM or RESET_STREAM_AT; returns whether it changed anything (a
    /// repeat, or one for a finished stream, does not).
    fn on_reset(&mut self, r: ResetStream, reliable_size: u64) -> Result<bool, TransportError> {
        let id = r.id;
        let Some(recv) = self.recv_stream_for_frame(id)? else {
            return Ok(false);
        };
        let repeated = recv
            .reset()
            .is_some_and(|prev| reliable_size >= prev.reliable_size);
        let info = ResetInfo {
            error_code: r.error_code,
            final_size: r.final_size,
            reliable_size,
        };
        let acc = recv.reset_with(info)?;
        if repeated {
            // The same reset again (or a larger reliable size, which is ignored).
            return Ok(false);
        }
        let reliable = recv.reset().map_or(0, |r| r.reliable_size);
        let due = recv.reset_due();
        if due.is_some() {
            recv.reset_delivered = true;
        }
        // No more credit for a reset stream.
        recv.max_data_queued = false;
        self.charge_connection(acc.new_bytes)?;
        self.credit_connection(acc.discarded);
        if reliable_size > 0 && reliable_size == reliable {
            self.events
                .push_back(Event::PeerResetAt { id, reliable_size });
        }
        if let Some(info) = due {
            self.events.push_back(Event::StreamReset {
                id,
                error_code: info.error_code,
            });
        }
        self.maybe_close_stream(id);
        Ok(true)
    }

    /// Handles STOP_SENDING; returns whether it changed anything (a repeat, or one for a
    /// finished stream, does not).
    fn on_stop_sending(&mut self, id: StreamId, error_code: u64) -> Result<bool, TransportError> {
        if !id.can_send(self.side) {
            return Err(TransportError::STREAM_STATE_ERROR(
                "STOP_SENDING for a receive-only stream",
            ));
        }
        let Some(send) = self.send_stream_for_frame(id)? else {
            return Ok(false);
        };
        if !matches!(send.phase, SendPhase::Open | SendPhase::Finishing) {
            return Ok(false);
        }
        // Reply with RESET_STREAM (RFC 9000 §3.5) carrying NO_ERROR (0), as MsQuic does.
        let canceled = send.discard();
        send.phase = SendPhase::ResetPending {
            error_code: 0,
            reliable_size: 0,
        };
        self.events.push_back(Event::StopSending { id, error_code });
        for token in canceled {
            self.events.push_back(Event::SendCanceled { id, token });
        }
        if self.config.hold_stop_replies {
            self.stop_replies_held.push(id);
        } else {
            self.reset_pending.push_back(id);
        }
        Ok(true)
    }
}
