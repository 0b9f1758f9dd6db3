//! The session after the handshake, with record protection done here rather than in
//! rustls: rustls hands over the traffic secrets (`dangerous_into_kernel_connection`) and
//! keeps only what needs its state, new traffic secrets for a KeyUpdate and session
//! tickets. Application data is sealed in place in the caller's output buffer and opened
//! in place in the receive buffer; post-handshake messages (NewSessionTicket, KeyUpdate)
//! and alerts are handled here.

use std::ops::Range;

use rustls::client::{ClientConnectionData, Tls13ClientSessionValue, UnbufferedClientConnection};
use rustls::kernel::KernelConnection;
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::{AlertDescription, SupportedCipherSuite};

use super::buffer::RecvBuffer;
use super::error::{TlsError, alert};
use super::protection::{
    HEADER_LEN, MAX_CONTENT, OVERHEAD, RecordKey, alert_code, content_type, parse_header,
    protocol_error,
};
use super::records::Flags;
use super::session::Progress;
use super::streaming::SealSink;
use super::tickets;

/// Handshake message types handled after the handshake.
const NEW_SESSION_TICKET: u8 = 4;
const KEY_UPDATE: u8 = 24;
/// KeyUpdate's request field.
const UPDATE_NOT_REQUESTED: u8 = 0;
const UPDATE_REQUESTED: u8 = 1;
/// illegal_parameter.
const ILLEGAL_PARAMETER: u8 = 47;
/// The largest post-handshake message we buffer (a NewSessionTicket is far smaller).
const MAX_HANDSHAKE_MESSAGE: usize = 1 << 16;
/// A KeyUpdate record's content: type, 24-bit length 1, request.
const KEY_UPDATE_LEN: usize = 5;

/// Room `Kernel::seal_with` needs: a full record plus a KeyUpdate record before it.
pub const SEAL_ROOM: usize = MAX_CONTENT + OVERHEAD + KEY_UPDATE_LEN + OVERHEAD;

/// rustls' remaining state of either side.
enum Side {
    Client(KernelConnection<ClientConnectionData>),
    Server(KernelConnection<ServerConnectionData>),
}

impl Side {
    fn update_tx(&mut self) -> Result<(u64, rustls::ConnectionTrafficSecrets), rustls::Error> {
        match self {
            Side::Client(k) => k.update_tx_secret(),
            Side::Server(k) => k.update_tx_secret(),
        }
    }

    fn update_rx(&mut self) -> Result<(u64, rustls::ConnectionTrafficSecrets), rustls::Error> {
        match self {
            Side::Client(k) => k.update_rx_secret(),
            Side::Server(k) => k.update_rx_secret(),
        }
    }
}

/// A TLS 1.3 connection past its handshake, protecting records itself.
pub struct Kernel {
    side: Side,
    tx: RecordKey,
    rx: RecordKey,
    limit: u64,
    /// Post-handshake handshake bytes not yet forming a whole message.
    handshake: Vec<u8>,
    /// Where the application data of the records opened by one `process` call lie
    /// (relative to the receive buffer's data); kept to reuse its allocation.
    ranges: Vec<Range<usize>>,
    /// The peer asked for a KeyUpdate (update_requested) that we have not sent yet: it goes
    /// out before our next record (RFC 8446 §4.6.3), one for any number of requests.
    reply_owed: bool,
    /// KeyUpdates received during the current `process` call.
    key_updates: usize,
    /// Session tickets received (client), each as copies, not yet taken.
    received: Vec<Vec<Tls13ClientSessionValue>>,
}

fn confidentiality_limit(suite: SupportedCipherSuite) -> u64 {
    suite
        .tls13()
        .map_or(u64::MAX, |s| s.common.confidentiality_limit)
}

impl Kernel {
    /// Takes over a client connection that reached WriteTraffic after its handshake.
    pub fn client(conn: UnbufferedClientConnection) -> Result<Self, TlsError> {
        let (secrets, k) = conn
            .dangerous_into_kernel_connection()
            .map_err(TlsError::from_rustls)?;
        let limit = confidentiality_limit(k.negotiated_cipher_suite());
        Self::new(Side::Client(k), secrets, limit)
    }

    /// Takes over a server connection that reached WriteTraffic after its handshake.
    pub fn server(conn: UnbufferedServerConnection) -> Result<Self, TlsError> {
        let (secrets, k) = conn
            .dangerous_into_kernel_connection()
            .map_err(TlsError::from_rustls)?;
        let limit = confidentiality_limit(k.negotiated_cipher_suite());
        Self::new(Side::Server(k), secrets, limit)
    }

