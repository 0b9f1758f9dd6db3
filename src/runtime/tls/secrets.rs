//! The handshake's secrets as rustls derives them: handed to a session's [`SecretSink`]
//! when the application asked for them, and the exporter secret kept for
//! [`super::TlsSession::export_keying_material`] (RFC 8446 §7.5).
//!
//! rustls reports secrets through the configuration's [`rustls::KeyLog`], which is shared
//! by every session of a configuration. [`SessionKeyLog`] writes them to `SSLKEYLOGFILE`
//! when that is set, and to the [`Capture`] of the session being driven on this thread:
//! the session lends its capture for the duration of each call into rustls ([`scope`]).

use std::cell::RefCell;

use rustls::crypto::tls13::OkmBlock;
use rustls::{KeyLog, KeyLogFile, Tls13CipherSuite};

/// One of the secrets a [`SecretSink`] receives (the parts of MsQuic's QUIC_TLS_SECRETS).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum SecretKind {
    /// The ClientHello's random (32 bytes), sent before the first secret.
    ClientRandom,
    /// client_early_traffic_secret (0-RTT).
    ClientEarlyTraffic,
    /// client_handshake_traffic_secret.
    ClientHandshakeTraffic,
    /// server_handshake_traffic_secret.
    ServerHandshakeTraffic,
    /// client_application_traffic_secret_0.
    ClientTraffic0,
    /// server_application_traffic_secret_0.
    ServerTraffic0,
}

impl SecretKind {
    fn from_label(label: &str) -> Option<Self> {
        Some(match label {
            "CLIENT_EARLY_TRAFFIC_SECRET" => Self::ClientEarlyTraffic,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => Self::ClientHandshakeTraffic,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => Self::ServerHandshakeTraffic,
            "CLIENT_TRAFFIC_SECRET_0" => Self::ClientTraffic0,
            "SERVER_TRAFFIC_SECRET_0" => Self::ServerTraffic0,
            _ => return None,
        })
    }
}

/// Receives a session's secrets as the handshake derives them, on the thread driving the
/// session. It is dropped once both application traffic secrets were delivered.
pub type SecretSink = Box<dyn FnMut(SecretKind, &[u8]) + Send>;

/// What one session keeps of the secrets rustls reports.
#[derive(Default)]
pub(super) struct Capture {
    sink: Option<SecretSink>,
    random_sent: bool,
    client_traffic_sent: bool,
    server_traffic_sent: bool,
    /// exporter_master_secret.
    exporter: Option<OkmBlock>,
}

impl Capture {
    /// Sends the secrets to `sink` from now on.
    pub(super) fn set_sink(&mut self, sink: SecretSink) {
        self.sink = Some(sink);
    }

    fn record(&mut self, label: &str, client_random: &[u8], secret: &[u8]) {
        if label == "EXPORTER_SECRET" {
            self.exporter = Some(OkmBlock::new(secret));
            return;
        }
        let Some(kind) = SecretKind::from_label(label) else {
            return;
        };
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        if !self.random_sent && client_random.len() == 32 {
            self.random_sent = true;
            sink(SecretKind::ClientRandom, client_random);
        }
        sink(kind, secret);
        self.client_traffic_sent |= kind == SecretKind::ClientTraffic0;
        self.server_traffic_sent |= kind == SecretKind::ServerTraffic0;
        if self.client_traffic_sent && self.server_traffic_sent {
            self.sink = None;
        }
    }

    /// Sends the client random from the client's first flight (`written`: the bytes it
    /// went out in, starting with the ClientHello's record), as MsQuic does once the
    /// ClientHello is written.
    pub(super) fn client_hello_written(&mut self, written: &[u8]) {
        // Record header (5), handshake header (4), legacy_version (2), then the random.
        const AT: usize = 5 + 4 + 2;
        if self.random_sent || written.len() < AT + 32 || written[0] != 0x16 || written[5] != 1 {
            return;
        }
        if let Some(sink) = self.sink.as_mut() {
            self.random_sent = true;
            sink(SecretKind::ClientRandom, &written[AT..AT + 32]);
        }
    }

