//! Moving bytes between the socket and the engine, through TLS when the connection uses it.

use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

use super::{Inner, Phase, Wire, first_bytes};
use crate::proto;
use crate::runtime::counters;
use crate::runtime::log::qlog;
use crate::runtime::tls::{MAX_RECORD_PLAINTEXT, Plaintext, SEAL_ROOM, TlsError, TlsErrorKind};

/// Most early data (0-RTT) a client sends with its ClientHello.
const EARLY_DATA_MAX: usize = 1 << 20;
/// Early data is produced in pieces of this much room (more than a whole record).
const EARLY_PIECE: usize = 64 << 10;
/// The most one socket read asks for.
pub(super) const READ_SIZE: usize = 256 << 10;
/// What a connection's reads ask for at first: reads ask for twice as much after one that
/// filled all its room (more was waiting), up to [`READ_SIZE`], so a handshake needs little
/// storage and a bulk transfer reads in large pieces.
pub(super) const READ_MIN: usize = 64 << 10;
/// Size of the send buffer: records are produced into it while it has room, and it starts
/// over once the socket has taken everything.
pub(super) const SEND_BUF_SIZE: usize = (1 << 20) + SEAL_ROOM;
/// TLS records are produced into the send buffer only with at least this much room (a full
/// record with a key update ahead of it).
const PRODUCE_MIN: usize = SEAL_ROOM;
/// After this much new output, the socket is written before more is produced (for plain
/// TCP, the most records gathered for one write). Writes this large cost both ends of a
/// bulk transfer less processor time per byte than 256 KiB ones did.
pub(super) const WRITE_BATCH: usize = 1 << 20;
/// A TLS connection writes after this much output unless the next record is bulk stream
/// data: many small records (responses to many requests) then reach the peer while the
/// rest are encrypted, instead of all at once.
const SMALL_WRITE_BATCH: usize = 256 << 10;
/// Most bytes read from the socket in one turn: past it, the turn's input is processed and
/// its events delivered, and the connection runs again after the worker's other work (a
/// peer sending as fast as the socket takes cannot hold the worker, nor pile up events).
pub(super) const READ_BUDGET: usize = 4 * READ_SIZE;
/// Most QMux records processed in one turn: past it, input is held by the engine until the
/// next turn (a peer sending tiny records gets a bounded share of the worker per turn).
pub(super) const RECORD_BUDGET: usize = 4096;
/// Most TLS records opened in one turn: past it, records wait in the receive buffer until the
/// next turn (each may be a KeyUpdate, which costs a key derivation).
pub(super) const TLS_RECORD_BUDGET: usize = 1024;
/// Most bytes written to the socket in one turn (a fast reader cannot hold the worker).
pub(super) const WRITE_BUDGET: usize = 4 << 20;
/// A clean end of input within this fraction of the idle timeout before our idle deadline is
/// the peer's idle timeout (see `Inner::peer_eof`)...
const IDLE_EOF_SLACK_DIVISOR: u32 = 4;
/// ...and within at most this much.
const IDLE_EOF_SLACK_MAX: std::time::Duration = std::time::Duration::from_secs(1);

impl Inner {
    /// Handles socket readiness: completes a connect, reads everything available.
    pub(super) fn on_ready(&mut self, readable: bool, writable: bool) {
        if self.phase == Phase::Connecting && (writable || readable) {
            // A socket another source saw connected (its peer known) is not asked again.
            if self.peer.get().is_none() {
                match self.sock.take_error() {
                    Ok(None) => {}
                    Ok(Some(e)) | Err(e) => return self.fail(e.kind()),
                }
                match self.sock.peer_addr() {
                    Ok(peer) => self.peer.set(Some(peer)),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                    Err(e) => return self.fail(e.kind()),
                }
            }
            self.phase = Phase::Open;
            self.produce_early_data();
            // A TLS client speaks first: the ClientHello.
            self.process_tls();
        }
        if self.phase == Phase::Open && readable {
            self.read_some();
            // Counted before the events they raise are delivered, so that an application
            // reading the counters from a callback (or after one) sees them.
            self.count_records();
        }
    }

