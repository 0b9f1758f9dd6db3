//! Byte cursors for decoding from a borrowed slice and encoding into a caller's buffer.

use super::streams::SendData;
use super::varint;

/// The input ended in the middle of a value.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct UnexpectedEnd;

/// A cursor over a borrowed byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The unread bytes.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// The number of unread bytes.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, UnexpectedEnd> {
        let (&b, rest) = self.buf.split_first().ok_or(UnexpectedEnd)?;
        self.buf = rest;
        Ok(b)
    }

    /// Reads a varint.
    pub fn varint(&mut self) -> Result<u64, UnexpectedEnd> {
        let (v, n) = varint::decode(self.buf).ok_or(UnexpectedEnd)?;
        self.buf = &self.buf[n..];
        Ok(v)
    }

    /// Reads a varint and reports whether its encoding was the minimal one.
    pub fn varint_minimal(&mut self) -> Result<(u64, bool), UnexpectedEnd> {
        let (v, n) = varint::decode(self.buf).ok_or(UnexpectedEnd)?;
        self.buf = &self.buf[n..];
        Ok((v, n == varint::size(v)))
    }

    /// Reads exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], UnexpectedEnd> {
        if n > self.buf.len() {
            return Err(UnexpectedEnd);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// Reads a length given as a varint and then that many bytes.
    pub fn varint_prefixed(&mut self) -> Result<&'a [u8], UnexpectedEnd> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| UnexpectedEnd)?;
        self.take(len)
    }

    /// Reads every remaining byte.
    pub fn take_rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }
}

/// A destination for encoded bytes.
///
/// Encoders check space with [`BufMut::remaining_mut`] before writing; writing past the end
/// is a bug in the caller, not something the network can cause.
pub trait BufMut {
    /// Appends `src`.
    fn put_slice(&mut self, src: &[u8]);

    /// How many more bytes fit.
    fn remaining_mut(&self) -> usize;

    /// Appends one byte.
    fn put_u8(&mut self, b: u8) {
        self.put_slice(&[b]);
    }

    /// Appends `data[range]`, bytes of queued stream data. A writer that gathers records
    /// may refer to them instead of copying (and may turn owned bytes into shared ones to
    /// do so); by default they are copied.
    fn put_chunk(&mut self, data: &mut SendData, range: std::ops::Range<usize>) {
        self.put_slice(&data.as_slice()[range]);
    }

    /// Appends the minimal encoding of the varint `v` (which must be below 2^62).
    fn put_varint(&mut self, v: u64) {
        let mut tmp = [0u8; varint::VarInt::MAX_SIZE];
        let n = varint::encode(v, &mut tmp).unwrap_or(0);
        self.put_slice(&tmp[..n]);
    }
}

impl BufMut for Vec<u8> {
    fn put_slice(&mut self, src: &[u8]) {
        self.extend_from_slice(src);
    }

    fn remaining_mut(&self) -> usize {
        isize::MAX as usize - self.len()
    }
}

/// Writes into a fixed slice, tracking the position.
#[derive(Debug)]
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer at the start of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The number of bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }
}

impl BufMut for SliceWriter<'_> {
    fn put_slice(&mut self, src: &[u8]) {
        // Callers reserve space first (see the trait doc); slicing panics only on a local bug.
        self.buf[self.pos..self.pos + src.len()].copy_from_slice(src);
        self.pos += src.len();
    }

    fn remaining_mut(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn put_varint(&mut self, v: u64) {
        let n = varint::encode(v, &mut self.buf[self.pos..]).unwrap_or(0);
        debug_assert!(n > 0, "no room for a varint");
        self.pos += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_walks_and_reports_end() {
        let mut r = Reader::new(&[0x40, 0x05, 0x02, 0xaa, 0xbb, 0xcc]);
        assert_eq!(r.varint_minimal(), Ok((5, false)));
        assert_eq!(r.varint_prefixed(), Ok(&[0xaa, 0xbb][..]));
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.take(2), Err(UnexpectedEnd));
        assert_eq!(r.u8(), Ok(0xcc));
        assert!(r.is_empty());
        assert_eq!(r.varint(), Err(UnexpectedEnd));
    }

    #[test]
    fn writers_agree() {
        let mut v = Vec::new();
        let mut arr = [0u8; 16];
        let mut w = SliceWriter::new(&mut arr);
        for b in [&mut v as &mut dyn BufMut, &mut w] {
            b.put_varint(16384);
            b.put_u8(7);
            b.put_slice(b"ab");
        }
        assert_eq!(w.len(), 7);
        assert_eq!(&arr[..7], &v[..]);
        assert_eq!(v, [0x80, 0, 0x40, 0, 7, b'a', b'b']);
    }
}
