//! The receiving half of a stream.

use std::sync::Arc;

use super::buffer::{Chunks, InputPin, RecvBuffer};
use crate::proto::error::TransportError;
use crate::proto::flow_control::RecvWindow;
use crate::proto::shared::SharedBytes;

/// What RESET_STREAM or RESET_STREAM_AT told us.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ResetInfo {
    /// The application's error code.
    pub error_code: u64,
    /// The stream's final size.
    pub final_size: u64,
    /// Bytes still delivered to the application before the reset is signalled.
    pub reliable_size: u64,
}

/// Connection-level accounting for one received frame.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Accounting {
    /// Bytes newly counted against the connection's limit.
    pub new_bytes: u64,
    /// Bytes the application will never read, whose credit can go back at once.
    pub discarded: u64,
}

/// The receiving half of a stream.
///
/// QMux delivers each stream in order (qmux-02 §4.1), so there is no reassembly: a frame
/// must start exactly where the previous one ended.
#[derive(Debug)]
pub struct RecvStream {
    buf: RecvBuffer,
    /// Offset the application has read up to.
    read: u64,
    /// Offset the peer's data has reached.
    received: u64,
    final_size: Option<u64>,
    /// The stream's flow-control window.
    pub window: RecvWindow,
    reset: Option<ResetInfo>,
    /// Whether the application has been told of the reset.
    pub reset_delivered: bool,
    /// The code we sent in STOP_SENDING, if we did; data is then discarded.
    stopped: Option<u64>,
    fin_delivered: bool,
    /// Whether a readable event is outstanding (cleared when the application reads).
    pub notified: bool,
    /// Whether a MAX_STREAM_DATA for this stream is queued.
    pub max_data_queued: bool,
    /// Whether TLS early data (0-RTT) opened the stream.
    pub opened_early: bool,
    /// The end of the furthest data received in TLS early data (0-RTT).
    pub early_end: u64,
}

impl RecvStream {
    /// A new receiving half granting `window` bytes.
    pub fn new(window: u64) -> Self {
        Self {
            buf: RecvBuffer::default(),
            read: 0,
            received: 0,
            final_size: None,
            window: RecvWindow::new(window),
            reset: None,
            reset_delivered: false,
            stopped: None,
            fin_delivered: false,
            notified: false,
            max_data_queued: false,
            opened_early: false,
            early_end: 0,
        }
    }

    /// The reset, if one was received.
    pub fn reset(&self) -> Option<ResetInfo> {
        self.reset
    }

