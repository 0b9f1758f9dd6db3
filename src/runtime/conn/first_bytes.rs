//! Telling the two QMux transports apart from a peer's first bytes, so that a TLS end meeting
//! a plain end (or the reverse) says so instead of failing on a garbled record.

/// What a peer's first bytes are.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum FirstBytes {
    /// A TLS record header (content type 20..=23, version 3.x).
    Tls,
    /// The start of a plain QMux record: a varint length, then QX_TRANSPORT_PARAMETERS' type.
    PlainQmux,
    /// Neither, or too few bytes to tell.
    Other,
}

/// The first bytes of QX_TRANSPORT_PARAMETERS' 8-byte varint type, in either of its values
/// (0x3f5153300d0a0d0a, 0x3f514d580d0a0d0a): both begin 0xff 0x51, then 0x53 0x30 or 0x4d 0x58.
const TP_TYPES: [[u8; 4]; 2] = [[0xff, 0x51, 0x53, 0x30], [0xff, 0x51, 0x4d, 0x58]];

/// Classifies `bytes`, the first bytes received on a connection.
pub fn classify(bytes: &[u8]) -> FirstBytes {
    if let [kind @ 20..=23, 3, minor, ..] = bytes {
        if *minor <= 4 && *kind != 0 {
            return FirstBytes::Tls;
        }
    }
    if let Some((_, n)) = crate::proto::varint::decode(bytes) {
        let rest = &bytes[n..];
        let m = rest.len().min(4);
        if m >= 2 && TP_TYPES.iter().any(|t| t[..m] == rest[..m]) {
            return FirstBytes::PlainQmux;
        }
    }
    FirstBytes::Other
}

/// Whether the first bytes of a plain QMux connection are a TLS record that starts a
/// handshake or ends one (an alert): the peer speaks QMux over TLS. A plain QMux record
/// cannot start so: its first frame's type begins 0xff.
pub fn plain_end_sees_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 3, 1..=4, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_told_apart() {
        // A ClientHello record header.
        assert_eq!(classify(&[0x16, 3, 1, 0, 200, 1]), FirstBytes::Tls);
        assert!(plain_end_sees_tls(&[0x16, 3, 1, 0, 200]));
        assert!(plain_end_sees_tls(&[0x15, 3, 3, 0, 2, 2, 70]));
        // A plain QMux record: 1-byte and 2-byte lengths, both type values.
        let tp = [0xff, 0x51, 0x53, 0x30, 0x0d, 0x0a, 0x0d, 0x0a];
        let mut rec = vec![30];
        rec.extend_from_slice(&tp);
        assert_eq!(classify(&rec), FirstBytes::PlainQmux);
        assert!(!plain_end_sees_tls(&rec));
        let rec = [0x40, 0x90, 0xff, 0x51, 0x4d, 0x58, 0x0d];
        assert_eq!(classify(&rec), FirstBytes::PlainQmux);
        assert_eq!(classify(&[1, 2, 3, 4]), FirstBytes::Other);
        assert_eq!(classify(&[30]), FirstBytes::Other);
    }
}
