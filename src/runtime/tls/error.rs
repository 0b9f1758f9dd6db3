//! Errors of the TLS layer: loading credentials ([`CredentialError`]) and running a
//! session ([`TlsError`]), each with the class of MsQuic status it stands for.

use std::fmt;
use std::io;
use std::path::PathBuf;

use rustls::{AlertDescription, CertificateError};

/// TLS alert codes (RFC 8446 §6) this layer names; any other code is carried as a number.
pub mod alert {
    /// `close_notify`.
    pub const CLOSE_NOTIFY: u8 = 0;
    /// `handshake_failure`.
    pub const HANDSHAKE_FAILURE: u8 = 40;
    /// `bad_certificate`.
    pub const BAD_CERTIFICATE: u8 = 42;
    /// `certificate_revoked`.
    pub const CERTIFICATE_REVOKED: u8 = 44;
    /// `certificate_expired`.
    pub const CERTIFICATE_EXPIRED: u8 = 45;
    /// `certificate_unknown`.
    pub const CERTIFICATE_UNKNOWN: u8 = 46;
    /// `unknown_ca`.
    pub const UNKNOWN_CA: u8 = 48;
    /// `decode_error`.
    pub const DECODE_ERROR: u8 = 50;
    /// `internal_error`.
    pub const INTERNAL_ERROR: u8 = 80;
    /// `user_canceled`.
    pub const USER_CANCELED: u8 = 90;
    /// `certificate_required`.
    pub const CERTIFICATE_REQUIRED: u8 = 116;
    /// `no_application_protocol`.
    pub const NO_APPLICATION_PROTOCOL: u8 = 120;
}

/// The MsQuic status a [`CredentialError`] stands for (the api layer owns the numbers).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum CredentialStatus {
    /// `QUIC_STATUS_INVALID_PARAMETER`: the description itself is unusable.
    InvalidParameter,
    /// `QUIC_STATUS_NOT_SUPPORTED`: a valid request this build cannot honour.
    NotSupported,
    /// `QUIC_STATUS_TLS_ERROR`: the files or blob could not be used (missing or unreadable
    /// file, bad PEM, PKCS#12, password, key type, key/certificate mismatch), as MsQuic's
    /// OpenSSL build reports.
    TlsError,
}

/// Why credentials could not be turned into a rustls configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum CredentialError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// A PEM file held no certificate.
    NoCertificate(PathBuf),
    /// A PEM file held no private key.
    NoPrivateKey(PathBuf),
    /// A PEM file is malformed.
    BadPem(PathBuf, String),
    /// An encrypted private key could not be decrypted (usually a wrong password).
    KeyDecryption(String),
    /// A PKCS#12 blob could not be parsed or decrypted (wrong password included).
    BadPkcs12(String),
    /// A PKCS#12 blob held no private key with its certificate.
    Pkcs12WithoutKey,
    /// Server credentials need a certificate; `None` is for clients only.
    ServerNeedsCertificate,
    /// The allowed cipher suite set is empty.
    NoCipherSuites,
    /// rustls refused the key or certificate (unsupported key type, mismatch, ...).
    Rustls(rustls::Error),
}

impl CredentialError {
    /// The MsQuic status class of this error.
    ///
    /// MsQuic's OpenSSL build returns `QUIC_STATUS_TLS_ERROR` for every unusable file,
    /// missing ones included (the certificate, the key and the CA file alike).
    pub fn status(&self) -> CredentialStatus {
        match self {
            Self::ServerNeedsCertificate | Self::NoCipherSuites => {
                CredentialStatus::InvalidParameter
            }
            Self::Io { .. }
            | Self::NoCertificate(_)
            | Self::NoPrivateKey(_)
            | Self::BadPem(..)
            | Self::KeyDecryption(_)
            | Self::BadPkcs12(_)
            | Self::Pkcs12WithoutKey
            | Self::Rustls(_) => CredentialStatus::TlsError,
        }
    }
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            Self::NoCertificate(p) => write!(f, "no certificate in {}", p.display()),
            Self::NoPrivateKey(p) => write!(f, "no private key in {}", p.display()),
            Self::BadPem(p, why) => write!(f, "malformed PEM in {}: {why}", p.display()),
            Self::KeyDecryption(why) => write!(f, "cannot decrypt the private key: {why}"),
            Self::BadPkcs12(why) => write!(f, "unusable PKCS#12 blob: {why}"),
            Self::Pkcs12WithoutKey => f.write_str("PKCS#12 blob holds no key and certificate"),
            Self::ServerNeedsCertificate => f.write_str("a server needs a certificate"),
            Self::NoCipherSuites => f.write_str("no allowed cipher suite"),
            Self::Rustls(e) => write!(f, "rustls refused the credentials: {e}"),
        }
    }
}