    /// Whether we asked the peer to stop.
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_some()
    }

    /// The final size, once known.
    pub fn final_size(&self) -> Option<u64> {
        self.final_size.or(self.reset.map(|r| r.final_size))
    }

    /// Whether nothing more will be received or delivered.
    pub fn is_terminal(&self) -> bool {
        if self.reset.is_some() {
            return self.reset_delivered;
        }
        if self.stopped.is_some() {
            return self.final_size == Some(self.received);
        }
        self.fin_delivered
    }

    /// Whether a reset is due to be signalled: it arrived and the reliable bytes were read.
    pub fn reset_due(&self) -> Option<ResetInfo> {
        let r = self.reset?;
        (!self.reset_delivered && self.read >= r.reliable_size).then_some(r)
    }

    /// Takes in a STREAM frame's data, copying what the application will read.
    pub fn ingest(
        &mut self,
        offset: u64,
        data: &[u8],
        fin: bool,
    ) -> Result<Accounting, TransportError> {
        let (acc, keep) = self.admit(offset, data.len(), fin)?;
        self.buf.push_copy(&data[..keep]);
        Ok(acc)
    }

    /// Takes in a STREAM frame's data as a reference into the input buffer `pin` charges
    /// for: nothing is copied.
    pub fn ingest_shared(
        &mut self,
        offset: u64,
        mut data: SharedBytes,
        pin: &Arc<InputPin>,
        fin: bool,
    ) -> Result<Accounting, TransportError> {
        let (acc, keep) = self.admit(offset, data.len(), fin)?;
        data.truncate(keep);
        self.buf.push_shared(data, pin);
        Ok(acc)
    }

    /// Checks and accounts for `len` bytes at `offset`; returns the accounting and how many
    /// of the bytes to keep for the application (a prefix).
    fn admit(
        &mut self,
        offset: u64,
        len: usize,
        fin: bool,
    ) -> Result<(Accounting, usize), TransportError> {
        let end = offset + len as u64;
        if let Some(known) = self.final_size() {
            if end > known || (fin && end != known) {
                return Err(TransportError::FINAL_SIZE_ERROR(
                    "data beyond or changing final size",
                ));
            }
        }
        if offset != self.received {
            return Err(TransportError::PROTOCOL_VIOLATION(
                "stream data out of order",
            ));
        }
        let charged_before = self.window.received();
        self.window
            .on_received(end)
            .map_err(|_| TransportError::FLOW_CONTROL_ERROR("stream data above limit"))?;
        let new_bytes = self.window.received() - charged_before;
        self.received = end;
        if fin {
            self.final_size = Some(end);
        }
        // Bytes the application will read: below the reliable size after a reset, none after
        // STOP_SENDING. Anything else is discarded now.
        let deliver_end = match (self.reset, self.stopped) {
            (_, Some(_)) => offset,
            (Some(r), None) => end.min(r.reliable_size).max(offset),
            (None, None) => end,
        };
        let keep = (deliver_end - offset) as usize;
        let mut discarded = 0;
        let dropped = len as u64 - keep as u64;
        if dropped > 0 && self.reset.is_none() {
            // After a reset the discarded tail was already credited back in `reset`.
            self.window.consume(dropped);
            self.read += dropped;
            discarded = dropped;
        }
        Ok((
            Accounting {
                new_bytes,
                discarded,
            },
            keep,
        ))
    }

    /// Takes in RESET_STREAM (`reliable_size` 0) or RESET_STREAM_AT.
    pub fn reset_with(&mut self, info: ResetInfo) -> Result<Accounting, TransportError> {
        if let Some(prev) = self.reset {
            if prev.final_size != info.final_size {
                return Err(TransportError::FINAL_SIZE_ERROR("final size changed"));
            }
            if prev.error_code != info.error_code {
                return Err(TransportError::STREAM_STATE_ERROR(
                    "reset error code changed",
                ));
            }
            if info.reliable_size >= prev.reliable_size {
                return Ok(Accounting::default()); // Increases are ignored.
            }
        } else {
            if info.final_size < self.received
                || self.final_size.is_some_and(|f| f != info.final_size)
            {
                return Err(TransportError::FINAL_SIZE_ERROR(
                    "reset final size inconsistent",
                ));
            }
        }
        let charged_before = self.window.received();
        self.window
            .on_received(info.final_size)
            .map_err(|_| TransportError::FLOW_CONTROL_ERROR("final size above limit"))?;
        let new_bytes = self.window.received() - charged_before;
        // Everything but what the application will still read is credited back now.
        let target = info.final_size - info.reliable_size.saturating_sub(self.read);
        let discarded = target.saturating_sub(self.window.consumed());
        let keep = info.reliable_size.saturating_sub(self.read) as usize;
        if keep < self.buf.len() {
            self.buf.truncate(keep);
        }
        self.window.consume(discarded);
        self.reset = Some(info);
        Ok(Accounting {
            new_bytes,
            discarded,
        })
    }

    /// Marks that the application asked the peer to stop; buffered data is discarded.
    /// Returns the number of bytes whose credit can go back.
    pub fn stop(&mut self, error_code: u64) -> u64 {
        if self.stopped.is_some() || self.reset.is_some() {
            return 0;
        }
        self.stopped = Some(error_code);
        let n = self.buf.len() as u64;
        self.buf.clear();
        self.read += n;
        self.window.consume(n);
        n
    }

    /// The bytes ready for the application.
    pub fn chunks(&self) -> Chunks<'_> {
        let end = self.read + self.buf.len() as u64;
        let fin = self.reset.is_none() && self.final_size == Some(end);
        Chunks::new(&self.buf, fin)
    }

    /// Marks `n` readable bytes consumed by the application (at most [`Chunks::len`]).
    /// Returns the number consumed.
    pub fn consume(&mut self, n: usize) -> usize {
        let n = self.buf.consume(n);
        self.read += n as u64;
        self.window.consume(n as u64);
        if self.reset.is_none() && self.final_size == Some(self.read) {
            self.fin_delivered = true;
        }
        self.notified = false;
        n
    }

    /// Copies readable bytes into `out` and consumes them: `(bytes, reached the end)`.
    pub fn read(&mut self, out: &mut [u8]) -> (usize, bool) {
        let n = self.buf.copy_to(out);
        let n = self.consume(n);
        (n, self.fin_delivered && self.buf.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::error::TransportErrorCode;
    use super::*;

    #[test]
    fn in_order_and_final_size_rules() {
        let mut r = RecvStream::new(10);
        assert_eq!(r.ingest(0, b"abc", false).unwrap().new_bytes, 3);
        let code = |r: &mut RecvStream, off, d: &[u8], fin| r.ingest(off, d, fin).unwrap_err().code;
        assert_eq!(
            code(&mut r, 0, b"a", false),
            TransportErrorCode::PROTOCOL_VIOLATION
        );
        assert_eq!(
            code(&mut r, 4, b"a", false),
            TransportErrorCode::PROTOCOL_VIOLATION
        );
        assert_eq!(
            code(&mut r, 3, &[0; 8], false),
            TransportErrorCode::FLOW_CONTROL_ERROR
        );
        r.ingest(3, b"de", true).unwrap();
        assert_eq!(
            code(&mut r, 5, b"x", false),
            TransportErrorCode::FINAL_SIZE_ERROR
        );
        // An empty FIN again at the end is harmless.
        r.ingest(5, b"", true).unwrap();
        let mut out = [0u8; 8];
        assert_eq!(r.read(&mut out), (5, true));
        assert!(r.is_terminal());
    }

    #[test]
    fn reset_credits_unread_bytes() {
        let mut r = RecvStream::new(100);
        r.ingest(0, b"abcdef", false).unwrap();
        r.consume(2);
        let info = ResetInfo {
            error_code: 9,
            final_size: 10,
            reliable_size: 0,
        };
        let acc = r.reset_with(info).unwrap();
        assert_eq!(
            acc,
            Accounting {
                new_bytes: 4,
                discarded: 8
            }
        );
        assert!(r.chunks().is_empty());
        assert_eq!(r.reset_due(), Some(info));
        let bad = ResetInfo {
            final_size: 11,
            ..info
        };
        assert_eq!(
            r.reset_with(bad).unwrap_err().code,
            TransportErrorCode::FINAL_SIZE_ERROR
        );
        let mut r = RecvStream::new(100);
        r.ingest(0, b"abcdef", false).unwrap();
        let info = ResetInfo {
            error_code: 9,
            final_size: 5,
            reliable_size: 0,
        };
        assert_eq!(
            r.reset_with(info).unwrap_err().code,
            TransportErrorCode::FINAL_SIZE_ERROR
        );
        let info = ResetInfo {
            error_code: 9,
            final_size: 101,
            reliable_size: 0,
        };
        assert_eq!(
            r.reset_with(info).unwrap_err().code,
            TransportErrorCode::FLOW_CONTROL_ERROR
        );
    }

    #[test]
    fn reset_at_delivers_reliable_prefix() {
        let mut r = RecvStream::new(100);
        r.ingest(0, b"abc", false).unwrap();
        let info = ResetInfo {
            error_code: 1,
            final_size: 8,
            reliable_size: 5,
        };
        let acc = r.reset_with(info).unwrap();
        assert_eq!(
            acc,
            Accounting {
                new_bytes: 5,
                discarded: 3
            }
        );
        assert_eq!(r.reset_due(), None);
        // The rest of the reliable part arrives after the frame.
        r.ingest(3, b"defgh", false).unwrap();
        assert_eq!(r.chunks().len(), 5);
        let mut out = [0u8; 8];
        assert_eq!(r.read(&mut out), (5, false));
        assert_eq!(&out[..5], b"abcde");
        assert_eq!(r.reset_due(), Some(info));
        // A later lower reliable size is taken, a higher one ignored.
        let lower = ResetInfo {
            reliable_size: 4,
            ..info
        };
        assert_eq!(r.reset_with(lower).unwrap().new_bytes, 0);
        let changed = ResetInfo {
            error_code: 2,
            ..info
        };
        assert_eq!(
            r.reset_with(changed).unwrap_err().code,
            TransportErrorCode::STREAM_STATE_ERROR
        );
    }

    #[test]
    fn stop_discards_and_credits() {
        let mut r = RecvStream::new(100);
        r.ingest(0, b"abc", false).unwrap();
        assert_eq!(r.stop(7), 3);
        let acc = r.ingest(3, b"de", true).unwrap();
        assert_eq!(
            acc,
            Accounting {
                new_bytes: 2,
                discarded: 2
            }
        );
        assert!(r.chunks().is_empty());
        assert!(r.is_terminal());
    }
}