    fn new(side: Side, secrets: rustls::ExtractedSecrets, limit: u64) -> Result<Self, TlsError> {
        let (tx_seq, tx) = secrets.tx;
        let (rx_seq, rx) = secrets.rx;
        Ok(Self {
            side,
            tx: RecordKey::new_sending(tx, tx_seq, limit)?,
            rx: RecordKey::new(rx, rx_seq, u64::MAX)?,
            limit,
            handshake: Vec::new(),
            ranges: Vec::new(),
            reply_owed: false,
            key_updates: 0,
            received: Vec::new(),
        })
    }

    /// Seals one record of `content_type` holding `content` at the end of `out`.
    fn seal_message(&mut self, out: &mut Vec<u8>, ty: u8, content: &[u8]) -> Result<(), TlsError> {
        let start = out.len();
        out.resize(start + content.len() + OVERHEAD, 0);
        out[start + HEADER_LEN..start + HEADER_LEN + content.len()].copy_from_slice(content);
        self.tx.seal(&mut out[start..], content.len(), ty)?;
        Ok(())
    }

    /// Sends a KeyUpdate with the current key, then switches to the next one.
    fn send_key_update(&mut self, out: &mut [u8], request: u8) -> Result<usize, TlsError> {
        out[HEADER_LEN..HEADER_LEN + KEY_UPDATE_LEN]
            .copy_from_slice(&[KEY_UPDATE, 0, 0, 1, request]);
        let n = self.tx.seal(out, KEY_UPDATE_LEN, content_type::HANDSHAKE)?;
        let (seq, secrets) = self.side.update_tx().map_err(TlsError::from_rustls)?;
        self.tx = RecordKey::new_sending(secrets, seq, self.limit)?;
        // Any KeyUpdate of ours answers the peer's requests so far: our sending key is new.
        self.reply_owed = false;
        Ok(n)
    }

    fn key_update_into(&mut self, out: &mut Vec<u8>, request: u8) -> Result<(), TlsError> {
        let start = out.len();
        out.resize(start + KEY_UPDATE_LEN + OVERHEAD, 0);
        self.send_key_update(&mut out[start..], request)?;
        Ok(())
    }

    /// Whether a KeyUpdate must precede our next record (the peer's request, or the key
    /// nearing its confidentiality limit).
    fn update_due(&self) -> bool {
        self.reply_owed || self.tx.needs_update()
    }

