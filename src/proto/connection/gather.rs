//! Records gathered for one vectored write: each record's Size and frame headers go into a
//! small buffer, and large pieces of stream data are referred to where they are queued
//! instead of being copied next to them. A plain TCP transport then hands the kernel the
//! application's bytes directly, and the records on the wire are the ones
//! [`Connection::poll_transmit`] would have written.

use std::cell::RefCell;
use std::io::IoSlice;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use super::{Connection, State};
use crate::proto::coding::BufMut;
use crate::proto::streams::SendData;
use crate::proto::varint;

/// Pieces of stream data shorter than this are copied with the headers: a slice of its own
/// costs the kernel more than copying a few hundred bytes.
pub const REFER_MIN: usize = 8 << 10;

/// The most slices one gathered write hands over (well below the kernel's 1024).
pub const MAX_SLICES: usize = 512;

/// A piece of the gathered output.
enum Piece {
    /// Bytes of [`Gather::head`].
    Head(Range<usize>),
    /// Bytes of queued stream data, kept alive by the reference.
    Data(Arc<dyn AsRef<[u8]> + Send + Sync>, Range<usize>),
}

/// The records of one gathered write, being built.
struct Gather {
    /// Sizes, frame headers, control frames and small pieces of data.
    head: Vec<u8>,
    pieces: Vec<Piece>,
    /// Whether the last piece is a head piece that the next header bytes may extend (not a
    /// record's Size, whose length is known only once the record is complete).
    open: bool,
    /// Bytes the record being built may still take.
    left: usize,
    /// Storage for the slices handed over, empty between writes.
    slices: Vec<IoSlice<'static>>,
}

thread_local! {
    /// Storage reused by the next gathered write on this thread (emptied after each).
    static SCRATCH: RefCell<Gather> = const { RefCell::new(Gather::new()) };
}

impl Gather {
    const fn new() -> Self {
        Self {
            head: Vec::new(),
            pieces: Vec::new(),
            open: false,
            left: 0,
            slices: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.head.clear();
        self.pieces.clear();
        self.open = false;
    }

    /// Starts a record whose body may take up to `max_body` bytes: `reserve` bytes are kept
    /// for its Size.
    fn begin_record(&mut self, reserve: usize, max_body: usize) {
        let at = self.head.len();
        self.head.resize(at + reserve, 0);
        self.pieces.push(Piece::Head(at..at + reserve));
        self.open = false;
        self.left = max_body;
    }

    /// Fills in the Size of the record begun at piece `first` and head byte `at`, for a body
    /// of `body_len` bytes, and returns the record's length.
    fn seal_record(&mut self, first: usize, at: usize, body_len: usize) -> usize {
        let n = varint::size(body_len as u64);
        varint::encode(body_len as u64, &mut self.head[at..at + n]);
        self.pieces[first] = Piece::Head(at..at + n);
        n + body_len
    }

    /// Appends the gathered bytes to `out` as slices, adjacent head pieces as one.
    fn slices<'a>(&'a self, out: &mut Vec<IoSlice<'a>>) {
        let mut run: Option<Range<usize>> = None;
        for piece in &self.pieces {
            match piece {
                Piece::Head(r) => match &mut run {
                    Some(open) if open.end == r.start => open.end = r.end,
                    _ => {
                        if let Some(done) = run.replace(r.clone()) {
                            out.push(IoSlice::new(&self.head[done]));
                        }
                    }
                },
                Piece::Data(bytes, r) => {
                    if let Some(done) = run.take() {
                        out.push(IoSlice::new(&self.head[done]));
                    }
                    out.push(IoSlice::new(&(**bytes).as_ref()[r.clone()]));
                }
            }
        }
        if let Some(done) = run {
            out.push(IoSlice::new(&self.head[done]));
        }
    }
}

