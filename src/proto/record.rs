//! The QMux record layer (qmux-02 §3.2): `Size (i) || Frames`.
//!
//! [`RecordReader`] deframes incrementally: bytes may arrive one at a time, a record's Size is
//! checked against our advertised max_record_size as soon as it is decoded (before anything is
//! buffered), and a record that arrives whole in one input slice is handed out without copying.
//! [`seal`] finishes a record built in place in an output buffer.

use std::ops::Range;

use super::error::TransportError;
use super::varint;

/// The max_record_size every endpoint accepts before it has seen the peer's parameters, and
/// the smallest value an endpoint may advertise.
pub const DEFAULT_MAX_RECORD_SIZE: u64 = 16382;

/// Where the next complete record is, after [`RecordReader::next`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum Deframed {
    /// The input was used up before a record completed.
    NeedMore,
    /// A whole record's Frames, at this range of the input slice given to `next`.
    Input(Range<usize>),
    /// A record's Frames, assembled in the reader's buffer: see [`RecordReader::take_buffer`].
    Buffered,
}

/// Incremental record deframer.
#[derive(Debug)]
pub struct RecordReader {
    /// Our advertised max_record_size.
    max: u64,
    /// Bytes of a Size varint seen so far (it may be split across inputs).
    hdr: [u8; varint::VarInt::MAX_SIZE],
    hdr_len: usize,
    /// The Size of the record being buffered, once known.
    body_len: Option<usize>,
    /// The partial record; reused between records, never longer than `max`.
    buf: Vec<u8>,
}

impl RecordReader {
    /// A reader enforcing our advertised `max_record_size`.
    pub fn new(max_record_size: u64) -> Self {
        Self {
            max: max_record_size,
            hdr: [0; varint::VarInt::MAX_SIZE],
            hdr_len: 0,
            body_len: None,
            buf: Vec::new(),
        }
    }

    /// Whether the reader holds part of a record (a peer EOF now would cut it).
    pub fn is_mid_record(&self) -> bool {
        self.hdr_len > 0 || self.body_len.is_some()
    }

    /// Consumes a prefix of `input`, returning how many bytes it used and what it found.
    ///
    /// Call again with the rest of the input after handling a record.
    pub fn next(&mut self, input: &[u8]) -> Result<(usize, Deframed), TransportError> {
        let mut used = 0;
        let body_len = match self.body_len {
            Some(n) => n,
            None => {
                if self.hdr_len == 0 {
                    // Fast path: the whole record is in `input`.
                    if let Some((size, n)) = varint::decode(input) {
                        let size = self.check_size(size)?;
                        if input.len() - n >= size {
                            return Ok((n + size, Deframed::Input(n..n + size)));
                        }
                    }
                }
                // Slow path: gather the Size varint byte by byte.
                while self.hdr_len == 0 || self.hdr_len < varint::size_from_first_byte(self.hdr[0])
                {
                    let Some(&b) = input.get(used) else {
                        return Ok((used, Deframed::NeedMore));
                    };
                    self.hdr[self.hdr_len] = b;
                    self.hdr_len += 1;
                    used += 1;
                }
                // `hdr` now holds exactly one complete varint.
                let (size, _) = varint::decode(&self.hdr[..self.hdr_len]).unwrap_or((0, 0));
                let size = self.check_size(size)?;
                self.hdr_len = 0;
                self.body_len = Some(size);
                self.buf.clear();
                self.buf.reserve(size);
                size
            }
        };
        let want = body_len - self.buf.len();
        let rest = &input[used..];
        if self.buf.is_empty() && rest.len() >= body_len {
            // Nothing buffered yet and the body is all here: no copy needed.
            self.body_len = None;
            return Ok((used + body_len, Deframed::Input(used..used + body_len)));
        }
        let take = want.min(rest.len());
        self.buf.extend_from_slice(&rest[..take]);
        used += take;
        if self.buf.len() == body_len {
            self.body_len = None;
            Ok((used, Deframed::Buffered))
        } else {
            Ok((used, Deframed::NeedMore))
        }
    }

    /// Takes the buffered record after [`Deframed::Buffered`]; hand the buffer back with
    /// [`RecordReader::restore_buffer`] so its allocation is reused.
    pub fn take_buffer(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Returns a buffer taken with [`RecordReader::take_buffer`].
    pub fn restore_buffer(&mut self, mut buf: Vec<u8>) {
        buf.clear();
        self.buf = buf;
    }

    fn check_size(&self, size: u64) -> Result<usize, TransportError> {
        if size == 0 {
            return Err(TransportError::FRAME_ENCODING_ERROR("empty record"));
        }
        if size > self.max {
            return Err(TransportError::FRAME_ENCODING_ERROR(
                "record larger than max_record_size",
            ));
        }
        usize::try_from(size)
            .map_err(|_| TransportError::FRAME_ENCODING_ERROR("record larger than memory"))
    }
}

/// The bytes to reserve for the Size of a record whose Frames may be up to `max_body` long.
pub fn header_reserve(max_body: usize) -> usize {
    varint::size(max_body as u64)
}

/// Finishes a record built in place: `buf[reserved..reserved + body_len]` holds the Frames
/// and `buf[..reserved]` was left for the Size. Writes the minimal Size encoding, moving the
/// Frames down if it is shorter than `reserved`, and returns the record's total length.
pub fn seal(buf: &mut [u8], reserved: usize, body_len: usize) -> usize {
    let n = varint::size(body_len as u64);
    debug_assert!(n <= reserved);
    if n < reserved {
        buf.copy_within(reserved..reserved + body_len, n);
    }
    varint::encode(body_len as u64, &mut buf[..n]);
    n + body_len
}

/// Encodes one record holding `frames` (for tests and tools; the engine builds in place).
pub fn encode(frames: &[u8], out: &mut Vec<u8>) {
    let mut hdr = [0u8; varint::VarInt::MAX_SIZE];
    let n = varint::encode(frames.len() as u64, &mut hdr).unwrap_or(0);
    out.extend_from_slice(&hdr[..n]);
    out.extend_from_slice(frames);
}

#[cfg(test)]
mod tests {
    use super::super::error::TransportErrorCode;
    use super::*;