    /// Seals `content` (at most 2^14 bytes) as one record of inner type `ty` with the
    /// current key, whatever it holds: the fuzz targets' way to send any record.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn seal_raw(
        &mut self,
        ty: u8,
        content: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        self.seal_message(out, ty, &content[..content.len().min(MAX_CONTENT)])
    }

    /// Sends a KeyUpdate with any `request` byte and switches to the next key, as
    /// [`Kernel::refresh_traffic_keys`] does with a valid one (fuzz targets only).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn key_update_raw(
        &mut self,
        request: u8,
        out: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        self.key_update_into(out, request)
    }

    /// Asks for new keys both ways: our KeyUpdate (update_requested) goes into `out`.
    pub fn refresh_traffic_keys(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        self.key_update_into(out, UPDATE_REQUESTED)
    }

    /// Appends an application data record with no content (for tests).
    #[cfg(test)]
    pub(super) fn seal_empty_record(&mut self, out: &mut Vec<u8>) {
        self.seal_message(out, content_type::APPLICATION_DATA, &[])
            .expect("seal");
    }

    /// Appends a record holding the handshake message `msg` (a NewSessionTicket) to `out`.
    pub fn send_handshake_message(
        &mut self,
        msg: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        if self.update_due() {
            self.key_update_into(out, UPDATE_NOT_REQUESTED)?;
        }
        self.seal_message(out, content_type::HANDSHAKE, msg)
    }

    /// Takes the session tickets received so far (client), each as copies.
    pub fn take_received(&mut self) -> Vec<Vec<Tls13ClientSessionValue>> {
        std::mem::take(&mut self.received)
    }

    /// Appends a close_notify alert to `out`.
    pub fn close_notify(&mut self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        self.seal_message(out, content_type::ALERT, &[1, alert::CLOSE_NOTIFY])
    }

    /// Appends a fatal alert for `error` to `out`, if it names one.
    pub fn send_alert_for(&mut self, error: &TlsError, out: &mut Vec<u8>) {
        if let Some(code) = error.alert_sent() {
            let _ = self.seal_message(out, content_type::ALERT, &[2, code]);
        }
    }

    /// Produces one application data record in `room` (at least [`SEAL_ROOM`] bytes):
    /// `fill` writes up to 2^14 bytes of content straight where the record's content goes
    /// and returns how many; the record is then sealed in place. A KeyUpdate record may
    /// come first when the key nears its confidentiality limit or the peer asked for one
    /// (then it is produced even when `fill` writes nothing). Returns the bytes used (0
    /// when nothing was produced).
    pub fn seal_with(
        &mut self,
        room: &mut [u8],
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> Result<usize, TlsError> {
        let at = self.key_update_first(room)?;
        let n = fill(&mut room[at + HEADER_LEN..at + HEADER_LEN + MAX_CONTENT]);
        if n == 0 {
            return Ok(at);
        }
        Ok(at
            + self
                .tx
                .seal(&mut room[at..], n, content_type::APPLICATION_DATA)?)
    }

    /// The start of a data record's production in `room` (at least [`SEAL_ROOM`] bytes): a
    /// KeyUpdate record first when one is due; returns the bytes it took.
    fn key_update_first(&mut self, room: &mut [u8]) -> Result<usize, TlsError> {
        assert!(
            room.len() >= SEAL_ROOM,
            "a data record needs SEAL_ROOM bytes"
        );
        if self.update_due() {
            return self.send_key_update(room, UPDATE_NOT_REQUESTED);
        }
        Ok(0)
    }

    /// Whether [`Kernel::seal_streaming`] works (an AES-GCM suite).
    pub fn can_stream(&self) -> bool {
        self.tx.can_stream()
    }

    /// As [`Kernel::seal_with`], for a record of exactly `content_len` bytes of content that
    /// `fill` writes into a [`SealSink`], encrypted as it comes (no copy of the content).
    pub fn seal_streaming(
        &mut self,
        room: &mut [u8],
        content_len: usize,
        fill: &mut dyn FnMut(&mut SealSink<'_>),
    ) -> Result<usize, TlsError> {
        let at = self.key_update_first(room)?;
        Ok(at
            + self.tx.seal_streaming(
                &mut room[at..],
                content_len,
                content_type::APPLICATION_DATA,
                fill,
            )?)
    }

    /// Seals `plaintext` as application data records appended to `out` (a copy; the data
    /// path uses [`Kernel::seal_with`]).
    pub fn encrypt(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), TlsError> {
        for chunk in plaintext.chunks(MAX_CONTENT) {
            if self.update_due() {
                self.key_update_into(out, UPDATE_NOT_REQUESTED)?;
            }
            self.seal_message(out, content_type::APPLICATION_DATA, chunk)?;
        }
        Ok(())
    }

    /// Opens every whole record in `incoming`, in place. Post-handshake messages and alerts
    /// are handled (replies go into `out`); the application data is handed to `deliver` as
    /// ranges of `incoming.data()`, in order, after all records are opened; then the
    /// records leave the buffer. On a failure the alert owed to the peer is in `out`.
    /// With a `budget`, at most that many records are opened (it is decremented); the rest
    /// wait in the buffer ([`Progress::records_left`]).
    pub fn process(
        &mut self,
        incoming: &mut RecvBuffer,
        out: &mut Vec<u8>,
        flags: &mut Flags,
        budget: &mut Option<usize>,
        deliver: &mut dyn FnMut(&RecvBuffer, Range<usize>),
    ) -> Result<Progress, TlsError> {
        let mut progress = Progress::default();
        let mut ranges = std::mem::take(&mut self.ranges);
        ranges.clear();
        self.key_updates = 0;
        let result = self.open_all(incoming, flags, budget, &mut ranges, &mut progress);
        progress.key_updates = self.key_updates;
        for r in ranges.drain(..) {
            progress.plaintext += r.len();
            deliver(incoming, r);
        }
        self.ranges = ranges;
        incoming.consume(progress.consumed);
        match result {
            Ok(()) => Ok(progress),
            Err(e) => {
                self.send_alert_for(&e, out);
                Err(e)
            }
        }
    }

    fn open_all(
        &mut self,
        incoming: &mut RecvBuffer,
        flags: &mut Flags,
        budget: &mut Option<usize>,
        ranges: &mut Vec<Range<usize>>,
        progress: &mut Progress,
    ) -> Result<(), TlsError> {
        let data = incoming.data_mut();
        let mut pos = 0;
        while !flags.peer_closed {
            match budget {
                Some(0) => {
                    progress.records_left = pos < data.len();
                    break;
                }
                Some(left) => *left -= 1,
                None => {}
            }
            let Some(len) = parse_header(&data[pos..])? else {
                break;
            };
            if data.len() - pos < len {
                break;
            }
            let record = &mut data[pos..pos + len];
            let (ty, content) = self.rx.open(record)?;
            let content_at = pos + content.start..pos + content.end;
            pos += len;
            progress.consumed = pos;
            match ty {
                content_type::APPLICATION_DATA => {
                    if content_at.is_empty() {
                        progress.empty_records += 1;
                    } else {
                        ranges.push(content_at);
                    }
                }
                content_type::ALERT => {
                    let &[_level, code] = &data[content_at] else {
                        return Err(protocol_error(alert_code::DECODE_ERROR));
                    };
                    match code {
                        alert::CLOSE_NOTIFY => {
                            flags.peer_closed = true;
                            flags.peer_closed_reported = true;
                            progress.peer_closed = true;
                        }
                        alert::USER_CANCELED => progress.empty_records += 1,
                        _ => {
                            return Err(TlsError::from_rustls(rustls::Error::AlertReceived(
                                AlertDescription::from(code),
                            )));
                        }
                    }
                }
                content_type::HANDSHAKE if !content_at.is_empty() => {
                    if self.handshake.len() + content_at.len() > MAX_HANDSHAKE_MESSAGE {
                        return Err(protocol_error(alert_code::UNEXPECTED_MESSAGE));
                    }
                    self.handshake.extend_from_slice(&data[content_at]);
                    self.handshake_messages()?;
                }
                _ => return Err(protocol_error(alert_code::UNEXPECTED_MESSAGE)),
            }
        }
        Ok(())
    }

    /// Handles the whole messages in the handshake buffer.
    fn handshake_messages(&mut self) -> Result<(), TlsError> {
        let mut at = 0;
        let result = loop {
            let Some(header) = self.handshake.get(at..at + 4) else {
                break Ok(());
            };
            let (ty, len) = (
                header[0],
                usize::from(header[1]) << 16 | usize::from(header[2]) << 8 | usize::from(header[3]),
            );
            let Some(body) = self.handshake.get(at + 4..at + 4 + len) else {
                break Ok(());
            };
            let body = body.to_vec();
            at += 4 + len;
            match ty {
                NEW_SESSION_TICKET => match &mut self.side {
                    // Only our sealed tickets are kept: a server's seed ticket (see
                    // `tickets`) is dropped.
                    Side::Client(k) if tickets::is_sealed(&body) => {
                        let (result, copies) = tickets::taking(|| {
                            (0..tickets::COPIES)
                                .try_for_each(|_| k.handle_new_session_ticket(&body))
                        });
                        if let Err(e) = result {
                            break Err(TlsError::from_rustls(e));
                        }
                        if !copies.is_empty() {
                            self.received.push(copies);
                        }
                    }
                    Side::Client(_) => {}
                    Side::Server(_) => {
                        break Err(protocol_error(alert_code::UNEXPECTED_MESSAGE));
                    }
                },
                KEY_UPDATE => {
                    // A KeyUpdate must end its record (RFC 8446 §5.1).
                    if at != self.handshake.len() {
                        break Err(protocol_error(alert_code::UNEXPECTED_MESSAGE));
                    }
                    let request = match body.as_slice() {
                        [r @ (UPDATE_NOT_REQUESTED | UPDATE_REQUESTED)] => *r,
                        [_] => break Err(protocol_error(ILLEGAL_PARAMETER)),
                        _ => break Err(protocol_error(alert_code::DECODE_ERROR)),
                    };
                    let (seq, secrets) = match self.side.update_rx() {
                        Ok(s) => s,
                        Err(e) => break Err(TlsError::from_rustls(e)),
                    };
                    self.rx = match RecordKey::new(secrets, seq, u64::MAX) {
                        Ok(k) => k,
                        Err(e) => break Err(e),
                    };
                    self.key_updates += 1;
                    if request == UPDATE_REQUESTED {
                        // Answered once, before our next record, however many requests
                        // arrive meanwhile (RFC 8446 §4.6.3).
                        self.reply_owed = true;
                    }
                }
                _ => break Err(protocol_error(alert_code::UNEXPECTED_MESSAGE)),
            }
        };
        self.handshake.drain(..at);
        result
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("tx_seq", &self.tx.sequence())
            .field("rx_seq", &self.rx.sequence())
            .finish_non_exhaustive()
    }
}
