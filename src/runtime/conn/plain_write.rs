//! Writing a plain TCP connection's records: gathered from the streams' queued data and
//! handed to the kernel in one `sendmsg` per batch, so stream data is copied once, by the
//! kernel, instead of first into a send buffer. Only what the socket does not take is
//! copied aside, into the send buffer, to go first when it is writable again.

use std::io;
use std::time::Instant;

use super::Inner;
use super::io_loop::{WRITE_BATCH, WRITE_BUDGET, write_slices};

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
