//! A minimal reader for the client's first flight: the server name (SNI) and ALPN list of
//! the ClientHello, read from the raw TLS records before any server configuration is
//! chosen. The bytes are only read, never consumed: the same buffer is later handed to the
//! server session.

use super::error::{TlsError, TlsErrorKind, alert};

/// The TLS record content type of handshake records.
const CONTENT_HANDSHAKE: u8 = 0x16;
/// The handshake message type of ClientHello.
const CLIENT_HELLO: u8 = 0x01;
/// Extension type `server_name` (RFC 6066).
const EXT_SERVER_NAME: u16 = 0x0000;
/// Extension type `application_layer_protocol_negotiation` (RFC 7301).
const EXT_ALPN: u16 = 0x0010;
/// pre_shared_key (RFC 8446 §4.2.11).
const EXT_PRE_SHARED_KEY: u16 = 0x0029;
/// SNI name type `host_name`.
const SNI_HOST_NAME: u8 = 0x00;
/// The largest ClientHello we wait for; past it the peer is refused.
const MAX_CLIENT_HELLO: usize = 0x1_0000;
/// The largest TLS plaintext record.
const MAX_RECORD: usize = 0x4000;

/// What the server learns from the ClientHello before choosing its configuration.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct ClientHello {
    /// The server name the client asked for (SNI host_name), if any.
    pub server_name: Option<String>,
    /// The client's ALPN list, wire form, in the client's order.
    pub alpn: Vec<Vec<u8>>,
    /// The first pre-shared key identity offered (a session ticket), if any.
    pub ticket: Option<Vec<u8>>,
}

impl ClientHello {
    /// The ALPN list in TLS wire encoding (each token preceded by its one-byte length), as
    /// MsQuic's NEW_CONNECTION `ClientAlpnList` carries it.
    pub fn alpn_wire_encoding(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.alpn.iter().map(|t| t.len() + 1).sum());
        for token in &self.alpn {
            // Tokens came from a one-byte length field, so the cast cannot truncate.
            out.push(token.len() as u8);
            out.extend_from_slice(token);
        }
        out
    }
}

/// Reads the ClientHello at the start of `incoming` (raw bytes from the socket).
///
/// Returns `Ok(None)` while more bytes are needed, and an error (with the alert to send in
/// [`TlsError::alert_sent`]) when the bytes are not a TLS ClientHello.
pub fn parse(incoming: &[u8]) -> Result<Option<ClientHello>, TlsError> {
    let mut message = Vec::new();
    let mut rest = incoming;
    loop {
        if rest.len() < 5 {
            return Ok(None);
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if rest[0] != CONTENT_HANDSHAKE || rest[1] != 0x03 || len == 0 || len > MAX_RECORD {
            return Err(malformed());
        }
        let Some(fragment) = rest.get(5..5 + len) else {
            return Ok(None);
        };
        message.extend_from_slice(fragment);
        rest = &rest[5 + len..];
        if message.len() >= 4 {
            if message[0] != CLIENT_HELLO {
                return Err(malformed());
            }
            let body_len = usize::from(message[1]) << 16
                | usize::from(message[2]) << 8
                | usize::from(message[3]);
            if body_len > MAX_CLIENT_HELLO {
                return Err(malformed());
            }
            if message.len() >= 4 + body_len {
                return parse_body(&message[4..4 + body_len]).map(Some);
            }
        }
    }
}

fn malformed() -> TlsError {
    TlsError::new(TlsErrorKind::Protocol).with_alert_sent(alert::DECODE_ERROR)
}

/// A cursor over a byte slice that fails on overrun.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TlsError> {
        if self.0.len() < n {
            return Err(malformed());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, TlsError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, TlsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn vec8(&mut self) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    fn vec16(&mut self) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }
}

fn parse_body(body: &[u8]) -> Result<ClientHello, TlsError> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // legacy_version, random
    r.vec8()?; // legacy_session_id
    r.vec16()?; // cipher_suites
    r.vec8()?; // legacy_compression_methods
    let mut hello = ClientHello::default();
    if r.0.is_empty() {
        return Ok(hello);
    }
    let mut exts = Reader(r.vec16()?);
    while !exts.0.is_empty() {
        let ty = exts.u16()?;
        let mut data = Reader(exts.vec16()?);
        match ty {
            EXT_SERVER_NAME => {
                let mut list = Reader(data.vec16()?);
                while !list.0.is_empty() {
                    let name_type = list.u8()?;
                    let name = list.vec16()?;
                    if name_type == SNI_HOST_NAME && hello.server_name.is_none() {
                        let name = std::str::from_utf8(name).map_err(|_| malformed())?;
                        hello.server_name = Some(name.to_owned());
                    }
                }
            }
            EXT_ALPN => {
                let mut list = Reader(data.vec16()?);
                while !list.0.is_empty() {
                    let token = list.vec8()?;
                    if token.is_empty() {
                        return Err(malformed());
                    }
                    hello.alpn.push(token.to_vec());
                }
            }
            EXT_PRE_SHARED_KEY => {
                let mut ids = Reader(data.vec16()?);
                if !ids.0.is_empty() {
                    hello.ticket = Some(ids.vec16()?.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(hello)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_input_needs_more() {
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(parse(&[0x16, 0x03, 0x01, 0x00]).unwrap(), None);
        assert_eq!(parse(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x01]).unwrap(), None);
    }

    #[test]
    fn non_tls_is_refused() {
        let err = parse(b"GET / HTTP/1.1\r\n").unwrap_err();
        assert_eq!(err.alert_sent(), Some(alert::DECODE_ERROR));
    }

    #[test]
    fn alpn_wire_encoding_prefixes_lengths() {
        let hello = ClientHello {
            server_name: None,
            alpn: vec![b"h3qx".to_vec(), b"h3".to_vec()],
            ticket: None,
        };
        assert_eq!(hello.alpn_wire_encoding(), b"\x04h3qx\x02h3".to_vec());
    }
}
