//! In-memory handshakes and data exchange between client and server sessions, with
//! certificates made at test time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

use super::*;

// ---------------------------------------------------------------- fixtures

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "msquic-qmux-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA and a leaf it signed, written as PEM files.
struct Pki {
    dir: TempDir,
    ca_pem: PathBuf,
    cert_pem: PathBuf,
    key_pem: PathBuf,
    leaf_key: KeyPair,
    leaf_der: Vec<u8>,
    ca_der: Vec<u8>,
}

/// Distinct CA names, so that an untrusted CA is an unknown issuer rather than a
/// namesake with the wrong key.
static CA_SERIAL: AtomicUsize = AtomicUsize::new(0);

fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("test CA {}", CA_SERIAL.fetch_add(1, Ordering::Relaxed)),
    );
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn pki_with(names: &[&str], edit: impl FnOnce(&mut CertificateParams)) -> Pki {
    let ca = ca();
    let leaf_key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    edit(&mut params);
    let leaf = params.signed_by(&leaf_key, &ca).unwrap();
    let dir = TempDir::new();
    let ca_pem = dir.write("ca.pem", ca.pem());
    let cert_pem = dir.write("cert.pem", leaf.pem() + &ca.pem());
    let key_pem = dir.write("key.pem", leaf_key.serialize_pem());
    Pki {
        ca_pem,
        cert_pem,
        key_pem,
        leaf_der: leaf.der().to_vec(),
        ca_der: ca.der().to_vec(),
        leaf_key,
        dir,
    }
}

fn pki() -> Pki {
    pki_with(&["localhost"], |_| {})
}

