//! A stream's received bytes: a FIFO of chunks, each either a reference into an input buffer
//! the caller handed over ([`Connection::handle_input_shared`]) or a buffer of the engine's own
//! that small frames (and all data given by slice) are copied into.
//!
//! QMux delivers each stream in order, so there is no reassembly: chunks are appended at the
//! back and consumed from the front.
//!
//! # Memory
//!
//! Flow control bounds the unconsumed stream bytes (at most the connection window), but a
//! chunk referencing an input buffer keeps the whole buffer alive: a peer could put a few
//! bytes of a stream in each of many large buffers, and the application not reading that
//! stream would pin them all. Two rules bound that:
//!
//! - Frames shorter than [`SHARE_MIN`] are always copied, so a chunk that pins a buffer holds
//!   at least that many bytes and per-chunk overhead (about 40 bytes) stays small; runs of
//!   copied frames share one copy buffer.
//! - Pinned input buffers are accounted by their full size, once each, in a per-connection
//!   counter: an input buffer is referenced only while the sum of all pinned buffers stays
//!   within the connection's receive window; past that its frames are copied (the slice path).
//!   An [`InputPin`] per input buffer carries the charge and gives it back when the last chunk
//!   referencing that buffer is consumed or discarded.
//!
//! So a connection holds at most its window in pinned input buffers plus its window in copied
//! bytes (a copy buffer grows to at most about four times its live bytes), whatever the peer
//! sends: the same order as copying everything. The alternative, copying remnants out at
//! consume time, would need to find every chunk of a buffer across streams; accounting once
//! per buffer is O(1) per frame.
//!
//! [`Connection::handle_input_shared`]: crate::proto::Connection::handle_input_shared

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::proto::shared::SharedBytes;
use crate::proto::spares::{self, Spares};

/// Frames with less data than this are copied rather than referenced.
pub const SHARE_MIN: usize = 1024;

/// The smallest copy buffer allocated (grown by doubling as needed). Small, so that a peer
/// alternating referenced frames with tiny ones (each tiny one then starts a copy buffer)
/// costs little memory per frame.
const COPY_MIN_CAPACITY: usize = 256;

/// Copy buffers a thread keeps for its next streams: how many, and the largest kept.
const SPARE_COPIES: usize = 128;
const SPARE_COPY_CAP: usize = 16 << 10;

thread_local! {
    static QUEUES: Spares<VecDeque<Chunk>> = const { Spares::new() };
    static COPIES: Spares<Arc<Vec<u8>>> = const { Spares::new() };
}

/// Frees this thread's spare receive queues and copy buffers.
pub(crate) fn release_spares() {
    spares::clear(&QUEUES);
    spares::clear(&COPIES);
}

/// The charge for one input buffer that stream data references: its size is counted in the
/// connection's pinned total while any chunk holds this pin.
pub struct InputPin {
    bytes: usize,
    total: Arc<AtomicUsize>,
}

impl InputPin {
    /// Charges `bytes` to `total` until the returned pin is dropped.
    pub(crate) fn new(bytes: usize, total: &Arc<AtomicUsize>) -> Arc<Self> {
        total.fetch_add(bytes, Ordering::Relaxed);
        Arc::new(Self {
            bytes,
            total: Arc::clone(total),
        })
    }
}

impl Drop for InputPin {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl fmt::Debug for InputPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InputPin({} bytes)", self.bytes)
    }
}

#[derive(Debug)]
struct Chunk {
    bytes: SharedBytes,
    /// The input buffer's charge; `None` for the engine's own copy buffers.
    pin: Option<Arc<InputPin>>,
}

/// The readable bytes of one stream.
#[derive(Debug)]
pub(crate) struct RecvBuffer {
    chunks: VecDeque<Chunk>,
    len: usize,
    /// A copy buffer whose bytes were all consumed, kept for the next copy (it was grown to
    /// hold at most a few windows of this stream's data, so keeping it is bounded too).
    spare: Option<Arc<Vec<u8>>>,
}

impl Default for RecvBuffer {
    fn default() -> Self {
        Self {
            chunks: spares::take(&QUEUES).unwrap_or_default(),
            len: 0,
            spare: None,
        }
    }
}

impl Drop for RecvBuffer {
    fn drop(&mut self) {
        spares::give_queue(&QUEUES, std::mem::take(&mut self.chunks));
        if let Some(spare) = self.spare.take() {
            if Arc::strong_count(&spare) == 1 && spare.capacity() <= SPARE_COPY_CAP {
                spares::give(&COPIES, spare, SPARE_COPIES);
            }
        }
    }
}

impl RecvBuffer {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a copy of `data`.
    pub(crate) fn push_copy(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        if let Some(back) = self.chunks.back_mut() {
            if back.pin.is_none() && back.bytes.try_append(data) {
                return;
            }
        }
        let bytes = SharedBytes::copy_into(
            self.spare.take().or_else(|| spares::take(&COPIES)),
            data,
            COPY_MIN_CAPACITY,
        );
        self.chunks.push_back(Chunk { bytes, pin: None });
    }

