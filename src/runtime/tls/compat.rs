//! The certificates MsQuic's OpenSSL build accepts that webpki refuses, and the rules it
//! checks them by (OpenSSL's `X509_verify_cert` with the default flags, and
//! `X509_check_host` / `X509_check_ip` with `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`).
//!
//! webpki stays the verifier; this one is asked only when webpki refused a certificate
//! for a reason OpenSSL does not have:
//! - a version other than v3 (X.509 v1, or the value 3 MsQuic's test-certificate
//!   generator writes);
//! - an end-entity certificate that is its own trust anchor while marked as a CA, or an
//!   anchor webpki cannot read;
//! - a server name found only in the subject's common name, when the certificate has no
//!   DNS subject alternative name.
//!
//! What it checks, as OpenSSL does: the validity period of every certificate in the chain;
//! each signature; issuers above the leaf are CAs (basicConstraints CA, keyCertSign, or a
//! self-signed v1 certificate); the chain ends at a certificate of the trust store (a
//! self-signed one, or the issuer of the last); no unknown critical extension; an extended
//! key usage, if present, allows the purpose; and the name (DNS subject alternative names,
//! else the common names; IP addresses only in IP subject alternative names; a wildcard
//! only as a whole leftmost label).

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, Error};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{ASN1Time, FromDer, X509Certificate, X509Version};

/// The longest chain followed (MsQuic's verify depth).
const MAX_DEPTH: usize = 10;

/// What the peer's certificate is for.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Purpose {
    /// A server's certificate (serverAuth).
    Server,
    /// A client's certificate (clientAuth).
    Client,
}

/// Whether webpki's refusal is one this module may overrule.
pub(super) fn may_overrule(error: &Error) -> bool {
    matches!(
        error,
        Error::InvalidCertificate(
            CertificateError::Other(_)
                | CertificateError::BadEncoding
                | CertificateError::UnknownIssuer
                | CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. }
        )
    )
}

fn parse<'a>(der: &'a [u8]) -> Result<X509Certificate<'a>, Error> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(CertificateError::BadEncoding.into()),
    }
}

/// The SubjectPublicKeyInfo (DER) of a certificate, if it parses.
pub(super) fn spki(cert: &CertificateDer<'_>) -> Option<Vec<u8>> {
    parse(cert).ok().map(|c| c.public_key().raw.to_vec())
}