fn tokens(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn server_creds(p: &Pki) -> Credentials {
    Credentials {
        certificate: CertificateSource::PemFiles {
            cert_chain: p.cert_pem.clone(),
            private_key: p.key_pem.clone(),
            password: None,
        },
        ..Credentials::default()
    }
}

fn client_trusting(p: &Pki) -> Credentials {
    Credentials {
        verification: PeerVerification::Roots {
            system: false,
            ca_file: Some(p.ca_pem.clone()),
        },
        ..Credentials::default()
    }
}

fn client_no_validation() -> Credentials {
    Credentials {
        verification: PeerVerification::None,
        ..Credentials::default()
    }
}

// ---------------------------------------------------------------- harness

#[derive(Default)]
struct Endpoint {
    session: Option<TlsSession>,
    /// Received bytes before the session exists (the server's ClientHello).
    inbox: RecvBuffer,
    outbox: Vec<u8>,
    plain: Vec<u8>,
    error: Option<TlsError>,
    completed: usize,
    peer_closed: bool,
}

impl Endpoint {
    fn pump(&mut self) -> bool {
        let Some(session) = self.session.as_mut() else {
            return false;
        };
        if self.error.is_some() {
            return false;
        }
        let before = self.outbox.len();
        let plain = &mut self.plain;
        match session.process(&mut self.outbox, &mut |p| plain.extend_from_slice(p)) {
            Ok(p) => {
                if p.handshake_completed {
                    self.completed += 1;
                }
                self.peer_closed |= p.peer_closed;
                p.consumed > 0 || self.outbox.len() > before || p.handshake_completed
            }
            Err(e) => {
                self.error = Some(e);
                true
            }
        }
    }

    fn send(&mut self, data: &[u8]) {
        let session = self.session.as_mut().expect("session started");
        session.encrypt(data, &mut self.outbox).unwrap();
    }

    fn session(&mut self) -> &mut TlsSession {
        self.session.as_mut().expect("session started")
    }
}

type Chooser = Box<dyn FnMut(&ClientHello) -> TlsServerConfig>;

struct Pair {
    client: Endpoint,
    server: Endpoint,
    choose: Chooser,
    hello: Option<ClientHello>,
    /// Bytes moved per direction per step.
    chunk: usize,
    resumption: Resumption,
}

impl Pair {
    fn new(client: &TlsClientConfig, server: TlsServerConfig) -> Self {
        Self::choosing(client, Box::new(move |_| server.clone()))
    }

    fn choosing(client: &TlsClientConfig, choose: Chooser) -> Self {
        Self {
            client: Endpoint {
                session: Some(TlsSession::client(client, "localhost").unwrap()),
                ..Endpoint::default()
            },
            server: Endpoint::default(),
            choose,
            hello: None,
            chunk: usize::MAX,
            resumption: Resumption::Off,
        }
    }

    fn step(&mut self) -> bool {
        let mut moved = self.client.pump();
        if self.server.session.is_none() && self.server.error.is_none() {
            match client_hello::parse(self.server.inbox.data()) {
                Ok(Some(hello)) => {
                    let config = (self.choose)(&hello);
                    let inbox = std::mem::take(&mut self.server.inbox);
                    self.server.session = Some(
                        TlsSession::server_resuming(&config, &hello, inbox, None, self.resumption)
                            .unwrap(),
                    );
                    self.hello = Some(hello);
                    moved = true;
                }
                Ok(None) => {}
                Err(e) => self.server.error = Some(e),
            }
        }
        moved |= self.server.pump();
        moved |= transfer(&mut self.client.outbox, &mut self.server, self.chunk);
        moved |= transfer(&mut self.server.outbox, &mut self.client, self.chunk);
        moved
    }

    fn drive(&mut self) {
        for _ in 0..1_000_000 {
            if !self.step() {
                return;
            }
        }
        panic!("no quiescence");
    }

    fn handshake(&mut self) {
        self.drive();
        assert!(
            self.client.error.is_none(),
            "client: {:?}",
            self.client.error
        );
        assert!(
            self.server.error.is_none(),
            "server: {:?}",
            self.server.error
        );
        assert_eq!(self.client.completed, 1);
        assert_eq!(self.server.completed, 1);
    }
}

fn transfer(from: &mut Vec<u8>, to: &mut Endpoint, chunk: usize) -> bool {
    let n = from.len().min(chunk);
    let inbox = match to.session.as_mut() {
        Some(s) => s.incoming(),
        None => &mut to.inbox,
    };
    inbox.extend_from_slice(&from[..n]);
    from.drain(..n);
    n > 0
}

fn configs(p: &Pki, alpn: &[&str]) -> (TlsClientConfig, TlsServerConfig) {
    (
        client_trusting(p).client_config(&tokens(alpn)).unwrap(),
        server_creds(p).server_config(&tokens(alpn)).unwrap(),
    )
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

// ---------------------------------------------------------------- handshakes

#[test]
fn handshake_negotiates_qx_form_and_app_sees_plain_token() {
    let p = pki();
    let (c, s) = configs(&p, &["h3", "hq"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    let client = pair.client.session();
    assert_eq!(client.negotiated_alpn_wire(), Some(&b"h3qx"[..]));
    assert_eq!(client.negotiated_alpn(), Some(&b"h3"[..]));
    let info = client.handshake_info().unwrap();
    assert_eq!(info.protocol_version, 0x0304);
    assert!([0x1301, 0x1302, 0x1303].contains(&info.cipher_suite));
    assert!(info.key_exchange_group.is_some());
    assert!(!info.resumed);
    assert_eq!(
        client.peer_certificates().unwrap()[0].as_ref(),
        &p.leaf_der[..]
    );
    let server = pair.server.session();
    assert_eq!(server.negotiated_alpn_wire(), Some(&b"h3qx"[..]));
    assert_eq!(server.negotiated_alpn(), Some(&b"h3"[..]));
    assert_eq!(server.server_name(), Some("localhost"));
    assert!(server.peer_certificates().is_none());
    assert_eq!(server.handshake_info(), client.handshake_info());
}

#[test]
fn sni_and_client_alpn_list_are_seen_before_the_config_is_chosen() {
    let a = pki_with(&["a.example"], |_| {});
    let b = pki_with(&["b.example"], |_| {});
    let sa = server_creds(&a).server_config(&tokens(&["x"])).unwrap();
    let sb = server_creds(&b).server_config(&tokens(&["x"])).unwrap();
    let client = client_no_validation()
        .client_config(&tokens(&["x", "y"]))
        .unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let mut pair = Pair::choosing(
        &client,
        Box::new(move |hello| {
            seen2.lock().unwrap().push(hello.clone());
            match hello.server_name.as_deref() {
                Some("b.example") => sb.clone(),
                _ => sa.clone(),
            }
        }),
    );
    pair.client.session = Some(TlsSession::client(&client, "b.example").unwrap());
    pair.handshake();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].server_name.as_deref(), Some("b.example"));
    assert_eq!(seen[0].alpn, tokens(&["xqx", "x", "yqx", "y"]));
    assert_eq!(
        seen[0].alpn_wire_encoding(),
        b"\x03xqx\x01x\x03yqx\x01y".to_vec()
    );
    assert_eq!(
        pair.client.session().peer_certificates().unwrap()[0].as_ref(),
        &b.leaf_der[..]
    );
}

#[test]
fn ip_address_server_name_sends_no_sni() {
    let p = pki_with(&["127.0.0.1"], |params| {
        params.subject_alt_names = vec![rcgen::SanType::IpAddress([127, 0, 0, 1].into())];
    });
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.client.session = Some(TlsSession::client(&c, "127.0.0.1").unwrap());
    pair.handshake();
    assert_eq!(pair.hello.as_ref().unwrap().server_name, None);
}

#[test]
fn invalid_server_name_is_refused() {
    let c = client_no_validation()
        .client_config(&tokens(&["x"]))
        .unwrap();
    let err = TlsSession::client(&c, "not a name!").err().unwrap();
    assert_eq!(err.kind(), TlsErrorKind::InvalidServerName);
    assert_eq!(err.status(), TlsStatus::InvalidParameter);
}

#[test]
fn handshake_and_data_with_one_byte_chunks() {
    let p = pki();
    let (c, s) = configs(&p, &["h3"]);
    let mut pair = Pair::new(&c, s);
    pair.chunk = 1;
    pair.handshake();
    let msg = pattern(5000, 7);
    pair.client.send(&msg);
    let reply = pattern(3000, 9);
    pair.server.send(&reply);
    pair.drive();
    assert_eq!(pair.server.plain, msg);
    assert_eq!(pair.client.plain, reply);
}

#[test]
fn server_accepts_the_plain_form() {
    // A client that offers only `X`, as MsQuic's QMux branch and HAProxy do.
    let p = pki();
    let (c, s) = configs(&p, &["h3"]);
    let mut raw = (*c.rustls).clone();
    raw.alpn_protocols = tokens(&["h3"]);
    let c = TlsClientConfig {
        rustls: Arc::new(raw),
        ..c
    };
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    assert_eq!(pair.hello.as_ref().unwrap().alpn, tokens(&["h3"]));
    assert_eq!(
        pair.server.session().negotiated_alpn_wire(),
        Some(&b"h3"[..])
    );
    assert_eq!(pair.server.session().negotiated_alpn(), Some(&b"h3"[..]));
    assert_eq!(pair.client.session().negotiated_alpn(), Some(&b"h3"[..]));
}

#[test]
fn client_accepts_a_server_choosing_the_plain_form() {
    // A server that only knows `X` picks it from the client's [Xqx, X].
    let p = pki();
    let (c, s) = configs(&p, &["h3"]);
    let mut raw = (*s.rustls).clone();
    raw.alpn_protocols = tokens(&["h3"]);
    let s = TlsServerConfig {
        rustls: Arc::new(raw),
        alpn: tokens(&["h3"]).into(),
        ..s
    };
    let mut pair = Pair::new(&c, s.clone());
    // Start the server as a plain-form-only peer would: told only of `h3`.
    let hello = ClientHello {
        server_name: None,
        alpn: tokens(&["h3"]),
        ticket: None,
    };
    pair.server.session =
        Some(TlsSession::server(&s, &hello, RecvBuffer::default(), None).unwrap());
    pair.handshake();
    assert_eq!(pair.client.session().negotiated_alpn(), Some(&b"h3"[..]));
}

#[test]
fn server_selection_follows_client_preference() {
    let p = pki();
    let c = client_trusting(&p)
        .client_config(&tokens(&["b", "a"]))
        .unwrap();
    let s = server_creds(&p)
        .server_config(&tokens(&["a", "b"]))
        .unwrap();
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    assert_eq!(
        pair.server.session().negotiated_alpn_wire(),
        Some(&b"bqx"[..])
    );
    assert_eq!(pair.client.session().negotiated_alpn(), Some(&b"b"[..]));
}

#[test]
fn alpn_mismatch_fails_both_sides_with_no_application_protocol() {
    let p = pki();
    let c = client_trusting(&p).client_config(&tokens(&["x"])).unwrap();
    let s = server_creds(&p).server_config(&tokens(&["y"])).unwrap();
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let ce = pair.client.error.clone().unwrap();
    assert_eq!(ce.kind(), TlsErrorKind::NoApplicationProtocol);
    assert_eq!(ce.alert_received(), Some(alert::NO_APPLICATION_PROTOCOL));
    assert_eq!(ce.status(), TlsStatus::AlpnNegFailure);
    let se = pair.server.error.clone().unwrap();
    assert_eq!(se.kind(), TlsErrorKind::NoApplicationProtocol);
    assert_eq!(se.alert_sent(), Some(alert::NO_APPLICATION_PROTOCOL));
    assert_eq!(se.status(), TlsStatus::AlpnNegFailure);
    assert_eq!(pair.client.completed, 0);
    assert_eq!(pair.server.completed, 0);
}

#[test]
fn untrusted_certificate_fails_with_unknown_ca() {
    let p = pki();
    let other = pki();
    let c = client_trusting(&other)
        .client_config(&tokens(&["x"]))
        .unwrap();
    let s = server_creds(&p).server_config(&tokens(&["x"])).unwrap();
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let ce = pair.client.error.clone().unwrap();
    assert_eq!(ce.kind(), TlsErrorKind::CertificateUntrusted);
    assert_eq!(ce.cert_status(), Some(CertStatus::UntrustedRoot));
    assert_eq!(ce.alert_sent(), Some(alert::UNKNOWN_CA));
    assert_eq!(ce.status(), TlsStatus::TlsAlert(alert::UNKNOWN_CA));
    let se = pair.server.error.clone().unwrap();
    assert_eq!(se.alert_received(), Some(alert::UNKNOWN_CA));
    assert_eq!(se.status(), TlsStatus::TlsAlert(alert::UNKNOWN_CA));
}

#[test]
fn system_roots_do_not_trust_a_test_ca() {
    let p = pki();
    let c = Credentials::default()
        .client_config(&tokens(&["x"]))
        .unwrap();
    let s = server_creds(&p).server_config(&tokens(&["x"])).unwrap();
    let mut pair = Pair::new(&c, s);
    pair.drive();
    assert_eq!(
        pair.client.error.clone().unwrap().kind(),
        TlsErrorKind::CertificateUntrusted
    );
}

#[test]
fn system_roots_load_offline() {
    // Debian's /etc/ssl/certs when ca-certificates is installed; an empty store otherwise.
    let roots = system_roots();
    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        assert!(!roots.is_empty());
    }
}

#[test]
fn no_certificate_validation_accepts_an_untrusted_certificate() {
    let p = pki();
    let c = client_no_validation()
        .client_config(&tokens(&["x"]))
        .unwrap();
    let s = server_creds(&p).server_config(&tokens(&["x"])).unwrap();
    let mut pair = Pair::new(&c, s);
    pair.handshake();
}

#[test]
fn ca_file_is_trusted_alone_and_with_the_system_store() {
    let p = pki();
    for system in [false, true] {
        let c = Credentials {
            verification: PeerVerification::Roots {
                system,
                ca_file: Some(p.ca_pem.clone()),
            },
            ..Credentials::default()
        }
        .client_config(&tokens(&["x"]))
        .unwrap();
        let s = server_creds(&p).server_config(&tokens(&["x"])).unwrap();
        Pair::new(&c, s).handshake();
    }
    assert_eq!(
        PeerVerification::ca_file(&p.ca_pem),
        PeerVerification::Roots {
            system: true,
            ca_file: Some(p.ca_pem.clone())
        }
    );
}

#[test]
fn expired_certificate_fails_with_certificate_expired() {
    let p = pki_with(&["localhost"], |params| {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    });
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let ce = pair.client.error.clone().unwrap();
    assert_eq!(ce.cert_status(), Some(CertStatus::Expired));
    assert_eq!(ce.status(), TlsStatus::TlsAlert(alert::CERTIFICATE_EXPIRED));
}

#[test]
fn wrong_name_fails_with_bad_certificate() {
    let p = pki_with(&["elsewhere.example"], |_| {});
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let ce = pair.client.error.clone().unwrap();
    assert_eq!(ce.cert_status(), Some(CertStatus::BadCertificate));
    assert_eq!(ce.status(), TlsStatus::TlsAlert(alert::BAD_CERTIFICATE));
}

/// A client trusting `p`'s CA that presents `own`'s certificate.
fn client_with_certificate(p: &Pki, own: &Pki) -> TlsClientConfig {
    Credentials {
        certificate: CertificateSource::PemFiles {
            cert_chain: own.cert_pem.clone(),
            private_key: own.key_pem.clone(),
            password: None,
        },
        ..client_trusting(p)
    }
    .client_config(&tokens(&["x"]))
    .unwrap()
}

fn client_auth_server(p: &Pki, trust: &Pki) -> TlsServerConfig {
    Credentials {
        require_client_auth: true,
        verification: PeerVerification::Roots {
            system: false,
            ca_file: Some(trust.ca_pem.clone()),
        },
        ..server_creds(p)
    }
    .server_config(&tokens(&["x"]))
    .unwrap()
}

#[test]
fn client_auth_required_and_missing_fails() {
    let p = pki();
    let s = client_auth_server(&p, &p);
    let c = client_trusting(&p).client_config(&tokens(&["x"])).unwrap();
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let se = pair.server.error.clone().unwrap();
    assert_eq!(se.kind(), TlsErrorKind::NoCertificate);
    assert_eq!(se.cert_status(), Some(CertStatus::NoCert));
    assert_eq!(se.alert_sent(), Some(alert::CERTIFICATE_REQUIRED));
    let ce = pair.client.error.clone().unwrap();
    assert_eq!(ce.alert_received(), Some(alert::CERTIFICATE_REQUIRED));
    assert_eq!(
        ce.status(),
        TlsStatus::TlsAlert(alert::CERTIFICATE_REQUIRED)
    );
}

#[test]
fn client_auth_with_a_trusted_certificate_succeeds() {
    let p = pki();
    let client_pki = pki_with(&["client"], |_| {});
    let s = client_auth_server(&p, &client_pki);
    let c = client_with_certificate(&p, &client_pki);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    assert_eq!(
        pair.server.session().peer_certificates().unwrap()[0].as_ref(),
        &client_pki.leaf_der[..]
    );
}

#[test]
fn client_auth_with_an_untrusted_certificate_fails() {
    let p = pki();
    let client_pki = pki_with(&["client"], |_| {});
    let s = client_auth_server(&p, &p);
    let c = client_with_certificate(&p, &client_pki);
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let se = pair.server.error.clone().unwrap();
    assert_eq!(se.cert_status(), Some(CertStatus::UntrustedRoot));
    assert_eq!(
        pair.client.error.clone().unwrap().alert_received(),
        Some(alert::UNKNOWN_CA)
    );
}

#[test]
fn client_auth_without_validation_accepts_no_certificate() {
    let p = pki();
    let s = Credentials {
        require_client_auth: true,
        verification: PeerVerification::None,
        ..server_creds(&p)
    }
    .server_config(&tokens(&["x"]))
    .unwrap();
    let c = client_trusting(&p).client_config(&tokens(&["x"])).unwrap();
    Pair::new(&c, s).handshake();
}

#[test]
fn cipher_suite_restriction_is_honoured() {
    let p = pki();
    let only = |suites: CipherSuites| Credentials {
        cipher_suites: suites,
        ..client_trusting(&p)
    };
    let chacha = CipherSuites {
        aes_128_gcm_sha256: false,
        aes_256_gcm_sha384: false,
        chacha20_poly1305_sha256: true,
    };
    let c = only(chacha).client_config(&tokens(&["x"])).unwrap();
    let s = server_creds(&p).server_config(&tokens(&["x"])).unwrap();
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    assert_eq!(
        pair.client.session().handshake_info().unwrap().cipher_suite,
        0x1303
    );

    let aes128 = CipherSuites {
        aes_128_gcm_sha256: true,
        aes_256_gcm_sha384: false,
        chacha20_poly1305_sha256: false,
    };
    let s = Credentials {
        cipher_suites: aes128,
        ..server_creds(&p)
    }
    .server_config(&tokens(&["x"]))
    .unwrap();
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let ce = pair.client.error.clone().unwrap();
    assert_eq!(ce.alert_received(), Some(alert::HANDSHAKE_FAILURE));
    assert_eq!(ce.status(), TlsStatus::HandshakeFailure);

    let none = CipherSuites {
        aes_128_gcm_sha256: false,
        aes_256_gcm_sha384: false,
        chacha20_poly1305_sha256: false,
    };
    let err = only(none).client_config(&tokens(&["x"])).unwrap_err();
    assert_eq!(err.status(), CredentialStatus::InvalidParameter);
}

// ---------------------------------------------------------------- credentials

fn encrypted_key_pem(key: &KeyPair, password: &str) -> String {
    use pkcs8::pkcs5::pbes2;
    let der = key.serialize_der();
    let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_slice()).unwrap();
    let params =
        pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(2048, b"saltsalt", [7; 16]).unwrap();
    let doc = info.encrypt_with_params(params, password).unwrap();
    doc.to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

#[test]
fn encrypted_pem_key_loads_with_the_right_password_only() {
    let p = pki();
    let key = p
        .dir
        .write("enc.pem", encrypted_key_pem(&p.leaf_key, "s3cret"));
    let creds = |password: Option<&str>| Credentials {
        certificate: CertificateSource::PemFiles {
            cert_chain: p.cert_pem.clone(),
            private_key: key.clone(),
            password: password.map(str::to_owned),
        },
        ..Credentials::default()
    };
    let s = creds(Some("s3cret"))
        .server_config(&tokens(&["x"]))
        .unwrap();
    let c = client_trusting(&p).client_config(&tokens(&["x"])).unwrap();
    Pair::new(&c, s).handshake();

    for wrong in [Some("wrong"), None] {
        let err = creds(wrong).server_config(&tokens(&["x"])).unwrap_err();
        assert!(matches!(err, CredentialError::KeyDecryption(_)), "{err}");
        assert_eq!(err.status(), CredentialStatus::TlsError);
    }
}

fn pkcs12_blob(p: &Pki, password: &str) -> Vec<u8> {
    use p12_keystore::{
        Certificate, KeyStore, KeyStoreEntry, LocalKeyId, PrivateKey, PrivateKeyChain,
    };
    let chain = PrivateKeyChain::new(
        LocalKeyId(vec![1, 2, 3, 4]),
        PrivateKey::from_der(&p.leaf_key.serialize_der()).unwrap(),
        [
            Certificate::from_der(&p.leaf_der).unwrap(),
            Certificate::from_der(&p.ca_der).unwrap(),
        ],
    );
    let mut store = KeyStore::new();
    store.add_entry("leaf", KeyStoreEntry::PrivateKeyChain(chain));
    store.writer(password).write().unwrap()
}

#[test]
fn pkcs12_loads_and_serves() {
    let p = pki();
    for password in [Some("pfx-pass"), None] {
        let blob = pkcs12_blob(&p, password.unwrap_or(""));
        let s = Credentials {
            certificate: CertificateSource::Pkcs12 {
                blob,
                password: password.map(str::to_owned),
            },
            ..Credentials::default()
        }
        .server_config(&tokens(&["x"]))
        .unwrap();
        let c = client_trusting(&p).client_config(&tokens(&["x"])).unwrap();
        let mut pair = Pair::new(&c, s);
        pair.handshake();
        assert_eq!(
            pair.client.session().peer_certificates().unwrap()[0].as_ref(),
            &p.leaf_der[..]
        );
    }
}

#[test]
fn pkcs12_with_a_wrong_password_or_garbage_fails() {
    let p = pki();
    let creds = |blob: Vec<u8>, password: &str| Credentials {
        certificate: CertificateSource::Pkcs12 {
            blob,
            password: Some(password.to_owned()),
        },
        ..Credentials::default()
    };
    let err = creds(pkcs12_blob(&p, "right"), "wrong")
        .server_config(&tokens(&["x"]))
        .unwrap_err();
    assert_eq!(err.status(), CredentialStatus::TlsError);
    let err = creds(b"not a pfx".to_vec(), "x")
        .server_config(&tokens(&["x"]))
        .unwrap_err();
    assert_eq!(err.status(), CredentialStatus::TlsError);
}

#[test]
fn credential_errors_map_to_msquic_classes() {
    let p = pki();
    let missing = Credentials {
        certificate: CertificateSource::PemFiles {
            cert_chain: p.dir.0.join("nope.pem"),
            private_key: p.key_pem.clone(),
            password: None,
        },
        ..Credentials::default()
    };
    assert_eq!(
        missing.server_config(&tokens(&["x"])).unwrap_err().status(),
        CredentialStatus::TlsError
    );
    let garbage = p.dir.write("garbage.pem", "not pem at all\n");
    let bad = Credentials {
        certificate: CertificateSource::PemFiles {
            cert_chain: garbage.clone(),
            private_key: garbage,
            password: None,
        },
        ..Credentials::default()
    };
    assert_eq!(
        bad.server_config(&tokens(&["x"])).unwrap_err().status(),
        CredentialStatus::TlsError
    );
    let other = pki();
    let mismatched = Credentials {
        certificate: CertificateSource::PemFiles {
            cert_chain: p.cert_pem.clone(),
            private_key: other.key_pem.clone(),
            password: None,
        },
        ..Credentials::default()
    };
    assert_eq!(
        mismatched
            .server_config(&tokens(&["x"]))
            .unwrap_err()
            .status(),
        CredentialStatus::TlsError
    );
    assert_eq!(
        Credentials::default()
            .server_config(&tokens(&["x"]))
            .unwrap_err()
            .status(),
        CredentialStatus::InvalidParameter
    );
    let ca_missing = Credentials {
        verification: PeerVerification::ca_file(p.dir.0.join("none.pem")),
        ..Credentials::default()
    };
    assert_eq!(
        ca_missing
            .client_config(&tokens(&["x"]))
            .unwrap_err()
            .status(),
        CredentialStatus::TlsError
    );
}

// ---------------------------------------------------------------- data

#[test]
fn records_up_to_16k_round_trip_byte_exact_both_ways() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    for len in [1, 2, 100, 1400, 16383, 16384, 16385, 40000] {
        let up = pattern(len, 1);
        let down = pattern(len, 2);
        let before = pair.client.outbox.len();
        pair.client.send(&up);
        assert_eq!(pair.client.outbox.len() - before, encrypted_len(len));
        pair.server.send(&down);
        pair.drive();
        assert_eq!(pair.server.plain, up, "len {len}");
        assert_eq!(pair.client.plain, down, "len {len}");
        pair.server.plain.clear();
        pair.client.plain.clear();
    }
}