    /// The exporter secret, once the handshake derived it.
    pub(super) fn exporter(&self) -> Option<&OkmBlock> {
        self.exporter.as_ref()
    }
}

thread_local! {
    /// The capture of the session whose rustls calls run on this thread now.
    static CURRENT: RefCell<Option<Capture>> = const { RefCell::new(None) };
}

/// Lends `capture` to the key log while `f` calls into rustls.
pub(super) fn scope<R>(capture: &mut Capture, f: impl FnOnce() -> R) -> R {
    /// Gives the capture back even if `f` panics.
    struct Restore<'a> {
        capture: &'a mut Capture,
        outer: Option<Capture>,
    }
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let outer = self.outer.take();
            let lent = CURRENT.with(|c| c.replace(outer));
            *self.capture = lent.unwrap_or_default();
        }
    }
    let lent = std::mem::take(capture);
    let outer = CURRENT.with(|c| c.replace(Some(lent)));
    let _restore = Restore { capture, outer };
    f()
}

/// The key log of every configuration: `SSLKEYLOGFILE` (when set) and the capture of the
/// session being driven.
#[derive(Debug)]
pub(super) struct SessionKeyLog {
    file: KeyLogFile,
}

impl SessionKeyLog {
    /// A key log writing to `SSLKEYLOGFILE` if that names a file.
    pub(super) fn new() -> Self {
        Self {
            file: KeyLogFile::new(),
        }
    }
}

impl KeyLog for SessionKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.file.log(label, client_random, secret);
        CURRENT.with(|c| {
            if let Some(capture) = c.borrow_mut().as_mut() {
                capture.record(label, client_random, secret);
            }
        });
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// Why `export` produced nothing.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ExportError {
    /// The handshake has not derived the exporter secret (yet), or the session is not TLS.
    NotReady,
    /// The label is too long for HKDF-Expand-Label, or the output longer than HKDF gives.
    TooLong,
}

/// HKDF-Expand-Label(secret, label, context, out.len()) (RFC 8446 §7.1).
fn expand_label(
    suite: &Tls13CipherSuite,
    secret: &OkmBlock,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), ExportError> {
    const PREFIX: &[u8] = b"tls13 ";
    let label_len = u8::try_from(PREFIX.len() + label.len()).map_err(|_| ExportError::TooLong)?;
    let context_len = u8::try_from(context.len()).map_err(|_| ExportError::TooLong)?;
    let out_len = u16::try_from(out.len()).map_err(|_| ExportError::TooLong)?;
    let out_len = out_len.to_be_bytes();
    let info: [&[u8]; 6] = [
        &out_len,
        &[label_len],
        PREFIX,
        label,
        &[context_len],
        context,
    ];
    suite
        .hkdf_provider
        .expander_for_okm(secret)
        .expand_slice(&info, out)
        .map_err(|_| ExportError::TooLong)
}

/// The TLS 1.3 exporter (RFC 8446 §7.5): HKDF-Expand-Label(Derive-Secret(exporter secret,
/// label, ""), "exporter", Hash(context), out.len()). No context and an empty one give the
/// same bytes in TLS 1.3.
pub(super) fn export(
    suite: &Tls13CipherSuite,
    exporter_secret: &OkmBlock,
    label: &[u8],
    context: Option<&[u8]>,
    out: &mut [u8],
) -> Result<(), ExportError> {
    let hash = suite.common.hash_provider;
    let empty_hash = hash.hash(&[]);
    let mut derived = [0u8; 64];
    let derived = &mut derived[..hash.output_len()];
    expand_label(suite, exporter_secret, label, empty_hash.as_ref(), derived)?;
    let context_hash = hash.hash(context.unwrap_or_default());
    expand_label(
        suite,
        &OkmBlock::new(derived),
        b"exporter",
        context_hash.as_ref(),
        out,
    )
}
