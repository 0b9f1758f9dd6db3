//! Trust anchors (the system store, a CA file), the verifiers for
//! NO_CERTIFICATE_VALIDATION, and webpki's verifiers with the OpenSSL rules of [`compat`]
//! behind them.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
    verify_tls13_signature_with_raw_key,
};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, RootCertStore,
    SignatureScheme,
};

use super::compat::{self, Purpose};
use super::error::CredentialError;
use super::keys::read_certificates;

/// The system's certificates as read (DER), and webpki's store of those it can use.
struct System {
    ders: Arc<[CertificateDer<'static>]>,
    store: Arc<RootCertStore>,
}

fn system() -> &'static System {
    static SYSTEM: OnceLock<System> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        store.add_parsable_certificates(found.certs.iter().cloned());
        System {
            ders: found.certs.into(),
            store: Arc::new(store),
        }
    })
}

/// The system's trust anchors, read once per process (rustls-native-certs: on Linux the
/// OpenSSL locations, honouring `SSL_CERT_FILE` / `SSL_CERT_DIR`, as MsQuic's OpenSSL
/// build does through `SSL_CTX_set_default_verify_paths`). Unreadable entries are skipped;
/// an empty store only means nothing validates.
pub fn system_roots() -> Arc<RootCertStore> {
    system().store.clone()
}

/// The system's certificates as read (DER), for building the chain a peer's certificate
/// is shown with when nothing else is trusted (NO_CERTIFICATE_VALIDATION).
pub(super) fn system_ders() -> Arc<[CertificateDer<'static>]> {
    system().ders.clone()
}

/// The trust anchors of a configuration: webpki's store, and the CA file's certificates
/// as they are, for the OpenSSL rules of [`compat`].
#[derive(Clone, Debug)]
pub struct Trust {
    /// The anchors webpki could read.
    pub store: Arc<RootCertStore>,
    /// Every trusted certificate as read (the system's, if trusted, and the CA file's).
    pub ders: Arc<[CertificateDer<'static>]>,
}

/// The trust anchors for a configuration: the system store, the certificates of
/// `ca_file`, or both. The file must hold at least one certificate either reader takes.
pub fn roots(system: bool, ca_file: Option<&Path>) -> Result<Trust, CredentialError> {
    let Some(path) = ca_file else {
        let store = if system {
            system_roots()
        } else {
            Arc::new(RootCertStore::empty())
        };
        let ders = if system {
            self::system().ders.clone()
        } else {
            Arc::from([])
        };
        return Ok(Trust { store, ders });
    };
    let mut store = if system {
        (*system_roots()).clone()
    } else {
        RootCertStore::empty()
    };
    let certs = read_certificates(path)?;
    let (added, _ignored) = store.add_parsable_certificates(certs.iter().cloned());
    if added == 0 && !certs.iter().any(|c| compat::spki(c).is_some()) {
        return Err(CredentialError::NoCertificate(path.to_owned()));
    }
    let mut ders = if system {
        self::system().ders.to_vec()
    } else {
        Vec::new()
    };
    ders.extend(certs);
    Ok(Trust {
        store: Arc::new(store),
        ders: ders.into(),
    })
}

/// The TLS 1.3 CertificateVerify check, also for a certificate webpki cannot read (its
/// public key is taken from the certificate as OpenSSL reads it).
fn tls13_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algs: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, Error> {
    match verify_tls13_signature(message, cert, dss, algs) {
        Err(Error::InvalidCertificate(
            CertificateError::Other(_) | CertificateError::BadEncoding,
        )) => {
            let Some(spki) = compat::spki(cert) else {
                return Err(CertificateError::BadEncoding.into());
            };
            verify_tls13_signature_with_raw_key(
                message,
                &SubjectPublicKeyInfoDer::from(spki),
                dss,
                algs,
            )
        }
        other => other,
    }
}

/// webpki's server certificate verifier, then the OpenSSL rules of [`compat`] for what it
/// refused for reasons OpenSSL does not have.
#[derive(Debug)]
pub struct ServerVerifier {
    /// webpki's, when the store has anchors it could read.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    ders: Arc<[CertificateDer<'static>]>,
    provider: Arc<CryptoProvider>,
}

impl ServerVerifier {
    /// A verifier trusting `trust`.
    pub fn new(trust: &Trust, provider: Arc<CryptoProvider>) -> Result<Self, CredentialError> {
        let webpki = if trust.store.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(trust.store.clone(), provider.clone())
                    .build()
                    .map_err(|e| CredentialError::Rustls(Error::General(e.to_string())))?,
            )
        };
        Ok(Self {
            webpki,
            ders: trust.ders.clone(),
            provider,
        })
    }
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let refused = match &self.webpki {
            Some(w) => {
                match w.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    Ok(v) => return Ok(v),
                    Err(e) => e,
                }
            }
            None => CertificateError::UnknownIssuer.into(),
        };
        if !compat::may_overrule(&refused) {
            return Err(refused);
        }
        compat::verify(
            &self.ders,
            end_entity,
            intermediates,
            Some(server_name),
            Purpose::Server,
            now,
        )
        .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// webpki's client certificate verifier (a certificate is required), then the OpenSSL
/// rules of [`compat`] as for [`ServerVerifier`].
#[derive(Debug)]
pub struct ClientVerifier {
    webpki: Option<Arc<dyn ClientCertVerifier>>,
    ders: Arc<[CertificateDer<'static>]>,
    provider: Arc<CryptoProvider>,
}

impl ClientVerifier {
    /// A verifier trusting `trust`.
    pub fn new(trust: &Trust, provider: Arc<CryptoProvider>) -> Result<Self, CredentialError> {
        let webpki = if trust.store.is_empty() {
            None
        } else {
            Some(
                WebPkiClientVerifier::builder_with_provider(trust.store.clone(), provider.clone())
                    .build()
                    .map_err(|e| CredentialError::Rustls(Error::General(e.to_string())))?,
            )
        };
        Ok(Self {
            webpki,
            ders: trust.ders.clone(),
            provider,
        })
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        match &self.webpki {
            Some(w) => w.root_hint_subjects(),
            None => &[],
        }
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let refused = match &self.webpki {
            Some(w) => match w.verify_client_cert(end_entity, intermediates, now) {
                Ok(v) => return Ok(v),
                Err(e) => e,
            },
            None => CertificateError::UnknownIssuer.into(),
        };
        if !compat::may_overrule(&refused) {
            return Err(refused);
        }
        compat::verify(
            &self.ders,
            end_entity,
            intermediates,
            None,
            Purpose::Client,
            now,
        )
        .map(|()| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A server certificate verifier that accepts any certificate
/// (QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION). The handshake signature is still
/// checked, so the peer must hold the key of the certificate it presents.
#[derive(Debug)]
pub struct AcceptAnyServerCert(pub Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client certificate verifier that asks for a certificate but accepts any, or none
/// (REQUIRE_CLIENT_AUTHENTICATION together with NO_CERTIFICATE_VALIDATION, as MsQuic's
/// OpenSSL build behaves).
#[derive(Debug)]
pub struct AcceptAnyClientCert(pub Arc<CryptoProvider>);

impl ClientCertVerifier for AcceptAnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
