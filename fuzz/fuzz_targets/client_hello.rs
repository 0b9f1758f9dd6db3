//! The server's early look at the ClientHello (`runtime::tls::client_hello::parse`, which the
//! listener runs on the bytes read so far each time more arrive) on arbitrary bytes fed in
//! arbitrary pieces: every prefix must agree with the whole input (needing more, or the same
//! answer), and ClientHellos built from the input must parse to exactly what was put in them.
//! A parsed ClientHello then starts a server session on the same bytes, as the listener does.
//!
//! The first byte picks the mode (bit 0: build a ClientHello from the rest; bit 1: start a
//! server session), the second the piece size.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use msquic::runtime::tls::{
    CertificateSource, ClientHello, Credentials, RecvBuffer, TlsError, TlsServerConfig, TlsSession,
    client_hello,
};

fn server_config() -> &'static TlsServerConfig {
    static CONFIG: OnceLock<TlsServerConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = std::env::temp_dir().join(format!("msquic-fuzz-hello-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert.cert.pem()).unwrap();
        std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
        let creds = Credentials {
            certificate: CertificateSource::PemFiles {
                cert_chain: c,
                private_key: k,
                password: None,
            },
            ..Credentials::default()
        };
        let config = creds
            .server_config(&[b"h3".to_vec(), b"x".to_vec()])
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        config
    })
}

type Parsed = Result<Option<ClientHello>, TlsError>;

fn same(a: &Parsed, b: &Parsed) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) => x == y,
        (Err(x), Err(y)) => x.alert_sent() == y.alert_sent() && x.kind() == y.kind(),
        _ => false,
    }
}

/// Feeds `bytes` in pieces of `step` as the listener does (parsing everything received so
/// far after each read) and checks each answer against the one-shot parse.
fn incremental(bytes: &[u8], step: usize) -> Parsed {
    let whole = client_hello::parse(bytes);
    let mut buf = RecvBuffer::default();
    for piece in bytes.chunks(step) {
        buf.extend_from_slice(piece);
        let now = client_hello::parse(buf.data());
        match &now {
            Ok(None) => {}
            _ => {
                assert!(same(&now, &whole), "prefix {} disagrees", buf.len());
                return whole;
            }
        }
    }
    assert!(
        matches!(whole, Ok(None)),
        "every prefix needed more but the whole input did not"
    );
    whole
}

/// A ClientHello body with `server_name` and `alpn`, plus unknown extensions from `filler`.
fn encode_hello(server_name: Option<&str>, alpn: &[Vec<u8>], filler: &[u8]) -> Vec<u8> {
    fn vec16(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
    }
    let mut exts = Vec::new();
    // An unknown extension first, to be skipped.
    exts.extend_from_slice(&0xff01u16.to_be_bytes());
    vec16(&mut exts, &filler[..filler.len().min(300)]);
    if let Some(name) = server_name {
        let mut entry = vec![0u8];
        vec16(&mut entry, name.as_bytes());
        let mut list = Vec::new();
        vec16(&mut list, &entry);
        exts.extend_from_slice(&0u16.to_be_bytes());
        vec16(&mut exts, &list);
    }
    if !alpn.is_empty() {
        let mut list = Vec::new();
        for t in alpn {
            list.push(t.len() as u8);
            list.extend_from_slice(t);
        }
        let mut data = Vec::new();
        vec16(&mut data, &list);
        exts.extend_from_slice(&0x10u16.to_be_bytes());
        vec16(&mut exts, &data);
    }
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x5a; 32]);
    body.push(0); // session id
    vec16(&mut body, &[0x13, 0x01]);
    body.extend_from_slice(&[1, 0]);
    vec16(&mut body, &exts);
    let mut msg = vec![1];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&body);
    msg
}

/// `msg` split into handshake records of at most `fragment` bytes each.
fn records(msg: &[u8], fragment: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in msg.chunks(fragment.clamp(1, 0x4000)) {
        out.extend_from_slice(&[0x16, 0x03, 0x01]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Builds a ClientHello from `data` and checks that it parses to what went in.
fn structured(data: &[u8], step: usize) -> Option<(Vec<u8>, ClientHello)> {
    let (&shape, data) = data.split_first()?;
    let (&fragment, data) = data.split_first()?;
    let name_len = usize::from(shape & 0x1f).min(data.len());
    let (name, mut rest) = data.split_at(name_len);
    let server_name: Option<String> =
        (shape & 0x20 != 0).then(|| name.iter().map(|&b| char::from(b'a' + b % 26)).collect());
    let mut alpn = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len % 16) + 1;
        if tail.len() < len || alpn.len() >= 8 {
            break;
        }
        alpn.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    let msg = encode_hello(server_name.as_deref(), &alpn, rest);
    let bytes = records(&msg, usize::from(fragment) * 8 + 1);
    let expect = ClientHello {
        server_name,
        alpn,
        ticket: None,
    };
    match incremental(&bytes, step) {
        Ok(Some(got)) => assert_eq!(got, expect),
        other => panic!("a well-formed ClientHello gave {other:?}"),
    }
    // Any bytes after it (the rest of the client's flight) change nothing.
    let mut more = bytes.clone();
    more.extend_from_slice(&[0x17, 0x03, 0x03, 0x00]);
    assert_eq!(client_hello::parse(&more).unwrap(), Some(expect.clone()));
    Some((bytes, expect))
}

fn check_hello(hello: &ClientHello) {
    let wire = hello.alpn_wire_encoding();
    let mut pos = 0;
    for t in &hello.alpn {
        assert!(!t.is_empty() && t.len() <= 255);
        assert_eq!(usize::from(wire[pos]), t.len());
        assert_eq!(&wire[pos + 1..pos + 1 + t.len()], &t[..]);
        pos += 1 + t.len();
    }
    assert_eq!(pos, wire.len());
}

/// Starts a server session on the ClientHello's bytes, as the listener does, and lets it
/// answer (or fail) once.
fn serve(bytes: &[u8], hello: &ClientHello, preferred: Option<&[u8]>) {
    let mut buf = RecvBuffer::default();
    buf.extend_from_slice(bytes);
    let Ok(mut session) = TlsSession::server(server_config(), hello, buf, preferred) else {
        return;
    };
    let mut out = Vec::new();
    let result = session.process(&mut out, &mut |_| panic!("plaintext before a handshake"));
    if let Err(e) = result {
        assert!(!e.is_transient() || out.is_empty());
        // The session stays failed.
        assert!(session.process(&mut Vec::new(), &mut |_| {}).is_err());
    }
    assert!(!session.is_handshake_complete());
}

fuzz_target!(|data: &[u8]| {
    let [mode, step, data @ ..] = data else {
        return;
    };
    let step = usize::from(*step) + 1;
    let parsed = if mode & 1 != 0 {
        structured(data, step).map(|(bytes, hello)| (bytes, Ok(Some(hello))))
    } else {
        Some((data.to_vec(), incremental(data, step)))
    };
    let Some((bytes, Ok(Some(hello)))) = parsed else {
        return;
    };
    check_hello(&hello);
    if mode & 2 != 0 {
        let preferred = hello.alpn.get(usize::from(mode >> 4)).cloned();
        serve(&bytes, &hello, preferred.as_deref());
    }
});
