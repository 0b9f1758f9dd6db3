//! What PEER_CERTIFICATE_RECEIVED tells of the peer's chain, as MsQuic's OpenSSL build does:
//! the chain OpenSSL builds (`X509_STORE_CTX_get0_chain` after `X509_verify_cert`) as a
//! PKCS#7 blob, and the class of a deferred validation failure (MsQuic's mapping of
//! OpenSSL's first verification error).

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, Error};

use super::compat;
use super::error::CertStatus;
use super::pkcs7;
use super::verify;

/// Builds the chain of `presented` (leaf first) up to `anchors` (`None`: the system's).
fn built(
    anchors: Option<&Arc<[CertificateDer<'static>]>>,
    presented: &[CertificateDer<'static>],
) -> Option<(Vec<Vec<u8>>, bool)> {
    let (leaf, intermediates) = presented.split_first()?;
    let system;
    let anchors = match anchors {
        Some(a) => a,
        None => {
            system = verify::system_ders();
            &system
        }
    };
    let chain = compat::built_chain(anchors, leaf, intermediates);
    let last = chain.last().map(Vec::as_slice);
    let trusted = anchors.iter().any(|a| Some(a.as_ref()) == last);
    Some((chain, trusted))
}

/// The presented chain, as OpenSSL builds it, in a PKCS#7 SignedData; `None` without a
/// certificate.
pub(super) fn portable_chain(
    anchors: Option<&Arc<[CertificateDer<'static>]>>,
    presented: &[CertificateDer<'static>],
) -> Option<Vec<u8>> {
    let (chain, _) = built(anchors, presented)?;
    let certs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
    Some(pkcs7::certificates_only(&certs))
}

/// The DeferredStatus class of a failed validation of `presented` (`error` is the
/// verifier's). OpenSSL reports the first error it meets, and building the chain comes
/// first: a chain that does not reach a trust anchor is
/// X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT for a lone self-signed leaf (CERT_UNTRUSTED_ROOT)
/// and an issuer not found or an untrusted root otherwise (TLS_ERROR); on a trusted chain,
/// an expired certificate is CERT_EXPIRED and a revoked one REVOKED_CERTIFICATE; anything
/// else TLS_ERROR (MsQuic maps no other verification error).
pub(super) fn deferred_status(
    anchors: Option<&Arc<[CertificateDer<'static>]>>,
    presented: &[CertificateDer<'static>],
    error: &Error,
) -> CertStatus {
    let Some((chain, trusted)) = built(anchors, presented) else {
        return CertStatus::NoCert;
    };
    if !trusted {
        return if chain.len() == 1 && compat::is_self_issued(&chain[0]) {
            CertStatus::UntrustedRoot
        } else {
            CertStatus::Other
        };
    }
    match error {
        Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => CertStatus::Expired,
        Error::InvalidCertificate(CertificateError::Revoked) => CertStatus::Revoked,
        _ => CertStatus::Other,
    }
}
