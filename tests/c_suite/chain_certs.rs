//! A certificate chain for `c-tests/cert_chain.c`: a root CA, an intermediate CA under it and
//! a leaf for `localhost` and 127.0.0.1 under the intermediate, and an expired one.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
}

/// Writes the chain into `dir`; returns the environment the C program reads: the leaf and
/// intermediate in one PEM file (`QMUX_CHAIN_CERT`) with the leaf's key (`QMUX_CHAIN_KEY`),
/// the root in PEM (`QMUX_CHAIN_ROOT`, a CA file), and the root and intermediate in DER
/// (`QMUX_CHAIN_ROOT_DER`, `QMUX_CHAIN_MID_DER`); an expired leaf with the intermediate
/// (`QMUX_CHAIN_EXPIRED_CERT`, `QMUX_CHAIN_EXPIRED_KEY`).
pub fn make(dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::create_dir_all(dir).expect("cert dir");
    let root =
        CertifiedIssuer::self_signed(ca_params("qmux test root"), KeyPair::generate().unwrap())
            .expect("root");
    let mid = CertifiedIssuer::signed_by(
        ca_params("qmux test intermediate"),
        KeyPair::generate().unwrap(),
        &root,
    )
    .expect("intermediate");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &mid)
        .expect("leaf");
    let expired_key = KeyPair::generate().expect("key");
    let mut expired = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    expired.not_before = rcgen::date_time_ymd(2020, 1, 1);
    expired.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let expired = expired.signed_by(&expired_key, &mid).expect("expired leaf");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write a test certificate");
        path
    };
    vec![
        (
            "QMUX_CHAIN_CERT".to_string(),
            write(
                "chain.pem",
                format!("{}{}", leaf.pem(), mid.pem()).as_bytes(),
            ),
        ),
        (
            "QMUX_CHAIN_KEY".to_string(),
            write("leaf.key", leaf_key.serialize_pem().as_bytes()),
        ),
        (
            "QMUX_CHAIN_ROOT".to_string(),
            write("root.pem", root.pem().as_bytes()),
        ),
        (
            "QMUX_CHAIN_ROOT_DER".to_string(),
            write("root.der", root.der()),
        ),
        (
            "QMUX_CHAIN_MID_DER".to_string(),
            write("mid.der", mid.der()),
        ),
        (
            "QMUX_CHAIN_EXPIRED_CERT".to_string(),
            write(
                "expired.pem",
                format!("{}{}", expired.pem(), mid.pem()).as_bytes(),
            ),
        ),
        (
            "QMUX_CHAIN_EXPIRED_KEY".to_string(),
            write("expired.key", expired_key.serialize_pem().as_bytes()),
        ),
    ]
}
