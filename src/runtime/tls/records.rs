//! The drivers over rustls' unbuffered state machine shared by both sides: process
//! received records, flush a queued alert after a failure, reach the state where
//! application data can be encrypted. Output goes straight into the caller's buffer.

use rustls::client::{ClientConnectionData, EarlyDataError, UnbufferedClientConnection};
use rustls::server::{ServerConnectionData, UnbufferedServerConnection};
use rustls::unbuffered::{
    ConnectionState, EncodeError, EncryptError, ReadEarlyData, TransmitTlsData,
    UnbufferedConnectionCommon, UnbufferedStatus,
};

use super::buffer::RecvBuffer;
use super::error::{TlsError, TlsErrorKind};
use super::session::{Progress, RECORD_OVERHEAD};

/// Gives both sides' `process_tls_records` one name.
pub(super) trait Records {
    type Data;
    /// `process_tls_records`.
    fn records<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data>;
    fn common(&self) -> &rustls::CommonState;
    /// Encrypts `data` as early data (0-RTT) into `buf` while the ClientHello goes out, if
    /// this is a client whose ClientHello offered early data; `None` otherwise.
    fn encrypt_early(
        transmit: &mut TransmitTlsData<'_, Self::Data>,
        data: &[u8],
        buf: &mut [u8],
    ) -> Option<Result<usize, EarlyDataError>>;
    /// Hands the early data rustls opened to `plaintext` (a server); returns the bytes
    /// handed over and the input bytes to discard.
    fn read_early(
        data: &mut ReadEarlyData<'_, '_, Self::Data>,
        plaintext: &mut dyn FnMut(&[u8], bool),
    ) -> Result<(usize, usize), TlsError>;
}

impl Records for UnbufferedClientConnection {
    type Data = ClientConnectionData;
    fn records<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
    fn common(&self) -> &rustls::CommonState {
        let common: &UnbufferedConnectionCommon<ClientConnectionData> = self;
        common
    }
    fn encrypt_early(
        transmit: &mut TransmitTlsData<'_, Self::Data>,
        data: &[u8],
        buf: &mut [u8],
    ) -> Option<Result<usize, EarlyDataError>> {
        transmit
            .may_encrypt_early_data()
            .map(|mut early| early.encrypt(data, buf))
    }
    fn read_early(
        _: &mut ReadEarlyData<'_, '_, Self::Data>,
        _: &mut dyn FnMut(&[u8], bool),
    ) -> Result<(usize, usize), TlsError> {
        // rustls raises this state on servers only.
        Err(TlsError::new(TlsErrorKind::Protocol))
    }
}

impl Records for UnbufferedServerConnection {
    type Data = ServerConnectionData;
    fn records<'c, 'i>(
        &'c mut self,
        incoming: &'i mut [u8],
    ) -> UnbufferedStatus<'c, 'i, Self::Data> {
        self.process_tls_records(incoming)
    }
    fn common(&self) -> &rustls::CommonState {
        let common: &UnbufferedConnectionCommon<ServerConnectionData> = self;
        common
    }
    fn encrypt_early(
        _: &mut TransmitTlsData<'_, Self::Data>,
        _: &[u8],
        _: &mut [u8],
    ) -> Option<Result<usize, EarlyDataError>> {
        None
    }
    fn read_early(
        data: &mut ReadEarlyData<'_, '_, Self::Data>,
        plaintext: &mut dyn FnMut(&[u8], bool),
    ) -> Result<(usize, usize), TlsError> {
        let (mut bytes, mut discard) = (0, 0);
        while let Some(record) = data.next_record() {
            let record = record.map_err(TlsError::from_rustls)?;
            discard += record.discard;
            bytes += record.payload.len();
            plaintext(record.payload, true);
        }
        Ok((bytes, discard))
    }
}