impl std::error::Error for CredentialError {}

/// What went wrong in a TLS session, in classes that decide the MsQuic status.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The peer sent a fatal alert (its code is in [`TlsError::alert_received`]).
    AlertReceived,
    /// No common application protocol.
    NoApplicationProtocol,
    /// The peer's certificate is expired or not yet valid.
    CertificateExpired,
    /// The peer's certificate does not chain to a trusted root (unknown issuer).
    CertificateUntrusted,
    /// The peer's certificate was revoked.
    CertificateRevoked,
    /// The peer's certificate is unusable for another reason (wrong name, bad encoding, ...).
    BadCertificate,
    /// The peer sent no certificate although one is required.
    NoCertificate,
    /// The server name given for the connection is not a valid DNS name or IP address.
    InvalidServerName,
    /// The peer broke the protocol (bad message, bad record, decryption failure).
    Protocol,
    /// Any other handshake failure (no common cipher suite, group or version, ...).
    HandshakeFailure,
    /// An output buffer given to the session was too small (see [`TlsError::required_size`]).
    BufferTooSmall,
    /// The session was used after the connection closed or failed.
    Closed,
    /// Application data cannot be sent yet: the handshake is still running. The session
    /// is unharmed.
    NotReady,
    /// This end speaks QMux over TLS, and the peer's first bytes are a plain QMux record.
    PeerSpeaksPlain,
    /// This end speaks plain QMux, and the peer's first bytes are a TLS record.
    PeerSpeaksTls,
}

impl TlsErrorKind {
    /// For the transport mismatches, what this end saw, in words.
    fn mismatch_words(self) -> Option<&'static str> {
        match self {
            Self::PeerSpeaksPlain => Some(MISMATCH_TLS_END),
            Self::PeerSpeaksTls => Some(MISMATCH_PLAIN_END),
            _ => None,
        }
    }
}

/// Why a TLS end gives up when the peer sends a plain QMux record.
pub const MISMATCH_TLS_END: &str = "the peer is not speaking QMux over TLS 1.3 (it sent a plain \
    QMux record): both ends must use the same transport (MSQUIC_QMUX_TRANSPORT / \
    QUIC_PARAM_REGISTRATION_TRANSPORT)";

/// Why a plain QMux end gives up when the peer sends a TLS record.
pub const MISMATCH_PLAIN_END: &str = "the peer is not speaking QMux over plain TCP (it sent a \
    TLS record): both ends must use the same transport (MSQUIC_QMUX_TRANSPORT / \
    QUIC_PARAM_REGISTRATION_TRANSPORT)";

/// A session error: its class, the alert sent or received, and rustls' own error.
#[derive(Clone, Debug)]
pub struct TlsError {
    kind: TlsErrorKind,
    alert_sent: Option<u8>,
    alert_received: Option<u8>,
    required_size: usize,
    source: Option<rustls::Error>,
}

/// The MsQuic status class of a [`TlsError`], following MsQuic's `QuicErrorCodeToStatus`:
/// a TLS failure travels as CRYPTO_ERROR(alert) and both sides derive the status from the
/// alert code.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum TlsStatus {
    /// `QUIC_STATUS_ALPN_NEG_FAILURE` (alert 120).
    AlpnNegFailure,
    /// `QUIC_STATUS_HANDSHAKE_FAILURE` (alert 40, or no alert at all).
    HandshakeFailure,
    /// `QUIC_STATUS_USER_CANCELED` (alert 90).
    UserCanceled,
    /// `QUIC_STATUS_TLS_ALERT(code)` for any other alert (`BAD_CERTIFICATE` is 42, ...).
    TlsAlert(u8),
    /// `QUIC_STATUS_INVALID_PARAMETER` (bad server name) .
    InvalidParameter,
    /// `QUIC_STATUS_BUFFER_TOO_SMALL`.
    BufferTooSmall,
    /// `QUIC_STATUS_INVALID_STATE`: the session is closed, or not ready for data.
    InvalidState,
    /// `QUIC_STATUS_VER_NEG_ERROR`: the peer speaks the other transport (TLS or plain).
    VerNegError,
}

/// Certificate failures as MsQuic's certificate statuses (`QUIC_STATUS_CERT_*`), for
/// `PEER_CERTIFICATE_RECEIVED`'s DeferredStatus.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum CertStatus {
    /// `QUIC_STATUS_CERT_EXPIRED`.
    Expired,
    /// `QUIC_STATUS_CERT_UNTRUSTED_ROOT`.
    UntrustedRoot,
    /// `QUIC_STATUS_CERT_NO_CERT`.
    NoCert,
    /// `QUIC_STATUS_REVOKED_CERTIFICATE` (the TLS alert status for 44).
    Revoked,
    /// `QUIC_STATUS_BAD_CERTIFICATE` (the TLS alert status for 42).
    BadCertificate,
    /// `QUIC_STATUS_TLS_ERROR`: any other failure.
    Other,
}

