//! The library's own TLS 1.3 record layer after the handshake (record protection and
//! KeyUpdate handling in `runtime::tls`): a real client and server session finish their
//! handshake in memory, then the input is a list of operations on either direction: data
//! (through `encrypt` or the in-place `seal_with`), KeyUpdates (valid, with any request byte,
//! or a flood), records of any content type and content sealed with the real key, tampered
//! records (a flipped byte in the header or the ciphertext), raw bytes, close_notify, and
//! delivery in pieces of any size.
//!
//! Checks: nothing panics; valid traffic round-trips exactly; an invalid record fails the
//! receiver with the alert TLS prescribes, the session stays failed, and the alert it sends
//! reaches the other side as that alert.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use msquic::fuzzing;
use msquic::runtime::tls::{
    CertificateSource, CipherSuites, ClientHello, Credentials, PeerVerification, Plaintext,
    SEAL_ROOM, TlsClientConfig, TlsError, TlsServerConfig, TlsSession, client_hello,
};

const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
const CLOSE_NOTIFY: u8 = 0;
const USER_CANCELED: u8 = 90;
const UNEXPECTED_MESSAGE: u8 = 10;
const BAD_RECORD_MAC: u8 = 20;
const RECORD_OVERFLOW: u8 = 22;
const ILLEGAL_PARAMETER: u8 = 47;
const DECODE_ERROR: u8 = 50;