#[test]
fn encrypt_into_a_fixed_buffer() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    let msg = pattern(16384, 3);
    let mut small = vec![0; 100];
    let err = pair
        .client
        .session()
        .encrypt_into(&msg, &mut small)
        .unwrap_err();
    assert_eq!(err.kind(), TlsErrorKind::BufferTooSmall);
    assert_eq!(
        err.required_size(),
        encrypted_len(msg.len()) + POST_HANDSHAKE_ROOM
    );
    assert_eq!(err.status(), TlsStatus::BufferTooSmall);
    assert!(pair.client.session().error().is_none());
    let mut buf = vec![0; encrypted_len(msg.len()) + POST_HANDSHAKE_ROOM];
    let n = pair.client.session().encrypt_into(&msg, &mut buf).unwrap();
    assert_eq!(n, encrypted_len(msg.len()));
    pair.client.outbox.extend_from_slice(&buf[..n]);
    pair.drive();
    assert_eq!(pair.server.plain, msg);
}

#[test]
fn ten_megabyte_stream_both_ways() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    let up = pattern(10 << 20, 4);
    let down = pattern(10 << 20, 5);
    let mut ups = up.chunks(100_000);
    let mut downs = down.chunks(77_777);
    loop {
        let (u, d) = (ups.next(), downs.next());
        if u.is_none() && d.is_none() {
            break;
        }
        if let Some(u) = u {
            let c = pair.client.session.as_mut().unwrap();
            c.encrypt(u, &mut pair.client.outbox).unwrap();
        }
        if let Some(d) = d {
            let s = pair.server.session.as_mut().unwrap();
            s.encrypt(d, &mut pair.server.outbox).unwrap();
        }
        pair.drive();
    }
    assert!(pair.server.plain == up);
    assert!(pair.client.plain == down);
}

