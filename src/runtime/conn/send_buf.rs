//! The bytes waiting for the socket: one allocation, filled at its end (records are
//! produced straight into it) and written from a cursor at its front. A partial write only
//! moves the cursor; the buffer starts over at offset 0 once everything is written, so no
//! byte is ever moved.

/// Output waiting for the socket.
#[derive(Debug)]
pub(super) struct SendBuf {
    /// Storage, initialised once; `buf.len()` is the capacity.
    buf: Vec<u8>,
    /// Start of the unwritten bytes.
    start: usize,
    /// End of the unwritten bytes; records are produced after it.
    end: usize,
}

impl SendBuf {
    /// An empty buffer with room for `capacity` bytes.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    /// The bytes not yet written.
    pub(super) fn unsent(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Whether nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The free room after the waiting bytes, to produce records into; follow with
    /// [`SendBuf::commit`].
    pub(super) fn room(&mut self) -> &mut [u8] {
        &mut self.buf[self.end..]
    }

    /// Marks `n` bytes of [`SendBuf::room`] as produced.
    pub(super) fn commit(&mut self, n: usize) {
        assert!(n <= self.buf.len() - self.end, "commit past the buffer");
        self.end += n;
    }

    /// Marks `n` waiting bytes as written.
    pub(super) fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Appends `bytes` (TLS handshake messages and alerts: small and rare), growing the
    /// buffer if its room is short.
    pub(super) fn extend_from_slice(&mut self, bytes: &[u8]) {
        if self.buf.len() - self.end < bytes.len() {
            let want = self.end + bytes.len();
            self.buf.resize(want.max(self.buf.len()), 0);
        }
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_writes_move_a_cursor_and_the_buffer_restarts_when_drained() {
        let mut b = SendBuf::with_capacity(8);
        b.room()[..5].copy_from_slice(b"hello");
        b.commit(5);
        b.advance(2);
        assert_eq!(b.unsent(), b"llo");
        assert_eq!(b.room().len(), 3);
        b.extend_from_slice(b"!!!!");
        assert_eq!(b.unsent(), b"llo!!!!");
        b.advance(7);
        assert!(b.is_empty());
        assert_eq!(b.room().len(), 9);
    }
}
