//! Reading certificates and private keys: PEM files (the key optionally encrypted as PKCS#8
//! with a password) and PKCS#12 blobs.

use std::fs;
use std::path::Path;

use pkcs8::EncryptedPrivateKeyInfoRef;
use pkcs8::der::pem::PemLabel;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use super::error::CredentialError;

/// A certificate chain (leaf first) and its private key.
pub type CertifiedKeyDer = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn read(path: &Path) -> Result<Vec<u8>, CredentialError> {
    fs::read(path).map_err(|error| CredentialError::Io {
        path: path.to_owned(),
        error,
    })
}

/// Every certificate in the PEM file at `path`, in file order; at least one.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, CredentialError> {
    let pem = read(path)?;
    let mut certs = Vec::new();
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(&pem) {
        let (kind, der) =
            item.map_err(|e| CredentialError::BadPem(path.to_owned(), e.to_string()))?;
        if kind == SectionKind::Certificate {
            certs.push(CertificateDer::from(der));
        }
    }
    if certs.is_empty() {
        return Err(CredentialError::NoCertificate(path.to_owned()));
    }
    Ok(certs)
}

/// The private key in the PEM file at `path`: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), or an
/// `ENCRYPTED PRIVATE KEY` (PKCS#8 PBES2) decrypted with `password`.
pub fn read_private_key(
    path: &Path,
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, CredentialError> {
    let pem = read(path)?;
    if let Some(der) = encrypted_section(&pem) {
        let der = der.map_err(|why| CredentialError::BadPem(path.to_owned(), why))?;
        let Some(password) = password else {
            return Err(CredentialError::KeyDecryption(
                "the key is encrypted and no password was given".into(),
            ));
        };
        return decrypt_pkcs8(&der, password);
    }
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(&pem) {
        let (kind, der) =
            item.map_err(|e| CredentialError::BadPem(path.to_owned(), e.to_string()))?;
        match kind {
            SectionKind::PrivateKey => return Ok(PrivatePkcs8KeyDer::from(der).into()),
            SectionKind::RsaPrivateKey => return Ok(PrivatePkcs1KeyDer::from(der).into()),
            SectionKind::EcPrivateKey => return Ok(PrivateSec1KeyDer::from(der).into()),
            _ => {}
        }
    }
    Err(CredentialError::NoPrivateKey(path.to_owned()))
}

/// The DER of the first `ENCRYPTED PRIVATE KEY` section of `pem`, if there is one.
fn encrypted_section(pem: &[u8]) -> Option<Result<Vec<u8>, String>> {
    let label = EncryptedPrivateKeyInfoRef::PEM_LABEL;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let text = std::str::from_utf8(pem).ok()?;
    let start = text.find(&begin)?;
    let Some(stop) = text[start..].find(&end) else {
        return Some(Err(format!("missing {end}")));
    };
    let section = &text[start..start + stop + end.len()];
    Some(
        pkcs8::der::pem::decode_vec(section.as_bytes())
            .map(|(_, der)| der)
            .map_err(|e| e.to_string()),
    )
}

/// Decrypts an `EncryptedPrivateKeyInfo` (PKCS#8, PBES2) into a PKCS#8 key.
pub fn decrypt_pkcs8(
    der: &[u8],
    password: &str,
) -> Result<PrivateKeyDer<'static>, CredentialError> {
    let info = EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|e| CredentialError::KeyDecryption(e.to_string()))?;
    let doc = info
        .decrypt(password)
        .map_err(|e| CredentialError::KeyDecryption(e.to_string()))?;
    Ok(PrivatePkcs8KeyDer::from(doc.as_bytes().to_vec()).into())
}

/// The chain and key in the PEM files (MsQuic's CERTIFICATE_FILE and
/// CERTIFICATE_FILE_PROTECTED).
pub fn from_pem_files(
    cert_chain: &Path,
    private_key: &Path,
    password: Option<&str>,
) -> Result<CertifiedKeyDer, CredentialError> {
    let key = read_private_key(private_key, password)?;
    let certs = read_certificates(cert_chain)?;
    Ok((certs, key))
}

/// The chain and key of a PKCS#12 blob (MsQuic's CERTIFICATE_PKCS12); no password means
/// the empty one (both of its encodings are tried, as OpenSSL does).
pub fn from_pkcs12(
    blob: &[u8],
    password: Option<&str>,
) -> Result<CertifiedKeyDer, CredentialError> {
    let contents = super::pkcs12::parse(blob, password)?;
    let certs = contents
        .certs
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    Ok((certs, PrivatePkcs8KeyDer::from(contents.key).into()))
}