    /// A client resuming with a ticket that allows early data (0-RTT): what the engine may
    /// send then (its transport parameters, the streams it opens and the data the
    /// application allowed in 0-RTT), by the limits the ticket remembers, goes with the
    /// ClientHello, up to what the ticket allows and [`EARLY_DATA_MAX`].
    fn produce_early_data(&mut self) {
        let Wire::Tls(session) = &mut self.wire else {
            return;
        };
        let room = session.early_data_room().min(EARLY_DATA_MAX);
        if room < proto::Connection::MIN_TRANSMIT_BUFFER {
            return;
        }
        let now = Instant::now();
        // Produced a piece at a time (each room for a whole record), so that only what the
        // engine has to send is allocated.
        let mut early = Vec::new();
        let mut len = 0;
        self.engine.set_early_output(true);
        while len < room {
            early.resize((len + EARLY_PIECE).min(room), 0);
            let n = self.engine.poll_transmit(now, &mut early[len..]);
            if n == 0 {
                break;
            }
            len += n;
        }
        self.engine.set_early_output(false);
        early.truncate(len);
        qlog!(Debug, self.log_id, "{len} bytes of early data");
        session.set_early_data(early);
    }

    /// Whether the handshake is over: the peer's transport parameters processed, and for
    /// TLS the TLS handshake complete (a server may have the parameters from early data).
    pub(super) fn handshake_done(&self) -> bool {
        self.engine.is_connected()
            && match &self.wire {
                Wire::Plain => true,
                Wire::Tls(s) => s.is_handshake_complete(),
            }
    }

    /// Whether the TLS handshake is complete (false for a plain connection).
    pub(super) fn tls_complete(&self) -> bool {
        matches!(&self.wire, Wire::Tls(s) if s.is_handshake_complete())
    }

    /// Whether the next TLS record would be a full record of stream data (see `produce`).
    fn bulk_next(&self) -> bool {
        matches!(&self.wire, Wire::Tls(s) if s.can_stream())
            && self.engine.bulk_ready(MAX_RECORD_PLAINTEXT)
    }

    /// Adds the QMux records sent and received since the last call to the library's
    /// UDP_SEND / UDP_RECV counters (a record is QMux's unit of transmission).
    pub(super) fn count_records(&mut self) {
        let stats = self.engine.stats();
        let (sent, received) = self.records_counted;
        counters::add(counters::UDP_SEND, (stats.records_sent - sent) as i64);
        counters::add(
            counters::UDP_RECV,
            (stats.records_received - received) as i64,
        );
        self.records_counted = (stats.records_sent, stats.records_received);
    }