/// An empty vector of slices of any lifetime, in `v`'s storage (collected in place: the
/// element types have the same layout, so no allocation is made).
fn recycle<'a, 'b>(mut v: Vec<IoSlice<'a>>) -> Vec<IoSlice<'b>> {
    v.clear();
    v.into_iter().map(|_| IoSlice::new(&[])).collect()
}

impl BufMut for Gather {
    fn put_slice(&mut self, src: &[u8]) {
        debug_assert!(src.len() <= self.left, "record body overrun");
        self.left -= src.len().min(self.left);
        let at = self.head.len();
        self.head.extend_from_slice(src);
        match self.pieces.last_mut() {
            Some(Piece::Head(r)) if self.open && r.end == at => r.end = self.head.len(),
            _ => {
                self.pieces.push(Piece::Head(at..self.head.len()));
                self.open = true;
            }
        }
    }

    fn put_chunk(&mut self, data: &mut SendData, range: Range<usize>) {
        // A referred piece may be followed by a head piece: two slices.
        if range.len() < REFER_MIN || self.pieces.len() + 2 > MAX_SLICES {
            return self.put_slice(&data.as_slice()[range]);
        }
        debug_assert!(range.len() <= self.left, "record body overrun");
        self.left -= range.len().min(self.left);
        let bytes = match data {
            SendData::Shared(bytes) => Arc::clone(bytes),
            SendData::Owned(v) => {
                // Made shareable once; the stream keeps writing from the same bytes.
                let bytes: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(std::mem::take(v));
                *data = SendData::Shared(Arc::clone(&bytes));
                bytes
            }
        };
        self.pieces.push(Piece::Data(bytes, range));
        self.open = false;
    }

    fn remaining_mut(&self) -> usize {
        self.left
    }
}

impl Connection {
    /// Gathers up to `max` bytes of whole records for the peer, the records
    /// [`Connection::poll_transmit`] would write, and hands them to `sink` as slices: record
    /// Sizes, frame headers and small data copied into one buffer, larger pieces of stream
    /// data (at least [`REFER_MIN`] bytes) referred to where they are queued. Returns `None`
    /// (without calling `sink`) when there is nothing to send now.
    ///
    /// As with `poll_transmit`, everything handed over counts as delivered: `sink` must
    /// write all of it to the transport, in order, or keep what it could not write (by
    /// copying it: the slices are valid only during the call). The stream data referred to
    /// is released when the call returns, before any [`Event::SendComplete`] it caused can
    /// be taken.
    ///
    /// [`Event::SendComplete`]: super::Event::SendComplete
    pub fn transmit_gathered<R>(
        &mut self,
        now: Instant,
        max: usize,
        sink: impl FnOnce(&mut [IoSlice<'_>]) -> R,
    ) -> Option<R> {
        self.clock = now;
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut g) => self.gather_with(&mut g, now, max, sink),
            // Only if `sink` itself gathered again on this thread.
            Err(_) => self.gather_with(&mut Gather::new(), now, max, sink),
        })
    }

    fn gather_with<R>(
        &mut self,
        g: &mut Gather,
        now: Instant,
        max: usize,
        sink: impl FnOnce(&mut [IoSlice<'_>]) -> R,
    ) -> Option<R> {
        // Empty unless a panic cut the last call short.
        g.clear();
        let mut written = 0;
        // Each record adds at most its Size piece beyond what `put_chunk` allows for.
        while self.state != State::Drained && g.pieces.len() + 3 <= MAX_SLICES {
            let Some((reserve, max_body)) = self.record_room(max - written) else {
                break;
            };
            let (first, at) = (g.pieces.len(), g.head.len());
            g.begin_record(reserve, max_body);
            self.fill_record(g);
            let body_len = max_body - g.left;
            if body_len == 0 {
                g.pieces.truncate(first);
                g.head.truncate(at);
                break;
            }
            written += g.seal_record(first, at, body_len);
            self.stats.records_sent += 1;
            // A record handed to the transport restarts the idle timer (qmux-02 §7.1).
            self.last_activity = now;
        }
        self.stats.bytes_sent += written as u64;
        let out = (written > 0).then(|| {
            let mut iov = recycle(std::mem::take(&mut g.slices));
            g.slices(&mut iov);
            let out = sink(&mut iov);
            g.slices = recycle(iov);
            out
        });
        g.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycled_slice_storage_keeps_its_allocation() {
        let bytes = [1u8; 4];
        let mut v: Vec<IoSlice<'_>> = Vec::with_capacity(40);
        v.push(IoSlice::new(&bytes));
        let at = v.as_ptr() as usize;
        let back: Vec<IoSlice<'static>> = recycle(v);
        assert!(back.is_empty());
        assert_eq!((back.as_ptr() as usize, back.capacity()), (at, 40));
    }
}
