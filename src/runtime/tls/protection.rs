//! TLS 1.3 record protection (RFC 8446 §5.2 to §5.5) with aws-lc-rs, used once the
//! handshake is over: records are sealed and opened in place, in whatever buffer holds
//! them, with no copy.
//!
//! A protected record on the wire is a 5-byte header (outer type application_data, legacy
//! version 0x0303, length) and the AEAD output of `content || inner type || padding`
//! followed by the 16-byte tag. The nonce is the traffic IV XOR the record's 64-bit
//! sequence number (left-padded); the header is the additional data.

use std::ops::Range;

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, Nonce};
use aws_lc_rs::aead::{NONCE_LEN, UnboundKey};
use rustls::ConnectionTrafficSecrets;

use super::error::{TlsError, TlsErrorKind};
use super::streaming::{SealSink, StreamingSealer};

/// The record header: type, legacy version, length.
pub const HEADER_LEN: usize = 5;
/// The AEAD tag of every suite TLS 1.3 uses here.
pub const TAG_LEN: usize = 16;
/// The most content one record carries (2^14 bytes).
pub const MAX_CONTENT: usize = 1 << 14;
/// The largest encrypted record length a peer may send (2^14 + 256).
pub const MAX_CIPHERTEXT: usize = MAX_CONTENT + 256;
/// What a sealed record adds to its content: header, inner type, tag.
pub const OVERHEAD: usize = HEADER_LEN + 1 + TAG_LEN;

/// TLS content types (RFC 8446 §5.1).
pub mod content_type {
    /// alert.
    pub const ALERT: u8 = 21;
    /// handshake.
    pub const HANDSHAKE: u8 = 22;
    /// application_data (also the outer type of every protected record).
    pub const APPLICATION_DATA: u8 = 23;
}

/// Alert descriptions this layer sends.
pub mod alert_code {
    /// unexpected_message.
    pub const UNEXPECTED_MESSAGE: u8 = 10;
    /// bad_record_mac.
    pub const BAD_RECORD_MAC: u8 = 20;
    /// record_overflow.
    pub const RECORD_OVERFLOW: u8 = 22;
    /// decode_error.
    pub const DECODE_ERROR: u8 = 50;
    /// internal_error.
    pub const INTERNAL_ERROR: u8 = 80;
}

/// A failure of this layer: the alert to send and the error to report.
pub fn protocol_error(alert: u8) -> TlsError {
    TlsError::new(TlsErrorKind::Protocol).with_alert_sent(alert)
}

/// One direction's traffic key: AEAD key, IV and the next sequence number.
pub struct RecordKey {
    key: LessSafeKey,
    /// The same key for sealing records whose content streams in (AES-GCM keys made for
    /// sending only; see [`RecordKey::seal_streaming`]).
    streaming: Option<StreamingSealer>,
    iv: [u8; NONCE_LEN],
    seq: u64,
    /// Records this key may protect before it must be replaced (the suite's
    /// confidentiality limit); opening has no such limit here (a failure is fatal).
    limit: u64,
}