impl TlsError {
    pub(crate) fn new(kind: TlsErrorKind) -> Self {
        Self {
            kind,
            alert_sent: None,
            alert_received: None,
            required_size: 0,
            source: None,
        }
    }

    pub(crate) fn buffer_too_small(required_size: usize) -> Self {
        Self {
            required_size,
            ..Self::new(TlsErrorKind::BufferTooSmall)
        }
    }

    pub(crate) fn with_alert_sent(mut self, code: u8) -> Self {
        self.alert_sent = Some(code);
        self
    }

    /// Classifies a rustls error raised while processing records, with the alert rustls
    /// sends for it (rustls' own mapping).
    pub(crate) fn from_rustls(err: rustls::Error) -> Self {
        use rustls::Error as E;
        let (kind, sent, received) = match &err {
            E::AlertReceived(a) => {
                let code = u8::from(*a);
                let kind = match code {
                    alert::NO_APPLICATION_PROTOCOL => TlsErrorKind::NoApplicationProtocol,
                    _ => TlsErrorKind::AlertReceived,
                };
                (kind, None, Some(code))
            }
            E::NoApplicationProtocol => (
                TlsErrorKind::NoApplicationProtocol,
                Some(alert::NO_APPLICATION_PROTOCOL),
                None,
            ),
            E::InvalidCertificate(ce) => {
                let kind = cert_kind(ce);
                (
                    kind,
                    Some(u8::from(AlertDescription::from(ce.clone()))),
                    None,
                )
            }
            E::NoCertificatesPresented => (
                TlsErrorKind::NoCertificate,
                Some(alert::CERTIFICATE_REQUIRED),
                None,
            ),
            E::DecryptError => (TlsErrorKind::Protocol, Some(20), None),
            E::InvalidMessage(_) => (TlsErrorKind::Protocol, Some(alert::DECODE_ERROR), None),
            E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
                (TlsErrorKind::Protocol, Some(10), None)
            }
            E::PeerMisbehaved(_) => (TlsErrorKind::Protocol, None, None),
            E::PeerIncompatible(_) => (
                TlsErrorKind::HandshakeFailure,
                Some(alert::HANDSHAKE_FAILURE),
                None,
            ),
            _ => (TlsErrorKind::HandshakeFailure, None, None),
        };
        Self {
            kind,
            alert_sent: sent,
            alert_received: received,
            required_size: 0,
            source: Some(err),
        }
    }

    /// The class of the failure.
    pub fn kind(&self) -> TlsErrorKind {
        self.kind
    }

    /// The fatal alert the peer sent us, if that is what ended the session.
    pub fn alert_received(&self) -> Option<u8> {
        self.alert_received
    }

    /// The fatal alert we sent the peer, if we know it.
    pub fn alert_sent(&self) -> Option<u8> {
        self.alert_sent
    }

    /// The alert that describes the failure, received or sent: the code MsQuic puts in
    /// CONNECTION_CLOSE's CRYPTO_ERROR and turns into the connection's status.
    pub fn tls_alert_code(&self) -> Option<u8> {
        self.alert_received.or(self.alert_sent)
    }

    /// For [`TlsErrorKind::BufferTooSmall`], the size the output buffer needs.
    pub fn required_size(&self) -> usize {
        self.required_size
    }

    /// The rustls error behind this one, if any.
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        self.source.as_ref()
    }

    /// Whether the session survives this error (a too small buffer, a write before the
    /// handshake is done); any other error ends the session.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            TlsErrorKind::BufferTooSmall | TlsErrorKind::NotReady
        )
    }

    /// The MsQuic status class for this failure (see [`TlsStatus`]).
    pub fn status(&self) -> TlsStatus {
        match self.kind {
            TlsErrorKind::InvalidServerName => return TlsStatus::InvalidParameter,
            TlsErrorKind::BufferTooSmall => return TlsStatus::BufferTooSmall,
            TlsErrorKind::Closed | TlsErrorKind::NotReady => return TlsStatus::InvalidState,
            TlsErrorKind::NoApplicationProtocol => return TlsStatus::AlpnNegFailure,
            TlsErrorKind::PeerSpeaksPlain | TlsErrorKind::PeerSpeaksTls => {
                return TlsStatus::VerNegError;
            }
            _ => {}
        }
        match self.tls_alert_code() {
            None | Some(alert::HANDSHAKE_FAILURE) => TlsStatus::HandshakeFailure,
            Some(alert::NO_APPLICATION_PROTOCOL) => TlsStatus::AlpnNegFailure,
            Some(alert::USER_CANCELED) => TlsStatus::UserCanceled,
            Some(code) => TlsStatus::TlsAlert(code),
        }
    }

    /// Why the session failed, in words for a log line: which certificate check failed and
    /// why, which alert the peer sent, ...
    pub fn reason(&self) -> String {
        use rustls::Error as E;
        if let Some(words) = self.kind.mismatch_words() {
            return words.to_string();
        }
        let detail = match &self.source {
            Some(E::InvalidCertificate(ce)) => {
                format!("the peer's certificate was refused: {}", cert_words(ce))
            }
            Some(E::NoCertificatesPresented) => {
                "the peer sent no certificate, and one is required".to_string()
            }
            Some(E::NoApplicationProtocol) => {
                "no common ALPN: the peer offered none of this end's protocols".to_string()
            }
            Some(E::AlertReceived(_)) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let alert = match (self.alert_received, self.alert_sent) {
            (Some(a), _) => {
                let why = match a {
                    alert::NO_APPLICATION_PROTOCOL => ": the peer takes none of this end's ALPNs",
                    alert::BAD_CERTIFICATE
                    | alert::CERTIFICATE_EXPIRED
                    | alert::CERTIFICATE_UNKNOWN
                    | alert::CERTIFICATE_REVOKED
                    | alert::UNKNOWN_CA
                    | 43 => ": the peer refused this end's certificate",
                    alert::CERTIFICATE_REQUIRED => {
                        ": the peer requires a certificate from this end"
                    }
                    _ => "",
                };
                format!("the peer sent TLS alert {a} ({}){why}", alert_name(a))
            }
            (None, Some(a)) => format!("TLS alert {a} ({}) sent", alert_name(a)),
            (None, None) => String::new(),
        };
        match (detail.is_empty(), alert.is_empty()) {
            (false, false) => format!("{detail}; {alert}"),
            (false, true) => detail,
            (true, false) => alert,
            (true, true) => format!("TLS {:?}", self.kind),
        }
    }

    /// The certificate status class, when the failure is about the peer's certificate as
    /// judged locally.
    pub fn cert_status(&self) -> Option<CertStatus> {
        match self.kind {
            TlsErrorKind::CertificateExpired => Some(CertStatus::Expired),
            TlsErrorKind::CertificateUntrusted => Some(CertStatus::UntrustedRoot),
            TlsErrorKind::NoCertificate => Some(CertStatus::NoCert),
            TlsErrorKind::CertificateRevoked => Some(CertStatus::Revoked),
            TlsErrorKind::BadCertificate => Some(CertStatus::BadCertificate),
            _ => None,
        }
    }
}