#[test]
fn close_notify_reaches_the_peer() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    let msg = pattern(1000, 6);
    let client = pair.client.session.as_mut().unwrap();
    client.encrypt(&msg, &mut pair.client.outbox).unwrap();
    assert!(client.close_notify(&mut pair.client.outbox).unwrap());
    assert!(client.close_notify_sent());
    pair.drive();
    assert_eq!(pair.server.plain, msg);
    assert!(pair.server.peer_closed);
    assert!(pair.server.session().peer_closed());
    // The server may still answer, then close too.
    let server = pair.server.session.as_mut().unwrap();
    server.encrypt(b"bye", &mut pair.server.outbox).unwrap();
    assert!(server.close_notify(&mut pair.server.outbox).unwrap());
    pair.drive();
    assert_eq!(pair.client.plain, b"bye");
    assert!(pair.client.peer_closed);
}

/// A ticket sent after the handshake with application data resumes the next session,
/// which reads the data back from the ClientHello; the seed ticket is not kept.
#[test]
fn resumption_tickets_sent_on_demand_resume() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut first = Pair::new(&c, s.clone());
    first.resumption = Resumption::On;
    first.handshake();
    first.server.send(b"hi");
    first.drive();
    assert!(
        first
            .client
            .session
            .as_mut()
            .unwrap()
            .take_tickets()
            .is_empty()
    );
    let server = first.server.session.as_mut().unwrap();
    server
        .send_resumption_ticket(b"app data", &mut first.server.outbox)
        .unwrap();
    first.drive();
    let ids = first.client.session.as_mut().unwrap().take_tickets();
    assert_eq!(ids.len(), 1);

    let mut second = Pair::new(&c, s.clone());
    second.resumption = Resumption::On;
    second.client.session =
        Some(TlsSession::client_resuming(&c, "localhost", Some(ids[0])).unwrap());
    second.handshake();
    assert!(second.client.session().handshake_info().unwrap().resumed);
    let hello = second.hello.clone().unwrap();
    assert_eq!(
        TlsSession::offered_ticket_data(&s, &hello).as_deref(),
        Some(&b"app data"[..])
    );

    // A refused ticket gives a full handshake.
    let mut third = Pair::new(&c, s.clone());
    third.resumption = Resumption::Refused;
    third.client.session =
        Some(TlsSession::client_resuming(&c, "localhost", Some(ids[0])).unwrap());
    third.handshake();
    assert!(!third.client.session().handshake_info().unwrap().resumed);

    // Another configuration with the same key opens it; one with another key does not.
    let (_, other) = configs(&p, &["x"]);
    assert_eq!(TlsSession::offered_ticket_data(&other, &hello), None);
    other.set_ticket_key([7; 16], b"material");
    s.set_ticket_key([7; 16], b"material");
    let mut fourth = Pair::new(&c, s.clone());
    fourth.resumption = Resumption::On;
    fourth.handshake();
    let server = fourth.server.session.as_mut().unwrap();
    server
        .send_resumption_ticket(b"", &mut fourth.server.outbox)
        .unwrap();
    fourth.drive();
    let id = fourth.client.session.as_mut().unwrap().take_tickets()[0];
    let mut fifth = Pair::new(&c, other.clone());
    fifth.resumption = Resumption::On;
    fifth.client.session = Some(TlsSession::client_resuming(&c, "localhost", Some(id)).unwrap());
    fifth.handshake();
    assert!(fifth.client.session().handshake_info().unwrap().resumed);
}

