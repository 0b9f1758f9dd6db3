//! [`SharedBytes`]: a cheap-to-clone owner of a byte range, so received stream data can be
//! handed to the application as references into the buffer it arrived in.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// A range of bytes in a shared, immutable buffer: cloning it copies no data.
///
/// Give one to [`Connection::handle_input_shared`](crate::proto::Connection::handle_input_shared)
/// and stream data is kept as references into it rather than copied; the buffer is released
/// when the application has consumed (and no longer clones) every byte that refers to it.
/// The backing `Vec` can be taken back for reuse with [`SharedBytes::into_vec`] once nothing
/// else refers to it.
#[derive(Clone)]
pub struct SharedBytes {
    owner: Arc<Vec<u8>>,
    start: usize,
    end: usize,
}

impl SharedBytes {
    /// The bytes at `range` of `owner`.
    ///
    /// # Panics
    ///
    /// If `range` is not within `owner` (as slicing would).
    pub fn new(owner: Arc<Vec<u8>>, range: Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= owner.len(),
            "SharedBytes range {range:?} out of bounds for a buffer of {}",
            owner.len()
        );
        Self {
            owner,
            start: range.start,
            end: range.end,
        }
    }

    /// All of `data` (allocates the shared header once; the bytes are not copied).
    pub fn from_vec(data: Vec<u8>) -> Self {
        let end = data.len();
        Self {
            owner: Arc::new(data),
            start: 0,
            end,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.owner[self.start..self.end]
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// A sub-range, relative to these bytes, sharing the same buffer.
    ///
    /// # Panics
    ///
    /// If `range` is not within `0..self.len()`.
    pub fn slice(&self, range: Range<usize>) -> Self {
        assert!(
            range.start <= range.end && range.end <= self.len(),
            "SharedBytes slice {range:?} out of bounds for {} bytes",
            self.len()
        );
        Self {
            owner: Arc::clone(&self.owner),
            start: self.start + range.start,
            end: self.start + range.end,
        }
    }

    /// The whole buffer these bytes are part of.
    pub fn owner(&self) -> &Arc<Vec<u8>> {
        &self.owner
    }

    /// Where these bytes are in [`SharedBytes::owner`].
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The backing buffer, if nothing else refers to it; otherwise `self` back.
    pub fn into_vec(self) -> Result<Vec<u8>, Self> {
        let Self { owner, start, end } = self;
        Arc::try_unwrap(owner).map_err(|owner| Self { owner, start, end })
    }

    /// The memory held by the backing buffer.
    pub(crate) fn owner_capacity(&self) -> usize {
        self.owner.capacity()
    }

    /// Where `part` (a slice borrowed from these bytes) starts, relative to these bytes, or
    /// `None` if it is not within them. Safe code: the addresses are only compared.
    pub(crate) fn offset_of(&self, part: &[u8]) -> Option<usize> {
        let base = self.as_slice().as_ptr() as usize;
        let off = (part.as_ptr() as usize).checked_sub(base)?;
        (off <= self.len() && part.len() <= self.len() - off).then_some(off)
    }

    /// Drops the first `n` bytes (at most all of them).
    pub(crate) fn advance(&mut self, n: usize) {
        self.start += n.min(self.len());
    }

    /// Keeps only the first `n` bytes (at most all of them).
    pub(crate) fn truncate(&mut self, n: usize) {
        self.end = self.start + n.min(self.len());
    }

    /// Appends `data` in place when these bytes end the buffer and nothing else refers to it
    /// (the engine's own copy buffers); returns whether it did.
    ///
    /// When the buffer is full and at least half of it is bytes already consumed (before
    /// `start`), the live bytes are moved down instead of growing the buffer: each byte moved
    /// was paid for by a consumed one, and the buffer never grows past about four times its
    /// live bytes.
    pub(crate) fn try_append(&mut self, data: &[u8]) -> bool {
        let (start, end) = (self.start, self.end);
        let Some(buf) = Arc::get_mut(&mut self.owner) else {
            return false;
        };
        if end != buf.len() {
            return false;
        }
        if buf.capacity() - buf.len() < data.len() && start >= end - start {
            buf.drain(..start);
            self.start = 0;
            self.end = end - start;
        }
        buf.extend_from_slice(data);
        self.end += data.len();
        true
    }

    /// Takes the backing buffer for reuse if nothing else refers to it, emptied.
    pub(crate) fn reclaim(mut self) -> Option<Arc<Vec<u8>>> {
        let buf = Arc::get_mut(&mut self.owner)?;
        buf.clear();
        Some(self.owner)
    }

    /// `data` copied into `buf` (a reclaimed, empty buffer, or a new one).
    pub(crate) fn copy_into(buf: Option<Arc<Vec<u8>>>, data: &[u8], min_capacity: usize) -> Self {
        let mut owner = buf.unwrap_or_default();
        if let Some(v) = Arc::get_mut(&mut owner) {
            v.clear();
            v.reserve(data.len().max(min_capacity));
            v.extend_from_slice(data);
        } else {
            // Not ours alone after all: start a fresh buffer.
            let mut v = Vec::with_capacity(data.len().max(min_capacity));
            v.extend_from_slice(data);
            owner = Arc::new(v);
        }
        Self {
            start: 0,
            end: data.len(),
            owner,
        }
    }
}

impl Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(data: Vec<u8>) -> Self {
        Self::from_vec(data)
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SharedBytes {}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SharedBytes({} bytes at {}..{} of {})",
            self.len(),
            self.start,
            self.end,
            self.owner.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_share_and_reclaim() {
        let a = SharedBytes::from_vec(b"hello world".to_vec());
        let w = a.slice(6..11);
        assert_eq!(&*w, b"world");
        assert_eq!(w.range(), 6..11);
        assert!(Arc::ptr_eq(a.owner(), w.owner()));
        assert_eq!(a.offset_of(&a[6..8]), Some(6));
        assert_eq!(w.offset_of(&a[0..2]), None);
        assert_eq!(w.offset_of(b"xx"), None);
        let a = a.into_vec().unwrap_err();
        drop(w);
        assert_eq!(a.into_vec().unwrap(), b"hello world");
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn new_checks_range() {
        let _ = SharedBytes::new(Arc::new(vec![0; 4]), 2..5);
    }

    #[test]
    fn append_compacts_or_grows() {
        let mut b = SharedBytes::copy_into(None, b"abcd", 8);
        assert!(b.try_append(b"efgh"));
        assert_eq!(&*b, b"abcdefgh");
        // Half consumed and full: the live half moves down instead of growing.
        b.advance(4);
        let cap = b.owner().capacity();
        assert!(b.try_append(b"ij"));
        assert_eq!(&*b, b"efghij");
        assert_eq!(b.range(), 0..6);
        assert_eq!(b.owner().capacity(), cap);
        // Shared with someone else: no appending in place.
        let other = b.clone();
        assert!(!b.try_append(b"k"));
        drop(other);
        // Not at the end of the buffer: no appending either.
        b.truncate(3);
        assert!(!b.try_append(b"k"));
        let buf = b.reclaim().unwrap();
        assert!(buf.is_empty());
    }
}
