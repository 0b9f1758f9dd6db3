//! Credentials as the api layer describes them (MsQuic's QUIC_CREDENTIAL_CONFIG in Rust
//! values) and the rustls configurations built from them: TLS 1.3 only, the chosen cipher
//! suites, ALPN in the wire forms of decisions.md §2.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{CipherSuite, ClientConfig, InconsistentKeys, ServerConfig, SupportedCipherSuite};

use super::alpn;
use super::compat;
use super::error::{CertStatus, CredentialError};
use super::keys::{self, CertifiedKeyDer};
use super::peer_chain;
use super::secrets::SessionKeyLog;
use super::tickets::{ClientTickets, MAX_EARLY_DATA, Recorder, SealedStore, Ticketer};
use super::verify::{
    self, AcceptAnyClientCert, AcceptAnyServerCert, ClientVerifier, ServerVerifier,
};

/// Where this endpoint's own certificate and key come from.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum CertificateSource {
    /// No certificate (clients only; QUIC_CREDENTIAL_TYPE_NONE).
    #[default]
    None,
    /// PEM files: the chain (leaf first) and the private key, which may be an encrypted
    /// PKCS#8 key when a password is given (CERTIFICATE_FILE / CERTIFICATE_FILE_PROTECTED).
    PemFiles {
        /// The certificate chain file.
        cert_chain: PathBuf,
        /// The private key file.
        private_key: PathBuf,
        /// The key's password, for an `ENCRYPTED PRIVATE KEY`.
        password: Option<String>,
    },
    /// A PKCS#12 (PFX) blob with its optional password (CERTIFICATE_PKCS12).
    Pkcs12 {
        /// The DER blob.
        blob: Vec<u8>,
        /// Its password; `None` means the empty password.
        password: Option<String>,
    },
}

/// The TLS 1.3 cipher suites a configuration allows (QUIC_ALLOWED_CIPHER_SUITE_FLAGS).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct CipherSuites {
    /// TLS_AES_128_GCM_SHA256.
    pub aes_128_gcm_sha256: bool,
    /// TLS_AES_256_GCM_SHA384.
    pub aes_256_gcm_sha384: bool,
    /// TLS_CHACHA20_POLY1305_SHA256.
    pub chacha20_poly1305_sha256: bool,
}

impl CipherSuites {
    /// All three suites (the default).
    pub const ALL: Self = Self {
        aes_128_gcm_sha256: true,
        aes_256_gcm_sha384: true,
        chacha20_poly1305_sha256: true,
    };

    /// Whether `suite` is allowed.
    pub fn allows(&self, suite: CipherSuite) -> bool {
        match suite {
            CipherSuite::TLS13_AES_128_GCM_SHA256 => self.aes_128_gcm_sha256,
            CipherSuite::TLS13_AES_256_GCM_SHA384 => self.aes_256_gcm_sha384,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => self.chacha20_poly1305_sha256,
            _ => false,
        }
    }
}

impl Default for CipherSuites {
    fn default() -> Self {
        Self::ALL
    }
}

/// How the peer's certificate is checked.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum PeerVerification {
    /// Accept any certificate (NO_CERTIFICATE_VALIDATION); the handshake signature is
    /// still checked.
    None,
    /// Validate against trust anchors.
    Roots {
        /// Trust the system store.
        system: bool,
        /// Also trust the certificates in this PEM file (SET_CA_CERTIFICATE_FILE).
        ca_file: Option<PathBuf>,
    },
}

impl PeerVerification {
    /// The trust anchors for a CA file given with SET_CA_CERTIFICATE_FILE. MsQuic's OpenSSL
    /// build adds the file to the default verify paths rather than replacing them; pass
    /// `system: false` through [`PeerVerification::Roots`] to trust the file alone.
    pub fn ca_file(path: impl Into<PathBuf>) -> Self {
        Self::Roots {
            system: true,
            ca_file: Some(path.into()),
        }
    }
}

impl Default for PeerVerification {
    /// The system store.
    fn default() -> Self {
        Self::Roots {
            system: true,
            ca_file: None,
        }
    }
}

