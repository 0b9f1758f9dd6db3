//! Writing a plain TCP connection's records: gathered from the streams' queued data and
//! handed to the kernel in one `sendmsg` per batch, so stream data is copied once, by the
//! kernel, instead of first into a send buffer. Only what the socket does not take is
//! copied aside, into the send buffer, to go first when it is writable again.

use std::io::{self, IoSlice, Write};
use std::time::Instant;

use super::Inner;
use super::io_loop::{WRITE_BATCH, WRITE_BUDGET};
use crate::runtime::counters;
use crate::runtime::log::qlog;

impl Inner {
    /// Writes what waits in the send buffer, then gathered records while the socket takes
    /// them and the turn's budget lasts. Returns whether the engine had nothing more to
    /// send; on a socket error the connection has failed.
    pub(super) fn flush_plain(&mut self, now: Instant) -> bool {
        let start = self.bytes_written;
        loop {
            if !self.pending.is_empty() && !self.write_pending() {
                return false;
            }
            match self.write_gathered(now) {
                None => return true,
                Some(Ok(())) if !self.pending.is_empty() => return false,
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    self.fail_unless_blocked(e);
                    return false;
                }
            }
            if self.bytes_written - start >= WRITE_BUDGET as u64 {
                // The socket still takes bytes: the rest waits for the next turn.
                self.more_output = true;
                return false;
            }
        }
    }

    /// Gathers one batch of records and writes it; keeps what the socket did not take in
    /// the (empty) send buffer. `None` when the engine has nothing to send.
    fn write_gathered(&mut self, now: Instant) -> Option<io::Result<()>> {
        let Self {
            engine,
            sock,
            pending,
            bytes_written,
            log_id,
            ..
        } = self;
        engine.transmit_gathered(now, WRITE_BATCH, |slices| {
            let rest = write_slices(*log_id, bytes_written, sock, slices)?;
            for s in rest.iter() {
                pending.extend_from_slice(s);
            }
            Ok(())
        })
    }
}

/// Writes as much of `slices` as the socket takes now, adds it to `total`, and returns the
/// slices left unwritten (all of them if the socket took nothing).
fn write_slices<'a, 'b>(
    id: usize,
    total: &mut u64,
    sock: &mut mio::net::TcpStream,
    mut slices: &'a mut [IoSlice<'b>],
) -> io::Result<&'a mut [IoSlice<'b>]> {
    let len: usize = slices.iter().map(|s| s.len()).sum();
    let mut done = 0;
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
    qlog!(Trace, id, "wrote {done} of {len} gathered bytes");
    *total += done as u64;
    Ok(slices)
}
