//! Moving bytes between the socket and the engine, through TLS when the connection uses it.

use std::io::{self, Read, Write};
use std::time::Instant;

use super::{Inner, Phase, Wire};
use crate::runtime::log::qlog;

/// Size of the buffer records are produced into: a full record of the largest size we allow
/// the peer to ask for fits, with room for several default-size ones.
pub(super) const SCRATCH_SIZE: usize = 256 << 10;
/// Size of one socket read.
pub(super) const READ_SIZE: usize = 256 << 10;
/// Stop pulling from the engine while this much is waiting for the socket.
const PENDING_LIMIT: usize = 1 << 20;
/// A clean end of input within this fraction of the idle timeout before our idle deadline is
/// the peer's idle timeout (see `Inner::peer_eof`)...
const IDLE_EOF_SLACK_DIVISOR: u32 = 4;
/// ...and within at most this much.
const IDLE_EOF_SLACK_MAX: std::time::Duration = std::time::Duration::from_secs(1);

impl Inner {
    /// Handles socket readiness: completes a connect, reads everything available.
    pub(super) fn on_ready(&mut self, readable: bool, writable: bool) {
        if self.phase == Phase::Connecting && (writable || readable) {
            match self.sock.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => return self.fail(e.kind()),
            }
            match self.sock.peer_addr() {
                Ok(_) => {
                    self.phase = Phase::Open;
                    // A TLS client speaks first: the ClientHello.
                    self.process_tls();
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => return self.fail(e.kind()),
            }
        }
        if self.phase == Phase::Open && readable {
            self.read_all();
        }
    }

    /// Whether the TLS handshake is complete (false for a plain connection).
    pub(super) fn tls_complete(&self) -> bool {
        matches!(&self.wire, Wire::Tls(s) if s.is_handshake_complete())
    }

    /// Whether records may be written: always for plain TCP, after the handshake for TLS.
    fn can_send_records(&self) -> bool {
        match &self.wire {
            Wire::Plain => true,
            Wire::Tls(s) => s.is_handshake_complete(),
        }
    }

    fn read_all(&mut self) {
        loop {
            let read = match &mut self.wire {
                Wire::Plain => self.sock.read(&mut self.rbuf),
                Wire::Tls(s) => self.sock.read(s.incoming().space(READ_SIZE)),
            };
            match read {
                Ok(0) => {
                    self.peer_eof(Instant::now());
                    return;
                }
                Ok(n) => {
                    qlog!(Trace, self.log_id, "read {n} bytes");
                    match &mut self.wire {
                        Wire::Plain => self.engine.handle_input(Instant::now(), &self.rbuf[..n]),
                        Wire::Tls(s) => {
                            s.incoming().commit(n);
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
        match session.process(&mut self.tls_out, &mut |plaintext| {
            engine.handle_input(now, plaintext)
        }) {
            Ok(progress) => {
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
        self.pending.append(&mut self.tls_out);
        let now = Instant::now();
        loop {
            if !self.pending.is_empty() {
                match write_some(
                    self.log_id,
                    &mut self.bytes_written,
                    &mut self.sock,
                    &self.pending,
                ) {
                    Ok(n) => {
                        self.pending.drain(..n);
                        if !self.pending.is_empty() {
                            return;
                        }
                    }
                    Err(e) => return self.fail_unless_blocked(e),
                }
            }
            if self.tls_dead {
                // The alert is out (or could not be sent): the connection is over.
                self.phase = Phase::Finished;
                return;
            }
            if self.pending.len() >= PENDING_LIMIT || !self.can_send_records() {
                break;
            }
            let n = self.engine.poll_transmit(now, &mut self.scratch);
            if n == 0 {
                break;
            }
            match &mut self.wire {
                Wire::Plain => match write_some(
                    self.log_id,
                    &mut self.bytes_written,
                    &mut self.sock,
                    &self.scratch[..n],
                ) {
                    Ok(written) => self.pending.extend_from_slice(&self.scratch[written..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.pending.extend_from_slice(&self.scratch[..n]);
                        return;
                    }
                    Err(e) => return self.fail(e.kind()),
                },
                Wire::Tls(s) => {
                    if let Err(e) = s.encrypt(&self.scratch[..n], &mut self.pending) {
                        self.tls_failure = Some(e);
                        self.tls_dead = true;
                    }
                }
            }
        }
        if self.pending.is_empty() && self.engine.wants_write_shutdown() && !self.write_shut {
            self.write_shut = true;
            if let Wire::Tls(s) = &mut self.wire {
                let mut alert = Vec::new();
                if let Ok(true) = s.close_notify(&mut alert) {
                    let _ =
                        write_some(self.log_id, &mut self.bytes_written, &mut self.sock, &alert);
                }
            }
            let _ = self.sock.shutdown(std::net::Shutdown::Write);
        }
    }

    fn fail_unless_blocked(&mut self, e: io::Error) {
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

/// Writes as much of `buf` as the socket takes now (0 < n), or the error, and adds what
/// was written to `total`. `id` names the connection in trace logs.
fn write_some(
    id: usize,
    total: &mut u64,
    sock: &mut mio::net::TcpStream,
    buf: &[u8],
) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match sock.write(&buf[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    qlog!(Trace, id, "wrote {done} of {} bytes", buf.len());
    *total += done as u64;
    Ok(done)
}
