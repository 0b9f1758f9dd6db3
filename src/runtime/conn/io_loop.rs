//! Moving bytes between the socket and the engine.

use std::io::{self, Read, Write};
use std::time::Instant;

use super::{Inner, Phase};

/// Size of the buffer records are produced into: a full record of the largest size we allow
/// the peer to ask for fits, with room for several default-size ones.
pub(super) const SCRATCH_SIZE: usize = 256 << 10;
/// Size of one socket read.
pub(super) const READ_SIZE: usize = 256 << 10;
/// Stop pulling from the engine while this much is waiting for the socket.
const PENDING_LIMIT: usize = 1 << 20;

impl Inner {
    /// Handles socket readiness: completes a connect, reads everything available.
    pub(super) fn on_ready(&mut self, readable: bool, writable: bool) {
        if self.phase == Phase::Connecting && (writable || readable) {
            match self.sock.take_error() {
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => return self.fail(e.kind()),
            }
            match self.sock.peer_addr() {
                Ok(_) => self.phase = Phase::Open,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => return self.fail(e.kind()),
            }
        }
        if self.phase == Phase::Open && readable {
            self.read_all();
        }
    }

    fn read_all(&mut self) {
        loop {
            match self.sock.read(&mut self.rbuf) {
                Ok(0) => {
                    self.engine.handle_eof(Instant::now());
                    return;
                }
                Ok(n) => self.engine.handle_input(Instant::now(), &self.rbuf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(e.kind()),
            }
        }
    }

    /// Writes pending bytes and then as many new records as the socket takes.
    pub(super) fn flush(&mut self) {
        if self.phase != Phase::Open {
            return;
        }
        let now = Instant::now();
        loop {
            if !self.pending.is_empty() {
                match write_some(&mut self.sock, &self.pending) {
                    Ok(n) => {
                        self.pending.drain(..n);
                        if !self.pending.is_empty() {
                            return;
                        }
                    }
                    Err(e) => return self.fail_unless_blocked(e),
                }
            }
            if self.pending.len() >= PENDING_LIMIT {
                return;
            }
            let n = self.engine.poll_transmit(now, &mut self.scratch);
            if n == 0 {
                break;
            }
            match write_some(&mut self.sock, &self.scratch[..n]) {
                Ok(written) => self.pending.extend_from_slice(&self.scratch[written..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.pending.extend_from_slice(&self.scratch[..n]);
                    return;
                }
                Err(e) => return self.fail(e.kind()),
            }
        }
        if self.pending.is_empty() && self.engine.wants_write_shutdown() && !self.write_shut {
            self.write_shut = true;
            let _ = self.sock.shutdown(std::net::Shutdown::Write);
        }
    }

    fn fail_unless_blocked(&mut self, e: io::Error) {
        if e.kind() != io::ErrorKind::WouldBlock {
            self.fail(e.kind());
        }
    }

    fn fail(&mut self, kind: io::ErrorKind) {
        if self.phase != Phase::Finished {
            self.phase = Phase::Finished;
            self.failure = Some(kind);
        }
    }
}

/// Writes as much of `buf` as the socket takes now (0 < n), or the error.
fn write_some(sock: &mut mio::net::TcpStream, buf: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match sock.write(&buf[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && done > 0 => return Ok(done),
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
