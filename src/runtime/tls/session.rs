//! One connection's TLS session. The handshake runs over rustls' unbuffered API: handshake
//! records are encoded straight into the caller's outgoing buffer; received records are
//! processed in the session's receive buffer (which the socket reads into), and their
//! plaintext handed to a callback without an intermediate queue. Once the handshake is
//! complete, rustls hands over the traffic secrets and [`Kernel`] protects records in place
//! ([`TlsSession::seal_with`], [`TlsSession::process_shared`]).

use std::sync::Arc;

use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::UnbufferedServerConnection;

use super::alpn;
use super::buffer::RecvBuffer;
use super::client_hello::ClientHello;
use super::credentials::{TlsClientConfig, TlsServerConfig};
use super::error::{TlsError, TlsErrorKind, alert};
use super::kernel::Kernel;
use super::records::{
    EarlyData, Flags, Out, Records, copy, drive, has_end_of_early_data, refresh_keys, write_traffic,
};
use super::secrets::{self, Capture, ExportError, SecretSink};
use super::streaming::SealSink;
use super::tickets::{self, Seed, Ticketer};
use crate::proto::shared::SharedBytes;

pub use super::kernel::SEAL_ROOM;

/// A piece of received plaintext handed to [`TlsSession::process_shared`].
pub enum Plaintext<'a> {
    /// Bytes to copy (decrypted by rustls during the handshake).
    Borrowed(&'a [u8]),
    /// Bytes opened in place in the receive buffer, shared without copying.
    Shared(SharedBytes),
    /// Bytes that arrived as early data (0-RTT), to copy (server).
    Early(&'a [u8]),
}

/// What the session knew at the end of the handshake, kept once rustls' connection state
/// has been handed over to [`Kernel`].
struct Snapshot {
    alpn: Option<Vec<u8>>,
    certificates: Option<Vec<CertificateDer<'static>>>,
    handshake: Option<HandshakeInfo>,
    /// The negotiated suite, for the exporter.
    suite: Option<&'static rustls::Tls13CipherSuite>,
}

/// Bytes a TLS 1.3 record adds to its plaintext: header 5, content type 1, AEAD tag 16.
pub const RECORD_OVERHEAD: usize = 5 + 1 + 16;
/// The largest plaintext in one TLS record.
pub const MAX_RECORD_PLAINTEXT: usize = 0x4000;

/// Room [`TlsSession::encrypt_into`] keeps for a key update record rustls may have
/// queued (27 bytes) ahead of the data.
pub const POST_HANDSHAKE_ROOM: usize = 32;

/// The bytes [`TlsSession::encrypt`] writes for `plaintext_len` bytes of application data
/// (TLS 1.3, full-size records), before any post-handshake message rustls may add.
pub fn encrypted_len(plaintext_len: usize) -> usize {
    plaintext_len + plaintext_len.div_ceil(MAX_RECORD_PLAINTEXT) * RECORD_OVERHEAD
}

/// What one [`TlsSession::process`] call did.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Progress {
    /// Received bytes that were processed and left the receive buffer.
    pub consumed: usize,
    /// Plaintext bytes handed to the callback.
    pub plaintext: usize,
    /// The handshake completed during this call.
    pub handshake_completed: bool,
    /// The peer's close_notify arrived during this call: no more data will come.
    pub peer_closed: bool,
    /// KeyUpdate messages received during this call.
    pub key_updates: usize,
    /// Records with no content (empty application data, user_canceled alerts) received
    /// during this call.
    pub empty_records: usize,
    /// The record budget ran out with bytes left in the receive buffer: call again (with a
    /// new budget) before waiting for more input.
    pub records_left: bool,
}

/// The negotiated parameters, for MsQuic's QUIC_HANDSHAKE_INFO (IANA code points).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct HandshakeInfo {
    /// The protocol version (0x0304 for TLS 1.3).
    pub protocol_version: u16,
    /// The cipher suite (0x1301, 0x1302 or 0x1303).
    pub cipher_suite: u16,
    /// The key exchange group (29 x25519, 23 secp256r1, 4588 X25519MLKEM768, ...), if known.
    pub key_exchange_group: Option<u16>,
    /// Whether the session was resumed.
    pub resumed: bool,
}

/// The rustls connection of either side; `Rejected` is a server that refused the
/// ClientHello itself (no common ALPN) and only sends its alert.
enum Conn {
    Client(UnbufferedClientConnection),
    Server(UnbufferedServerConnection),
    Rejected {
        alert_pending: bool,
    },
    /// Past the handshake: records are protected by [`Kernel`].
    Kernel(Box<Kernel>),
}

