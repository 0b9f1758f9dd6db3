//! The bytes waiting for the socket: one allocation, filled at its end (records are
//! produced straight into it) and written from a cursor at its front. A partial write only
//! moves the cursor; the buffer starts over at offset 0 once everything is written, so no
//! byte is ever moved. The storage is taken when output is produced and given back once
//! everything is written (see [`SendBuf::release_idle`]), so an idle connection keeps none.
//! It starts small (a handshake needs a few kilobytes) and doubles up to its capacity only
//! while records keep coming faster than the socket takes them.

use std::cell::RefCell;

/// Idle storages a thread keeps for the next connection with output.
const POOL: usize = 2;
/// The storage first taken (grown by doubling up to the capacity when room runs short).
const INITIAL: usize = 64 << 10;

thread_local! {
    /// Storage given back by drained buffers on this thread.
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Frees the storage this thread keeps for reuse (its worker has been idle a while).
pub(crate) fn release_pooled() {
    let _ = SPARE.try_with(|pool| pool.borrow_mut().clear());
}

/// Output waiting for the socket.
#[derive(Debug)]
pub(super) struct SendBuf {
    /// Storage, initialised as it grows; `buf.len()` is its size. Empty while released.
    buf: Vec<u8>,
    /// Start of the unwritten bytes.
    start: usize,
    /// End of the unwritten bytes; records are produced after it.
    end: usize,
    /// The most storage taken.
    capacity: usize,
}

impl SendBuf {
    /// An empty buffer that takes storage when output is produced, up to `capacity` bytes.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            end: 0,
            capacity,
        }
    }

    /// Takes storage if released: the largest pooled one of this thread, else a new small
    /// one.
    fn ensure(&mut self) {
        if self.buf.is_empty() && self.capacity > 0 {
            let cap = self.capacity;
            let pooled = SPARE.with_borrow_mut(|pool| {
                let i = (0..pool.len()).max_by_key(|&i| pool[i].len())?;
                Some(pool.swap_remove(i))
            });
            self.buf = pooled.unwrap_or_else(|| vec![0; INITIAL.min(cap)]);
        }
    }

    /// Gives the storage back once everything is written: to the thread's pool (for the next
    /// connection with output) if it has room, else to the allocator.
    pub(super) fn release_idle(&mut self) {
        if !self.is_empty() || self.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        if buf.len() <= self.capacity {
            SPARE.with_borrow_mut(|pool| {
                if pool.len() < POOL {
                    pool.push(buf);
                } else if let Some(small) = pool.iter_mut().find(|b| b.len() < buf.len()) {
                    // Keep the larger: a busy connection's storage is worth more.
                    *small = buf;
                }
            });
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
    /// [`SendBuf::commit`]. The storage doubles (up to the capacity) while the room is
    /// shorter than `min`.
    pub(super) fn room(&mut self, min: usize) -> &mut [u8] {
        self.ensure();
        while self.buf.len() - self.end < min && self.buf.len() < self.capacity {
            let grown = (self.buf.len() * 2).clamp(INITIAL, self.capacity);
            self.buf.resize(grown, 0);
        }
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

    /// Appends `bytes` (TLS handshake messages and alerts, or the part of a gathered write
    /// the socket did not take), growing the buffer if its room is short.
    pub(super) fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.ensure();
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
        b.room(0)[..5].copy_from_slice(b"hello");
        b.commit(5);
        b.advance(2);
        assert_eq!(b.unsent(), b"llo");
        assert_eq!(b.room(0).len(), 3);
        b.extend_from_slice(b"!!!!");
        assert_eq!(b.unsent(), b"llo!!!!");
        b.advance(7);
        assert!(b.is_empty());
        assert_eq!(b.room(0).len(), 9);
    }

    #[test]
    fn storage_is_taken_on_demand_and_given_back_when_drained() {
        let mut b = SendBuf::with_capacity(16);
        assert!(b.buf.is_empty());
        b.room(0)[..3].copy_from_slice(b"abc");
        b.commit(3);
        b.release_idle();
        assert_eq!(b.unsent(), b"abc", "kept while bytes wait");
        b.advance(3);
        b.release_idle();
        assert!(b.buf.is_empty());
        assert_eq!(b.room(0).len(), 16);
    }

    #[test]
    fn storage_starts_small_and_doubles_up_to_the_capacity() {
        let mut b = SendBuf::with_capacity(4 * INITIAL + 100);
        assert_eq!(b.room(0).len(), INITIAL);
        b.commit(INITIAL - 10);
        assert_eq!(b.room(100).len(), 2 * INITIAL - (INITIAL - 10));
        b.commit(2 * INITIAL - (INITIAL - 10) - 10);
        assert_eq!(
            b.room(4 * INITIAL).len(),
            4 * INITIAL + 100 - (2 * INITIAL - 10)
        );
    }
}