/// One endpoint's credentials: the Rust form of QUIC_CREDENTIAL_CONFIG.
///
/// Both configurations log TLS secrets to the file named by `SSLKEYLOGFILE` when that
/// variable is set (NSS key log format), and to the session's secret sink when it has one.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// This endpoint's certificate and key.
    pub certificate: CertificateSource,
    /// How the peer's certificate is checked: a client always checks the server's; a
    /// server checks the client's only when `require_client_auth` is set.
    pub verification: PeerVerification,
    /// Server only: ask for a client certificate (REQUIRE_CLIENT_AUTHENTICATION). With
    /// [`PeerVerification::None`] the certificate is asked for but not required, as MsQuic
    /// does.
    pub require_client_auth: bool,
    /// The allowed cipher suites (SET_ALLOWED_CIPHER_SUITES).
    pub cipher_suites: CipherSuites,
    /// The handshake accepts the peer's certificate whatever it is, and the validation
    /// against `verification`'s anchors is left for later ([`TlsClientConfig::deferred_check`],
    /// [`TlsServerConfig::deferred_check`]), for the application to decide
    /// (DEFER_CERTIFICATE_VALIDATION). A server then also accepts a client without a
    /// certificate, as MsQuic does.
    pub defer_validation: bool,
}

/// A client configuration: the rustls one (ALPN in wire form) and the application tokens.
#[derive(Clone, Debug)]
pub struct TlsClientConfig {
    pub(crate) rustls: Arc<ClientConfig>,
    /// With deferred validation: the verifier the handshake did not use.
    pub(crate) deferred: Option<Arc<ServerVerifier>>,
    /// The trusted certificates the peer's chain is built up to (`None`: the system's).
    pub(crate) anchors: Option<Arc<[CertificateDer<'static>]>>,
    pub(crate) alpn: Arc<[Vec<u8>]>,
}

impl TlsClientConfig {
    /// The rustls configuration.
    pub fn rustls(&self) -> &Arc<ClientConfig> {
        &self.rustls
    }

    /// The application's ALPN tokens.
    pub fn alpn(&self) -> &[Vec<u8>] {
        &self.alpn
    }

    /// With deferred validation, validates the server's chain (leaf first) for `server_name`
    /// now, as the handshake would have: `None` when it passes (or nothing was deferred),
    /// else the class of the failure as MsQuic reports it in DeferredStatus.
    pub fn deferred_check(
        &self,
        chain: &[CertificateDer<'static>],
        server_name: &str,
    ) -> Option<CertStatus> {
        let verifier = self.deferred.as_ref()?;
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Some(CertStatus::NoCert);
        };
        let Ok(name) = ServerName::try_from(server_name.to_owned()) else {
            return Some(CertStatus::Other);
        };
        let error = verifier
            .verify_server_cert(leaf, intermediates, &name, &[], UnixTime::now())
            .err()?;
        Some(peer_chain::deferred_status(
            self.anchors.as_ref(),
            chain,
            &error,
        ))
    }

    /// The server's chain (as presented, leaf first) as the PKCS#7 blob of a portable
    /// PEER_CERTIFICATE_RECEIVED; `None` without a certificate.
    pub fn portable_chain(&self, presented: &[CertificateDer<'static>]) -> Option<Vec<u8>> {
        peer_chain::portable_chain(self.anchors.as_ref(), presented)
    }
}

/// A server configuration: the rustls one (ALPN in wire form) and the application tokens.
#[derive(Clone, Debug)]
pub struct TlsServerConfig {
    pub(crate) rustls: Arc<ServerConfig>,
    /// With deferred validation: the verifier the handshake did not use.
    pub(crate) deferred: Option<Arc<ClientVerifier>>,
    /// The trusted certificates the peer's chain is built up to (`None`: the system's).
    pub(crate) anchors: Option<Arc<[CertificateDer<'static>]>>,
    pub(crate) alpn: Arc<[Vec<u8>]>,
    /// The same configuration issuing the seed ticket of resumption (see `tickets`).
    pub(crate) resumable: Arc<ServerConfig>,
    /// The same configuration also accepting early data (0-RTT) with the tickets (see
    /// `tickets::SealedStore`).
    pub(crate) early: Arc<ServerConfig>,
    /// The configuration's ticket keys.
    pub(crate) ticketer: Arc<Ticketer>,
}

impl TlsServerConfig {
    /// The rustls configuration.
    pub fn rustls(&self) -> &Arc<ServerConfig> {
        &self.rustls
    }

    /// The application's ALPN tokens.
    pub fn alpn(&self) -> &[Vec<u8>] {
        &self.alpn
    }