/// Whether a server session allows resumption (MsQuic's ServerResumptionLevel and the
/// application's answer to the ticket offered).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Resumption {
    /// No resumption: no ticket is opened or sent (NO_RESUME).
    Off,
    /// Tickets are opened and may be sent.
    On,
    /// Tickets may be sent, but the one offered was refused by the application.
    Refused,
    /// As `On`, and the offered ticket's early data (0-RTT) is accepted with it; tickets
    /// sent allow early data (RESUME_AND_ZERORTT).
    EarlyData,
}

/// A TLS 1.3 session for one connection (client or server).
pub struct TlsSession {
    conn: Conn,
    flags: Flags,
    /// The application's ALPN tokens, to map the negotiated wire token back.
    alpn: Arc<[Vec<u8>]>,
    /// The server name: the one asked for (client) or received in SNI (server).
    server_name: Option<String>,
    error: Option<TlsError>,
    /// Received bytes not yet processed.
    incoming: RecvBuffer,
    /// Plaintext rustls decrypted while we were encrypting (records that arrived before
    /// [`TlsSession::process`] was called), handed out by the next `process`.
    stashed: Vec<u8>,
    /// Records that may still be opened before more wait (see
    /// [`TlsSession::set_record_budget`]); `None`: no bound.
    record_budget: Option<usize>,
    /// The handshake's results, once the session went over to [`Kernel`].
    snapshot: Option<Box<Snapshot>>,
    /// The secrets rustls reported: the exporter secret, and the application's sink.
    capture: Capture,
    client: bool,
    /// Server: what later tickets are made from, once the handshake issued its seed.
    seed: Option<Seed>,
    /// Server: the ticketer, when resumption is on.
    ticketer: Option<Arc<Ticketer>>,
    /// Client: tickets received (numbers naming them in the process's table), not taken.
    tickets: Vec<u64>,
    /// Client: early data (0-RTT) to send with the ClientHello, then until the handshake
    /// says whether the server took it.
    early: EarlyData,
    /// Client: the early data the offered ticket allows (0: none).
    early_room: usize,
    /// Client: whether the server took the early data, once the handshake is over.
    early_accepted: Option<bool>,
    /// Client: early data the server did not take, to send first after the handshake.
    replay: Option<Vec<u8>>,
    /// Server: the early data the tickets sent allow (0: none).
    ticket_early_data: u32,
}

impl TlsSession {
    /// Starts a client session towards `server_name` (a DNS name or an IP address; an IP
    /// address sends no SNI). Call [`TlsSession::process`] with no input to get the
    /// ClientHello.
    pub fn client(config: &TlsClientConfig, server_name: &str) -> Result<Self, TlsError> {
        Self::client_resuming(config, server_name, None)
    }