/// Where output records go: a growable `Vec` or a fixed slice.
pub(super) enum Out<'a> {
    Vec(&'a mut Vec<u8>),
    Slice { buf: &'a mut [u8], len: usize },
}

impl Out<'_> {
    /// The bytes written so far.
    pub(super) fn written(&self) -> &[u8] {
        match self {
            Out::Vec(v) => v,
            Out::Slice { buf, len } => &buf[..*len],
        }
    }

    /// Runs `write` over free space of at least `hint` bytes, growing a `Vec` to what
    /// `write` reports it needs; a full slice fails with BufferTooSmall.
    pub(super) fn write<E>(
        &mut self,
        hint: usize,
        mut write: impl FnMut(&mut [u8]) -> Result<usize, E>,
        required: impl Fn(&E) -> Option<usize>,
    ) -> Result<Result<usize, E>, TlsError> {
        match self {
            Out::Vec(v) => {
                let start = v.len();
                let mut room = hint;
                loop {
                    v.resize(start + room, 0);
                    match write(&mut v[start..]) {
                        Ok(n) => {
                            v.truncate(start + n);
                            return Ok(Ok(n));
                        }
                        Err(e) => match required(&e) {
                            Some(need) if need > room => room = need,
                            _ => {
                                v.truncate(start);
                                return Ok(Err(e));
                            }
                        },
                    }
                }
            }
            Out::Slice { buf, len } => match write(&mut buf[*len..]) {
                Ok(n) => {
                    *len += n;
                    Ok(Ok(n))
                }
                Err(e) => match required(&e) {
                    Some(need) => Err(TlsError::buffer_too_small(*len + need)),
                    None => Ok(Err(e)),
                },
            },
        }
    }
}

/// Session flags shared by both sides.
#[derive(Default)]
pub(super) struct Flags {
    pub(super) handshake_complete: bool,
    /// rustls reached WriteTraffic: application data may go out (a server may send it
    /// after its first flight, before the handshake completes).
    pub(super) may_send: bool,
    pub(super) peer_closed: bool,
    /// `peer_closed` was reported through [`Progress::peer_closed`].
    pub(super) peer_closed_reported: bool,
    pub(super) close_notify_sent: bool,
    pub(super) closed: bool,
    /// The last `drive` stopped in WriteTraffic: nothing is queued in rustls.
    pub(super) at_write_traffic: bool,
}

/// A client's early data (0-RTT).
#[derive(Default)]
pub(super) struct EarlyData {
    /// Plaintext to send as early data with the ClientHello.
    pub(super) pending: Option<Vec<u8>>,
    /// Plaintext that went out as early data, until the handshake tells whether the server
    /// took it.
    pub(super) sent: Option<Vec<u8>>,
}

/// Whether a client's last flight (the records it wrote as the handshake completed) holds
/// EndOfEarlyData: a protected record of 21 bytes (the 4-byte message, its content type and
/// the tag), a length no other message of that flight has. rustls sends it only when the
/// server accepted the early data.
pub(super) fn has_end_of_early_data(flight: &[u8]) -> bool {
    let mut rest = flight;
    while let [kind, _, _, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if *kind == 23 && len == 4 + 1 + 16 {
            return true;
        }
        let Some(next) = tail.get(len..) else {
            return false;
        };
        rest = next;
    }
    false
}

fn early_required(e: &EarlyDataError) -> Option<usize> {
    match e {
        EarlyDataError::Encrypt(EncryptError::InsufficientSize(s)) => Some(s.required_size),
        _ => None,
    }
}

pub(super) fn copy(src: &[u8], dst: &mut [u8]) -> Result<usize, usize> {
    match dst.get_mut(..src.len()) {
        Some(d) => {
            d.copy_from_slice(src);
            Ok(src.len())
        }
        None => Err(src.len()),
    }
}

fn encode_required(e: &EncodeError) -> Option<usize> {
    match e {
        EncodeError::InsufficientSize(s) => Some(s.required_size),
        _ => None,
    }
}