impl RecordKey {
    /// A key from rustls' traffic secrets, starting at sequence number `seq`.
    pub fn new(secrets: ConnectionTrafficSecrets, seq: u64, limit: u64) -> Result<Self, TlsError> {
        let (alg, key, iv) = match &secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => (&CHACHA20_POLY1305, key, iv),
            _ => return Err(protocol_error(alert_code::INTERNAL_ERROR)),
        };
        Self::from_parts(alg, key.as_ref(), iv.as_ref(), seq, limit)
    }

    /// As [`RecordKey::new`], for sending: with an AES-GCM suite, records can also be sealed
    /// as their content streams in ([`RecordKey::seal_streaming`]).
    pub fn new_sending(
        secrets: ConnectionTrafficSecrets,
        seq: u64,
        limit: u64,
    ) -> Result<Self, TlsError> {
        let streaming = match &secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, .. }
            | ConnectionTrafficSecrets::Aes256Gcm { key, .. } => StreamingSealer::new(key.as_ref()),
            _ => None,
        };
        let mut this = Self::new(secrets, seq, limit)?;
        this.streaming = streaming;
        Ok(this)
    }

    fn from_parts(
        alg: &'static aws_lc_rs::aead::Algorithm,
        key: &[u8],
        iv: &[u8],
        seq: u64,
        limit: u64,
    ) -> Result<Self, TlsError> {
        let key =
            UnboundKey::new(alg, key).map_err(|_| protocol_error(alert_code::INTERNAL_ERROR))?;
        let iv: [u8; NONCE_LEN] = iv
            .try_into()
            .map_err(|_| protocol_error(alert_code::INTERNAL_ERROR))?;
        Ok(Self {
            key: LessSafeKey::new(key),
            streaming: None,
            iv,
            seq,
            limit,
        })
    }

    /// The sequence number the next record gets.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// Whether the key is close enough to its limit that it should be updated now.
    pub fn needs_update(&self) -> bool {
        self.seq >= self.limit.saturating_sub(1 << 10)
    }

    fn next_nonce(&mut self) -> Result<Nonce, TlsError> {
        self.next_nonce_bytes().map(Nonce::assume_unique_for_key)
    }

    fn next_nonce_bytes(&mut self) -> Result<[u8; NONCE_LEN], TlsError> {
        // RFC 8446 §5.3: the sequence number must not wrap; a key update comes long before.
        let seq = self.seq;
        self.seq = seq
            .checked_add(1)
            .filter(|_| seq < self.limit)
            .ok_or_else(|| protocol_error(alert_code::INTERNAL_ERROR))?;
        let mut nonce = self.iv;
        for (n, s) in nonce[NONCE_LEN - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        Ok(nonce)
    }

    /// Whether [`RecordKey::seal_streaming`] works with this key.
    pub fn can_stream(&self) -> bool {
        self.streaming.is_some()
    }

    /// Seals one record of exactly `content_len` bytes of content into `record`, encrypting
    /// the content as `fill` writes it; returns the record's length on the wire. Fails if
    /// `fill` writes another amount, or the key cannot stream.
    ///
    /// # Panics
    /// If `record` is shorter than `content_len + OVERHEAD` or `content_len` is over
    /// [`MAX_CONTENT`].
    pub fn seal_streaming(
        &mut self,
        record: &mut [u8],
        content_len: usize,
        content_type: u8,
        fill: &mut dyn FnMut(&mut SealSink<'_>),
    ) -> Result<usize, TlsError> {
        assert!(content_len <= MAX_CONTENT, "record content over 2^14");
        if self.streaming.is_none() {
            return Err(protocol_error(alert_code::INTERNAL_ERROR));
        }
        let total = content_len + OVERHEAD;
        let header = record_header(total);
        let nonce = self.next_nonce_bytes()?;
        let sealed = self
            .streaming
            .as_mut()
            .is_some_and(|s| s.seal(record, &header, &nonce, content_len, content_type, fill));
        if !sealed {
            return Err(protocol_error(alert_code::INTERNAL_ERROR));
        }
        Ok(total)
    }

    /// Seals one record in place. `record` starts with [`HEADER_LEN`] bytes of room, then
    /// `content_len` bytes of content, then room for the inner type and the tag
    /// ([`OVERHEAD`] bytes in all); returns the record's length on the wire.
    ///
    /// # Panics
    /// If `record` is shorter than `content_len + OVERHEAD` or `content_len` is over
    /// [`MAX_CONTENT`].
    pub fn seal(
        &mut self,
        record: &mut [u8],
        content_len: usize,
        content_type: u8,
    ) -> Result<usize, TlsError> {
        assert!(content_len <= MAX_CONTENT, "record content over 2^14");
        let total = content_len + OVERHEAD;
        let record = &mut record[..total];
        let header = record_header(total);
        record[..HEADER_LEN].copy_from_slice(&header);
        record[HEADER_LEN + content_len] = content_type;
        let nonce = self.next_nonce()?;
        let (inner, tag_room) = record[HEADER_LEN..].split_at_mut(content_len + 1);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(header), inner)
            .map_err(|_| protocol_error(alert_code::INTERNAL_ERROR))?;
        tag_room.copy_from_slice(tag.as_ref());
        Ok(total)
    }

    /// Opens one whole record (header and body, as [`parse_header`] delimited it) in place;
    /// returns the inner content type and where the content now is within `record`.
    pub fn open(&mut self, record: &mut [u8]) -> Result<(u8, Range<usize>), TlsError> {
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&record[..HEADER_LEN]);
        let nonce = self.next_nonce()?;
        let inner = self
            .key
            .open_in_place(nonce, Aad::from(header), &mut record[HEADER_LEN..])
            .map_err(|_| protocol_error(alert_code::BAD_RECORD_MAC))?;
        // The inner type is the last non-zero byte; zeros after it are padding.
        let Some(type_at) = inner.iter().rposition(|&b| b != 0) else {
            return Err(protocol_error(alert_code::UNEXPECTED_MESSAGE));
        };
        if type_at > MAX_CONTENT {
            return Err(protocol_error(alert_code::RECORD_OVERFLOW));
        }
        Ok((inner[type_at], HEADER_LEN..HEADER_LEN + type_at))
    }
}

