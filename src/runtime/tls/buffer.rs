//! The receive buffer a connection reads into: the socket reads straight into its free
//! tail, records are opened in place, and processed bytes leave from its front without
//! moving the rest until room is needed.
//!
//! The storage is shared (`Arc<Vec<u8>>`) so ranges of it can be handed to the engine as
//! [`SharedBytes`] without copying. While the engine still refers to the storage, the next
//! read goes to another allocation (one given back earlier if there is one), and only the
//! unprocessed tail, at most one partial record, is copied over.

use std::cell::RefCell;
use std::sync::Arc;

use crate::proto::shared::SharedBytes;

/// Allocations kept for reuse once the engine has let go of them.
const SPARES: usize = 8;
/// Bytes of idle storage a thread keeps for the next buffer that needs some (see
/// [`RecvBuffer::release_idle`]): enough for a busy connection's reads of one turn (four
/// 256 KiB reads, each still referenced by the engine until its data is delivered), so
/// that storage given back between turns is taken again instead of allocated anew.
const POOL_BYTES: usize = 4 << 20;

thread_local! {
    /// Storage given back by idle buffers on this thread, unreferenced, for reuse.
    static POOL: RefCell<Vec<Arc<Vec<u8>>>> = const { RefCell::new(Vec::new()) };
}

/// Frees the storage this thread keeps for reuse (its worker has been idle a while).
pub fn release_pooled() {
    let _ = POOL.try_with(|pool| pool.borrow_mut().clear());
}

/// Storage of at least `size` bytes: a pooled allocation if one is large enough, else a new
/// one.
fn take_storage(size: usize) -> Arc<Vec<u8>> {
    let pooled = POOL.with_borrow_mut(|pool| {
        let i = pool.iter().position(|b| b.len() >= size)?;
        Some(pool.swap_remove(i))
    });
    pooled.unwrap_or_else(|| Arc::new(vec![0; size]))
}

/// Keeps `buf` for reuse on this thread if no one else refers to it and the pool has room;
/// drops it otherwise.
fn give_storage(buf: Arc<Vec<u8>>) {
    if buf.is_empty() || Arc::strong_count(&buf) != 1 {
        return;
    }
    POOL.with_borrow_mut(|pool| {
        let held: usize = pool.iter().map(|b| b.len()).sum();
        if held + buf.len() <= POOL_BYTES {
            pool.push(buf);
        }
    });
}

/// Bytes received from the peer and not yet processed.
#[derive(Debug, Default)]
pub struct RecvBuffer {
    /// Storage; `buf.len()` is the capacity in use (initialised once, reused). Empty until
    /// the first read, and again once released while idle.
    buf: Arc<Vec<u8>>,
    /// Start of the unprocessed bytes.
    start: usize,
    /// End of the unprocessed bytes.
    end: usize,
    /// Earlier allocations, possibly still referenced by the engine.
    spares: Vec<Arc<Vec<u8>>>,
    /// The room storage is made with when a read needs some (at least what it asks for).
    capacity: usize,
}

impl RecvBuffer {
    /// An empty buffer that gets `capacity` bytes of room when first read into.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    /// Gives the storage back while nothing waits in it: unreferenced allocations (this one
    /// and the spares) go to the thread's pool for the next buffer that needs room, the
    /// others are dropped here and freed once the engine lets go of them. An idle
    /// connection so keeps no receive buffer.
    pub fn release_idle(&mut self) {
        if !self.is_empty() || (self.buf.is_empty() && self.spares.is_empty()) {
            return;
        }
        give_storage(std::mem::take(&mut self.buf));
        for spare in self.spares.drain(..) {
            give_storage(spare);
        }
        self.start = 0;
        self.end = 0;
    }

    /// The unprocessed bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The unprocessed bytes, writable (records are opened in place).
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let (start, end) = (self.start, self.end);
        &mut self.storage()[start..end]
    }

    /// The bytes at `range` of [`RecvBuffer::data`], shared without copying.
    pub(crate) fn shared(&self, range: std::ops::Range<usize>) -> SharedBytes {
        SharedBytes::new(
            self.buf.clone(),
            self.start + range.start..self.start + range.end,
        )
    }

    /// How many unprocessed bytes there are.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether there are no unprocessed bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The storage, made ours alone first: if the engine still refers to the current
    /// allocation, the unprocessed bytes move to a spare one (or a new one).
    fn storage(&mut self) -> &mut Vec<u8> {
        if Arc::get_mut(&mut self.buf).is_none() {
            let capacity = self.buf.len();
            let reusable = self
                .spares
                .iter()
                .position(|s| Arc::strong_count(s) == 1 && s.len() >= capacity);
            let next = match reusable {
                Some(i) => self.spares.swap_remove(i),
                None => take_storage(capacity),
            };
            let old = std::mem::replace(&mut self.buf, next);
            let len = self.end - self.start;
            let (start, end) = (self.start, self.end);
            Arc::get_mut(&mut self.buf).expect("a fresh or unreferenced buffer")[..len]
                .copy_from_slice(&old[start..end]);
            self.start = 0;
            self.end = len;
            if self.spares.len() < SPARES {
                self.spares.push(old);
            } else if let Some(i) = self.spares.iter().position(|s| Arc::strong_count(s) > 1) {
                // Keep the newest; a spare still referenced is the least likely to come back.
                self.spares[i] = old;
            }
        }
        Arc::get_mut(&mut self.buf).expect("made unique above")
    }

    /// Free room of at least `min` bytes after the unprocessed ones, to read into; follow
    /// with [`RecvBuffer::commit`].
    pub fn space(&mut self, min: usize) -> &mut [u8] {
        if self.buf.is_empty() {
            self.buf = take_storage(min.max(self.capacity));
            self.start = 0;
            self.end = 0;
        }
        self.storage();
        let (mut start, mut end) = (self.start, self.end);
        let buf = Arc::get_mut(&mut self.buf).expect("made unique above");
        if buf.len() - end < min {
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            if buf.len() - end < min {
                let want = (end + min).max(buf.len() * 2);
                buf.resize(want, 0);
            }
        }
        self.start = start;
        self.end = end;
        let buf = Arc::get_mut(&mut self.buf).expect("made unique above");
        &mut buf[end..]
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

    #[test]
    fn shared_ranges_stay_valid_and_the_tail_moves() {
        let mut b = RecvBuffer::with_capacity(16);
        b.extend_from_slice(b"0123456789");
        let first = Arc::as_ptr(&b.buf);
        let held = b.shared(0..6);
        b.consume(6);
        // The engine holds the first allocation: the next read goes elsewhere.
        let room = b.space(4);
        room[..3].copy_from_slice(b"abc");
        b.commit(3);
        assert_eq!(b.data(), b"6789abc");
        assert_eq!(held.as_slice(), b"012345");
        b.data_mut()[0] = b'X';
        assert_eq!(held.as_slice(), b"012345");
        drop(held);
        // Once released, the first allocation is reused rather than a new one made.
        let again = b.shared(0..1);
        b.consume(b.len());
        b.space(1);
        drop(again);
        assert_eq!(Arc::as_ptr(&b.buf), first);
        assert_eq!(b.spares.len(), 1);
    }
}