fn encrypt_required(e: &EncryptError) -> Option<usize> {
    match e {
        EncryptError::InsufficientSize(s) => Some(s.required_size),
        _ => None,
    }
}

/// Runs the connection's state machine over the received bytes until it needs more
/// input or can send application data. `plaintext` gets each record's plaintext, and
/// whether it came as early data (0-RTT, on a server). A client's early data goes out
/// right after its ClientHello.
pub(super) fn drive<C: Records>(
    conn: &mut C,
    flags: &mut Flags,
    early: &mut EarlyData,
    incoming: &mut RecvBuffer,
    out: &mut Out<'_>,
    plaintext: &mut dyn FnMut(&[u8], bool),
) -> Result<Progress, TlsError> {
    let mut progress = Progress::default();
    loop {
        flags.at_write_traffic = false;
        let UnbufferedStatus { discard, state } = conn.records(incoming.data_mut());
        let mut extra_discard = 0;
        let stop = match state {
            Err(e) => {
                incoming.consume(discard);
                return Err(fail(conn, incoming, out, e));
            }
            Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                while let Some(record) = traffic.next_record() {
                    let record = record.map_err(TlsError::from_rustls)?;
                    extra_discard += record.discard;
                    progress.plaintext += record.payload.len();
                    plaintext(record.payload, false);
                }
                false
            }
            Ok(ConnectionState::ReadEarlyData(mut data)) => {
                let (bytes, discard) = C::read_early(&mut data, plaintext)?;
                extra_discard += discard;
                progress.plaintext += bytes;
                false
            }
            Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                out.write(
                    RECORD_OVERHEAD + 1024,
                    |b| encode.encode(b),
                    encode_required,
                )?
                .map_err(|_| TlsError::new(TlsErrorKind::Closed))?;
                false
            }
            Ok(ConnectionState::TransmitTlsData(mut transmit)) => {
                if let Some(data) = early.pending.take() {
                    // Whether it went out or not (the ClientHello did not offer early data
                    // after all), the handshake's end tells: it is sent again after the
                    // handshake unless the server took it.
                    let _ = out.write(
                        data.len() + data.len().div_ceil(16384) * RECORD_OVERHEAD,
                        |b| C::encrypt_early(&mut transmit, &data, b).unwrap_or(Ok(0)),
                        early_required,
                    )?;
                    early.sent = Some(data);
                }
                // The caller sends everything in `outgoing`.
                transmit.done();
                false
            }
            Ok(ConnectionState::PeerClosed) => {
                flags.peer_closed = true;
                flags.peer_closed_reported = true;
                progress.peer_closed = true;
                false
            }
            Ok(ConnectionState::Closed) => {
                flags.closed = true;
                true
            }
            Ok(ConnectionState::WriteTraffic(_)) => {
                flags.may_send = true;
                flags.at_write_traffic = true;
                true
            }
            // BlockedHandshake, and any state a later rustls adds.
            Ok(_) => true,
        };
        incoming.consume(discard + extra_discard);
        progress.consumed += discard + extra_discard;
        if stop {
            break;
        }
    }
    if !flags.handshake_complete && !conn.common().is_handshaking() {
        flags.handshake_complete = true;
        progress.handshake_completed = true;
    }
    Ok(progress)
}

/// After rustls failed, flushes the alert it queued into `out` and classifies the error.
pub(super) fn fail<C: Records>(
    conn: &mut C,
    incoming: &mut RecvBuffer,
    out: &mut Out<'_>,
    err: rustls::Error,
) -> TlsError {
    let error = TlsError::from_rustls(err);
    // rustls keeps the alert queued; more turns hand it out (bounded, in case). Only while
    // something is queued: once it is out, another turn would read the offending bytes
    // again (a deframing error leaves them in place) and fail a second time.
    for _ in 0..4 {
        if !conn.common().wants_write() {
            break;
        }
        let UnbufferedStatus { discard, state } = conn.records(incoming.data_mut());
        let done = match state {
            Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                // A full fixed buffer loses the alert, not the error.
                out.write(RECORD_OVERHEAD + 2, |b| encode.encode(b), encode_required)
                    .is_err()
            }
            Ok(ConnectionState::TransmitTlsData(transmit)) => {
                transmit.done();
                false
            }
            _ => true,
        };
        incoming.consume(discard);
        if done {
            break;
        }
    }
    error
}

