//! PKCS#12 blobs as OpenSSL 3 writes them, with each of its encryption schemes, with and
//! without a password: the set MsQuic (which loads them with OpenSSL) accepts.

use super::*;

/// A CA, a leaf it signed (key and certificate as PEM) in `d`; false without openssl.
fn make_chain(d: &Path) -> bool {
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=pkcs12 test CA",
        ],
    ) && openssl(
        d,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=localhost",
        ],
    ) && openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
        ],
    )
}

/// `openssl pkcs12 -export` of key.pem, cert.pem and ca.pem with `extra` options; `None` if
/// this openssl refuses them.
fn export(d: &Path, name: &str, password: &str, extra: &[&str]) -> Option<Vec<u8>> {
    let pass = format!("pass:{password}");
    let mut args = vec![
        "pkcs12",
        "-export",
        "-inkey",
        "key.pem",
        "-in",
        "cert.pem",
        "-certfile",
        "ca.pem",
        "-out",
        name,
        "-passout",
        &pass,
    ];
    args.extend_from_slice(extra);
    if !openssl(d, &args) {
        eprintln!("openssl pkcs12 {extra:?} refused: skipped");
        return None;
    }
    Some(std::fs::read(d.join(name)).unwrap())
}

fn load(blob: &[u8], password: Option<&str>) -> Result<keys::CertifiedKeyDer, CredentialError> {
    keys::from_pkcs12(blob, password)
}

/// The blob loads with `password`, gives the leaf first and the CA after it, and serves.
fn loads(d: &Path, blob: &[u8], password: Option<&str>) {
    let (certs, _key) = load(blob, password).unwrap();
    let leaf = keys::read_certificates(&d.join("cert.pem")).unwrap();
    let ca = keys::read_certificates(&d.join("ca.pem")).unwrap();
    assert_eq!(certs, vec![leaf[0].clone(), ca[0].clone()]);
    let creds = Credentials {
        certificate: CertificateSource::Pkcs12 {
            blob: blob.to_vec(),
            password: password.map(str::to_owned),
        },
        ..Credentials::default()
    };
    serve_and_check(creds, &d.join("cert.pem"));
}

fn refused(blob: &[u8], password: Option<&str>) {
    let err = load(blob, password).unwrap_err();
    assert!(matches!(err, CredentialError::BadPkcs12(_)), "{err}");
    assert_eq!(err.status(), CredentialStatus::TlsError);
}

#[test]
fn openssl_pkcs12_schemes_load_with_their_password_only() {
    let dir = TempDir::new();
    let d = &dir.0;
    if !make_chain(d) {
        eprintln!("openssl unavailable: skipped");
        return;
    }
    let schemes: [(&str, &[&str]); 5] = [
        // OpenSSL 3's default: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), HMAC-SHA256 MAC.
        ("default.p12", &[]),
        // `-legacy`: certificates under RC2-40, key under 3DES, SHA-1 MAC.
        ("legacy.p12", &["-legacy"]),
        // 3DES for both, as OpenSSL 1.1 wrote by default for keys.
        (
            "3des.p12",
            &[
                "-keypbe",
                "PBE-SHA1-3DES",
                "-certpbe",
                "PBE-SHA1-3DES",
                "-macalg",
                "sha1",
            ],
        ),
        // AES-128 with a SHA-1 MAC.
        (
            "aes128.p12",
            &[
                "-keypbe",
                "AES-128-CBC",
                "-certpbe",
                "AES-128-CBC",
                "-macalg",
                "sha1",
            ],
        ),
        // No encryption of the bags, only the MAC.
        ("plain.p12", &["-keypbe", "NONE", "-certpbe", "NONE"]),
    ];
    for (name, extra) in schemes {
        let Some(blob) = export(d, name, "p12-pass", extra) else {
            continue;
        };
        loads(d, &blob, Some("p12-pass"));
        refused(&blob, Some("wrong"));
        refused(&blob, None);
        refused(&blob, Some(""));
    }
}

#[test]
fn pkcs12_without_a_password_loads_with_none_or_empty() {
    let dir = TempDir::new();
    let d = &dir.0;
    if !make_chain(d) {
        eprintln!("openssl unavailable: skipped");
        return;
    }
    for (name, extra) in [
        ("empty.p12", &[][..]),
        ("empty-legacy.p12", &["-legacy"][..]),
    ] {
        let Some(blob) = export(d, name, "", extra) else {
            continue;
        };
        loads(d, &blob, None);
        loads(d, &blob, Some(""));
        refused(&blob, Some("x"));
    }
}

#[test]
fn pkcs12_without_a_key_or_with_odd_input_fails_cleanly() {
    let dir = TempDir::new();
    let d = &dir.0;
    if !make_chain(d) {
        eprintln!("openssl unavailable: skipped");
        return;
    }
    if openssl(
        d,
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "cert.pem",
            "-out",
            "nokey.p12",
            "-passout",
            "pass:p",
        ],
    ) {
        let blob = std::fs::read(d.join("nokey.p12")).unwrap();
        let err = load(&blob, Some("p")).unwrap_err();
        assert!(matches!(err, CredentialError::Pkcs12WithoutKey), "{err}");
    }
    let Some(blob) = export(d, "ok.p12", "p", &[]) else {
        return;
    };
    // Truncated, empty, trailing garbage, a NUL in the password: errors, not panics.
    for cut in [0, 1, 10, blob.len() / 2, blob.len() - 1] {
        refused(&blob[..cut], Some("p"));
    }
    assert!(load(b"\x30\x80", Some("p")).is_err());
    assert!(load(&blob, Some("p\0q")).is_err());
}

#[test]
fn pkcs12_without_a_mac_loads_as_openssl_reads_it() {
    let dir = TempDir::new();
    let d = &dir.0;
    if !make_chain(d) {
        eprintln!("openssl unavailable: skipped");
        return;
    }
    for (name, extra, password) in [
        ("nomac.p12", &["-nomac"][..], "pw"),
        ("nomac-legacy.p12", &["-legacy", "-nomac"][..], "pw"),
        ("nomac-empty.p12", &["-nomac"][..], ""),
    ] {
        let Some(blob) = export(d, name, password, extra) else {
            continue;
        };
        loads(d, &blob, Some(password));
        // The password still decrypts the bags: a wrong one fails.
        refused(&blob, Some("wrong"));
    }
}