    /// Like [`TlsSession::client`], offering the ticket named `ticket` (from
    /// [`TlsSession::take_tickets`], in this process) if the process still has it, else
    /// none (a full handshake follows).
    pub fn client_resuming(
        config: &TlsClientConfig,
        server_name: &str,
        ticket: Option<u64>,
    ) -> Result<Self, TlsError> {
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsError::new(TlsErrorKind::InvalidServerName))?;
        // rustls builds the ClientHello as the connection is made.
        let mut offer = ticket.and_then(tickets::recall);
        let room = offer
            .as_ref()
            .map_or(0, |t| t.max_early_data_size() as usize);
        let conn = tickets::offering(&mut offer, || {
            UnbufferedClientConnection::new(config.rustls.clone(), name)
        })
        .map_err(TlsError::from_rustls)?;
        // A ticket rustls did not take offers nothing.
        let early_room = if offer.is_some() { 0 } else { room };
        Ok(Self {
            conn: Conn::Client(conn),
            flags: Flags::default(),
            alpn: config.alpn.clone(),
            server_name: Some(server_name.to_owned()),
            error: None,
            incoming: RecvBuffer::default(),
            stashed: Vec::new(),
            record_budget: None,
            snapshot: None,
            capture: Capture::default(),
            client: true,
            seed: None,
            ticketer: None,
            tickets: Vec::new(),
            early: EarlyData::default(),
            early_room,
            early_accepted: None,
            replay: None,
            ticket_early_data: 0,
        })
    }

    /// Starts a server session with the configuration the application chose after seeing
    /// `hello`, read by [`super::client_hello::parse`] from `incoming`: the connection's
    /// receive buffer, which the session takes over with the ClientHello still in it.
    ///
    /// The ALPN is `preferred` (a wire token the client offered) when that stands for a
    /// configured token, else chosen in the client's order of preference among the forms of
    /// the configured tokens ([`alpn::select`]); with no common token the session only sends
    /// `no_application_protocol` and fails.
    pub fn server(
        config: &TlsServerConfig,
        hello: &ClientHello,
        incoming: RecvBuffer,
        preferred: Option<&[u8]>,
    ) -> Result<Self, TlsError> {
        Self::server_resuming(config, hello, incoming, preferred, Resumption::Off)
    }

    /// The application data in the ticket `hello` offers, if it is one `config` sealed
    /// (for MsQuic's RESUMED event, before the session starts).
    pub fn offered_ticket_data(config: &TlsServerConfig, hello: &ClientHello) -> Option<Vec<u8>> {
        config.ticketer.app_data(hello.ticket.as_deref()?)
    }

    /// Like [`TlsSession::server`], with `resumption` saying whether tickets are opened and
    /// sent ([`TlsSession::send_resumption_ticket`]).
    pub fn server_resuming(
        config: &TlsServerConfig,
        hello: &ClientHello,
        incoming: RecvBuffer,
        preferred: Option<&[u8]>,
        resumption: Resumption,
    ) -> Result<Self, TlsError> {
        let chosen = preferred
            .and_then(|p| hello.alpn.iter().find(|w| w.as_slice() == p))
            .and_then(|w| alpn::app_token(w, &config.alpn).map(|a| (w.as_slice(), a)));
        let Some((wire, _app)) = chosen.or_else(|| alpn::select(&hello.alpn, &config.alpn)) else {
            return Ok(Self {
                conn: Conn::Rejected {
                    alert_pending: true,
                },
                flags: Flags::default(),
                alpn: config.alpn.clone(),
                server_name: hello.server_name.clone(),
                error: None,
                incoming,
                stashed: Vec::new(),
                record_budget: None,
                snapshot: None,
                capture: Capture::default(),
                client: false,
                seed: None,
                ticketer: None,
                tickets: Vec::new(),
                early: EarlyData::default(),
                early_room: 0,
                early_accepted: None,
                replay: None,
                ticket_early_data: 0,
            });
        };
        // rustls picks by the server's order; give it the one token we chose unless its
        // own choice is the same.
        let base = match resumption {
            Resumption::Off => config.rustls.clone(),
            Resumption::On => config.resumable.clone(),
            Resumption::EarlyData => config.early.clone(),
            Resumption::Refused => {
                let mut c = (*config.resumable).clone();
                c.ticketer = config.ticketer.refusing();
                Arc::new(c)
            }
        };
        let rustls_choice = base.alpn_protocols.iter().find(|p| hello.alpn.contains(p));
        let rustls_config = if rustls_choice.map(Vec::as_slice) == Some(wire) {
            base
        } else {
            let mut c = (*base).clone();
            c.alpn_protocols = vec![wire.to_vec()];
            Arc::new(c)
        };
        let conn = UnbufferedServerConnection::new(rustls_config).map_err(TlsError::from_rustls)?;
        Ok(Self {
            conn: Conn::Server(conn),
            flags: Flags::default(),
            alpn: config.alpn.clone(),
            server_name: hello.server_name.clone(),
            error: None,
            incoming,
            stashed: Vec::new(),
            record_budget: None,
            snapshot: None,
            capture: Capture::default(),
            client: false,
            seed: None,
            ticketer: (resumption != Resumption::Off).then(|| config.ticketer.clone()),
            tickets: Vec::new(),
            early: EarlyData::default(),
            early_room: 0,
            early_accepted: None,
            replay: None,
            ticket_early_data: if resumption == Resumption::EarlyData {
                tickets::MAX_EARLY_DATA
            } else {
                0
            },
        })
    }

    /// The receive buffer: read from the socket into [`RecvBuffer::space`] and
    /// [`RecvBuffer::commit`], then call [`TlsSession::process`].
    pub fn incoming(&mut self) -> &mut RecvBuffer {
        &mut self.incoming
    }

    /// Processes the received bytes: handshake messages are answered into `outgoing`
    /// (appended; send all of it), application data is decrypted and passed to `plaintext`
    /// record by record. A partial record stays in the buffer for the next call.
    ///
    /// On error, `outgoing` holds the fatal alert for the peer (send it, then close).
    pub fn process(
        &mut self,
        outgoing: &mut Vec<u8>,
        plaintext: &mut dyn FnMut(&[u8]),
    ) -> Result<Progress, TlsError> {
        self.process_pieces(outgoing, false, &mut |p| match p {
            Plaintext::Borrowed(b) | Plaintext::Early(b) => plaintext(b),
            Plaintext::Shared(s) => plaintext(s.as_slice()),
        })
    }

    /// Like [`TlsSession::process`], but after the handshake the plaintext is handed over
    /// as [`Plaintext::Shared`] ranges of the receive buffer, opened in place, not copied.
    pub fn process_shared(
        &mut self,
        outgoing: &mut Vec<u8>,
        plaintext: &mut dyn FnMut(Plaintext<'_>),
    ) -> Result<Progress, TlsError> {
        self.process_pieces(outgoing, true, plaintext)
    }

    fn process_pieces(
        &mut self,
        outgoing: &mut Vec<u8>,
        shared: bool,
        plaintext: &mut dyn FnMut(Plaintext<'_>),
    ) -> Result<Progress, TlsError> {
        let mut progress = Progress::default();
        if !self.stashed.is_empty() {
            plaintext(Plaintext::Borrowed(&self.stashed));
            progress.plaintext = self.stashed.len();
            self.stashed.clear();
        }
        if self.flags.peer_closed && !self.flags.peer_closed_reported {
            self.flags.peer_closed_reported = true;
            progress.peer_closed = true;
        }
        if !matches!(self.conn, Conn::Kernel(_)) {
            let more = self.run(&mut Out::Vec(outgoing), &mut |b, early| {
                plaintext(if early {
                    Plaintext::Early(b)
                } else {
                    Plaintext::Borrowed(b)
                })
            })?;
            progress.consumed = more.consumed;
            progress.plaintext += more.plaintext;
            progress.handshake_completed = more.handshake_completed;
            progress.peer_closed |= more.peer_closed;
            self.take_over_records()?;
        }
        if let Conn::Kernel(k) = &mut self.conn {
            if let Some(e) = &self.error {
                return Err(e.clone());
            }
            let result = k.process(
                &mut self.incoming,
                outgoing,
                &mut self.flags,
                &mut self.record_budget,
                &mut |buf, range| {
                    if shared {
                        plaintext(Plaintext::Shared(buf.shared(range)));
                    } else {
                        plaintext(Plaintext::Borrowed(&buf.data()[range]));
                    }
                },
            );
            for copies in k.take_received() {
                self.tickets.push(tickets::remember(copies));
            }
            match result {
                Ok(more) => {
                    progress.consumed += more.consumed;
                    progress.plaintext += more.plaintext;
                    progress.peer_closed |= more.peer_closed;
                    progress.key_updates += more.key_updates;
                    progress.records_left = more.records_left;
                    progress.empty_records += more.empty_records;
                }
                Err(e) => {
                    self.error = Some(e.clone());
                    return Err(e);
                }
            }
        }
        Ok(progress)
    }

    /// Once the handshake is over and rustls has nothing queued, hands record protection
    /// over to [`Kernel`], keeping what the accessors report.
    fn take_over_records(&mut self) -> Result<(), TlsError> {
        let ready = self.flags.handshake_complete
            && self.flags.at_write_traffic
            && self.error.is_none()
            && matches!(self.conn, Conn::Client(_) | Conn::Server(_));
        if !ready {
            return Ok(());
        }
        let snapshot = Snapshot {
            alpn: self.negotiated_alpn_wire().map(<[u8]>::to_vec),
            certificates: self.peer_certificates().map(<[_]>::to_vec),
            handshake: self.handshake_info(),
            suite: self.tls13_suite(),
        };
        let conn = std::mem::replace(
            &mut self.conn,
            Conn::Rejected {
                alert_pending: false,
            },
        );
        self.snapshot = Some(Box::new(snapshot));
        let kernel = match conn {
            Conn::Client(c) => Kernel::client(c),
            Conn::Server(c) => Kernel::server(c),
            other => {
                self.conn = other;
                return Ok(());
            }
        };
        match kernel {
            Ok(k) => {
                self.conn = Conn::Kernel(Box::new(k));
                Ok(())
            }
            Err(e) => {
                self.error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn run(
        &mut self,
        out: &mut Out<'_>,
        plaintext: &mut dyn FnMut(&[u8], bool),
    ) -> Result<Progress, TlsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let (flags, incoming, early) = (&mut self.flags, &mut self.incoming, &mut self.early);
        let result = match &mut self.conn {
            Conn::Client(c) => {
                let before = out.written().len();
                let result = secrets::scope(&mut self.capture, || {
                    drive(c, flags, early, incoming, out, plaintext)
                });
                let flight = &out.written()[before..];
                self.capture.client_hello_written(flight);
                if matches!(&result, Ok(p) if p.handshake_completed) {
                    if let Some(sent) = self.early.sent.take() {
                        // rustls ends early data it sent only when the server took it.
                        let accepted = has_end_of_early_data(flight);
                        self.early_accepted = Some(accepted);
                        if !accepted {
                            self.replay = Some(sent);
                        }
                    }
                }
                result
            }
            Conn::Server(c) => secrets::scope(&mut self.capture, || {
                drive(c, flags, early, incoming, out, plaintext)
            }),
            Conn::Kernel(_) => Ok(Progress::default()),
            Conn::Rejected { alert_pending } => {
                if std::mem::take(alert_pending) {
                    let record = [
                        0x15,
                        0x03,
                        0x03,
                        0x00,
                        0x02,
                        0x02,
                        alert::NO_APPLICATION_PROTOCOL,
                    ];
                    out.write(record.len(), |b| copy(&record, b), |n| Some(*n))?
                        .map_err(|_| TlsError::new(TlsErrorKind::Closed))?;
                }
                Err(TlsError::new(TlsErrorKind::NoApplicationProtocol)
                    .with_alert_sent(alert::NO_APPLICATION_PROTOCOL))
            }
        };
        self.keep_seed();
        let result = result.and_then(|p| {
            if p.handshake_completed && self.negotiated_alpn_wire().is_none() {
                // A server outside decisions.md §2 that chose no ALPN.
                return Err(TlsError::new(TlsErrorKind::NoApplicationProtocol));
            }
            Ok(p)
        });
        if let Err(e) = &result {
            if !e.is_transient() {
                self.error = Some(e.clone());
            }
        }
        result
    }

    /// Encrypts `plaintext` into TLS records appended to `outgoing` (records of at most
    /// 16 KiB of plaintext each), after any handshake message rustls has queued (a key
    /// update). Needs a completed handshake, or a server past its first flight (0.5-RTT);
    /// earlier it fails with [`TlsErrorKind::NotReady`] and leaves everything unchanged.
    pub fn encrypt(&mut self, plaintext: &[u8], outgoing: &mut Vec<u8>) -> Result<(), TlsError> {
        self.write(plaintext, &mut Out::Vec(outgoing)).map(|_| ())
    }

    /// Like [`TlsSession::encrypt`], into a fixed buffer of at least
    /// [`encrypted_len`] + [`POST_HANDSHAKE_ROOM`] bytes; returns the bytes written. A
    /// smaller buffer fails with BufferTooSmall (and the size needed) before anything is
    /// encrypted.
    pub fn encrypt_into(
        &mut self,
        plaintext: &[u8],
        outgoing: &mut [u8],
    ) -> Result<usize, TlsError> {
        // Checked first: a queued key update taken out of rustls cannot be put back.
        let need = encrypted_len(plaintext.len()) + POST_HANDSHAKE_ROOM;
        if outgoing.len() < need {
            return Err(TlsError::buffer_too_small(need));
        }
        let mut out = Out::Slice {
            buf: outgoing,
            len: 0,
        };
        self.write(plaintext, &mut out)?;
        match out {
            Out::Slice { len, .. } => Ok(len),
            Out::Vec(_) => Ok(0),
        }
    }

    fn write(&mut self, plaintext: &[u8], out: &mut Out<'_>) -> Result<(), TlsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if !self.flags.may_send {
            // Before rustls can encrypt, touching it would hand out handshake bytes here.
            return Err(TlsError::new(TlsErrorKind::NotReady));
        }
        let result = match &mut self.conn {
            Conn::Kernel(k) => match out {
                Out::Vec(v) => k.encrypt(plaintext, v),
                Out::Slice { buf, len } => {
                    let mut v = Vec::new();
                    k.encrypt(plaintext, &mut v).and_then(|()| {
                        copy(&v, &mut buf[*len..])
                            .map(|n| *len += n)
                            .map_err(TlsError::buffer_too_small)
                    })
                }
            },
            Conn::Client(c) => secrets::scope(&mut self.capture, || {
                write_traffic(
                    c,
                    &mut self.incoming,
                    &mut self.stashed,
                    &mut self.flags,
                    out,
                    |wt, b| wt.encrypt(plaintext, b),
                    encrypted_len(plaintext.len()),
                )
            }),
            Conn::Server(c) => secrets::scope(&mut self.capture, || {
                write_traffic(
                    c,
                    &mut self.incoming,
                    &mut self.stashed,
                    &mut self.flags,
                    out,
                    |wt, b| wt.encrypt(plaintext, b),
                    encrypted_len(plaintext.len()),
                )
            }),
            Conn::Rejected { .. } => Err(TlsError::new(TlsErrorKind::Closed)),
        };
        // rustls may have taken the client's Finished meanwhile, issuing the seed ticket.
        self.keep_seed();
        if let Err(e) = &result {
            if !e.is_transient() {
                self.error = Some(e.clone());
            }
        }
        result
    }

    /// Keeps the seed ticket (see `tickets`) if the last call into rustls on this thread,
    /// for this server session, issued one.
    fn keep_seed(&mut self) {
        if self.client {
            return;
        }
        if let Some(seed) = tickets::take_seed() {
            self.seed = Some(seed);
        }
    }

    /// Appends a close_notify alert to `outgoing`; no data can be sent after it. Returns
    /// false when the handshake has not got far enough to send one (just close).
    pub fn close_notify(&mut self, outgoing: &mut Vec<u8>) -> Result<bool, TlsError> {
        if self.flags.close_notify_sent {
            return Ok(true);
        }
        if self.error.is_some() || !self.flags.handshake_complete {
            return Ok(false);
        }
        if let Conn::Kernel(k) = &mut self.conn {
            k.close_notify(outgoing)?;
            self.flags.close_notify_sent = true;
            return Ok(true);
        }
        let mut out = Out::Vec(outgoing);
        let result = match &mut self.conn {
            Conn::Client(c) => secrets::scope(&mut self.capture, || {
                write_traffic(
                    c,
                    &mut self.incoming,
                    &mut self.stashed,
                    &mut self.flags,
                    &mut out,
                    |wt, b| wt.queue_close_notify(b),
                    RECORD_OVERHEAD + 2,
                )
            }),
            Conn::Server(c) => secrets::scope(&mut self.capture, || {
                write_traffic(
                    c,
                    &mut self.incoming,
                    &mut self.stashed,
                    &mut self.flags,
                    &mut out,
                    |wt, b| wt.queue_close_notify(b),
                    RECORD_OVERHEAD + 2,
                )
            }),
            Conn::Rejected { .. } | Conn::Kernel(_) => return Ok(false),
        };
        self.keep_seed();
        result?;
        self.flags.close_notify_sent = true;
        Ok(true)
    }

    /// Sends a TLS 1.3 KeyUpdate asking the peer to update too (rustls also does this by
    /// itself before a key's confidentiality limit). The message goes out with the next
    /// [`TlsSession::process`] or [`TlsSession::encrypt`].
    pub fn refresh_traffic_keys(&mut self, outgoing: &mut Vec<u8>) -> Result<(), TlsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if !self.flags.handshake_complete {
            return Err(TlsError::new(TlsErrorKind::NotReady));
        }
        let result = match &mut self.conn {
            Conn::Kernel(k) => k.refresh_traffic_keys(outgoing),
            Conn::Client(c) => secrets::scope(&mut self.capture, || {
                refresh_keys(
                    c,
                    &mut self.incoming,
                    &mut self.stashed,
                    &mut self.flags,
                    &mut Out::Vec(outgoing),
                )
            }),
            Conn::Server(c) => secrets::scope(&mut self.capture, || {
                refresh_keys(
                    c,
                    &mut self.incoming,
                    &mut self.stashed,
                    &mut self.flags,
                    &mut Out::Vec(outgoing),
                )
            }),
            Conn::Rejected { .. } => Err(TlsError::new(TlsErrorKind::Closed)),
        };
        self.keep_seed();
        if let Err(e) = &result {
            if !e.is_transient() {
                self.error = Some(e.clone());
            }
        }
        result
    }

    /// Server: sends a NewSessionTicket carrying `app_data` (MsQuic's
    /// ConnectionSendResumptionTicket), appended to `outgoing`. Needs resumption on and the
    /// handshake over; else [`TlsErrorKind::NotReady`].
    pub fn send_resumption_ticket(
        &mut self,
        app_data: &[u8],
        outgoing: &mut Vec<u8>,
    ) -> Result<(), TlsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let (Conn::Kernel(k), Some(seed), Some(ticketer)) =
            (&mut self.conn, &self.seed, &self.ticketer)
        else {
            return Err(TlsError::new(TlsErrorKind::NotReady));
        };
        let msg = ticketer
            .seal(seed, app_data)
            .and_then(|t| tickets::new_session_ticket(seed, &t, self.ticket_early_data))
            .ok_or_else(|| TlsError::new(TlsErrorKind::NotReady))?;
        let result = k.send_handshake_message(&msg, outgoing);
        if let Err(e) = &result {
            self.error = Some(e.clone());
        }
        result
    }

    /// Client: how many bytes of early data (0-RTT) may go with the ClientHello: what the
    /// offered ticket allows, until the ClientHello is out; 0 without such a ticket.
    pub fn early_data_room(&self) -> usize {
        if self.early.sent.is_some() || self.early_accepted.is_some() || self.error.is_some() {
            return 0;
        }
        self.early_room
    }

    /// Client: plaintext to send as early data with the ClientHello (at most
    /// [`TlsSession::early_data_room`] bytes). Whatever the server does not take is sent
    /// again after the handshake ([`TlsSession::take_replay`]), so the byte stream is the
    /// same either way.
    pub fn set_early_data(&mut self, plaintext: Vec<u8>) {
        if !plaintext.is_empty() && plaintext.len() <= self.early_data_room() {
            self.early.pending = Some(plaintext);
        }
    }

    /// Client: whether early data is out (or about to go) and the handshake has not yet said
    /// whether the server took it.
    pub fn early_data_unsettled(&self) -> bool {
        self.early.pending.is_some() || self.early.sent.is_some()
    }

    /// Client: whether the server took the early data; `None` before the handshake ends or
    /// when none was sent.
    pub fn early_data_accepted(&self) -> Option<bool> {
        self.early_accepted
    }

    /// Client: the early data the server did not take, once the handshake is over: to be
    /// sent (encrypted as application data) before anything else.
    pub fn take_replay(&mut self) -> Option<Vec<u8>> {
        self.replay.take()
    }

    /// Client: the tickets received since the last call, as numbers naming them in this
    /// process (for [`TlsSession::client_resuming`]).
    pub fn take_tickets(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.tickets)
    }

    /// Whether the handshake is complete (both directions keyed, peer authenticated).
    pub fn is_handshake_complete(&self) -> bool {
        self.flags.handshake_complete
    }

    /// Whether the peer sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.flags.peer_closed
    }

    /// Whether we sent close_notify.
    pub fn close_notify_sent(&self) -> bool {
        self.flags.close_notify_sent
    }

    /// The error that ended the session, if one did.
    pub fn error(&self) -> Option<&TlsError> {
        self.error.as_ref()
    }

    /// Whether this is the client side.
    pub fn is_client(&self) -> bool {
        self.client
    }

    /// Whether records are protected by this crate now (after the handshake), so that
    /// [`TlsSession::seal_with`] works.
    pub fn seals_in_place(&self) -> bool {
        matches!(self.conn, Conn::Kernel(_)) && self.error.is_none()
    }

    /// Produces one application data record in `room` (at least [`SEAL_ROOM`] bytes):
    /// `fill` writes up to 16 KiB of plaintext where the record's content goes and returns
    /// how many bytes; the record is sealed in place around it. A KeyUpdate the peer asked
    /// for (or the key's confidentiality limit needs) goes first, even when `fill` writes
    /// nothing. Returns the bytes of `room` used, 0 if nothing was produced. Before [`TlsSession::seals_in_place`] it
    /// fails with [`TlsErrorKind::NotReady`].
    pub fn seal_with(
        &mut self,
        room: &mut [u8],
        fill: &mut dyn FnMut(&mut [u8]) -> usize,
    ) -> Result<usize, TlsError> {
        self.with_kernel(|k| k.seal_with(room, fill))
    }

    /// Runs `f` on the session past its handshake; a failure is kept, and fails every later
    /// call. Before [`TlsSession::seals_in_place`] it fails with [`TlsErrorKind::NotReady`].
    fn with_kernel<R>(
        &mut self,
        f: impl FnOnce(&mut Kernel) -> Result<R, TlsError>,
    ) -> Result<R, TlsError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let Conn::Kernel(k) = &mut self.conn else {
            return Err(TlsError::new(TlsErrorKind::NotReady));
        };
        let result = f(k);
        if let Err(e) = &result {
            self.error = Some(e.clone());
        }
        result
    }

    /// Whether [`TlsSession::seal_streaming`] works now: records are protected here, with an
    /// AES-GCM suite.
    pub fn can_stream(&self) -> bool {
        matches!(&self.conn, Conn::Kernel(k) if k.can_stream()) && self.error.is_none()
    }

    /// As [`TlsSession::seal_with`], for a record of exactly `content_len` bytes (at most
    /// [`MAX_RECORD_PLAINTEXT`]) that `fill` writes into a [`SealSink`], encrypted as it
    /// comes. Only when [`TlsSession::can_stream`]; a `fill` writing another amount fails the
    /// session.
    pub fn seal_streaming(
        &mut self,
        room: &mut [u8],
        content_len: usize,
        fill: &mut dyn FnMut(&mut SealSink<'_>),
    ) -> Result<usize, TlsError> {
        self.with_kernel(|k| k.seal_streaming(room, content_len, fill))
    }

    /// Bounds the records opened after the handshake from now on until the next call
    /// (`None`, the default: no bound); past it, records wait in the receive buffer and
    /// [`Progress::records_left`] says so. A caller serving many connections sets a budget
    /// per turn.
    pub fn set_record_budget(&mut self, records: Option<usize>) {
        self.record_budget = records;
    }

    /// Appends an application data record with no content (as a hostile peer might send).
    #[cfg(test)]
    pub(crate) fn seal_empty_record(&mut self, out: &mut Vec<u8>) {
        if let Conn::Kernel(k) = &mut self.conn {
            k.seal_empty_record(out);
        }
    }

    /// Seals any record with the current sending key (fuzz targets only): false before
    /// [`Kernel`] protects records.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn seal_raw(
        &mut self,
        ty: u8,
        content: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool, TlsError> {
        match &mut self.conn {
            Conn::Kernel(k) => k.seal_raw(ty, content, out).map(|()| true),
            _ => Ok(false),
        }
    }

    /// Sends a KeyUpdate with any request byte (fuzz targets only): false before
    /// [`Kernel`] protects records.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn key_update_raw(
        &mut self,
        request: u8,
        out: &mut Vec<u8>,
    ) -> Result<bool, TlsError> {
        match &mut self.conn {
            Conn::Kernel(k) => k.key_update_raw(request, out).map(|()| true),
            _ => Ok(false),
        }
    }

    /// Sends the handshake's secrets to `sink` as they are derived (MsQuic's
    /// QUIC_PARAM_CONN_TLS_SECRETS). Set it before the handshake starts.
    pub fn set_secret_sink(&mut self, sink: SecretSink) {
        self.capture.set_sink(sink);
    }

    /// Fills `out` with the TLS 1.3 exporter's keying material for `label` and `context`
    /// (RFC 8446 §7.5, as rustls' and OpenSSL's `export_keying_material`). Needs a
    /// completed handshake.
    pub fn export_keying_material(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Result<(), ExportError> {
        if !self.flags.handshake_complete || self.error.is_some() {
            return Err(ExportError::NotReady);
        }
        let suite = match &self.snapshot {
            Some(s) => s.suite,
            None => self.tls13_suite(),
        };
        let (Some(suite), Some(secret)) = (suite, self.capture.exporter()) else {
            return Err(ExportError::NotReady);
        };
        secrets::export(suite, secret, label, context, out)
    }

    fn tls13_suite(&self) -> Option<&'static rustls::Tls13CipherSuite> {
        self.common()?.negotiated_cipher_suite()?.tls13()
    }

    fn common(&self) -> Option<&rustls::CommonState> {
        match &self.conn {
            Conn::Client(c) => Some(c.common()),
            Conn::Server(c) => Some(c.common()),
            Conn::Rejected { .. } | Conn::Kernel(_) => None,
        }
    }

    /// The negotiated ALPN token as it went on the wire (`X` or `Xqx`).
    pub fn negotiated_alpn_wire(&self) -> Option<&[u8]> {
        if let Some(s) = &self.snapshot {
            return s.alpn.as_deref();
        }
        self.common()?.alpn_protocol()
    }

    /// The negotiated ALPN as the application knows it (`X`, whichever form was used).
    pub fn negotiated_alpn(&self) -> Option<&[u8]> {
        alpn::app_token(self.negotiated_alpn_wire()?, &self.alpn)
    }

    /// The server name: asked for by the client, or received in the client's SNI.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The peer's certificate chain (DER, leaf first), once received.
    pub fn peer_certificates(&self) -> Option<&[CertificateDer<'static>]> {
        if let Some(s) = &self.snapshot {
            return s.certificates.as_deref();
        }
        self.common()?.peer_certificates()
    }

    /// The negotiated version, cipher suite and group, once the handshake got that far.
    pub fn handshake_info(&self) -> Option<HandshakeInfo> {
        if let Some(s) = &self.snapshot {
            return s.handshake;
        }
        let common = self.common()?;
        let suite = common.negotiated_cipher_suite()?;
        Some(HandshakeInfo {
            protocol_version: u16::from(common.protocol_version()?),
            cipher_suite: u16::from(suite.suite()),
            key_exchange_group: common
                .negotiated_key_exchange_group()
                .map(|g| u16::from(g.name())),
            resumed: common.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        })
    }
}
