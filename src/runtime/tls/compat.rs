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
//! each signature (with the same algorithm inside and outside the signed part); issuers above
//! the leaf are CAs (basicConstraints CA, keyCertSign, or a self-signed v1 certificate)
//! within their path length, and carry no name constraints (refused rather than left
//! unchecked); the chain ends at a certificate of the trust store (a
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
        Some(name) if !name_matches(&leaf, name) => Err(CertificateError::NotValidForNameContext {
            expected: name.to_owned(),
            presented: presented_names(&leaf),
        }
        .into()),
        _ => Ok(()),
    }
}

/// The chain OpenSSL builds for `leaf` (leaf first, then each issuer, trusted ones first,
/// up to a certificate of `anchors` or as far as issuers are found), whether or not it
/// validates: the certificates `X509_STORE_CTX_get0_chain` holds after `X509_verify_cert`.
pub(super) fn built_chain(
    anchors: &[CertificateDer<'_>],
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Vec<Vec<u8>> {
    let mut out = vec![leaf.to_vec()];
    let Ok(parsed) = parse(leaf) else {
        return out;
    };
    let intermediates: Vec<_> = intermediates.iter().filter_map(|c| parse(c).ok()).collect();
    let mut issuers: Vec<&[u8]> = vec![parsed.issuer().as_raw()];
    issuers.extend(intermediates.iter().map(|c| c.issuer().as_raw()));
    let anchors: Vec<_> = anchors
        .iter()
        .filter(|a| issuers.iter().any(|n| contains(a, n)))
        .filter_map(|a| parse(a).ok())
        .collect();
    let mut current = &parsed;
    for _ in 0..MAX_DEPTH {
        if self_issued(current) {
            break;
        }
        if let Some(anchor) = anchors.iter().find(|a| issued_by(current, a)) {
            out.push(anchor.as_raw().to_vec());
            break;
        }
        let Some(next) = intermediates
            .iter()
            .find(|c| c.as_raw() != current.as_raw() && issued_by(current, c))
        else {
            break;
        };
        out.push(next.as_raw().to_vec());
        current = next;
    }
    out
}

/// Whether `cert` names itself as its issuer (a self-signed certificate, for OpenSSL).
pub(super) fn is_self_issued(cert: &[u8]) -> bool {
    parse(cert).is_ok_and(|c| self_issued(&c))
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
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(CertificateError::BadSignature.into());
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

/// Whether `issuer`, with `below` CA certificates between it and the leaf, may issue: a CA
/// within its path length. One with name constraints is refused (they are not checked
/// here; webpki checks them for every certificate it can read).
fn may_issue(issuer: &X509Certificate<'_>, below: u32) -> bool {
    if !is_ca(issuer) || !matches!(issuer.name_constraints(), Ok(None)) {
        return false;
    }
    match issuer.basic_constraints() {
        Ok(Some(bc)) => bc.value.path_len_constraint.is_none_or(|n| below <= n),
        _ => true,
    }
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
    for below in 0..=MAX_DEPTH as u32 {
        // A self-signed certificate of the trust store is trusted as it is.
        if self_issued(current) && anchors.iter().any(|a| a.as_raw() == current.as_raw()) {
            return Ok(());
        }
        if let Some(anchor) = anchors.iter().find(|a| issued_by(current, a)) {
            if !may_issue(anchor, below) {
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
        if !may_issue(next, below) {
            return Err(CertificateError::UnknownIssuer.into());
        }
        check_common(next, now)?;
        current = next;
    }
    Err(CertificateError::UnknownIssuer.into())
}

/// `X509_check_host` (DNS subject alternative names, else the subject's common names) or
/// `X509_check_ip` (IP subject alternative names).
/// The names a certificate is for, as a refusal reports them: its subjectAltName DNS names
/// and IP addresses, or else its common names.
fn presented_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let sans: Vec<GeneralName<'_>> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san.value.general_names.clone(),
        _ => Vec::new(),
    };
    let mut names: Vec<String> = sans
        .iter()
        .filter_map(|g| match g {
            GeneralName::DNSName(d) => Some(d.to_string()),
            GeneralName::IPAddress(b) => match b.len() {
                4 => Some(std::net::Ipv4Addr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                16 => Some(std::net::Ipv6Addr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    if names.is_empty() {
        names = cert
            .subject()
            .iter_common_name()
            .filter_map(|cn| cn.as_str().ok().map(str::to_string))
            .collect();
    }
    names
}

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
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{CertificateError, Error};

    use super::{Purpose, built_chain, dns_matches, verify};

    fn ca_params(name: &str, path_len: Option<u8>) -> CertificateParams {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(match path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name.to_string());
        params
    }

    fn check(
        anchors: &[CertificateDer<'static>],
        leaf: &CertificateDer<'static>,
        chain: &[CertificateDer<'static>],
        name: &str,
    ) -> Result<(), Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        verify(
            anchors,
            leaf,
            chain,
            Some(&name),
            Purpose::Server,
            UnixTime::now(),
        )
    }

    #[test]
    fn chains_follow_openssl_rules() {
        let root =
            CertifiedIssuer::self_signed(ca_params("root", Some(0)), KeyPair::generate().unwrap())
                .unwrap();
        let root_der = CertificateDer::from(root.der().to_vec());
        // An intermediate under a root allowing none below it.
        let mid_key = KeyPair::generate().unwrap();
        let mid = CertifiedIssuer::signed_by(ca_params("mid", None), mid_key, &root).unwrap();
        let mid_der = CertificateDer::from(mid.der().to_vec());
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &mid)
            .unwrap();
        let leaf_der = CertificateDer::from(leaf.der().to_vec());
        assert_eq!(
            check(
                std::slice::from_ref(&root_der),
                &leaf_der,
                std::slice::from_ref(&mid_der),
                "localhost"
            ),
            Err(CertificateError::UnknownIssuer.into())
        );
        // Directly under the root: fine, for the right name and the IP it does not have.
        let direct = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &root)
            .unwrap();
        let direct_der = CertificateDer::from(direct.der().to_vec());
        assert_eq!(
            check(
                std::slice::from_ref(&root_der),
                &direct_der,
                &[],
                "localhost"
            ),
            Ok(())
        );
        assert!(matches!(
            check(
                std::slice::from_ref(&root_der),
                &direct_der,
                &[],
                "127.0.0.1"
            ),
            Err(Error::InvalidCertificate(
                CertificateError::NotValidForNameContext { .. }
            ))
        ));
        // Not trusted at all.
        assert_eq!(
            check(
                std::slice::from_ref(&mid_der),
                &direct_der,
                &[],
                "localhost"
            ),
            Err(CertificateError::UnknownIssuer.into())
        );
        // An issuer that is not a CA.
        let not_ca_key = KeyPair::generate().unwrap();
        let mut not_ca_params = CertificateParams::new(vec!["issuer".to_string()]).unwrap();
        not_ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "not a CA");
        let not_ca = CertifiedIssuer::self_signed(not_ca_params, not_ca_key).unwrap();
        let under = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &not_ca)
            .unwrap();
        let not_ca_der = CertificateDer::from(not_ca.der().to_vec());
        assert_eq!(
            check(
                &[not_ca_der],
                &CertificateDer::from(under.der().to_vec()),
                &[],
                "localhost"
            ),
            Err(CertificateError::UnknownIssuer.into())
        );
        // Expired.
        let mut old = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        old.not_before = rcgen::date_time_ymd(2000, 1, 1);
        old.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let old = old.signed_by(&leaf_key, &root).unwrap();
        assert_eq!(
            check(
                &[root_der],
                &CertificateDer::from(old.der().to_vec()),
                &[],
                "localhost"
            ),
            Err(CertificateError::Expired.into())
        );
    }

    #[test]
    fn chains_are_built_leaf_first_up_to_the_anchor() {
        let root =
            CertifiedIssuer::self_signed(ca_params("root", None), KeyPair::generate().unwrap())
                .unwrap();
        let root_der = CertificateDer::from(root.der().to_vec());
        let mid =
            CertifiedIssuer::signed_by(ca_params("mid", None), KeyPair::generate().unwrap(), &root)
                .unwrap();
        let mid_der = CertificateDer::from(mid.der().to_vec());
        let leaf = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&KeyPair::generate().unwrap(), &mid)
            .unwrap();
        let leaf_der = CertificateDer::from(leaf.der().to_vec());
        let other =
            CertifiedIssuer::self_signed(ca_params("other", None), KeyPair::generate().unwrap())
                .unwrap();
        let other_der = CertificateDer::from(other.der().to_vec());
        let bytes = |certs: &[&CertificateDer<'static>]| -> Vec<Vec<u8>> {
            certs.iter().map(|c| c.to_vec()).collect()
        };
        // Trusted root: leaf, the intermediate sent, the root from the store; an unrelated
        // certificate sent along is left out.
        assert_eq!(
            built_chain(
                std::slice::from_ref(&root_der),
                &leaf_der,
                &[other_der.clone(), mid_der.clone()]
            ),
            bytes(&[&leaf_der, &mid_der, &root_der])
        );
        // Not trusted: as far as the issuers sent go (the root too, when sent).
        assert_eq!(
            built_chain(&[], &leaf_der, std::slice::from_ref(&mid_der)),
            bytes(&[&leaf_der, &mid_der])
        );
        assert_eq!(
            built_chain(&[], &leaf_der, &[mid_der.clone(), root_der.clone()]),
            bytes(&[&leaf_der, &mid_der, &root_der])
        );
        // A self-signed leaf, trusted or not: itself.
        assert_eq!(
            built_chain(std::slice::from_ref(&other_der), &other_der, &[]),
            bytes(&[&other_der])
        );
    }

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