/// The header of a protected record `total` bytes long on the wire (header included): outer
/// type application_data, legacy version 0x0303, the length of what follows.
fn record_header(total: usize) -> [u8; HEADER_LEN] {
    let body_len = (total - HEADER_LEN) as u16;
    [
        content_type::APPLICATION_DATA,
        0x03,
        0x03,
        (body_len >> 8) as u8,
        body_len as u8,
    ]
}

/// The length of the whole record at the start of `data`, once its header is there:
/// `Ok(None)` while the header is incomplete. A record that is not a protected one
/// (outer type other than application_data, wrong version) or whose length is out of
/// bounds fails.
pub fn parse_header(data: &[u8]) -> Result<Option<usize>, TlsError> {
    let Some(header) = data.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[0] != content_type::APPLICATION_DATA {
        return Err(protocol_error(alert_code::UNEXPECTED_MESSAGE));
    }
    if header[1] != 0x03 {
        return Err(protocol_error(alert_code::DECODE_ERROR));
    }
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if len > MAX_CIPHERTEXT {
        return Err(protocol_error(alert_code::RECORD_OVERFLOW));
    }
    if len < 1 + TAG_LEN {
        return Err(protocol_error(alert_code::DECODE_ERROR));
    }
    Ok(Some(HEADER_LEN + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(suite: usize, seq: u64) -> RecordKey {
        let (alg, len) = match suite {
            0 => (&AES_128_GCM, 16),
            1 => (&AES_256_GCM, 32),
            _ => (&CHACHA20_POLY1305, 32),
        };
        RecordKey::from_parts(alg, &[7u8; 32][..len], &[9u8; NONCE_LEN], seq, u64::MAX).unwrap()
    }

    fn pair(suite: usize) -> (RecordKey, RecordKey) {
        (key(suite, 0), key(suite, 0))
    }

    fn sealed(key: &mut RecordKey, content: &[u8], ty: u8) -> Vec<u8> {
        let mut rec = vec![0u8; content.len() + OVERHEAD];
        rec[HEADER_LEN..HEADER_LEN + content.len()].copy_from_slice(content);
        let n = key.seal(&mut rec, content.len(), ty).unwrap();
        assert_eq!(n, rec.len());
        rec
    }

    #[test]
    fn seal_open_round_trips_for_every_suite() {
        for suite in 0..3 {
            let (mut tx, mut rx) = pair(suite);
            for len in [0, 1, 100, MAX_CONTENT] {
                let content: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
                let mut rec = sealed(&mut tx, &content, content_type::APPLICATION_DATA);
                assert_eq!(parse_header(&rec).unwrap(), Some(rec.len()));
                if len > 0 {
                    assert_ne!(&rec[HEADER_LEN..HEADER_LEN + len], &content[..]);
                }
                let (ty, range) = rx.open(&mut rec).unwrap();
                assert_eq!(ty, content_type::APPLICATION_DATA);
                assert_eq!(&rec[range], &content[..]);
            }
            assert_eq!(tx.sequence(), 4);
            assert_eq!(rx.sequence(), 4);
        }
    }

    #[test]
    fn tampered_or_replayed_records_fail_with_bad_record_mac() {
        for suite in 0..3 {
            let (mut tx, mut rx) = pair(suite);
            let mut rec = sealed(&mut tx, b"hello", content_type::APPLICATION_DATA);
            let last = rec.len() - 1;
            rec[last] ^= 1;
            let e = rx.open(&mut rec).unwrap_err();
            assert_eq!(e.alert_sent(), Some(alert_code::BAD_RECORD_MAC));
            // Out of order: record 1 opened as record 0.
            let (mut tx, mut rx) = pair(suite);
            sealed(&mut tx, b"first", content_type::APPLICATION_DATA);
            let mut second = sealed(&mut tx, b"second", content_type::APPLICATION_DATA);
            assert!(rx.open(&mut second).is_err());
            // A changed header (the additional data).
            let (mut tx, mut rx) = pair(suite);
            let mut rec = sealed(&mut tx, b"hello", content_type::APPLICATION_DATA);
            rec[2] = 0x01;
            assert!(rx.open(&mut rec).is_err());
        }
    }

    #[test]
    fn padding_is_stripped_and_all_zero_inner_plaintext_refused() {
        let (mut tx, mut rx) = pair(0);
        // "hi", type handshake, three bytes of padding: seal as content "hi\x16\0\0" of
        // type 0 would put the zero last, so build it by hand.
        let mut rec = vec![0u8; 2 + 3 + OVERHEAD];
        rec[HEADER_LEN..HEADER_LEN + 5].copy_from_slice(&[b'h', b'i', 22, 0, 0]);
        tx.seal(&mut rec, 5, 0).unwrap();
        let (ty, range) = rx.open(&mut rec).unwrap();
        assert_eq!(ty, content_type::HANDSHAKE);
        assert_eq!(&rec[range], b"hi");

        let mut zeros = vec![0u8; 4 + OVERHEAD];
        tx.seal(&mut zeros, 4, 0).unwrap();
        let e = rx.open(&mut zeros).unwrap_err();
        assert_eq!(e.alert_sent(), Some(alert_code::UNEXPECTED_MESSAGE));
    }

    #[test]
    fn oversized_short_and_foreign_records_are_refused() {
        let (mut tx, mut rx) = pair(1);
        // Content of 2^14 + 1 bytes (sealed by hand with padding past the limit).
        let mut big = vec![1u8; MAX_CONTENT + 2 + OVERHEAD];
        big[HEADER_LEN + MAX_CONTENT + 1] = 23;
        let total = MAX_CONTENT + 2 + OVERHEAD - 1;
        // Seal `MAX_CONTENT + 1` bytes whose last is the type: the content is 2^14 + 1.
        let body_len = (total - HEADER_LEN) as u16;
        let header = [23, 3, 3, (body_len >> 8) as u8, body_len as u8];
        big[..HEADER_LEN].copy_from_slice(&header);
        let nonce = tx.next_nonce().unwrap();
        let (inner, tag_room) = big[HEADER_LEN..total].split_at_mut(MAX_CONTENT + 2);
        let tag = tx
            .key
            .seal_in_place_separate_tag(nonce, Aad::from(header), inner)
            .unwrap();
        tag_room.copy_from_slice(tag.as_ref());
        let e = rx.open(&mut big[..total]).unwrap_err();
        assert_eq!(e.alert_sent(), Some(alert_code::RECORD_OVERFLOW));

        let too_long = [23, 3, 3, 0x41, 0x01];
        let e = parse_header(&too_long).unwrap_err();
        assert_eq!(e.alert_sent(), Some(alert_code::RECORD_OVERFLOW));
        let too_short = [23, 3, 3, 0, 16];
        assert!(parse_header(&too_short).is_err());
        let plaintext_alert = [21, 3, 3, 0, 2];
        let e = parse_header(&plaintext_alert).unwrap_err();
        assert_eq!(e.alert_sent(), Some(alert_code::UNEXPECTED_MESSAGE));
        assert_eq!(parse_header(&[23, 3, 3, 0]).unwrap(), None);
    }

    #[test]
    fn the_sequence_number_never_passes_the_limit() {
        let mut tx = key(2, u64::MAX - 1);
        assert!(tx.needs_update());
        let mut rec = vec![0u8; OVERHEAD];
        tx.seal(&mut rec, 0, 23).unwrap();
        assert!(tx.seal(&mut rec, 0, 23).is_err());
    }
}
