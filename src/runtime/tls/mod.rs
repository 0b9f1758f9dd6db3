//! TLS 1.3 for QMux over TCP, on rustls: credentials and configurations
//! ([`Credentials`]), ALPN in the forms of decisions.md §2 ([`alpn`]), the server's early
//! look at the ClientHello ([`client_hello`]), and one connection's session
//! ([`TlsSession`]) over rustls' unbuffered API. Knows nothing of C types.

pub mod alpn;
mod buffer;
pub mod client_hello;
mod compat;
mod credentials;
mod error;
mod hkdf;
mod kernel;
mod keys;
mod peer_chain;
#[allow(unsafe_code)]
mod pkcs12;
mod pkcs7;
mod protection;
mod records;
mod secrets;
mod session;
#[allow(unsafe_code)]
mod streaming;
mod tickets;
mod verify;

#[cfg(test)]
mod tests;

pub use buffer::{RecvBuffer, release_pooled};
pub use client_hello::ClientHello;
pub use credentials::{
    CertificateSource, CipherSuites, Credentials, PeerVerification, TlsClientConfig,
    TlsServerConfig,
};
pub use error::{
    CertStatus, CredentialError, CredentialStatus, MISMATCH_PLAIN_END, MISMATCH_TLS_END, TlsError,
    TlsErrorKind, TlsStatus, alert, alert_name,
};
pub use secrets::{ExportError, SecretKind, SecretSink};
pub use session::{
    HandshakeInfo, MAX_RECORD_PLAINTEXT, POST_HANDSHAKE_ROOM, Plaintext, Progress, RECORD_OVERHEAD,
    Resumption, SEAL_ROOM, TlsSession, encrypted_len,
};
pub use streaming::SealSink;
pub use verify::system_roots;