/// A ticket from a server accepting early data (0-RTT) lets the next client send data with
/// its ClientHello: accepted by such a server (and told apart from the rest of the stream),
/// refused by one that resumes without early data or refuses the ticket, and then handed
/// back to be sent after the handshake. Early data over several records works both ways.
#[test]
fn early_data_accepted_or_handed_back() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut first = Pair::new(&c, s.clone());
    first.resumption = Resumption::EarlyData;
    first.handshake();
    // No ticket of the handshake's own allows early data.
    assert_eq!(first.client.session().early_data_room(), 0);
    let server = first.server.session.as_mut().unwrap();
    server
        .send_resumption_ticket(b"", &mut first.server.outbox)
        .unwrap();
    first.drive();
    let id = first.client.session().take_tickets()[0];
    let early: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    for (resumption, accepted) in [
        (Resumption::EarlyData, true),
        (Resumption::On, false),
        (Resumption::Refused, false),
    ] {
        let mut pair = Pair::new(&c, s.clone());
        pair.resumption = resumption;
        let mut session = TlsSession::client_resuming(&c, "localhost", Some(id)).unwrap();
        assert_eq!(session.early_data_room(), tickets::MAX_EARLY_DATA as usize);
        session.set_early_data(early.clone());
        assert!(session.early_data_unsettled());
        pair.client.session = Some(session);
        pair.handshake();
        let client = pair.client.session();
        assert_eq!(
            client.early_data_accepted(),
            Some(accepted),
            "{resumption:?}"
        );
        assert!(!client.early_data_unsettled());
        assert_eq!(client.early_data_room(), 0);
        let replay = client.take_replay();
        if accepted {
            assert_eq!(replay, None);
            assert_eq!(pair.server.plain, early);
        } else {
            assert!(pair.server.plain.is_empty(), "{resumption:?}");
            let replay = replay.expect("handed back");
            assert_eq!(replay, early);
            pair.client.send(&replay);
            pair.drive();
            assert_eq!(pair.server.plain, early);
        }
        // The stream goes on after it.
        pair.client.send(b"after");
        pair.drive();
        assert!(pair.server.plain.ends_with(b"after"));
    }
}

/// A server's own ticket identifier (a stored session's) is never taken for one of our
/// sealed tickets, whatever its first byte.
#[test]
fn stored_session_ids_are_not_sealed_tickets() {
    // lifetime, age_add, nonce (1 byte), ticket of 32 bytes starting like a sealed one.
    let mut body = vec![0, 0, 0, 1, 0, 0, 0, 2, 1, 9, 0, 32, 0xA1];
    body.extend_from_slice(&[0; 31]);
    body.extend_from_slice(&[0, 0]);
    assert!(!tickets::is_sealed(&body));
}

