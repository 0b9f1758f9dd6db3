//! Producing records: control frames first, then datagrams, then stream data.

use std::time::Instant;

use super::{CloseFrame, Connection, Event, Scheduling, State, di};
use crate::proto::coding::{BufMut, SliceWriter};
use crate::proto::frame::{self, Frame, FrameType, ResetStream};
use crate::proto::record::{self, DEFAULT_MAX_RECORD_SIZE};
use crate::proto::stream_id::Dir;
use crate::proto::streams::{SendData, SendPhase};

/// The smallest space worth starting a record for.
const MIN_RECORD_SPACE: usize = 32;

impl Connection {
    /// The smallest `poll_transmit` buffer that always fits our first record.
    pub const MIN_TRANSMIT_BUFFER: usize = 512;

    /// Writes whole records for the peer into `buf` and returns how many bytes were written;
    /// 0 means there is nothing to send now. Call again until it returns 0.
    ///
    /// `buf` should hold at least [`Connection::MIN_TRANSMIT_BUFFER`] bytes, or our transport
    /// parameters may not fit; the peer's max_record_size plus 8 lets every record be full
    /// size (a datagram waits for a buffer it fits in).
    ///
    /// Records never exceed the peer's max_record_size (16382 until its parameters arrive).
    /// Whatever is returned counts as delivered (qmux-02's implicit acknowledgement), so it
    /// must be written to the transport, in order.
    ///
    /// Held buffered sends are written from the caller's bytes and stay held while records
    /// are produced: the room written bytes free is given to them when the events are next
    /// taken ([`Connection::poll_event`]), once per transmit pass rather than per call.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> usize {
        self.clock = now;
        let mut written = 0;
        loop {
            if self.state == State::Drained {
                break;
            }
            let Some((reserve, max_body)) = self.record_room(buf.len() - written) else {
                break;
            };
            let out = &mut buf[written..written + reserve + max_body];
            let body_len = {
                let mut w = SliceWriter::new(&mut out[reserve..]);
                self.fill_record(&mut w);
                w.len()
            };
            if body_len == 0 {
                break;
            }
            written += record::seal(out, reserve, body_len);
            self.stats.records_sent += 1;
            // A record handed to the transport restarts the idle timer (qmux-02 §7.1).
            self.last_activity = now;
        }
        self.stats.bytes_sent += written as u64;
        written
    }

    /// How a record begun with `space` bytes free is laid out: the bytes kept for its Size
    /// and the most its Frames may take (within the peer's max_record_size); `None` when the
    /// space is not worth starting a record.
    pub(super) fn record_room(&self, space: usize) -> Option<(usize, usize)> {
        if space < MIN_RECORD_SPACE {
            return None;
        }
        let peer_max = self
            .peer_params
            .as_ref()
            .map_or(DEFAULT_MAX_RECORD_SIZE, |p| p.max_record_size);
        let peer_max = usize::try_from(peer_max).unwrap_or(usize::MAX);
        let reserve = record::header_reserve(space.min(peer_max));
        Some((reserve, (space - reserve).min(peer_max)))
    }

    /// Whether [`Connection::poll_transmit_padded`] would fill a record of `len` bytes with
    /// stream data: open, nothing but data to say, and the first stream in the send queue
    /// can send at least that much now. Cheap: for the sender's choice between a copied and
    /// a streamed record.
    pub fn bulk_ready(&self, len: usize) -> bool {
        let peer_max = self
            .peer_params
            .as_ref()
            .map_or(DEFAULT_MAX_RECORD_SIZE, |p| p.max_record_size);
        self.state == State::Open
            && self.tp_sent
            && self.close_frame.is_none()
            && !self.early_output
            && padded_body_len(len).is_some_and(|body| body as u64 <= peer_max)
            && self
                .send_queue
                .front()
                .and_then(|id| self.streams.get(id))
                .and_then(|s| s.send.as_ref())
                .is_some_and(|send| {
                    send.wants_frame()
                        && send.sendable().min(self.send_data.available()) >= len as u64
                })
    }

    /// Writes exactly one record of exactly `len` bytes into `w` (which must take them):
    /// its size field first, then control frames, datagrams and stream data as
    /// [`Connection::poll_transmit`] chooses them, then PADDING up to the declared size. For
    /// a sender that must know a record's length before its content (a TLS record encrypted
    /// as it is written); call it only when [`Connection::bulk_ready`] says the record will
    /// be full of data, or it may be mostly padding. Returns false (writing nothing) when no
    /// record of that length can be made. Held buffered sends are settled as for
    /// [`Connection::poll_transmit`]: when the events are next taken.
    pub fn poll_transmit_padded<W: BufMut>(&mut self, now: Instant, w: &mut W, len: usize) -> bool {
        self.clock = now;
        let Some(body) = padded_body_len(len) else {
            return false;
        };
        if self.state == State::Drained || w.remaining_mut() < len {
            return false;
        }
        w.put_varint(body as u64);
        let mut lw = Limited {
            inner: &mut *w,
            left: body,
        };
        self.fill_record(&mut lw);
        let mut left = lw.left;
        const ZEROS: [u8; 64] = [0; 64];
        while left > 0 {
            let n = left.min(ZEROS.len());
            w.put_slice(&ZEROS[..n]);
            left -= n;
        }
        self.stats.records_sent += 1;
        self.stats.bytes_sent += len as u64;
        // A record handed to the transport restarts the idle timer (qmux-02 §7.1).
        self.last_activity = now;
        true
    }

    pub(super) fn fill_record<W: BufMut>(&mut self, w: &mut W) {
        if self.state != State::Open && self.close_frame.is_none() {
            return; // Closing silently (idle timeout, peer close or EOF): nothing more at all.
        }
        if !self.tp_sent {
            let tp = Frame::TransportParameters {
                ty: FrameType::QX_TRANSPORT_PARAMETERS,
                params: &self.tp_bytes,
            };
            if tp.encoded_len() > w.remaining_mut() {
                return;
            }
            tp.encode(w);
            self.tp_sent = true;
        }
        if let Some(close) = self.close_frame.take() {
            self.write_close(w, close);
            if self.peer_eof {
                self.drain();
            }
            return;
        }
        if self.state != State::Open {
            return;
        }
        if !self.write_control(w) {
            return;
        }
        if self.limits().is_none() {
            return; // Nothing that depends on the peer's parameters yet.
        }
        if !self.early_output && !self.write_datagrams(w) {
            return;
        }
        self.write_streams(w);
    }

    fn write_close<W: BufMut>(&mut self, w: &mut W, close: CloseFrame) {
        // Truncate the reason so the frame always fits.
        let room = w.remaining_mut().saturating_sub(24);
        let frame = match &close {
            CloseFrame::Transport(e) => {
                let reason = e.reason.as_bytes();
                Frame::ConnectionClose {
                    error_code: e.code.0,
                    frame_type: e.frame_type.map_or(0, |t| t.0),
                    reason: &reason[..reason.len().min(room)],
                }
            }
            CloseFrame::Application { error_code, reason } => Frame::ApplicationClose {
                error_code: *error_code,
                reason: &reason[..reason.len().min(room)],
            },
        };
        if frame.encoded_len() <= w.remaining_mut() {
            frame.encode(w);
        }
    }

    /// Writes one control frame if it fits; returns false (record full) if it does not.
    fn put<W: BufMut>(w: &mut W, frame: Frame<'_>) -> bool {
        if frame.encoded_len() > w.remaining_mut() {
            return false;
        }
        frame.encode(w);
        true
    }

    /// Writes pending control frames; returns false if the record filled up.
    fn write_control<W: BufMut>(&mut self, w: &mut W) -> bool {
        if let Some(seq) = self.ping_response_pending {
            if !Self::put(w, Frame::PingResponse(seq)) {
                return false;
            }
            self.ping_response_pending = None;
        }
        if self.ping_pending {
            if !Self::put(w, Frame::PingRequest(self.next_ping_seq)) {
                return false;
            }
            self.largest_ping_sent = Some(self.next_ping_seq);
            self.next_ping_seq += 1;
            self.ping_pending = false;
        }
        if self.max_data_pending {
            let max = self.recv_data.update();
            if !Self::put(w, Frame::MaxData(max)) {
                return false;
            }
            self.max_data_pending = false;
        }
        for dir in [Dir::Bi, Dir::Uni] {
            let d = di(dir);
            if self.max_streams_pending[d] {
                if !Self::put(
                    w,
                    Frame::MaxStreams {
                        dir,
                        count: self.max_remote[d],
                    },
                ) {
                    return false;
                }
                self.max_streams_pending[d] = false;
            }
            if let Some(limit) = self.streams_blocked_pending[d] {
                if !Self::put(w, Frame::StreamsBlocked { dir, limit }) {
                    return false;
                }
                self.streams_blocked_pending[d] = None;
                self.streams_blocked_sent[d] = Some(limit);
            }
        }
        while let Some(&id) = self.max_stream_data_pending.last() {
            if let Some(recv) = self.streams.get_mut(&id).and_then(|s| s.recv.as_mut()) {
                if recv.max_data_queued {
                    let max = recv.window.update();
                    if !Self::put(w, Frame::MaxStreamData { id, max }) {
                        return false;
                    }
                    recv.max_data_queued = false;
                }
            }
            self.max_stream_data_pending.pop();
        }
        while let Some(&id) = self.reset_pending.front() {
            let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
                self.reset_pending.pop_front();
                continue;
            };
            let SendPhase::ResetPending {
                error_code,
                reliable_size,
            } = send.phase
            else {
                self.reset_pending.pop_front();
                continue;
            };
            let reset = ResetStream {
                id,
                error_code,
                final_size: send.offset(),
            };
            let frame = if reliable_size > 0 {
                Frame::ResetStreamAt {
                    reset,
                    reliable_size: reliable_size.min(send.offset()),
                }
            } else {
                Frame::ResetStream(reset)
            };
            if !Self::put(w, frame) {
                return false;
            }
            send.phase = SendPhase::ResetSent;
            self.reset_pending.pop_front();
            self.events.push_back(Event::SendShutdownComplete {
                id,
                graceful: false,
            });
            self.maybe_close_stream(id);
        }
        // After the resets: an abort of both halves puts RESET_STREAM first, as MsQuic does,
        // so the peer sees PEER_SEND_ABORTED before PEER_RECEIVE_ABORTED.
        while let Some(&(id, error_code)) = self.stop_sending_pending.front() {
            if !Self::put(w, Frame::StopSending { id, error_code }) {
                return false;
            }
            self.stop_sending_pending.pop_front();
        }
        while let Some(&id) = self.stream_data_blocked_pending.last() {
            if let Some(send) = self.streams.get(&id).and_then(|s| s.send.as_ref()) {
                let limit = send.credit.max();
                if !Self::put(w, Frame::StreamDataBlocked { id, limit }) {
                    return false;
                }
            }
            self.stream_data_blocked_pending.pop();
        }
        if let Some(limit) = self.data_blocked_pending {
            if !Self::put(w, Frame::DataBlocked(limit)) {
                return false;
            }
            self.data_blocked_pending = None;
        }
        true
    }

    fn write_datagrams<W: BufMut>(&mut self, w: &mut W) -> bool {
        while let Some((data, token)) = self.datagrams.front() {
            let frame = Frame::Datagram {
                data,
                has_len: true,
            };
            if frame.encoded_len() > w.remaining_mut() {
                return false;
            }
            frame.encode(w);
            self.stats.datagram_bytes_sent += data.len() as u64;
            let token = *token;
            self.datagrams.pop_front();
            self.events.push_back(Event::DatagramSent { token });
        }
        true
    }

    /// Picks the next stream to serve: the first of the highest priority in the queue.
    fn pick_stream(&self) -> Option<usize> {
        if self.early_output {
            // Only streams with something allowed in early data, in priority order.
            let mut best: Option<(usize, u16)> = None;
            for (i, id) in self.send_queue.iter().enumerate() {
                let Some(send) = self.streams.get(id).and_then(|s| s.send.as_ref()) else {
                    continue;
                };
                if send.early_ready() && best.is_none_or(|(_, p)| send.priority > p) {
                    best = Some((i, send.priority));
                }
            }
            return best.map(|(i, _)| i);
        }
        if self.send_queue.len() <= 1 || !self.priorities_set {
            // One stream (the common bulk case), or every stream at the default priority: the
            // first in the queue.
            return (!self.send_queue.is_empty()).then_some(0);
        }
        let mut best: Option<(usize, u16)> = None;
        for (i, id) in self.send_queue.iter().enumerate() {
            let prio = self
                .streams
                .get(id)
                .and_then(|s| s.send.as_ref())
                .map_or(u16::MAX, |s| s.priority);
            if best.is_none_or(|(_, p)| prio > p) {
                best = Some((i, prio));
            }
        }
        best.map(|(i, _)| i)
    }

    fn write_streams<W: BufMut>(&mut self, w: &mut W) {
        while let Some(idx) = self.pick_stream() {
            let id = self.send_queue[idx];
            let conn_credit = self.send_data.available();
            let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) else {
                self.send_queue.remove(idx);
                continue;
            };
            if !send.wants_frame() {
                send.queued = false;
                self.send_queue.remove(idx);
                continue;
            }
            // Something to send: the application is not what holds the stream back.
            send.blocked.app.end(self.clock);
            let mut sendable = send.sendable().min(conn_credit);
            if self.early_output {
                sendable = sendable.min(send.early_room());
            }
            let fin_only = send.fin_after(0);
            let announce_only = send.announce_due()
                || (self.early_output && sendable == 0 && send.early_announce());
            send.announce = false;
            if sendable == 0 && !fin_only && !announce_only {
                if send.pending() > 0 && send.credit.available() == 0 {
                    // Blocked by the stream's limit: wait for MAX_STREAM_DATA.
                    if send.credit.take_blocked().is_some() {
                        self.stream_data_blocked_pending.push(id);
                    }
                    send.blocked.flow_control.begin(self.clock);
                    send.queued = false;
                    self.send_queue.remove(idx);
                    continue;
                }
                // Blocked by the connection's limit: stop until MAX_DATA.
                self.conn_blocked.begin(self.clock);
                if let Some(limit) = self.send_data.take_blocked() {
                    self.data_blocked_pending = Some(limit);
                }
                return;
            }
            let space = w.remaining_mut();
            let offset = send.offset();
            let bare = frame::stream_header_len(id, offset, None);
            if space <= bare + usize::from(!fin_only) {
                send.announce = announce_only;
                return; // Record full.
            }
            // A frame that fills the record omits its Length (it runs to the end of the record).
            let fits_bare = (space - bare) as u64;
            let (n, has_len) = if sendable >= fits_bare {
                (fits_bare, false)
            } else {
                let with_len = frame::stream_header_len(id, offset, Some(sendable as usize));
                if with_len + sendable as usize <= space {
                    (sendable, true)
                } else {
                    // The Length field tips it over: send a little less, still with LEN
                    // (never more than `sendable`, which credit allows).
                    let n = space.saturating_sub(with_len);
                    if n == 0 && !announce_only {
                        return;
                    }
                    (n as u64, true)
                }
            };
            let fin = send.fin_after(n);
            frame::encode_stream_header(w, id, offset, has_len.then_some(n as usize), fin);
            let events = &mut self.events;
            send.write_data(w, n, |token| {
                events.push_back(Event::SendComplete { id, token })
            });
            self.send_data.consume(n);
            self.stats.stream_bytes_sent += n;
            if self.early_output {
                send.early_opened = true;
                self.early_sent.insert(id, send.offset());
            }
            if send.pending() == 0 && matches!(send.phase, SendPhase::Open) {
                // All written: waiting for the application's next data.
                send.blocked.app.begin(self.clock);
            }
            let mut done = false;
            if fin {
                send.phase = SendPhase::DataSent;
                self.events
                    .push_back(Event::SendShutdownComplete { id, graceful: true });
                done = true;
            } else if let SendPhase::ResetPending { reliable_size, .. } = send.phase {
                if send.offset() >= reliable_size {
                    self.reset_pending.push_back(id);
                    done = true;
                }
            }
            if done || !send.wants_frame() {
                send.queued = false;
                self.send_queue.remove(idx);
                if fin {
                    self.maybe_close_stream(id);
                }
            } else if self.config.scheduling == Scheduling::RoundRobin && self.send_queue.len() > 1
            {
                // Round robin: to the back of the queue (FIFO keeps it at the front).
                if let Some(id) = self.send_queue.remove(idx) {
                    self.send_queue.push_back(id);
                }
            }
            if self.reset_pending.back() == Some(&id) {
                // The reliable part is out: the RESET_STREAM_AT goes next record.
                return;
            }
            if !has_len {
                return; // The frame ran to the end of the record.
            }
        }
    }
}

/// The body length of a record of exactly `len` bytes (its minimal size field included).
fn padded_body_len(len: usize) -> Option<usize> {
    [1usize, 2, 4, 8]
        .into_iter()
        .find(|&n| len > n && crate::proto::varint::size((len - n) as u64) == n)
        .map(|n| len - n)
}

/// A writer that takes at most `left` more bytes into `inner`.
struct Limited<'a, W: BufMut> {
    inner: &'a mut W,
    left: usize,
}

impl<W: BufMut> BufMut for Limited<'_, W> {
    fn put_slice(&mut self, src: &[u8]) {
        debug_assert!(src.len() <= self.left, "record body overrun");
        self.inner.put_slice(src);
        self.left -= src.len().min(self.left);
    }

    fn put_chunk(&mut self, data: &mut SendData, range: std::ops::Range<usize>) {
        debug_assert!(range.len() <= self.left, "record body overrun");
        self.left -= range.len().min(self.left);
        self.inner.put_chunk(data, range);
    }

    fn remaining_mut(&self) -> usize {
        self.left
    }
}