    /// Feeds `input` in chunks of `chunk` bytes, collecting records.
    fn feed(
        r: &mut RecordReader,
        input: &[u8],
        chunk: usize,
    ) -> Result<Vec<Vec<u8>>, TransportError> {
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            let mut pos = 0;
            loop {
                let (used, d) = r.next(&piece[pos..])?;
                let start = pos;
                pos += used;
                match d {
                    Deframed::NeedMore => break,
                    Deframed::Input(range) => {
                        out.push(piece[start + range.start..start + range.end].to_vec())
                    }
                    Deframed::Buffered => {
                        let b = r.take_buffer();
                        out.push(b.clone());
                        r.restore_buffer(b);
                    }
                }
                if pos == piece.len() {
                    break;
                }
            }
        }
        Ok(out)
    }

    #[test]
    fn records_survive_any_chunking() {
        let mut stream = Vec::new();
        let bodies: Vec<Vec<u8>> = vec![
            vec![1],
            vec![2; 63],
            vec![3; 64],
            vec![4; 300],
            vec![5; 16382],
            vec![6; 2],
        ];
        for b in &bodies {
            encode(b, &mut stream);
        }
        for chunk in [1, 2, 3, 7, 64, 1000, stream.len()] {
            let mut r = RecordReader::new(DEFAULT_MAX_RECORD_SIZE);
            assert_eq!(
                feed(&mut r, &stream, chunk).unwrap(),
                bodies,
                "chunk {chunk}"
            );
            assert!(!r.is_mid_record());
        }
    }

    #[test]
    fn whole_record_is_not_copied() {
        let mut r = RecordReader::new(DEFAULT_MAX_RECORD_SIZE);
        assert_eq!(
            r.next(&[0x02, 0xaa, 0xbb, 0x01]).unwrap(),
            (3, Deframed::Input(1..3))
        );
        assert_eq!(r.next(&[0x01]).unwrap(), (1, Deframed::NeedMore));
        assert!(r.is_mid_record());
        assert_eq!(r.next(&[0xcc]).unwrap(), (1, Deframed::Input(0..1)));
    }

    #[test]
    fn size_edges_match_spec_section8() {
        let enc_size = |n: usize| {
            let mut v = Vec::new();
            encode(&vec![0; n], &mut v);
            v[..v.len() - n].to_vec()
        };
        assert_eq!(enc_size(16382), [0x7f, 0xfe]);
        assert_eq!(enc_size(16383), [0x7f, 0xff]);
        assert_eq!(enc_size(16384), [0x80, 0x00, 0x40, 0x00]);
        assert_eq!(enc_size(63), [0x3f]);
        assert_eq!(enc_size(64), [0x40, 0x40]);
    }

    #[test]
    fn oversize_rejected_before_buffering() {
        // Size 16383 when we advertised the default; only the 2 header bytes are given.
        for chunk in [1, 2] {
            let mut r = RecordReader::new(DEFAULT_MAX_RECORD_SIZE);
            let err = feed(&mut r, &[0x7f, 0xff], chunk).unwrap_err();
            assert_eq!(err.code, TransportErrorCode::FRAME_ENCODING_ERROR);
            assert_eq!(r.buf.capacity(), 0);
        }
        // A huge 8-byte Size is refused the same way.
        let mut r = RecordReader::new(1 << 20);
        let err = r.next(&[0xff; 8]).unwrap_err();
        assert_eq!(err.code, TransportErrorCode::FRAME_ENCODING_ERROR);
        // A larger limit admits it.
        let mut r = RecordReader::new(65535);
        assert_eq!(r.next(&[0x7f, 0xff]).unwrap(), (2, Deframed::NeedMore));
    }

    #[test]
    fn empty_record_rejected() {
        let mut r = RecordReader::new(DEFAULT_MAX_RECORD_SIZE);
        assert_eq!(
            r.next(&[0x00]).unwrap_err().code,
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
        // Also when the zero Size arrives as a non-minimal two-byte varint, split.
        let mut r = RecordReader::new(DEFAULT_MAX_RECORD_SIZE);
        assert_eq!(r.next(&[0x40]).unwrap(), (1, Deframed::NeedMore));
        assert_eq!(
            r.next(&[0x00]).unwrap_err().code,
            TransportErrorCode::FRAME_ENCODING_ERROR
        );
    }

    #[test]
    fn seal_moves_small_bodies() {
        let mut buf = [0u8; 10];
        buf[2..5].copy_from_slice(b"abc");
        assert_eq!(seal(&mut buf, 2, 3), 4);
        assert_eq!(&buf[..4], &[3, b'a', b'b', b'c']);
        let mut big = vec![7u8; 2 + 100];
        assert_eq!(seal(&mut big, 2, 100), 102);
        assert_eq!(&big[..2], &[0x40, 100]);
        assert_eq!(header_reserve(16382), 2);
        assert_eq!(header_reserve(63), 1);
    }
}