/// The client's Finished taken in by rustls while the server sends (0.5-RTT data) issues
/// the seed ticket there: the session keeps it, and another session driven on the thread
/// meanwhile does not take it.
#[test]
fn a_seed_issued_while_sending_stays_with_its_session() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s.clone());
    pair.resumption = Resumption::On;
    while pair.client.completed == 0 {
        assert!(pair.step());
    }
    // The client's Finished waits in the server's receive buffer.
    pair.server.send(b"early");
    let mut other = Pair::new(&c, s);
    other.handshake();
    pair.drive();
    let server = pair.server.session.as_mut().unwrap();
    server
        .send_resumption_ticket(b"", &mut pair.server.outbox)
        .unwrap();
    pair.drive();
    assert_eq!(pair.client.session().take_tickets().len(), 1);
}

#[test]
fn garbage_instead_of_a_client_hello_is_refused() {
    let err = client_hello::parse(b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00").unwrap_err();
    assert_eq!(err.alert_sent(), Some(alert::DECODE_ERROR));
}

// ---------------------------------------------------------------- files made by OpenSSL

/// Runs `openssl` in `dir`; false when it is missing or refuses (the caller skips).
fn openssl(dir: &Path, args: &[&str]) -> bool {
    std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn serve_and_check(creds: Credentials, cert_pem: &Path) {
    let s = creds.server_config(&tokens(&["x"])).unwrap();
    let c = client_no_validation()
        .client_config(&tokens(&["x"]))
        .unwrap();
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    let want = keys::read_certificates(cert_pem).unwrap();
    assert_eq!(
        pair.client.session().peer_certificates().unwrap()[0],
        want[0]
    );
}

#[test]
fn openssl_made_protected_pem_and_pkcs12_load() {
    let dir = TempDir::new();
    let d = &dir.0;
    for (name, newkey) in [("ec", "ec"), ("rsa", "rsa:2048")] {
        let key = format!("{name}-key.pem");
        let cert = format!("{name}-cert.pem");
        let mut args = vec!["req", "-x509", "-newkey", newkey];
        if name == "ec" {
            args.extend(["-pkeyopt", "ec_paramgen_curve:prime256v1"]);
        }
        args.extend([
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-passout",
            "pass:pem-pass",
        ]);
        if !openssl(d, &args) {
            eprintln!("openssl unavailable: skipped");
            return;
        }
        let pem = |password: &str| Credentials {
            certificate: CertificateSource::PemFiles {
                cert_chain: d.join(&cert),
                private_key: d.join(&key),
                password: Some(password.to_owned()),
            },
            ..Credentials::default()
        };
        serve_and_check(pem("pem-pass"), &d.join(&cert));
        assert_eq!(
            pem("nope")
                .server_config(&tokens(&["x"]))
                .unwrap_err()
                .status(),
            CredentialStatus::TlsError
        );

        for legacy in [false, true] {
            let p12 = format!("{name}-{legacy}.p12");
            let mut args = vec![
                "pkcs12",
                "-export",
                "-in",
                &cert,
                "-inkey",
                &key,
                "-passin",
                "pass:pem-pass",
                "-out",
                &p12,
                "-passout",
                "pass:p12-pass",
            ];
            if legacy {
                args.push("-legacy");
            }
            if !openssl(d, &args) {
                eprintln!("openssl pkcs12 (legacy: {legacy}) refused: skipped");
                continue;
            }
            let blob = std::fs::read(d.join(&p12)).unwrap();
            let creds = Credentials {
                certificate: CertificateSource::Pkcs12 {
                    blob,
                    password: Some("p12-pass".into()),
                },
                ..Credentials::default()
            };
            serve_and_check(creds, &d.join(&cert));
        }
    }
    // A traditional "Proc-Type: 4,ENCRYPTED" key is not supported: an error, not a panic.
    if openssl(
        d,
        &[
            "ec",
            "-in",
            "ec-key.pem",
            "-passin",
            "pass:pem-pass",
            "-aes256",
            "-passout",
            "pass:x",
            "-out",
            "trad.pem",
        ],
    ) {
        let creds = Credentials {
            certificate: CertificateSource::PemFiles {
                cert_chain: d.join("ec-cert.pem"),
                private_key: d.join("trad.pem"),
                password: Some("x".into()),
            },
            ..Credentials::default()
        };
        assert_eq!(
            creds.server_config(&tokens(&["x"])).unwrap_err().status(),
            CredentialStatus::TlsError
        );
    }
}

/// A ClientHello record followed by bytes that are no TLS record (found by the
/// `client_hello` fuzz target): the server fails once, with one alert, and stays failed.
/// Before, flushing the alert read the bad bytes again and rustls queued a second fatal
/// alert (a debug assertion in rustls).
#[test]
fn garbage_after_the_client_hello_fails_once_with_one_alert() {
    let p = pki();
    let (_, s) = configs(&p, &["h3"]);
    let input: &[u8] = &[
        0x16, 0x03, 0x01, 0x00, 0x7c, 0x01, 0x00, 0x00, 0x78, 0x41, 0x03, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
        0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x20, 0x22,
        0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
        0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
        0x22, 0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0x01, 0x00, 0x00, 0x29, 0x00, 0x00,
        0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x68, 0x6f, 0x73,
        0x74, 0x00, 0x10, 0x00, 0x0c, 0x00, 0x0a, 0x04, 0x68, 0x33, 0x71, 0x78, 0x02, 0x68, 0x33,
        0x01, 0x78, 0x00, 0x2b, 0x00, 0x03, 0x68, 0x6f, 0x73, 0xa6, 0x01, 0x03, 0x73, 0x02, 0x74,
        0x03, 0x04,
    ];
    let hello = client_hello::parse(input).unwrap().unwrap();
    let mut buf = RecvBuffer::default();
    buf.extend_from_slice(input);
    let mut session = TlsSession::server(&s, &hello, buf, None).unwrap();
    let mut out = Vec::new();
    let err = session.process(&mut out, &mut |_| {}).unwrap_err();
    assert!(err.alert_sent().is_some(), "{err:?}");
    assert_eq!(out.len(), 7, "one alert record: {out:02x?}");
    assert_eq!((out[0], out[5]), (0x15, 2));
    assert_eq!(Some(out[6]), err.alert_sent());
    let mut more = Vec::new();
    assert!(session.process(&mut more, &mut |_| {}).is_err());
    assert!(more.is_empty());
}

// ---------------------------------------------------------------- throughput

/// In-memory throughput of one direction, ours against rustls' buffered API; run with
/// `cargo test --release --lib runtime::tls::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn throughput_in_memory() {
    use std::io::{Read, Write};
    use std::time::Instant;
    const TOTAL: usize = 1 << 30;
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let chunk = pattern(256 * 1024, 1);

    let mut pair = Pair::new(&c, s.clone());
    pair.handshake();
    let mut wire = Vec::with_capacity(2 * chunk.len());
    let mut received = 0usize;
    let start = Instant::now();
    let mut sent = 0;
    while sent < TOTAL {
        wire.clear();
        let client = pair.client.session.as_mut().unwrap();
        client.encrypt(&chunk, &mut wire).unwrap();
        sent += chunk.len();
        let server = pair.server.session.as_mut().unwrap();
        server.incoming().extend_from_slice(&wire);
        server
            .process(&mut pair.server.outbox, &mut |p| received += p.len())
            .unwrap();
    }
    let ours = TOTAL as f64 / start.elapsed().as_secs_f64() / 1e9;
    assert_eq!(received, sent);

    let mut client =
        rustls::ClientConnection::new(c.rustls.clone(), "localhost".try_into().unwrap()).unwrap();
    let mut server = rustls::ServerConnection::new(s.rustls.clone()).unwrap();
    client.set_buffer_limit(None);
    server.set_buffer_limit(None);
    let mut buf = Vec::new();
    while client.is_handshaking() || server.is_handshaking() {
        buf.clear();
        client.write_tls(&mut buf).unwrap();
        server.read_tls(&mut &buf[..]).unwrap();
        server.process_new_packets().unwrap();
        buf.clear();
        server.write_tls(&mut buf).unwrap();
        client.read_tls(&mut &buf[..]).unwrap();
        client.process_new_packets().unwrap();
    }
    let mut sink = vec![0u8; chunk.len()];
    let start = Instant::now();
    let mut sent = 0;
    while sent < TOTAL {
        client.writer().write_all(&chunk).unwrap();
        sent += chunk.len();
        wire.clear();
        while client.wants_write() {
            client.write_tls(&mut wire).unwrap();
        }
        let mut rd = &wire[..];
        while !rd.is_empty() {
            server.read_tls(&mut rd).unwrap();
            server.process_new_packets().unwrap();
            while let Ok(n) = server.reader().read(&mut sink) {
                if n == 0 {
                    break;
                }
            }
        }
    }
    let raw = TOTAL as f64 / start.elapsed().as_secs_f64() / 1e9;
    let suite = pair.client.session().handshake_info().unwrap().cipher_suite;
    eprintln!("suite {suite:#06x}: TlsSession {ours:.2} GB/s, rustls buffered {raw:.2} GB/s");
}

#[test]
fn encrypt_before_the_handshake_is_not_ready_and_harmless() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    let mut out = Vec::new();
    let err = pair
        .client
        .session()
        .encrypt(b"early", &mut out)
        .unwrap_err();
    assert_eq!(err.kind(), TlsErrorKind::NotReady);
    assert!(err.is_transient());
    assert_eq!(err.status(), TlsStatus::InvalidState);
    assert!(out.is_empty());
    assert!(pair.client.session().error().is_none());
    assert!(!pair.client.session().close_notify(&mut out).unwrap());
    pair.handshake();
    pair.client.send(b"now");
    pair.drive();
    assert_eq!(pair.server.plain, b"now");
}