/// RFC 8446's name of a TLS alert.
pub fn alert_name(code: u8) -> &'static str {
    match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown alert",
    }
}

/// A certificate check's failure in words.
fn cert_words(ce: &CertificateError) -> String {
    use CertificateError as C;
    match ce {
        C::NotValidForNameContext {
            expected,
            presented,
        } => {
            let names = if presented.is_empty() {
                "no name".to_string()
            } else {
                presented.join(", ")
            };
            format!(
                "name mismatch: the certificate is for {names}, connecting to {}",
                expected.to_str()
            )
        }
        C::NotValidForName => {
            "name mismatch: the certificate is not for the name connected to".to_string()
        }
        C::Expired => "certificate expired".to_string(),
        C::ExpiredContext { time, not_after } => format!(
            "certificate expired: not valid after {} (UNIX time), {} seconds ago",
            not_after.as_secs(),
            time.as_secs().saturating_sub(not_after.as_secs())
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "certificate not valid yet (its notBefore is in the future)".to_string()
        }
        C::UnknownIssuer => "unknown issuer: the certificate does not chain to a trusted \
                             root (QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE names more)"
            .to_string(),
        C::Revoked => "certificate revoked".to_string(),
        C::BadSignature => "bad signature on the certificate".to_string(),
        C::BadEncoding => "badly encoded certificate".to_string(),
        other => format!("certificate refused: {other}"),
    }
}

fn cert_kind(ce: &CertificateError) -> TlsErrorKind {
    use CertificateError as C;
    match ce {
        C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
            TlsErrorKind::CertificateExpired
        }
        C::UnknownIssuer => TlsErrorKind::CertificateUntrusted,
        C::Revoked => TlsErrorKind::CertificateRevoked,
        _ => TlsErrorKind::BadCertificate,
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS {:?}", self.kind)?;
        if let Some(a) = self.alert_received {
            write!(f, ", alert {a} received")?;
        }
        if let Some(a) = self.alert_sent {
            write!(f, ", alert {a} sent")?;
        }
        if self.kind == TlsErrorKind::BufferTooSmall {
            write!(f, ", {} bytes needed", self.required_size)?;
        }
        if let Some(e) = &self.source {
            write!(f, ": {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TlsError {}