/// Brings the connection to its WriteTraffic state (flushing any queued handshake
/// message, such as a key update, into `out` first) and runs `write` there. Records that
/// arrive meanwhile are decrypted into `stashed` for the next `process`.
pub(super) fn write_traffic<C: Records>(
    conn: &mut C,
    incoming: &mut RecvBuffer,
    stashed: &mut Vec<u8>,
    flags: &mut Flags,
    out: &mut Out<'_>,
    mut write: impl FnMut(
        &mut rustls::unbuffered::WriteTraffic<'_, C::Data>,
        &mut [u8],
    ) -> Result<usize, EncryptError>,
    hint: usize,
) -> Result<(), TlsError> {
    loop {
        let UnbufferedStatus { discard, state } = conn.records(incoming.data_mut());
        let mut extra_discard = 0;
        let done = match state {
            Err(e) => {
                incoming.consume(discard);
                return Err(fail(conn, incoming, out, e));
            }
            Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                while let Some(record) = traffic.next_record() {
                    let record = record.map_err(TlsError::from_rustls)?;
                    extra_discard += record.discard;
                    stashed.extend_from_slice(record.payload);
                }
                false
            }
            Ok(ConnectionState::PeerClosed) => {
                flags.peer_closed = true;
                false
            }
            Ok(ConnectionState::EncodeTlsData(mut encode)) => {
                out.write(RECORD_OVERHEAD + 64, |b| encode.encode(b), encode_required)?
                    .map_err(|_| TlsError::new(TlsErrorKind::Closed))?;
                false
            }
            Ok(ConnectionState::TransmitTlsData(mut transmit)) => {
                let written = match transmit.may_encrypt_app_data() {
                    Some(mut wt) => {
                        out.write(hint, |b| write(&mut wt, b), encrypt_required)?
                            .map_err(|_| TlsError::new(TlsErrorKind::Closed))?;
                        true
                    }
                    None => false,
                };
                transmit.done();
                written
            }
            Ok(ConnectionState::WriteTraffic(mut wt)) => {
                out.write(hint, |b| write(&mut wt, b), encrypt_required)?
                    .map_err(|_| TlsError::new(TlsErrorKind::Closed))?;
                true
            }
            Ok(ConnectionState::BlockedHandshake) => {
                incoming.consume(discard);
                return Err(TlsError::new(TlsErrorKind::NotReady));
            }
            Ok(_) => return Err(TlsError::new(TlsErrorKind::Closed)),
        };
        incoming.consume(discard + extra_discard);
        if done {
            return Ok(());
        }
    }
}

/// Brings the connection to WriteTraffic like [`write_traffic`] and asks rustls for a key
/// update there.
pub(super) fn refresh_keys<C: Records>(
    conn: &mut C,
    incoming: &mut RecvBuffer,
    stashed: &mut Vec<u8>,
    flags: &mut Flags,
    out: &mut Out<'_>,
) -> Result<(), TlsError> {
    // Flush whatever is pending first, so that the WriteTraffic state below is current.
    write_traffic(conn, incoming, stashed, flags, out, |_, _| Ok(0), 0)?;
    let UnbufferedStatus { discard, state } = conn.records(incoming.data_mut());
    let result = match state {
        Ok(ConnectionState::WriteTraffic(wt)) => {
            wt.refresh_traffic_keys().map_err(TlsError::from_rustls)
        }
        Ok(_) => Err(TlsError::new(TlsErrorKind::NotReady)),
        Err(e) => Err(TlsError::from_rustls(e)),
    };
    incoming.consume(discard);
    result
}