#[test]
fn a_failed_session_keeps_failing() {
    let p = pki();
    let c = client_trusting(&p).client_config(&tokens(&["x"])).unwrap();
    let s = server_creds(&p).server_config(&tokens(&["y"])).unwrap();
    let mut pair = Pair::new(&c, s);
    pair.drive();
    let client = pair.client.session.as_mut().unwrap();
    let first = client.error().unwrap().kind();
    let again = client.process(&mut Vec::new(), &mut |_| {}).unwrap_err();
    assert_eq!(again.kind(), first);
    let mut out = Vec::new();
    assert_eq!(client.encrypt(b"x", &mut out).unwrap_err().kind(), first);
    assert!(out.is_empty());
}

#[test]
fn server_may_send_after_its_first_flight() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    // ClientHello out, server flight back, but the client's Finished not yet delivered.
    pair.client.pump();
    transfer(&mut pair.client.outbox, &mut pair.server, usize::MAX);
    pair.step();
    let server = pair.server.session.as_mut().unwrap();
    assert!(!server.is_handshake_complete());
    server
        .encrypt(b"half-rtt", &mut pair.server.outbox)
        .unwrap();
    pair.handshake();
    assert_eq!(pair.client.plain, b"half-rtt");
}

#[test]
fn key_updates_keep_data_flowing_both_ways() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    for round in 0..3u8 {
        let server = pair.server.session.as_mut().unwrap();
        server
            .refresh_traffic_keys(&mut pair.server.outbox)
            .unwrap();
        pair.server.send(&pattern(20_000, round));
        // The KeyUpdate record (27 bytes) went out ahead of the data (the answer to the
        // client's request of the round before left as soon as the request arrived).
        assert_eq!(pair.server.outbox.len(), 27 + encrypted_len(20_000));
        pair.client.send(&pattern(30_000, round + 10));
        pair.drive();
        let client = pair.client.session.as_mut().unwrap();
        client
            .refresh_traffic_keys(&mut pair.client.outbox)
            .unwrap();
        pair.client.send(b"after");
        pair.drive();
        let mut want = pattern(30_000, round + 10);
        want.extend_from_slice(b"after");
        assert_eq!(pair.server.plain, want);
        assert_eq!(pair.client.plain, pattern(20_000, round));
        assert!(pair.client.error.is_none() && pair.server.error.is_none());
        pair.server.plain.clear();
        pair.client.plain.clear();
    }
}

#[test]
fn many_key_update_requests_get_one_answer_before_our_next_record() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    // The client asks 50 times (each request also moves its own key on).
    for _ in 0..50 {
        let client = pair.client.session.as_mut().unwrap();
        client
            .refresh_traffic_keys(&mut pair.client.outbox)
            .unwrap();
    }
    pair.client.send(b"after the requests");
    let bytes = std::mem::take(&mut pair.client.outbox);
    pair.server.session().incoming().extend_from_slice(&bytes);
    let server = pair.server.session.as_mut().unwrap();
    let mut plain = Vec::new();
    let progress = server
        .process(&mut pair.server.outbox, &mut |p| plain.extend_from_slice(p))
        .unwrap();
    assert_eq!(progress.key_updates, 50);
    assert_eq!(plain, b"after the requests");
    assert!(
        pair.server.outbox.is_empty(),
        "no answer before our next record"
    );
    // The next record carries one KeyUpdate ahead of it, however many were asked for.
    pair.server.send(b"reply");
    assert_eq!(pair.server.outbox.len(), 27 + encrypted_len(5));
    pair.server.send(b"more");
    assert_eq!(
        pair.server.outbox.len(),
        27 + encrypted_len(5) + encrypted_len(4)
    );
    pair.drive();
    assert_eq!(pair.client.plain, b"replymore");
    assert!(pair.client.error.is_none() && pair.server.error.is_none());
    // With nothing to send, seal_with produces the answer alone.
    let client = pair.client.session.as_mut().unwrap();
    client
        .refresh_traffic_keys(&mut pair.client.outbox)
        .unwrap();
    pair.drive();
    let server = pair.server.session.as_mut().unwrap();
    let mut room = vec![0u8; SEAL_ROOM];
    assert_eq!(server.seal_with(&mut room, &mut |_| 0).unwrap(), 27);
    assert_eq!(server.seal_with(&mut room, &mut |_| 0).unwrap(), 0);
}

