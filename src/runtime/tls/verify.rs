//! Trust anchors (the system store, a CA file) and the verifiers for
//! NO_CERTIFICATE_VALIDATION.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use super::error::CredentialError;
use super::keys::read_certificates;

/// The system's trust anchors, read once per process (rustls-native-certs: on Linux the
/// OpenSSL locations, honouring `SSL_CERT_FILE` / `SSL_CERT_DIR`, as MsQuic's OpenSSL
/// build does through `SSL_CTX_set_default_verify_paths`). Unreadable entries are skipped;
/// an empty store only means nothing validates.
pub fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(found.certs);
            Arc::new(store)
        })
        .clone()
}

/// The trust anchors for a configuration: the system store, the certificates of
/// `ca_file`, or both.
pub fn roots(system: bool, ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, CredentialError> {
    let Some(path) = ca_file else {
        return Ok(if system {
            system_roots()
        } else {
            Arc::new(RootCertStore::empty())
        });
    };
    let mut store = if system {
        (*system_roots()).clone()
    } else {
        RootCertStore::empty()
    };
    let certs = read_certificates(path)?;
    let (added, _ignored) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(CredentialError::NoCertificate(path.to_owned()));
    }
    Ok(Arc::new(store))
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
        verify_tls13_signature(
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
        verify_tls13_signature(
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
