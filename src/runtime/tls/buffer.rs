//! The receive buffer a session decrypts from: the socket reads straight into its free
//! tail, and processed bytes leave from its front without moving the rest until room is
//! needed.

/// Bytes received from the peer and not yet processed by the TLS session.
#[derive(Debug, Default)]
pub struct RecvBuffer {
    /// Storage; `buf.len()` is the capacity in use (initialised once, reused).
    buf: Vec<u8>,
    /// Start of the unprocessed bytes.
    start: usize,
    /// End of the unprocessed bytes.
    end: usize,
}

impl RecvBuffer {
    /// An empty buffer with `capacity` bytes of room.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: vec![0; capacity],
            start: 0,
            end: 0,
        }
    }

    /// The unprocessed bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// How many unprocessed bytes there are.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether there are no unprocessed bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Free room of at least `min` bytes after the unprocessed ones, to read into; follow
    /// with [`RecvBuffer::commit`].
    pub fn space(&mut self, min: usize) -> &mut [u8] {
        if self.buf.len() - self.end < min {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < min {
                let want = (self.end + min).max(self.buf.len() * 2);
                self.buf.resize(want, 0);
            }
        }
        &mut self.buf[self.end..]
    }

    /// Marks `n` bytes of the room given by [`RecvBuffer::space`] as received.
    ///
    /// # Panics
    /// If `n` is more than that room.
    pub fn commit(&mut self, n: usize) {
        assert!(n <= self.buf.len() - self.end, "commit past the buffer");
        self.end += n;
    }

    /// Appends `bytes` (a copy; prefer reading into [`RecvBuffer::space`]).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.space(bytes.len())[..bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Drops `n` processed bytes from the front.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n.min(self.len());
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_consumes_and_compacts() {
        let mut b = RecvBuffer::with_capacity(8);
        b.extend_from_slice(b"abcdef");
        b.consume(4);
        assert_eq!(b.data(), b"ef");
        let room = b.space(5);
        assert!(room.len() >= 5);
        room[..5].copy_from_slice(b"ghijk");
        b.commit(5);
        assert_eq!(b.data(), b"efghijk");
        b.consume(7);
        assert!(b.is_empty());
        b.extend_from_slice(&[1; 100]);
        assert_eq!(b.len(), 100);
    }
}