#[test]
fn a_record_budget_leaves_records_for_the_next_call() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    let mut bytes = Vec::new();
    for i in 0..10u8 {
        pair.client
            .session()
            .encrypt(&[b'a' + i], &mut bytes)
            .unwrap();
    }
    pair.server.session().incoming().extend_from_slice(&bytes);
    let server = pair.server.session.as_mut().unwrap();
    let mut plain = Vec::new();
    let mut calls = 0;
    loop {
        server.set_record_budget(Some(3));
        let progress = server
            .process(&mut pair.server.outbox, &mut |p| plain.extend_from_slice(p))
            .unwrap();
        calls += 1;
        assert_eq!(plain.len(), (3 * calls).min(10));
        if !progress.records_left {
            break;
        }
    }
    assert_eq!(calls, 4);
    assert_eq!(plain, b"abcdefghij");
}

#[test]
fn empty_records_are_counted() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    pair.handshake();
    let client = pair.client.session.as_mut().unwrap();
    let mut room = vec![0u8; SEAL_ROOM];
    assert_eq!(client.seal_with(&mut room, &mut |_| 0).unwrap(), 0);
    let mut bytes = Vec::new();
    client.encrypt(b"", &mut bytes).unwrap();
    assert!(bytes.is_empty(), "we never send an empty record");
    for _ in 0..10 {
        client.seal_empty_record(&mut bytes);
    }
    pair.server.session().incoming().extend_from_slice(&bytes);
    let server = pair.server.session.as_mut().unwrap();
    let progress = server
        .process(&mut pair.server.outbox, &mut |_| {})
        .unwrap();
    assert_eq!(progress.empty_records, 10);
}

// ---------------------------------------------------------------- a buffered rustls peer

/// Our server session against rustls' own buffered client: bytes move until neither side
/// has anything more to say.
struct RustlsPeer {
    client: rustls::ClientConnection,
    server: Endpoint,
    /// What the rustls client received.
    plain: Vec<u8>,
}

impl RustlsPeer {
    fn new(p: &Pki) -> Self {
        let (c, s) = configs(p, &["x"]);
        let client =
            rustls::ClientConnection::new(c.rustls().clone(), "localhost".try_into().unwrap())
                .unwrap();
        let mut peer = Self {
            client,
            server: Endpoint::default(),
            plain: Vec::new(),
        };
        for _ in 0..100 {
            if !peer.step(&s) {
                break;
            }
        }
        assert!(!peer.client.is_handshaking());
        assert_eq!(peer.server.completed, 1);
        peer
    }

    fn step(&mut self, config: &TlsServerConfig) -> bool {
        let mut moved = false;
        let mut bytes = Vec::new();
        while self.client.wants_write() {
            self.client.write_tls(&mut bytes).unwrap();
        }
        if !bytes.is_empty() {
            moved = true;
            match self.server.session.as_mut() {
                Some(s) => s.incoming().extend_from_slice(&bytes),
                None => self.server.inbox.extend_from_slice(&bytes),
            }
        }
        if self.server.session.is_none() {
            if let Ok(Some(hello)) = client_hello::parse(self.server.inbox.data()) {
                let inbox = std::mem::take(&mut self.server.inbox);
                self.server.session =
                    Some(TlsSession::server(config, &hello, inbox, None).unwrap());
            }
        }
        moved |= self.server.pump();
        assert!(self.server.error.is_none(), "{:?}", self.server.error);
        let out = std::mem::take(&mut self.server.outbox);
        moved |= !out.is_empty();
        let mut rd = &out[..];
        loop {
            if !rd.is_empty() {
                self.client.read_tls(&mut rd).unwrap();
                self.client.process_new_packets().unwrap();
            }
            self.read_client();
            if rd.is_empty() {
                return moved;
            }
        }
    }

    fn read_client(&mut self) {
        use std::io::Read;
        let mut buf = vec![0; 1 << 16];
        loop {
            match self.client.reader().read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => self.plain.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn drive(&mut self, config: &TlsServerConfig) {
        for _ in 0..1000 {
            if !self.step(config) {
                return;
            }
        }
        panic!("no quiescence");
    }
}

#[test]
fn key_update_from_a_buffered_rustls_peer_is_answered_and_data_keeps_flowing() {
    use std::io::Write;
    let p = pki();
    let (_, s) = configs(&p, &["x"]);
    let mut peer = RustlsPeer::new(&p);
    assert!(peer.server.session().seals_in_place());
    for round in 0..3u8 {
        // rustls asks for an update (update_requested) and sends with its new key.
        peer.client.refresh_traffic_keys().unwrap();
        peer.client
            .writer()
            .write_all(&pattern(50_000, round))
            .unwrap();
        peer.drive(&s);
        assert_eq!(peer.server.plain, pattern(50_000, round));
        // Our answer went out under the old key, our data under the new one.
        peer.server.send(&pattern(40_000, round + 1));
        peer.drive(&s);
        assert_eq!(peer.plain, pattern(40_000, round + 1));
        // And our own request, answered by rustls.
        let server = peer.server.session.as_mut().unwrap();
        server
            .refresh_traffic_keys(&mut peer.server.outbox)
            .unwrap();
        peer.server.send(b"after our update");
        peer.client.writer().write_all(b"reply").unwrap();
        peer.drive(&s);
        let mut want = pattern(40_000, round + 1);
        want.extend_from_slice(b"after our update");
        assert_eq!(peer.plain, want);
        let mut want = pattern(50_000, round);
        want.extend_from_slice(b"reply");
        assert_eq!(peer.server.plain, want);
        peer.plain.clear();
        peer.server.plain.clear();
    }
}

#[test]
fn a_tampered_record_from_a_rustls_peer_fails_with_bad_record_mac() {
    use std::io::Write;
    let p = pki();
    let mut peer = RustlsPeer::new(&p);
    peer.client.writer().write_all(b"hello").unwrap();
    let mut bytes = Vec::new();
    while peer.client.wants_write() {
        peer.client.write_tls(&mut bytes).unwrap();
    }
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    peer.server.session().incoming().extend_from_slice(&bytes);
    peer.server.pump();
    let e = peer.server.error.clone().expect("bad record refused");
    assert_eq!(e.alert_sent(), Some(20));
    assert!(peer.server.plain.is_empty());
    // The bad_record_mac alert reaches rustls, which reports it.
    let out = std::mem::take(&mut peer.server.outbox);
    peer.client.read_tls(&mut &out[..]).unwrap();
    match peer.client.process_new_packets() {
        Err(rustls::Error::AlertReceived(a)) => assert_eq!(u8::from(a), 20),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn close_notify_and_fatal_alerts_from_a_rustls_peer() {
    use std::io::Write;
    let p = pki();
    let mut peer = RustlsPeer::new(&p);
    peer.client.writer().write_all(b"last words").unwrap();
    peer.client.send_close_notify();
    let (_, s) = configs(&p, &["x"]);
    peer.drive(&s);
    assert_eq!(peer.server.plain, b"last words");
    assert!(peer.server.peer_closed);
    assert!(peer.server.error.is_none());
}

mod pkcs12;
mod secrets;