    /// Seals resumption tickets with the key `id`/`material` from now on (MsQuic's
    /// QUIC_PARAM_CONFIGURATION_TICKET_KEYS); servers with the same key accept each
    /// other's tickets. Without it, a random key of this configuration's own.
    pub fn set_ticket_key(&self, id: [u8; 16], material: &[u8]) {
        self.ticketer.set_key(id, material);
    }

    /// With deferred validation, validates the client's chain (leaf first) now, as the
    /// handshake would have: `None` when it passes (or nothing was deferred), else the
    /// class of the failure as MsQuic reports it in DeferredStatus.
    pub fn deferred_check(&self, chain: &[CertificateDer<'static>]) -> Option<CertStatus> {
        let verifier = self.deferred.as_ref()?;
        let Some((leaf, intermediates)) = chain.split_first() else {
            return Some(CertStatus::NoCert);
        };
        let error = verifier
            .verify_client_cert(leaf, intermediates, UnixTime::now())
            .err()?;
        Some(peer_chain::deferred_status(
            self.anchors.as_ref(),
            chain,
            &error,
        ))
    }

    /// The client's chain (as presented, leaf first) as the PKCS#7 blob of a portable
    /// PEER_CERTIFICATE_RECEIVED; `None` without a certificate.
    pub fn portable_chain(&self, presented: &[CertificateDer<'static>]) -> Option<Vec<u8>> {
        peer_chain::portable_chain(self.anchors.as_ref(), presented)
    }
}

/// The crypto provider (aws-lc-rs) restricted to TLS 1.3 suites, with the key schedule's HKDF
/// from `hkdf.rs`, built once.
pub(super) fn base_provider() -> &'static Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let mut provider = rustls::crypto::aws_lc_rs::default_provider();
        provider
            .cipher_suites
            .retain(|s| matches!(s, SupportedCipherSuite::Tls13(_)));
        for suite in &mut provider.cipher_suites {
            *suite = super::hkdf::with_prepared_hkdf(*suite);
        }
        Arc::new(provider)
    })
}

/// `provider` drawing its randomness through [`Recorder`] (a server's seed tickets).
fn recording(provider: Arc<CryptoProvider>) -> Arc<CryptoProvider> {
    static RECORDER: OnceLock<Recorder> = OnceLock::new();
    let recorder = RECORDER.get_or_init(|| Recorder(base_provider().secure_random));
    let mut p = (*provider).clone();
    p.secure_random = recorder;
    Arc::new(p)
}

fn provider(suites: CipherSuites) -> Result<Arc<CryptoProvider>, CredentialError> {
    let base = base_provider();
    if suites == CipherSuites::ALL {
        return Ok(base.clone());
    }
    let mut provider = (**base).clone();
    provider.cipher_suites.retain(|s| suites.allows(s.suite()));
    if provider.cipher_suites.is_empty() {
        return Err(CredentialError::NoCipherSuites);
    }
    Ok(Arc::new(provider))
}

/// This endpoint's certificate chain and key, as rustls' `with_single_cert` makes them,
/// except that a certificate webpki cannot read (X.509 v1, or another version OpenSSL
/// takes) is compared with the key as OpenSSL reads it.
fn own_certificate(
    provider: &Arc<CryptoProvider>,
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, CredentialError> {
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(CredentialError::Rustls)?;
    let certified = CertifiedKey::new(certs, signing);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(certified),
        Err(rustls::Error::InvalidCertificate(_)) => {
            let ours = certified.key.public_key();
            let theirs = certified.cert.first().and_then(compat::spki);
            match (ours, theirs) {
                (Some(ours), Some(theirs)) if ours.as_ref() == theirs.as_slice() => Ok(certified),
                (None, Some(_)) => Ok(certified),
                _ => Err(CredentialError::Rustls(rustls::Error::InconsistentKeys(
                    InconsistentKeys::KeyMismatch,
                ))),
            }
        }
        Err(e) => Err(CredentialError::Rustls(e)),
    }
}

impl Credentials {
    fn certified_key(&self) -> Result<Option<CertifiedKeyDer>, CredentialError> {
        match &self.certificate {
            CertificateSource::None => Ok(None),
            CertificateSource::PemFiles {
                cert_chain,
                private_key,
                password,
            } => keys::from_pem_files(cert_chain, private_key, password.as_deref()).map(Some),
            CertificateSource::Pkcs12 { blob, password } => {
                keys::from_pkcs12(blob, password.as_deref()).map(Some)
            }
        }
    }

