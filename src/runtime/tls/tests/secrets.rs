//! Secrets and the exporter, checked against rustls itself as the peer.

use std::sync::Mutex;

use super::*;

/// One key log line: label, client random, secret.
type Line = (String, Vec<u8>, Vec<u8>);

/// A key log that remembers every line.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<Line>>);

impl rustls::KeyLog for Recorder {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push((label.into(), client_random.to_vec(), secret.to_vec()));
    }
}

impl Recorder {
    fn get(&self, label: &str) -> Option<(Vec<u8>, Vec<u8>)> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .find(|(l, _, _)| l == label)
            .map(|(_, r, s)| (r.clone(), s.clone()))
    }
}

type Seen = Arc<Mutex<Vec<(SecretKind, Vec<u8>)>>>;

fn sink(seen: &Seen) -> SecretSink {
    let seen = seen.clone();
    Box::new(move |kind, bytes| seen.lock().unwrap().push((kind, bytes.to_vec())))
}

/// Our server session (with a secret sink) against a rustls client logging its keys.
fn handshake_with_rustls_client(
    p: &Pki,
    suites: CipherSuites,
) -> (RustlsPeer, Arc<Recorder>, Seen) {
    let (c, _) = configs(p, &["x"]);
    let s = Credentials {
        cipher_suites: suites,
        ..server_creds(p)
    }
    .server_config(&tokens(&["x"]))
    .unwrap();
    let recorder = Arc::new(Recorder::default());
    let mut config = (**c.rustls()).clone();
    config.key_log = recorder.clone();
    let client =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut peer = RustlsPeer {
        client,
        server: Endpoint::default(),
        plain: Vec::new(),
    };
    let seen = Seen::default();
    for _ in 0..100 {
        let mut bytes = Vec::new();
        while peer.client.wants_write() {
            peer.client.write_tls(&mut bytes).unwrap();
        }
        match peer.server.session.as_mut() {
            Some(s) => s.incoming().extend_from_slice(&bytes),
            None => peer.server.inbox.extend_from_slice(&bytes),
        }
        if peer.server.session.is_none() {
            if let Ok(Some(hello)) = client_hello::parse(peer.server.inbox.data()) {
                let inbox = std::mem::take(&mut peer.server.inbox);
                let mut session = TlsSession::server(&s, &hello, inbox, None).unwrap();
                session.set_secret_sink(sink(&seen));
                peer.server.session = Some(session);
            }
        }
        let moved = peer.server.pump() | !bytes.is_empty();
        let out = std::mem::take(&mut peer.server.outbox);
        if !out.is_empty() {
            peer.client.read_tls(&mut &out[..]).unwrap();
            peer.client.process_new_packets().unwrap();
        }
        if !moved && out.is_empty() {
            break;
        }
    }
    assert!(!peer.client.is_handshaking());
    assert_eq!(peer.server.completed, 1);
    (peer, recorder, seen)
}

#[test]
fn exporter_matches_rustls_for_every_suite_label_and_context() {
    let p = pki();
    let only = |a, b, c| CipherSuites {
        aes_128_gcm_sha256: a,
        aes_256_gcm_sha384: b,
        chacha20_poly1305_sha256: c,
    };
    for suites in [
        only(true, false, false),
        only(false, true, false),
        only(false, false, true),
    ] {
        let (mut peer, _, _) = handshake_with_rustls_client(&p, suites);
        for (label, context, len) in [
            (&b"EXPORTER-test"[..], None, 32),
            (b"EXPORTER-test", Some(&b""[..]), 32),
            (b"EXPORTER-test", Some(&b"some context"[..]), 100),
            (b"x", Some(&[7u8; 300][..]), 1),
            (b"EXPORTER-other", None, 4000),
        ] {
            let theirs = peer
                .client
                .export_keying_material(vec![0u8; len], label, context)
                .unwrap();
            let mut ours = vec![0u8; len];
            peer.server
                .session()
                .export_keying_material(label, context, &mut ours)
                .unwrap();
            assert_eq!(ours, theirs, "{suites:?} {label:?} {context:?} {len}");
        }
        let mut too_long = vec![0u8; 255 * 64 + 1];
        assert_eq!(
            peer.server
                .session()
                .export_keying_material(b"x", None, &mut too_long),
            Err(ExportError::TooLong)
        );
        let long_label = [b'a'; 250];
        assert_eq!(
            peer.server
                .session()
                .export_keying_material(&long_label, None, &mut [0u8; 8]),
            Err(ExportError::TooLong)
        );
    }
}

#[test]
fn exporter_is_refused_before_the_handshake_completes() {
    let p = pki();
    let (c, _) = configs(&p, &["x"]);
    let session = TlsSession::client(&c, "localhost").unwrap();
    assert_eq!(
        session.export_keying_material(b"x", None, &mut [0u8; 8]),
        Err(ExportError::NotReady)
    );
}

#[test]
fn sink_gets_the_secrets_rustls_logs_in_order_then_is_dropped() {
    let p = pki();
    let (mut peer, recorder, seen) = handshake_with_rustls_client(&p, CipherSuites::ALL);
    let seen = seen.lock().unwrap().clone();
    let kinds: Vec<_> = seen.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds[0], SecretKind::ClientRandom);
    let (random, _) = recorder.get("CLIENT_HANDSHAKE_TRAFFIC_SECRET").unwrap();
    assert_eq!(seen[0].1, random);
    for (kind, label) in [
        (
            SecretKind::ClientHandshakeTraffic,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        ),
        (
            SecretKind::ServerHandshakeTraffic,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        ),
        (SecretKind::ClientTraffic0, "CLIENT_TRAFFIC_SECRET_0"),
        (SecretKind::ServerTraffic0, "SERVER_TRAFFIC_SECRET_0"),
    ] {
        let ours: Vec<_> = seen.iter().filter(|(k, _)| *k == kind).collect();
        assert_eq!(ours.len(), 1, "{kind:?}");
        assert_eq!(ours[0].1, recorder.get(label).unwrap().1, "{kind:?}");
    }
    assert!(!kinds.contains(&SecretKind::ClientEarlyTraffic));
    // A key update after the handshake derives new secrets; the sink is gone by then.
    let mut out = Vec::new();
    peer.server
        .session()
        .refresh_traffic_keys(&mut out)
        .unwrap();
    assert_eq!(seen.len(), 5);
}

#[test]
fn client_sink_gets_the_random_with_the_client_hello_then_every_secret_once() {
    let p = pki();
    let (c, s) = configs(&p, &["x"]);
    let mut pair = Pair::new(&c, s);
    let seen = Seen::default();
    pair.client.session().set_secret_sink(sink(&seen));
    pair.client.pump();
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, SecretKind::ClientRandom);
        assert_eq!(seen[0].1, pair.client.outbox[11..43]);
    }
    pair.handshake();
    let seen = seen.lock().unwrap();
    let mut kinds: Vec<_> = seen.iter().map(|(k, _)| format!("{k:?}")).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ClientHandshakeTraffic",
            "ClientRandom",
            "ClientTraffic0",
            "ServerHandshakeTraffic",
            "ServerTraffic0"
        ]
    );
}
