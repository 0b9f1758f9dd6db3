//! Certificates MsQuic's OpenSSL build accepts and webpki does not, made at test time for
//! `c-tests/cert_accept.c`: X.509 v1, and the version field 3 (shown by OpenSSL as
//! "Unknown (3)") that MsQuic's own test-certificate generator writes, with the name only in
//! the subject's common name; plus rcgen-made v3 ones (common name only, a self-signed
//! end-entity marked as a CA) and an unrelated one for the negative cases.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, PublicKeyData,
    SigningKey,
};

/// A DER TLV.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A Name with one common name.
fn cn_name(cn: &str) -> Vec<u8> {
    let oid_cn = tlv(0x06, &[0x55, 0x04, 0x03]);
    let atv = seq(&[&oid_cn, &tlv(0x0c, cn.as_bytes())]);
    seq(&[&tlv(0x31, &atv)])
}

/// ecdsa-with-SHA256.
fn ecdsa_sha256() -> Vec<u8> {
    seq(&[&tlv(
        0x06,
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    )])
}

/// A certificate for `subject` issued by `issuer` (signed with `issuer_key`), with the
/// version field `version` (`None`: absent, i.e. v1), and basicConstraints CA:TRUE
/// (critical) when `ca`.
fn hand_built(
    version: Option<u8>,
    serial: u8,
    subject: &str,
    key: &KeyPair,
    issuer: &str,
    issuer_key: &KeyPair,
    ca: bool,
) -> Vec<u8> {
    let mut tbs = Vec::new();
    if let Some(v) = version {
        tbs.extend(tlv(0xa0, &tlv(0x02, &[v])));
    }
    tbs.extend(tlv(0x02, &[serial]));
    tbs.extend(ecdsa_sha256());
    tbs.extend(cn_name(issuer));
    tbs.extend(seq(&[
        &tlv(0x17, b"250101000000Z"),
        &tlv(0x17, b"491231235959Z"),
    ]));
    tbs.extend(cn_name(subject));
    tbs.extend(key.subject_public_key_info());
    if ca {
        let oid_bc = tlv(0x06, &[0x55, 0x1d, 0x13]);
        let critical = tlv(0x01, &[0xff]);
        let value = tlv(0x04, &seq(&[&tlv(0x01, &[0xff])]));
        let ext = seq(&[&oid_bc, &critical, &value]);
        tbs.extend(tlv(0xa3, &seq(&[&ext])));
    }
    let tbs = tlv(0x30, &tbs);
    let signature = issuer_key.sign(&tbs).expect("sign");
    let mut bits = vec![0u8];
    bits.extend(signature);
    seq(&[&tbs, &ecdsa_sha256(), &tlv(0x03, &bits)])
}

fn pem(der: &[u8]) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                text.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a test certificate");
    path
}

/// Writes the certificates and keys into `dir`; returns the environment the C program reads
/// them from (`QMUX_CERT_<NAME>` and `QMUX_KEY_<NAME>`).
pub fn make(dir: &Path) -> Vec<(String, PathBuf)> {
    std::fs::create_dir_all(dir).expect("cert dir");
    let mut env = Vec::new();
    let mut add = |name: &str, cert: String, key: Option<&KeyPair>| {
        let lower = name.to_ascii_lowercase();
        env.push((
            format!("QMUX_CERT_{name}"),
            write(dir, &format!("{lower}.pem"), cert),
        ));
        if let Some(key) = key {
            env.push((
                format!("QMUX_KEY_{name}"),
                write(dir, &format!("{lower}.key"), key.serialize_pem()),
            ));
        }
    };

    // X.509 v1, self-signed, CN=localhost.
    let key = KeyPair::generate().expect("key");
    let der = hand_built(None, 1, "localhost", &key, "localhost", &key, false);
    add("V1", pem(&der), Some(&key));

    // The version field 3, as MsQuic's generator writes it, self-signed, CN=localhost.
    let key = KeyPair::generate().expect("key");
    let der = hand_built(Some(3), 2, "localhost", &key, "localhost", &key, false);
    add("V4", pem(&der), Some(&key));

    // MsQuic's generator with a CA: both with the version field 3, the CA marked CA:TRUE.
    let ca_key = KeyPair::generate().expect("key");
    let ca = hand_built(Some(3), 3, "CA Cert", &ca_key, "CA Cert", &ca_key, true);
    add("CA4", pem(&ca), None);
    let key = KeyPair::generate().expect("key");
    let leaf = hand_built(Some(3), 4, "localhost", &key, "CA Cert", &ca_key, false);
    add("LEAF4", pem(&leaf), Some(&key));

    // v3, the name only in the common name (no subject alternative name).
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    params.distinguished_name = dn;
    add(
        "CN_ONLY",
        params.self_signed(&key).expect("cert").pem(),
        Some(&key),
    );

    // v3, a self-signed end-entity certificate marked as a CA.
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    add(
        "CA_EE",
        params.self_signed(&key).expect("cert").pem(),
        Some(&key),
    );

    // An unrelated certificate, for "untrusted".
    let key = KeyPair::generate().expect("key");
    let der = hand_built(Some(3), 5, "localhost", &key, "localhost", &key, false);
    add("OTHER", pem(&der), None);
    env
}