    /// Appends a reference to `data`, part of the input buffer `pin` charges for.
    pub(crate) fn push_shared(&mut self, data: SharedBytes, pin: &Arc<InputPin>) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        self.chunks.push_back(Chunk {
            bytes: data,
            pin: Some(Arc::clone(pin)),
        });
    }

    /// Drops the first `n` bytes (at most all); whole chunks are released as they go.
    pub(crate) fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        let mut left = n;
        while left > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break; // Unreachable: `len` counts the bytes in `chunks`.
            };
            if left < front.bytes.len() {
                front.bytes.advance(left);
                break;
            }
            left -= front.bytes.len();
            if let Some(chunk) = self.chunks.pop_front() {
                self.release(chunk);
            }
        }
        self.len -= n;
        n
    }

    /// Keeps only the first `keep` bytes.
    pub(crate) fn truncate(&mut self, keep: usize) {
        while self.len > keep {
            let excess = self.len - keep;
            let Some(back) = self.chunks.back_mut() else {
                break; // Unreachable: `len` counts the bytes in `chunks`.
            };
            let blen = back.bytes.len();
            if excess < blen {
                back.bytes.truncate(blen - excess);
                self.len = keep;
            } else {
                self.len -= blen;
                self.chunks.pop_back();
            }
        }
    }

    /// Drops everything.
    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }

    /// Copies up to `out.len()` bytes from the front into `out`, without consuming them.
    pub(crate) fn copy_to(&self, out: &mut [u8]) -> usize {
        let mut n = 0;
        for chunk in &self.chunks {
            let take = chunk.bytes.len().min(out.len() - n);
            out[n..n + take].copy_from_slice(&chunk.bytes[..take]);
            n += take;
            if n == out.len() {
                break;
            }
        }
        n
    }

    fn release(&mut self, chunk: Chunk) {
        if chunk.pin.is_none() && self.spare.is_none() {
            self.spare = chunk.bytes.reclaim();
        }
    }
}

/// The readable bytes of a stream: the chunks they arrived in, in order, borrowed from the
/// engine until the next call on the connection. See [`Chunks::slices`] and
/// [`Chunks::shared`].
#[derive(Clone, Copy, Debug)]
pub struct Chunks<'a> {
    buf: &'a RecvBuffer,
    /// Whether these bytes run to the end of the stream.
    pub fin: bool,
}

impl<'a> Chunks<'a> {
    pub(crate) fn new(buf: &'a RecvBuffer, fin: bool) -> Self {
        Self { buf, fin }
    }

    /// The total number of bytes.
    pub fn len(&self) -> usize {
        self.buf.len
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.buf.len == 0
    }

    /// The bytes as contiguous slices, in order. Slices of input given to
    /// [`handle_input_shared`](crate::proto::Connection::handle_input_shared) point into that
    /// input: nothing was copied.
    pub fn slices(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + Clone + 'a {
        self.buf.chunks.iter().map(|c| c.bytes.as_slice())
    }

    /// The same chunks as owners: clone one to keep the bytes after consuming them, without
    /// copying (e.g. to hand them on, or to send them back out as
    /// [`SendData`](crate::proto::SendData)). Memory kept this way is the application's.
    pub fn shared(&self) -> impl ExactSizeIterator<Item = &'a SharedBytes> + Clone + 'a {
        self.buf.chunks.iter().map(|c| &c.bytes)
    }

    /// The first contiguous slice (empty when there are no bytes).
    pub fn first(&self) -> &'a [u8] {
        self.buf.chunks.front().map_or(&[], |c| c.bytes.as_slice())
    }

    /// Copies up to `out.len()` bytes into `out` and returns how many; nothing is consumed.
    pub fn copy_to(&self, out: &mut [u8]) -> usize {
        self.buf.copy_to(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(b: &RecvBuffer) -> Vec<u8> {
        Chunks::new(b, false).slices().flatten().copied().collect()
    }

    #[test]
    fn copies_coalesce_and_shared_chunks_release_their_pin() {
        let total = Arc::new(AtomicUsize::new(0));
        let input = SharedBytes::from_vec((0..=255).collect());
        let pin = InputPin::new(input.owner_capacity(), &total);
        assert_eq!(total.load(Ordering::Relaxed), 256);
        let mut b = RecvBuffer::default();
        b.push_copy(b"ab");
        b.push_copy(b"cd");
        b.push_shared(input.slice(10..20), &pin);
        b.push_copy(b"ef");
        drop(pin);
        assert_eq!(Chunks::new(&b, false).slices().len(), 3);
        assert_eq!(b.len(), 16);
        assert_eq!(Arc::strong_count(input.owner()), 2);
        let mut out = [0u8; 6];
        assert_eq!(b.copy_to(&mut out), 6);
        assert_eq!(&out, &[b'a', b'b', b'c', b'd', 10, 11]);
        assert_eq!(b.consume(5), 5);
        assert_eq!(
            Chunks::new(&b, false).first(),
            &[11, 12, 13, 14, 15, 16, 17, 18, 19]
        );
        assert_eq!(total.load(Ordering::Relaxed), 256);
        assert_eq!(b.consume(9), 9);
        // The input buffer and its charge are released with the last chunk referencing it.
        assert_eq!(Arc::strong_count(input.owner()), 1);
        assert_eq!(total.load(Ordering::Relaxed), 0);
        assert_eq!(contents(&b), b"ef");
        // The first copy buffer was kept as the spare.
        assert!(b.spare.is_some());
        b.truncate(1);
        assert_eq!(contents(&b), b"e");
        b.truncate(0);
        assert!(b.is_empty() && b.chunks.is_empty());
        assert_eq!(b.consume(10), 0);
    }

    #[test]
    fn spare_copy_buffer_is_reused() {
        let mut b = RecvBuffer::default();
        b.push_copy(&[1; 100]);
        let ptr = Chunks::new(&b, false).first().as_ptr();
        b.consume(100);
        b.push_copy(&[2; 50]);
        assert_eq!(Chunks::new(&b, false).first().as_ptr(), ptr);
        assert_eq!(contents(&b), [2; 50]);
        b.clear();
        assert!(b.is_empty());
    }
}