fn configs(suite: u8) -> &'static (TlsClientConfig, TlsServerConfig) {
    static CONFIGS: OnceLock<Vec<(TlsClientConfig, TlsServerConfig)>> = OnceLock::new();
    let all = CONFIGS.get_or_init(|| {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = std::env::temp_dir().join(format!("msquic-fuzz-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert.cert.pem()).unwrap();
        std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
        let alpn = [b"fz".to_vec()];
        let out = [
            (true, false, false),
            (false, true, false),
            (false, false, true),
        ]
        .into_iter()
        .map(|(a, b, ch)| {
            let cipher_suites = CipherSuites {
                aes_128_gcm_sha256: a,
                aes_256_gcm_sha384: b,
                chacha20_poly1305_sha256: ch,
            };
            let server = Credentials {
                certificate: CertificateSource::PemFiles {
                    cert_chain: c.clone(),
                    private_key: k.clone(),
                    password: None,
                },
                cipher_suites,
                ..Credentials::default()
            };
            let client = Credentials {
                verification: PeerVerification::None,
                cipher_suites,
                ..Credentials::default()
            };
            (
                client.client_config(&alpn).unwrap(),
                server.server_config(&alpn).unwrap(),
            )
        })
        .collect();
        let _ = std::fs::remove_dir_all(&dir);
        out
    });
    &all[usize::from(suite) % all.len()]
}

/// What the receiver of a direction must see once everything sent has arrived.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Nothing unusual: all data arrives, no error.
    Clean,
    /// A failure with this alert sent (`Some`) or received (`None` sent, code in the pair).
    Fails {
        sent: Option<u8>,
        received: Option<u8>,
    },
    /// Either waits for more or fails with one of these alerts.
    WaitsOrFails(&'static [u8]),
    /// Anything but a panic.
    Unknown,
}

struct End {
    session: TlsSession,
    /// Bytes written for the peer and not delivered yet.
    out: Vec<u8>,
    /// Plaintext received.
    got: Vec<u8>,
    failed: Option<TlsError>,
    peer_closed: bool,
}

/// One direction: what its sender sent and what its receiver must see.
#[derive(Default)]
struct Dir {
    sent: Vec<u8>,
    expect: Option<Expect>,
    /// close_notify went out: nothing more is sent this way.
    closed: bool,
}

impl Dir {
    fn expect(&self) -> Expect {
        self.expect.unwrap_or(Expect::Clean)
    }

    /// Whether records may still be added with a known outcome.
    fn open(&self) -> bool {
        !self.closed && self.expect.is_none()
    }
}

fn handshake(client: &TlsClientConfig, server: &TlsServerConfig) -> (End, End) {
    let mut c = TlsSession::client(client, "localhost").unwrap();
    let mut to_server = Vec::new();
    c.process(&mut to_server, &mut |_| {}).unwrap();
    let hello: ClientHello = client_hello::parse(&to_server).unwrap().unwrap();
    let mut buf = msquic::runtime::tls::RecvBuffer::default();
    buf.extend_from_slice(&std::mem::take(&mut to_server));
    let mut s = TlsSession::server(server, &hello, buf, None).unwrap();
    let mut to_client = Vec::new();
    for _ in 0..16 {
        s.process(&mut to_client, &mut |_| {}).unwrap();
        c.incoming()
            .extend_from_slice(&std::mem::take(&mut to_client));
        c.process(&mut to_server, &mut |_| {}).unwrap();
        s.incoming()
            .extend_from_slice(&std::mem::take(&mut to_server));
        let idle = c.incoming().is_empty() && s.incoming().is_empty();
        if c.seals_in_place() && s.seals_in_place() && idle {
            break;
        }
    }
    assert!(c.is_handshake_complete() && s.is_handshake_complete());
    assert!(c.seals_in_place() && s.seals_in_place(), "handshake over");
    assert!(c.incoming().is_empty() && s.incoming().is_empty());
    let end = |session| End {
        session,
        out: Vec::new(),
        got: Vec::new(),
        failed: None,
        peer_closed: false,
    };
    (end(c), end(s))
}

/// A cursor over the fuzz input; reads past the end give zeros.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.0.split_at(n.min(self.0.len()));
        self.0 = tail;
        head
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

/// Delivers everything `from` wrote to `to`, in pieces of `piece` bytes, processing after
/// each piece.
fn deliver(from: &mut End, to: &mut End, piece: usize, shared: bool) {
    let bytes = std::mem::take(&mut from.out);
    for chunk in bytes.chunks(piece.max(1)) {
        to.session.incoming().extend_from_slice(chunk);
        if to.failed.is_some() {
            continue;
        }
        let got = &mut to.got;
        let result = if shared {
            to.session.process_shared(&mut to.out, &mut |p| match p {
                Plaintext::Borrowed(b) | Plaintext::Early(b) => got.extend_from_slice(b),
                Plaintext::Shared(s) => got.extend_from_slice(s.as_slice()),
            })
        } else {
            to.session
                .process(&mut to.out, &mut |b| got.extend_from_slice(b))
        };
        match result {
            Ok(p) => to.peer_closed |= p.peer_closed,
            Err(e) => {
                assert!(!e.is_transient(), "transient error from process: {e:?}");
                to.failed = Some(e);
            }
        }
    }
}

/// After a full delivery, checks the receiver against what the direction expects.
fn check(dir: &Dir, from: &End, to: &End) {
    match dir.expect() {
        Expect::Clean => {
            if let Some(e) = &to.failed {
                // Only the alert of a sender that failed itself may end clean traffic.
                let sent = from.failed.as_ref().and_then(TlsError::alert_sent);
                assert!(
                    sent.is_some() && e.alert_received() == sent,
                    "clean traffic failed: {e:?}"
                );
            } else {
                assert_eq!(to.got, dir.sent, "plaintext differs");
                assert_eq!(to.peer_closed, dir.closed);
            }
        }
        Expect::Fails { sent, received } => {
            let e = to.failed.as_ref().expect("an invalid record was accepted");
            assert_eq!(
                (e.alert_sent(), e.alert_received()),
                (sent, received),
                "{e:?}"
            );
            assert!(
                dir.sent.starts_with(&to.got),
                "plaintext before the failure differs"
            );
        }
        Expect::WaitsOrFails(alerts) => {
            if let Some(e) = &to.failed {
                let code = e.alert_sent().expect("an alert for a bad record");
                assert!(alerts.contains(&code), "alert {code} for {alerts:?}: {e:?}");
            }
            assert!(
                dir.sent.starts_with(&to.got),
                "plaintext before the failure differs"
            );
        }
        Expect::Unknown => {}
    }
    if let Some(e) = &to.failed {
        assert!(
            to.session.error().is_some(),
            "a failed session forgot its error: {e:?}"
        );
    }
}

/// What a record of inner type `ty` holding `content` does to its receiver.
fn outcome(ty: u8, content: &[u8]) -> (Expect, Vec<u8>, bool) {
    match ty {
        APPLICATION_DATA => (Expect::Clean, content.to_vec(), false),
        ALERT => match content {
            [_, CLOSE_NOTIFY] => (Expect::Clean, Vec::new(), true),
            [_, USER_CANCELED] => (Expect::Clean, Vec::new(), false),
            [_, code] => (
                Expect::Fails {
                    sent: None,
                    received: Some(*code),
                },
                Vec::new(),
                false,
            ),
            _ => (
                Expect::Fails {
                    sent: Some(DECODE_ERROR),
                    received: None,
                },
                Vec::new(),
                false,
            ),
        },
        // The inner type is the last non-zero byte: a zero type hides in the content.
        0 => (Expect::Unknown, Vec::new(), false),
        HANDSHAKE if !content.is_empty() => (Expect::Unknown, Vec::new(), false),
        _ => (
            Expect::Fails {
                sent: Some(UNEXPECTED_MESSAGE),
                received: None,
            },
            Vec::new(),
            false,
        ),
    }
}

/// Runs one operation from `input` on the direction from `a` to `b`.
fn op(input: &mut Input<'_>, a: &mut End, b: &mut End, dir: &mut Dir, shared: bool) {
    let code = input.u8();
    let usable = dir.open() && a.failed.is_none();
    match code % 10 {
        // Data through `encrypt`.
        0 if usable => {
            let len = usize::from(input.u16()) % 40_000;
            let data = pattern(len, code);
            a.session.encrypt(&data, &mut a.out).unwrap();
            dir.sent.extend_from_slice(&data);
        }
        // Data sealed in place, as the connection's send path does.
        1 if usable => {
            let len = usize::from(input.u16()) % 20_000;
            let data = pattern(len, code);
            let mut room = vec![0u8; SEAL_ROOM];
            let mut written = 0;
            let n = a
                .session
                .seal_with(&mut room, &mut |dst| {
                    let n = (len - written).min(dst.len());
                    dst[..n].copy_from_slice(&data[..n]);
                    written = n;
                    n
                })
                .unwrap();
            a.out.extend_from_slice(&room[..n]);
            dir.sent.extend_from_slice(&data[..written]);
        }
        // A valid KeyUpdate asking for one back.
        2 if usable => a.session.refresh_traffic_keys(&mut a.out).unwrap(),
        // A KeyUpdate with any request byte; 0 and 1 are the valid ones.
        3 if usable => {
            let request = input.u8() % 4;
            assert!(fuzzing::send_key_update(&mut a.session, request, &mut a.out).unwrap());
            if request > 1 {
                dir.expect = Some(Expect::Fails {
                    sent: Some(ILLEGAL_PARAMETER),
                    received: None,
                });
            }
        }
        // A flood of KeyUpdates, each asking for one back.
        4 if usable => {
            for _ in 0..usize::from(input.u8()) * 4 {
                assert!(fuzzing::send_key_update(&mut a.session, 1, &mut a.out).unwrap());
            }
        }
        // A record of any type and content, sealed with the current key.
        5 if usable => {
            let ty = input.u8();
            let len = usize::from(input.u8());
            let content = input.bytes(len).to_vec();
            assert!(fuzzing::seal_record(&mut a.session, ty, &content, &mut a.out).unwrap());
            let (expect, data, closes) = outcome(ty, &content);
            dir.sent.extend_from_slice(&data);
            dir.closed |= closes;
            if expect != Expect::Clean {
                dir.expect = Some(expect);
            }
        }
        // A tampered record: one byte of a valid data record flipped.
        6 if usable => {
            let len = usize::from(input.u8()) + 1;
            let at = usize::from(input.u16());
            let flip = input.u8() | 1;
            let mut record = Vec::new();
            a.session.encrypt(&pattern(len, code), &mut record).unwrap();
            let at = at % record.len();
            record[at] ^= flip;
            a.out.extend_from_slice(&record);
            dir.expect = Some(match at {
                0 => Expect::Fails {
                    sent: Some(UNEXPECTED_MESSAGE),
                    received: None,
                },
                1 => Expect::Fails {
                    sent: Some(DECODE_ERROR),
                    received: None,
                },
                3 | 4 => Expect::WaitsOrFails(&[RECORD_OVERFLOW, DECODE_ERROR, BAD_RECORD_MAC]),
                _ => Expect::Fails {
                    sent: Some(BAD_RECORD_MAC),
                    received: None,
                },
            });
        }
        // Raw bytes on the stream.
        7 => {
            let len = usize::from(input.u8());
            a.out.extend_from_slice(input.bytes(len));
            dir.expect = Some(Expect::Unknown);
        }
        // close_notify.
        8 if usable => {
            assert!(a.session.close_notify(&mut a.out).unwrap());
            dir.closed = true;
        }
        // Delivery in pieces.
        _ => {
            let piece = usize::from(input.u8()) * 37 + 1;
            deliver(a, b, piece, shared);
            check(dir, a, b);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mode = input.u8();
    let (client, server) = configs(mode);
    let (mut c, mut s) = handshake(client, server);
    let shared = mode & 0x10 != 0;
    let (mut c2s, mut s2c) = (Dir::default(), Dir::default());
    let mut ops = 0;
    while !input.0.is_empty() && ops < 200 {
        ops += 1;
        if input.u8() & 1 == 0 {
            op(&mut input, &mut c, &mut s, &mut c2s, shared);
        } else {
            op(&mut input, &mut s, &mut c, &mut s2c, shared);
        }
    }
    // Everything arrives; replies (KeyUpdates, alerts) go back until nothing moves.
    for _ in 0..4 {
        deliver(&mut c, &mut s, usize::MAX, shared);
        deliver(&mut s, &mut c, usize::MAX, shared);
    }
    check(&c2s, &c, &s);
    check(&s2c, &s, &c);
    // A side that failed with an alert told the other, whose direction was still sound.
    for (failed, other, dir) in [(&s, &c, &s2c), (&c, &s, &c2s)] {
        let Some(sent) = failed.failed.as_ref().and_then(TlsError::alert_sent) else {
            continue;
        };
        if dir.expect.is_none() && !dir.closed {
            let e = other
                .failed
                .as_ref()
                .expect("the failing side's alert did not arrive");
            assert_eq!(e.alert_received(), Some(sent), "{e:?}");
        }
    }
});