    /// Reads until the socket would block, or up to [`READ_BUDGET`] or [`RECORD_BUDGET`]:
    /// then `more_input` says the connection must run again (no new readiness comes for
    /// bytes already there). Input held from the last turn goes first.
    fn read_some(&mut self) {
        self.more_input = false;
        self.engine.set_record_budget(Some(RECORD_BUDGET));
        self.engine.resume_input(Instant::now());
        if let Wire::Tls(s) = &mut self.wire {
            s.set_record_budget(Some(TLS_RECORD_BUDGET));
            if self.tls_records_left {
                self.process_tls();
                if self.tls_failure.is_some() {
                    return;
                }
            }
        }
        let mut taken = 0;
        loop {
            if taken >= READ_BUDGET || self.engine.has_held_input() || self.tls_records_left {
                self.more_input = true;
                return;
            }
            let read = match &mut self.wire {
                Wire::Plain => self.sock.read(self.rbuf.space(self.read_want)),
                Wire::Tls(s) => self.sock.read(s.incoming().space(self.read_want)),
            };
            if matches!(read, Ok(n) if n >= self.read_want) {
                self.read_want = (self.read_want * 2).min(READ_SIZE);
            }
            match read {
                Ok(0) => {
                    self.peer_eof(Instant::now());
                    return;
                }
                Ok(n) => {
                    taken += n;
                    qlog!(Trace, self.log_id, "read {n} bytes");
                    counters::inc(counters::UDP_RECV_EVENTS);
                    counters::add(counters::UDP_RECV_BYTES, n as i64);
                    match &mut self.wire {
                        Wire::Plain => {
                            // The engine keeps stream data as references into the buffer.
                            self.rbuf.commit(n);
                            if !std::mem::replace(&mut self.first_checked, true)
                                && first_bytes::plain_end_sees_tls(self.rbuf.data())
                            {
                                self.rbuf.consume(n);
                                self.transport_mismatch(TlsErrorKind::PeerSpeaksTls);
                                return;
                            }
                            let input = self.rbuf.shared(0..n);
                            self.rbuf.consume(n);
                            self.engine.handle_input_shared(Instant::now(), input);
                        }
                        Wire::Tls(s) => {
                            s.incoming().commit(n);
                            if !std::mem::replace(&mut self.first_checked, true)
                                && first_bytes::classify(s.incoming().data())
                                    == first_bytes::FirstBytes::PlainQmux
                            {
                                self.transport_mismatch(TlsErrorKind::PeerSpeaksPlain);
                                return;
                            }
                            self.process_tls();
                            if self.tls_failure.is_some() {
                                return;
                            }
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(e.kind()),
            }
        }
    }

    /// The peer speaks the other transport: the connection fails with `kind`, and writes
    /// nothing more (the peer could not read it).
    fn transport_mismatch(&mut self, kind: TlsErrorKind) {
        self.tls_failure = Some(TlsError::new(kind));
        self.tls_dead = true;
    }

    /// Runs the TLS session over the bytes received: handshake replies go out, decrypted
    /// records go to the engine.
    pub(super) fn process_tls(&mut self) {
        let Wire::Tls(session) = &mut self.wire else {
            return;
        };
        if self.tls_failure.is_some() || self.tls_dead {
            return;
        }
        let engine = &mut self.engine;
        let now = Instant::now();
        let result = session.process_shared(&mut self.tls_out, &mut |plaintext| match plaintext {
            Plaintext::Borrowed(b) => engine.handle_input(now, b),
            Plaintext::Shared(b) => engine.handle_input_shared(now, b),
            Plaintext::Early(b) => engine.handle_input_early(now, b),
        });
        self.tls_records_left = matches!(&result, Ok(p) if p.records_left);
        match result {
            Ok(progress) => {
                // Records that changed nothing count toward the engine's flood guard.
                engine.note_peer_noise(now, proto::Noise::KeyUpdate, progress.key_updates);
                engine.note_peer_noise(now, proto::Noise::EmptyTlsRecord, progress.empty_records);
                if progress.peer_closed {
                    self.peer_eof(now);
                }
            }
            Err(e) if e.is_transient() => {}
            Err(e) => {
                self.tls_failure = Some(e);
                self.tls_dead = true;
            }
        }
    }

    /// The peer ended its direction of the transport (TCP FIN, or TLS close_notify).
    ///
    /// QMux closes an idle connection without any frame (qmux-02 §7.1), and both ends run the
    /// same idle timer (the smaller of the two advertised timeouts), so when the peer's timer
    /// fires a moment before ours we see a clean end of input while ours is about to expire.
    /// That is the idle timeout, not an abort: our timer is expired now, so the connection
    /// reports it (MsQuic's CONNECTION_IDLE on both sides), and then the end of input is
    /// handled as usual.
    fn peer_eof(&mut self, now: Instant) {
        if !self.engine.is_closed() {
            if let (Some(idle), Some(deadline)) =
                (self.engine.idle_timeout(), self.engine.poll_timeout())
            {
                let slack = (idle / IDLE_EOF_SLACK_DIVISOR).min(IDLE_EOF_SLACK_MAX);
                if now + slack >= deadline {
                    // A keep-alive deadline earlier than the idle one only queues a ping here.
                    self.engine.handle_timeout(deadline.max(now));
                }
            }
        }
        self.engine.handle_eof(now);
    }

    /// Writes pending bytes and then as many new records as the socket takes, and keeps
    /// the disconnect timer: armed while bytes wait, pushed back by every write that makes
    /// progress.
    pub(super) fn flush(&mut self) {
        if self.phase != Phase::Open {
            return;
        }
        let before = self.bytes_written;
        self.flush_records();
        let progressed = self.bytes_written != before;
        self.note_write_progress(progressed, Instant::now());
    }

    /// Re-arms or cancels the disconnect timer after a flush: cancelled when nothing waits
    /// for the socket, pushed back when the socket took bytes, started when it took none.
    pub(super) fn note_write_progress(&mut self, progressed: bool, now: Instant) {
        let waiting = self.phase == Phase::Open && !self.pending.is_empty();
        self.write_stall_deadline = match (self.disconnect_timeout, waiting) {
            (Some(timeout), true) if progressed || self.write_stall_deadline.is_none() => {
                Some(now + timeout)
            }
            (Some(_), true) => self.write_stall_deadline,
            _ => None,
        };
    }

    fn flush_records(&mut self) {
        if !self.tls_out.is_empty() {
            self.pending.extend_from_slice(&self.tls_out);
            self.tls_out.clear();
        }
        if let Wire::Tls(s) = &mut self.wire {
            // Early data the server did not take goes again, first after the handshake.
            if let Some(replay) = s.take_replay() {
                let mut out = Vec::with_capacity(replay.len() + 4096);
                match s.encrypt(&replay, &mut out) {
                    Ok(()) => self.pending.extend_from_slice(&out),
                    Err(e) => {
                        self.tls_failure = Some(e);
                        self.tls_dead = true;
                    }
                }
            }
        }
        let now = Instant::now();
        self.more_output = false;
        let done = match self.wire {
            // Records gathered from the streams' data, written without a copy of our own.
            Wire::Plain => self.flush_plain(now),
            Wire::Tls(_) => self.flush_tls(now),
        };
        if !done {
            return;
        }
        if self.tls_dead {
            // The alert is out (or could not be sent): the connection is over.
            self.phase = Phase::Finished;
            return;
        }
        if self.pending.is_empty() && self.engine.wants_write_shutdown() && !self.write_shut {
            self.write_shut = true;
            // The close_notify normally went out with the last records (`queue_close_notify`).
            if let Wire::Tls(s) = &mut self.wire {
                let mut alert = Vec::new();
                if let Ok(true) = s.close_notify(&mut alert)
                    && !alert.is_empty()
                {
                    let _ =
                        write_some(self.log_id, &mut self.bytes_written, &mut self.sock, &alert);
                }
            }
            let _ = self.sock.shutdown(std::net::Shutdown::Write);
        }
    }

    /// TLS: produces records into the send buffer a batch at a time and writes them while
    /// the socket takes them and the turn's budget lasts. Returns whether the engine had
    /// nothing more to send (or the session failed) and everything was written.
    fn flush_tls(&mut self, now: Instant) -> bool {
        let mut engine_idle = false;
        let start = self.bytes_written;
        loop {
            // Produce records straight into the send buffer, a batch at a time.
            let mut produced = 0;
            while !engine_idle
                && !self.tls_dead
                && (produced < SMALL_WRITE_BATCH || produced < WRITE_BATCH && self.bulk_next())
                && self.pending.room(PRODUCE_MIN).len() >= PRODUCE_MIN
                && self.tls_complete()
            {
                match self.produce(now) {
                    Ok(0) => engine_idle = true,
                    Ok(n) => produced += n,
                    Err(e) => {
                        self.tls_failure = Some(e);
                        self.tls_dead = true;
                    }
                }
            }
            if engine_idle && !self.tls_dead {
                self.queue_close_notify();
            }
            if self.pending.is_empty() {
                return true;
            }
            if !self.write_pending() {
                return false;
            }
            if engine_idle || self.tls_dead {
                return true;
            }
            if self.bytes_written - start >= WRITE_BUDGET as u64 {
                // The socket still takes bytes: the rest waits for the next turn.
                self.more_output = true;
                return false;
            }
        }
    }

    /// Once the engine has sent everything and wants the transport's sending direction shut,
    /// queues TLS's close_notify after its last records, so that both go out in one write.
    fn queue_close_notify(&mut self) {
        if self.write_shut || !self.engine.wants_write_shutdown() {
            return;
        }
        if let Wire::Tls(s) = &mut self.wire
            && !s.close_notify_sent()
        {
            let mut alert = Vec::new();
            if let Ok(true) = s.close_notify(&mut alert) {
                self.pending.extend_from_slice(&alert);
            }
        }
    }

    /// Produces one TLS record into the send buffer's room, its plaintext written by the
    /// engine where the record's content goes and sealed in place (or, before the session
    /// protects records itself, encrypted by rustls from a copy). Returns the bytes produced
    /// (committed to the send buffer), 0 when the engine has nothing to send (always for a
    /// plain connection, whose records are gathered instead: `flush_plain`).
    fn produce(&mut self, now: Instant) -> Result<usize, TlsError> {
        let engine = &mut self.engine;
        let n = match &mut self.wire {
            Wire::Plain => return Ok(0),
            // A full record of stream data: encrypted as the engine writes it, from the
            // stream's queued bytes straight into the send buffer.
            Wire::Tls(s) if s.can_stream() && engine.bulk_ready(MAX_RECORD_PLAINTEXT) => s
                .seal_streaming(
                    self.pending.room(PRODUCE_MIN),
                    MAX_RECORD_PLAINTEXT,
                    &mut |sink| {
                        engine.poll_transmit_padded(now, sink, MAX_RECORD_PLAINTEXT);
                    },
                )?,
            Wire::Tls(s) if s.seals_in_place() => s
                .seal_with(self.pending.room(PRODUCE_MIN), &mut |content| {
                    engine.poll_transmit(now, content)
                })?,
            Wire::Tls(s) => {
                // Rare: a server's 0.5-RTT data before the handshake completes.
                let mut plain = vec![0; MAX_RECORD_PLAINTEXT];
                let n = engine.poll_transmit(now, &mut plain);
                if n == 0 {
                    return Ok(0);
                }
                let mut out = Vec::new();
                s.encrypt(&plain[..n], &mut out)?;
                self.pending.extend_from_slice(&out);
                return Ok(out.len());
            }
        };
        self.pending.commit(n);
        Ok(n)
    }

    /// Writes what waits in the send buffer; returns whether all of it went (false: the
    /// socket is full, and writability brings the connection back, or it failed).
    pub(super) fn write_pending(&mut self) -> bool {
        match write_some(
            self.log_id,
            &mut self.bytes_written,
            &mut self.sock,
            self.pending.unsent(),
        ) {
            Ok(n) => {
                self.pending.advance(n);
                self.pending.is_empty()
            }
            Err(e) => {
                self.fail_unless_blocked(e);
                false
            }
        }
    }

    pub(super) fn fail_unless_blocked(&mut self, e: io::Error) {
        if e.kind() != io::ErrorKind::WouldBlock {
            self.fail(e.kind());
        }
    }

    pub(super) fn fail(&mut self, kind: io::ErrorKind) {
        if self.phase != Phase::Finished {
            self.phase = Phase::Finished;
            if self.tls_failure.is_none() {
                self.failure = Some(kind);
            }
        }
    }
}

/// Writes as much of `buf` as the socket takes now (0 if it is full), or the error, and adds
/// what was written to `total`. `id` names the connection in trace logs.
fn write_some(
    id: usize,
    total: &mut u64,
    sock: &mut mio::net::TcpStream,
    buf: &[u8],
) -> io::Result<usize> {
    let mut one = [IoSlice::new(buf)];
    let rest = write_slices(id, total, sock, &mut one)?;
    Ok(buf.len() - rest.iter().map(|s| s.len()).sum::<usize>())
}

/// Writes as much of `slices` as the socket takes now, adds it to `total`, and returns the
/// slices left unwritten (all of them if the socket took nothing): several with one
/// `sendmsg`, a single one with a plain `send`. `id` names the connection in trace logs.
pub(super) fn write_slices<'a, 'b>(
    id: usize,
    total: &mut u64,
    sock: &mut mio::net::TcpStream,
    mut slices: &'a mut [IoSlice<'b>],
) -> io::Result<&'a mut [IoSlice<'b>]> {
    let len: usize = slices.iter().map(|s| s.len()).sum();
    let mut done = 0;
    // Empty slices at the front are nothing to write (and a send of nothing would be taken
    // for a closed socket below).
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        // One piece (small output, or what is left of a write) goes with a plain send.
        let sent = match &*slices {
            [one] => sock.write(one),
            _ => crate::runtime::sys::send_vectored(sock, slices),
        };
        match sent {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                done += n;
                counters::inc(counters::UDP_SEND_CALLS);
                counters::add(counters::UDP_SEND_BYTES, n as i64);
                IoSlice::advance_slices(&mut slices, n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    qlog!(Trace, id, "wrote {done} of {len} bytes");
    *total += done as u64;
    Ok(slices)
}
