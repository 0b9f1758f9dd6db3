//! The self-signed test certificate for `localhost` the TLS integration tests share: made once
//! per test binary, in DER form and as PEM files.
// Each test binary uses the fields it needs.
#![allow(dead_code)]

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::OnceLock;

use rustls::pki_types::CertificateDer;

/// The certificate and its key, in DER form and as PEM files.
pub struct TestCert {
    /// The certificate (DER).
    pub cert_der: CertificateDer<'static>,
    /// The private key (PKCS#8 DER).
    pub key_der: Vec<u8>,
    /// The certificate's PEM file.
    pub cert_file: CString,
    /// The key's PEM file.
    pub key_file: CString,
}

/// The certificate, made on first use; its files go to a folder named `dir` in the test
/// temporary directory.
pub fn test_cert(dir: &str) -> &'static TestCert {
    static CERT: OnceLock<TestCert> = OnceLock::new();
    CERT.get_or_init(|| {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("generate a certificate");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(dir);
        std::fs::create_dir_all(&dir).expect("cert dir");
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, made.cert.pem()).expect("write cert");
        std::fs::write(&k, made.signing_key.serialize_pem()).expect("write key");
        TestCert {
            cert_der: made.cert.der().clone(),
            key_der: made.signing_key.serialize_der(),
            cert_file: CString::new(c.to_str().unwrap()).unwrap(),
            key_file: CString::new(k.to_str().unwrap()).unwrap(),
        }
    })
}