/// Verifies `leaf` (with `intermediates`) against the trust store `anchors` by OpenSSL's
/// rules, for `name` when given.
pub(super) fn verify(
    anchors: &[CertificateDer<'static>],
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    name: Option<&ServerName<'_>>,
    purpose: Purpose,
    now: UnixTime,
) -> Result<(), Error> {
    let now = ASN1Time::from_timestamp(now.as_secs() as i64)
        .map_err(|_| Error::from(CertificateError::Expired))?;
    let leaf = parse(leaf)?;
    let intermediates: Vec<_> = intermediates.iter().filter_map(|c| parse(c).ok()).collect();
    // Only anchors holding one of the chain's issuer names can end it: skip parsing the
    // others (the system store is large).
    let issuers: Vec<&[u8]> = std::iter::once(&leaf)
        .chain(&intermediates)
        .map(|c| c.issuer().as_raw())
        .collect();
    let anchors: Vec<_> = anchors
        .iter()
        .filter(|a| issuers.iter().any(|n| contains(a, n)))
        .filter_map(|a| parse(a).ok())
        .collect();
    check_common(&leaf, now)?;
    if let Some(eku) = leaf
        .extended_key_usage()
        .map_err(|_| Error::from(CertificateError::BadEncoding))?
    {
        let eku = eku.value;
        let allowed = eku.any
            || match purpose {
                Purpose::Server => eku.server_auth,
                Purpose::Client => eku.client_auth,
            };
        if !allowed {
            return Err(CertificateError::InvalidPurpose.into());
        }
    }
    chain(&leaf, &intermediates, &anchors, now)?;
    match name {
        Some(name) if !name_matches(&leaf, name) => Err(CertificateError::NotValidForName.into()),
        _ => Ok(()),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Validity period and critical extensions, for every certificate of the chain.
fn check_common(cert: &X509Certificate<'_>, now: ASN1Time) -> Result<(), Error> {
    let validity = cert.validity();
    if now < validity.not_before {
        return Err(CertificateError::NotValidYet.into());
    }
    if now > validity.not_after {
        return Err(CertificateError::Expired.into());
    }
    let unknown_critical = cert.extensions().iter().any(|e| {
        e.critical
            && matches!(
                e.parsed_extension(),
                ParsedExtension::UnsupportedExtension { .. } | ParsedExtension::ParseError { .. }
            )
    });
    if unknown_critical {
        return Err(CertificateError::BadEncoding.into());
    }
    Ok(())
}

fn self_issued(cert: &X509Certificate<'_>) -> bool {
    cert.subject().as_raw() == cert.issuer().as_raw()
}

/// Whether `cert` may issue certificates (OpenSSL's `X509_check_ca`, not strict).
fn is_ca(cert: &X509Certificate<'_>) -> bool {
    if let Ok(Some(bc)) = cert.basic_constraints() {
        return bc.value.ca;
    }
    if let Ok(Some(ku)) = cert.key_usage() {
        return ku.value.key_cert_sign();
    }
    cert.version() == X509Version::V1 && self_issued(cert)
}

fn issued_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == issuer.subject().as_raw()
        && cert.verify_signature(Some(issuer.public_key())).is_ok()
}

/// Follows issuers from `leaf` up to a certificate of the trust store.
fn chain(
    leaf: &X509Certificate<'_>,
    intermediates: &[X509Certificate<'_>],
    anchors: &[X509Certificate<'_>],
    now: ASN1Time,
) -> Result<(), Error> {
    let mut current = leaf;
    for _ in 0..=MAX_DEPTH {
        // A self-signed certificate of the trust store is trusted as it is.
        if self_issued(current) && anchors.iter().any(|a| a.as_raw() == current.as_raw()) {
            return Ok(());
        }
        if let Some(anchor) = anchors.iter().find(|a| issued_by(current, a)) {
            if !is_ca(anchor) {
                return Err(CertificateError::UnknownIssuer.into());
            }
            return check_common(anchor, now);
        }
        let Some(next) = intermediates
            .iter()
            .find(|c| c.as_raw() != current.as_raw() && issued_by(current, c))
        else {
            return Err(CertificateError::UnknownIssuer.into());
        };
        if !is_ca(next) {
            return Err(CertificateError::UnknownIssuer.into());
        }
        check_common(next, now)?;
        current = next;
    }
    Err(CertificateError::UnknownIssuer.into())
}

/// `X509_check_host` (DNS subject alternative names, else the subject's common names) or
/// `X509_check_ip` (IP subject alternative names).
fn name_matches(cert: &X509Certificate<'_>, name: &ServerName<'_>) -> bool {
    let sans: Vec<GeneralName<'_>> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san.value.general_names.clone(),
        _ => Vec::new(),
    };
    match name {
        ServerName::DnsName(dns) => {
            let host = dns.as_ref().trim_end_matches('.').to_ascii_lowercase();
            let dns_names: Vec<&str> = sans
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DNSName(d) => Some(*d),
                    _ => None,
                })
                .collect();
            if !dns_names.is_empty() {
                return dns_names.iter().any(|p| dns_matches(p, &host));
            }
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .any(|cn| dns_matches(cn, &host))
        }
        ServerName::IpAddress(ip) => {
            let want: Vec<u8> = match std::net::IpAddr::from(*ip) {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            sans.iter()
                .any(|g| matches!(g, GeneralName::IPAddress(b) if *b == want.as_slice()))
        }
        _ => false,
    }
}

/// A presented DNS name against the host: equal ignoring case, or `*.rest` with `*`
/// standing for exactly the host's first label (no partial wildcards, `rest` of at least
/// two labels).
fn dns_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    if pattern == host {
        return true;
    }
    let Some(rest) = pattern.strip_prefix("*.") else {
        return false;
    };
    if !rest.contains('.') || rest.contains('*') {
        return false;
    }
    matches!(host.split_once('.'), Some((first, host_rest)) if !first.is_empty() && host_rest == rest)
}

#[cfg(test)]
mod tests {
    use super::dns_matches;

    #[test]
    fn wildcards_are_whole_leftmost_labels_only() {
        assert!(dns_matches("localhost", "localhost"));
        assert!(dns_matches("LocalHost.", "localhost"));
        assert!(dns_matches("*.example.com", "a.example.com"));
        assert!(!dns_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(!dns_matches("*.com", "example.com"));
        assert!(!dns_matches("a*.example.com", "ab.example.com"));
        assert!(!dns_matches("other", "localhost"));
    }
}
