//! QUIC variable-length integers (RFC 9000 §16).

use std::fmt;

/// An integer below 2^62, the range a QUIC varint can carry.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct VarInt(u64);

impl VarInt {
    /// The largest value a varint can carry, 2^62 - 1.
    pub const MAX: Self = Self((1 << 62) - 1);
    /// The largest encoded size of a varint, in bytes.
    pub const MAX_SIZE: usize = 8;

    /// Wraps `value`, or fails if it is 2^62 or more.
    pub const fn from_u64(value: u64) -> Result<Self, VarIntBoundsExceeded> {
        if value <= Self::MAX.0 {
            Ok(Self(value))
        } else {
            Err(VarIntBoundsExceeded)
        }
    }

    /// Wraps a `u32`, which always fits.
    pub const fn from_u32(value: u32) -> Self {
        Self(value as u64)
    }

    /// The value as a `u64`.
    pub const fn into_inner(self) -> u64 {
        self.0
    }

    /// The number of bytes the minimal encoding of this value takes.
    pub const fn size(self) -> usize {
        size(self.0)
    }
}

impl From<VarInt> for u64 {
    fn from(v: VarInt) -> Self {
        v.0
    }
}

impl From<u32> for VarInt {
    fn from(v: u32) -> Self {
        Self::from_u32(v)
    }
}

impl TryFrom<u64> for VarInt {
    type Error = VarIntBoundsExceeded;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        Self::from_u64(v)
    }
}

impl fmt::Display for VarInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A value of 2^62 or more was given where a varint was needed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct VarIntBoundsExceeded;

impl fmt::Display for VarIntBoundsExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value too large for a varint")
    }
}

impl std::error::Error for VarIntBoundsExceeded {}

/// The number of bytes the minimal encoding of `v` takes (`v` must be below 2^62).
pub const fn size(v: u64) -> usize {
    if v < 1 << 6 {
        1
    } else if v < 1 << 14 {
        2
    } else if v < 1 << 30 {
        4
    } else {
        8
    }
}

/// The encoded length announced by the first byte of a varint.
pub const fn size_from_first_byte(b: u8) -> usize {
    1 << (b >> 6)
}

/// Writes the minimal encoding of `v` (which must be below 2^62) into the front of `out`,
/// returning the number of bytes written, or `None` if `out` is too short.
pub fn encode(v: u64, out: &mut [u8]) -> Option<usize> {
    debug_assert!(v <= VarInt::MAX.0);
    let n = size(v);
    let dst = out.get_mut(..n)?;
    match n {
        1 => dst[0] = v as u8,
        2 => dst.copy_from_slice(&(v as u16 | 0x4000).to_be_bytes()),
        4 => dst.copy_from_slice(&(v as u32 | 0x8000_0000).to_be_bytes()),
        _ => dst.copy_from_slice(&(v | 0xc000_0000_0000_0000).to_be_bytes()),
    }
    Some(n)
}

/// Reads a varint from the front of `input`: `(value, bytes used)`, or `None` if `input`
/// ends before the varint does.
pub fn decode(input: &[u8]) -> Option<(u64, usize)> {
    let first = *input.first()?;
    let n = size_from_first_byte(first);
    let bytes = input.get(..n)?;
    let mut v = u64::from(first & 0x3f);
    for &b in &bytes[1..] {
        v = (v << 8) | u64::from(b);
    }
    Some((v, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: u64) -> Vec<u8> {
        let mut buf = [0u8; 8];
        let n = encode(v, &mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn edges_round_trip() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (63, &[0x3f]),
            (64, &[0x40, 0x40]),
            (16382, &[0x7f, 0xfe]),
            (16383, &[0x7f, 0xff]),
            (16384, &[0x80, 0x00, 0x40, 0x00]),
            ((1 << 30) - 1, &[0xbf, 0xff, 0xff, 0xff]),
            (1 << 30, &[0xc0, 0, 0, 0, 0x40, 0, 0, 0]),
            ((1 << 62) - 1, &[0xff; 8]),
        ];
        for &(v, bytes) in cases {
            assert_eq!(enc(v), bytes, "encoding {v}");
            assert_eq!(decode(bytes), Some((v, bytes.len())), "decoding {v}");
            assert_eq!(size(v), bytes.len());
        }
    }

    #[test]
    fn rfc9000_examples() {
        assert_eq!(
            decode(&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c]),
            Some((151_288_809_941_952_652, 8))
        );
        assert_eq!(decode(&[0x9d, 0x7f, 0x3e, 0x7d]), Some((494_878_333, 4)));
        assert_eq!(decode(&[0x7b, 0xbd]), Some((15293, 2)));
        assert_eq!(decode(&[0x25]), Some((37, 1)));
        // Non-minimal encodings decode to the same value.
        assert_eq!(decode(&[0x40, 0x25]), Some((37, 2)));
    }

    #[test]
    fn truncated_is_none() {
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[0x40]), None);
        assert_eq!(decode(&[0x80, 0, 0]), None);
        assert_eq!(decode(&[0xc0, 0, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn bounds() {
        assert!(VarInt::from_u64(1 << 62).is_err());
        assert_eq!(VarInt::from_u64((1 << 62) - 1), Ok(VarInt::MAX));
        assert_eq!(VarInt::from_u32(7).size(), 1);
        let mut short = [0u8; 1];
        assert_eq!(encode(64, &mut short), None);
    }
}