    /// Builds a client configuration offering the application tokens `alpn` in both forms.
    pub fn client_config(&self, alpn: &[Vec<u8>]) -> Result<TlsClientConfig, CredentialError> {
        let provider = provider(self.cipher_suites)?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(CredentialError::Rustls)?;
        let mut deferred = None;
        let mut anchors = None;
        let builder = match &self.verification {
            PeerVerification::None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider))),
            PeerVerification::Roots { system, ca_file } => {
                let trust = verify::roots(*system, ca_file.as_deref())?;
                anchors = Some(trust.ders.clone());
                let verifier = Arc::new(ServerVerifier::new(&trust, provider.clone())?);
                if self.defer_validation {
                    deferred = Some(verifier);
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
                } else {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(verifier)
                }
            }
        };
        let mut config = match self.certified_key()? {
            None => builder.with_no_client_auth(),
            Some((certs, key)) => {
                let own = own_certificate(builder.crypto_provider(), certs, key)?;
                builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(own)))
            }
        };
        config.alpn_protocols = alpn::client_wire_list(alpn);
        // Tickets are kept only as the application asks (see `tickets`).
        config.resumption = rustls::client::Resumption::store(Arc::new(ClientTickets));
        // Early data (0-RTT) goes with the ClientHello when the ticket allows it.
        config.enable_early_data = true;
        config.key_log = Arc::new(SessionKeyLog::new());
        // After the handshake, records are protected by `kernel` with the traffic secrets.
        config.enable_secret_extraction = true;
        Ok(TlsClientConfig {
            rustls: Arc::new(config),
            deferred,
            anchors,
            alpn: alpn.into(),
        })
    }

    /// Builds a server configuration accepting the application tokens `alpn` in both forms.
    pub fn server_config(&self, alpn: &[Vec<u8>]) -> Result<TlsServerConfig, CredentialError> {
        let provider = recording(provider(self.cipher_suites)?);
        let Some((certs, key)) = self.certified_key()? else {
            return Err(CredentialError::ServerNeedsCertificate);
        };
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(CredentialError::Rustls)?;
        let mut deferred = None;
        let mut anchors = None;
        let builder = match (&self.verification, self.require_client_auth) {
            (_, false) => builder.with_no_client_auth(),
            (PeerVerification::None, true) => {
                builder.with_client_cert_verifier(Arc::new(AcceptAnyClientCert(provider)))
            }
            (PeerVerification::Roots { system, ca_file }, true) => {
                let trust = verify::roots(*system, ca_file.as_deref())?;
                anchors = Some(trust.ders.clone());
                let verifier = Arc::new(ClientVerifier::new(&trust, provider.clone())?);
                if self.defer_validation {
                    // Any certificate, or none: the application decides (MsQuic's OpenSSL
                    // build drops SSL_VERIFY_FAIL_IF_NO_PEER_CERT with DEFER).
                    deferred = Some(verifier);
                    builder.with_client_cert_verifier(Arc::new(AcceptAnyClientCert(provider)))
                } else {
                    builder.with_client_cert_verifier(verifier)
                }
            }
        };
        let own = own_certificate(builder.crypto_provider(), certs, key)?;
        let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(own)));
        config.alpn_protocols = alpn::server_wire_list(alpn);
        config.send_tls13_tickets = 0;
        // Only `early` below accepts early data; with this bound every configuration skips
        // the early data of a ticket it does not accept (up to what tickets allow).
        config.max_early_data_size = MAX_EARLY_DATA;
        // Let the server send data (its transport parameters) with its first flight, as
        // QUIC servers do; rustls still refuses while a client certificate is pending.
        config.send_half_rtt_data = true;
        config.key_log = Arc::new(SessionKeyLog::new());
        // After the handshake, records are protected by `kernel` with the traffic secrets.
        config.enable_secret_extraction = true;
        let ticketer = Ticketer::new();
        let mut resumable = config.clone();
        resumable.ticketer = ticketer.clone();
        resumable.send_tls13_tickets = 1;
        // rustls accepts early data only with sessions it stores, not with a ticketer.
        let mut early = config.clone();
        early.session_storage = Arc::new(SealedStore(ticketer.clone()));
        early.send_tls13_tickets = 1;
        Ok(TlsServerConfig {
            rustls: Arc::new(config),
            deferred,
            anchors,
            alpn: alpn.into(),
            resumable: Arc::new(resumable),
            early: Arc::new(early),
            ticketer,
        })
    }
}
