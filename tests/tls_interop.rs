//! Interop over real TLS 1.3 on 127.0.0.1 between our library, driven through its C API table
//! (`MsQuicOpenVersion`), and the crates.io `qmux` crate (draft-ietf-quic-qmux-02), with a
//! certificate for `localhost` made by rcgen at test time:
//!
//! - a qmux server + our client (`ConnectionStart`): a bidirectional stream carries a message to
//!   the server, which answers with it reversed, both directions ending with FIN;
//! - a qmux client + our listener (`ListenerStart`, `NEW_CONNECTION`,
//!   `ConnectionSetConfiguration` with credentials from the PEM files): the same round trip.
//!
//! Each direction runs twice with our side configured with the token `X` = `echo`: once with the
//! qmux side using only the `X` + `qx` form (`echoqx`) and once with only the plain `X` form
//! (decisions §2). Our side must report `X` in `CONNECTED`, and our listener must see the
//! client's list in application form in `NEW_CONNECTION` (`X` for either form).
//!
//! What the qmux crate cannot do, and how these tests work around it: its own TLS helpers
//! (`qmux::tls::Client` / `qmux::tls::Server`, feature `tls`) only speak ALPN tokens of the form
//! `qmux-0N.<app>` (plus the bare `qmux-02`, `qmux-01`, `qmux-00`, `webtransport`). The client
//! builds its ALPN list from those forms and discards the one in the rustls config, so it can
//! never offer `echo` or `echoqx`; the server takes the wire version from the negotiated token's
//! `qmux-0N.` prefix and falls back to the legacy `webtransport` wire format (not QMux) for any
//! other token, so it cannot serve `echo` or `echoqx` either. For the `X` / `Xqx` tests the qmux
//! side therefore does its TLS with tokio-rustls (the TLS stack the crate itself uses) with the
//! ALPN under test, and hands the TLS stream to the crate's public byte-stream transport
//! (`qmux::transport::Stream` + `qmux::Session`) at draft -02, which is what `qmux::tls` does
//! once ALPN is settled. The crate's own helpers are covered as far as they can be: against our
//! side configured with the token `qmux-02.echo` (their naming) in both directions, and a test
//! pins the limit (a `qmux::tls::Client` against a listener for `echo` fails with
//! `no_application_protocol`).
//!
//! Every wait is bounded ([`LIMIT`]); there are no sleeps.

use std::ffi::{CString, c_void};
use std::ptr::{null, null_mut};
use std::sync::Arc;
use std::time::Duration;

use msquic::api::abi::*;
use msquic::api::entry::{MsQuicClose, MsQuicOpenVersion};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use web_transport_trait::{RecvStream as _, SendStream as _, Session as _};

#[path = "common/test_cert.rs"]
mod common_cert;
use common_cert::TestCert;

/// The bound on every wait.
const LIMIT: Duration = Duration::from_secs(20);

/// The application's ALPN token, `X` in decisions §2.
const APP: &str = "echo";

/// The token the qmux crate's own TLS helpers use for [`APP`] at draft -02.
const NATIVE: &str = "qmux-02.echo";

/// How the qmux side does its TLS.
#[derive(Clone, Copy, Debug)]
enum Their {
    /// tokio-rustls offering (client) or accepting (server) exactly this ALPN, then the crate's
    /// byte-stream transport at draft -02; our side is configured with [`APP`].
    Raw(&'static str),
    /// The crate's own `qmux::tls::Client` / `qmux::tls::Server` for app protocol [`APP`] pinned
    /// to draft -02, i.e. ALPN [`NATIVE`]; our side is configured with [`NATIVE`] as its token.
    Native,
}

impl Their {
    /// The ALPN token our side is configured with.
    fn ours(self) -> &'static str {
        match self {
            Their::Raw(_) => APP,
            Their::Native => NATIVE,
        }
    }

    /// The ALPN the TLS handshake should settle on.
    fn wire(self) -> &'static str {
        match self {
            Their::Raw(a) => a,
            Their::Native => NATIVE,
        }
    }
}

/// The message our side (or theirs) sends; the server answers with it reversed.
fn message() -> Vec<u8> {
    (0..50_000u32)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(3))
        .collect()
}

fn reversed(v: &[u8]) -> Vec<u8> {
    let mut v = v.to_vec();
    v.reverse();
    v
}

/// The shared test certificate, its files in this test's own folder.
fn test_cert() -> &'static TestCert {
    common_cert::test_cert("tls-interop-cert")
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A rustls server config for the qmux server, selecting among `alpn`.
fn qmux_server_tls(alpn: &[u8]) -> Arc<rustls::ServerConfig> {
    let cert = test_cert();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone()));
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert_der.clone()], key)
        .expect("server certificate");
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// A rustls client config for the qmux client, trusting the test certificate, offering `alpn`.
fn qmux_client_tls(alpn: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(test_cert().cert_der.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// A qmux draft -02 session over an established TLS stream.
async fn qmux_session<T>(tls: T, server: bool) -> qmux::Session
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let cfg = qmux::Config::new(qmux::Version::QMux02);
    let transport = qmux::transport::Stream::new(tls, qmux::Version::QMux02, cfg.max_record_size);
    let session = if server {
        qmux::Session::accept(transport, cfg).await
    } else {
        qmux::Session::connect(transport, cfg).await
    };
    session.expect("qmux session established")
}

/// What our callbacks report.
#[derive(Debug)]
enum Ev {
    /// A listener's NEW_CONNECTION: the client's ALPN list (entries) and SNI.
    NewConnection {
        client_alpns: Vec<Vec<u8>>,
        server_name: String,
    },
    /// CONNECTED with the negotiated ALPN.
    Connected(Vec<u8>),
    /// SHUTDOWN_INITIATED_BY_TRANSPORT with its status.
    TransportShutdown(QUIC_STATUS),
    /// A connection's SHUTDOWN_COMPLETE.
    ConnDone,
    /// Stream bytes received (client stream), or a whole echoed request (server stream).
    Received(Vec<u8>),
    /// PEER_SEND_SHUTDOWN (the peer's FIN).
    PeerFin,
    /// A stream's SHUTDOWN_COMPLETE.
    StreamDone,
}

/// The context every connection and listener callback gets.
struct Ctx {
    api: *const QUIC_API_TABLE,
    /// The server configuration handed to new connections (null on the client).
    config: HQUIC,
    tx: UnboundedSender<Ev>,
}

/// A server stream's context: it gathers the request and answers with it reversed plus FIN.
struct EchoStream {
    api: *const QUIC_API_TABLE,
    tx: UnboundedSender<Ev>,
    got: Vec<u8>,
    out: Vec<u8>,
    buf: QUIC_BUFFER,
}

/// Copies a RECEIVE event's buffers.
///
/// # Safety
/// `ev` must be a RECEIVE event delivered by the library.
unsafe fn received(ev: &QUIC_STREAM_EVENT) -> Vec<u8> {
    // SAFETY: the caller says this is a RECEIVE event, so `RECEIVE` is the valid member.
    let r = unsafe { ev.payload.RECEIVE };
    let mut out = Vec::with_capacity(r.TotalBufferLength as usize);
    for i in 0..r.BufferCount as usize {
        // SAFETY: the library passes `BufferCount` valid buffers for the callback's duration.
        let b = unsafe { &*r.Buffers.add(i) };
        if b.Length > 0 {
            // SAFETY: each buffer holds `Length` readable bytes.
            out.extend_from_slice(unsafe {
                std::slice::from_raw_parts(b.Buffer, b.Length as usize)
            });
        }
    }
    out
}

/// Our client's stream callback: reports data, the peer's FIN and completion.
unsafe extern "C" fn client_stream_cb(
    _stream: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_STREAM_EVENT,
) -> QUIC_STATUS {
    // SAFETY: `ctx` is the test's `Ctx`, alive until the registration is closed; `ev` is valid
    // for the callback's duration.
    let (ctx, ev) = unsafe { (&*(ctx as *const Ctx), &*ev) };
    match ev.Type {
        // SAFETY: this is a RECEIVE event.
        QUIC_STREAM_EVENT_RECEIVE => drop(ctx.tx.send(Ev::Received(unsafe { received(ev) }))),
        QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN => drop(ctx.tx.send(Ev::PeerFin)),
        QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE => drop(ctx.tx.send(Ev::StreamDone)),
        _ => {}
    }
    QUIC_STATUS_SUCCESS
}

/// Our client's connection callback.
unsafe extern "C" fn client_conn_cb(
    _conn: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_CONNECTION_EVENT,
) -> QUIC_STATUS {
    // SAFETY: as in `client_stream_cb`.
    let (ctx, ev) = unsafe { (&*(ctx as *const Ctx), &*ev) };
    match ev.Type {
        QUIC_CONNECTION_EVENT_CONNECTED => {
            // SAFETY: CONNECTED's payload is valid, with `NegotiatedAlpnLength` bytes of ALPN.
            let alpn = unsafe {
                let c = ev.payload.CONNECTED;
                std::slice::from_raw_parts(c.NegotiatedAlpn, c.NegotiatedAlpnLength as usize)
            };
            let _ = ctx.tx.send(Ev::Connected(alpn.to_vec()));
        }
        QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT => {
            // SAFETY: the matching payload member.
            let status = unsafe { ev.payload.SHUTDOWN_INITIATED_BY_TRANSPORT.Status };
            let _ = ctx.tx.send(Ev::TransportShutdown(status));
        }
        QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE => drop(ctx.tx.send(Ev::ConnDone)),
        _ => {}
    }
    QUIC_STATUS_SUCCESS
}

/// Our server's stream callback: gathers the request, answers it reversed with FIN on the
/// peer's FIN, and closes and frees itself on SHUTDOWN_COMPLETE.
unsafe extern "C" fn server_stream_cb(
    stream: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_STREAM_EVENT,
) -> QUIC_STATUS {
    let es = ctx as *mut EchoStream;
    // SAFETY: `ctx` is the `EchoStream` box leaked for this stream, freed only below after
    // StreamClose; `ev` is valid for the callback's duration.
    let (s, ev) = unsafe { (&mut *es, &*ev) };
    // SAFETY: `api` is the table from MsQuicOpenVersion, open for the whole test.
    let api = unsafe { &*s.api };
    match ev.Type {
        // SAFETY: this is a RECEIVE event.
        QUIC_STREAM_EVENT_RECEIVE => s.got.extend(unsafe { received(ev) }),
        QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN => {
            let _ = s.tx.send(Ev::Received(s.got.clone()));
            s.out = reversed(&s.got);
            s.buf = QUIC_BUFFER {
                Length: s.out.len() as u32,
                Buffer: s.out.as_mut_ptr(),
            };
            // SAFETY: `buf` and `out` live in the stream's context until SHUTDOWN_COMPLETE.
            let status = unsafe {
                api.StreamSend.unwrap()(stream, &s.buf, 1, QUIC_SEND_FLAG_FIN, null_mut())
            };
            assert!(QUIC_SUCCEEDED(status), "StreamSend: {status:#x}");
        }
        QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE => {
            let _ = s.tx.send(Ev::StreamDone);
            // SAFETY: the stream is done; closing it here ends its callbacks, after which its
            // context can be freed.
            unsafe {
                api.StreamClose.unwrap()(stream);
                drop(Box::from_raw(es));
            }
        }
        _ => {}
    }
    QUIC_STATUS_SUCCESS
}

/// Our server's connection callback.
unsafe extern "C" fn server_conn_cb(
    conn: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_CONNECTION_EVENT,
) -> QUIC_STATUS {
    let evp = ev;
    // SAFETY: as in `client_stream_cb`.
    let (c, ev) = unsafe { (&*(ctx as *const Ctx), &*ev) };
    // SAFETY: `api` is the open table.
    let api = unsafe { &*c.api };
    match ev.Type {
        QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED => {
            let es = Box::into_raw(Box::new(EchoStream {
                api: c.api,
                tx: c.tx.clone(),
                got: Vec::new(),
                out: Vec::new(),
                buf: QUIC_BUFFER {
                    Length: 0,
                    Buffer: null_mut(),
                },
            }));
            // SAFETY: the stream handle is the event's; the handler matches the C prototype.
            unsafe {
                let stream = ev.payload.PEER_STREAM_STARTED.Stream;
                api.SetCallbackHandler.unwrap()(
                    stream,
                    server_stream_cb as *mut c_void,
                    es as *mut c_void,
                );
            }
        }
        QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE => {
            let _ = c.tx.send(Ev::ConnDone);
            // SAFETY: the handle is the event's; the connection is done, so it is closed here.
            unsafe { api.ConnectionClose.unwrap()(conn) };
        }
        // CONNECTED and the rest are reported like the client's.
        // SAFETY: forwarding the same arguments.
        _ => return unsafe { client_conn_cb(conn, ctx, evp) },
    }
    QUIC_STATUS_SUCCESS
}

/// Our listener's callback: reports NEW_CONNECTION and configures the connection.
unsafe extern "C" fn listener_cb(
    _listener: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_LISTENER_EVENT,
) -> QUIC_STATUS {
    // SAFETY: as in `client_stream_cb`.
    let (c, ev) = unsafe { (&*(ctx as *const Ctx), &*ev) };
    if ev.Type != QUIC_LISTENER_EVENT_NEW_CONNECTION {
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: the matching payload member; `Info` and its buffers are valid for the callback.
    let (info, conn) = unsafe {
        let p = ev.payload.NEW_CONNECTION;
        (&*p.Info, p.Connection)
    };
    // SAFETY: `ClientAlpnList` holds `ClientAlpnListLength` bytes.
    let list = unsafe {
        std::slice::from_raw_parts(info.ClientAlpnList, info.ClientAlpnListLength as usize)
    };
    let mut client_alpns = Vec::new();
    let mut at = 0;
    while at < list.len() {
        let n = list[at] as usize;
        client_alpns.push(list[at + 1..at + 1 + n].to_vec());
        at += 1 + n;
    }
    let server_name = if info.ServerName.is_null() {
        String::new()
    } else {
        // SAFETY: `ServerName` holds `ServerNameLength` bytes.
        let b = unsafe {
            std::slice::from_raw_parts(info.ServerName as *const u8, info.ServerNameLength as usize)
        };
        String::from_utf8_lossy(b).into_owned()
    };
    let _ = c.tx.send(Ev::NewConnection {
        client_alpns,
        server_name,
    });
    // SAFETY: `api` is the open table; `conn` is the event's; `config` is open for the test.
    unsafe {
        let api = &*c.api;
        api.SetCallbackHandler.unwrap()(conn, server_conn_cb as *mut c_void, ctx);
        api.ConnectionSetConfiguration.unwrap()(conn, c.config)
    }
}

/// The next event, or a panic naming `what` after [`LIMIT`].
async fn next(rx: &mut UnboundedReceiver<Ev>, what: &str) -> Ev {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("event channel closed waiting for {what}"))
}

/// Skips events until `pick` returns something; panics on timeout.
async fn wait<T>(
    rx: &mut UnboundedReceiver<Ev>,
    what: &str,
    mut pick: impl FnMut(Ev) -> Option<T>,
) -> T {
    loop {
        if let Some(t) = pick(next(rx, what).await) {
            return t;
        }
    }
}

/// The API table and a registration, released in order on drop.
struct Lib {
    api: *const QUIC_API_TABLE,
    reg: HQUIC,
}

impl Lib {
    fn open() -> Self {
        let mut raw: *const c_void = null();
        // SAFETY: `raw` is a valid out-pointer.
        let status = unsafe { MsQuicOpenVersion(QUIC_API_VERSION_2, &mut raw) };
        assert_eq!(status, QUIC_STATUS_SUCCESS, "MsQuicOpenVersion");
        let api = raw as *const QUIC_API_TABLE;
        let mut reg = null_mut();
        // SAFETY: `api` is the open table; a NULL config is allowed; `reg` is an out-pointer.
        let status = unsafe { (*api).RegistrationOpen.unwrap()(null(), &mut reg) };
        assert_eq!(status, QUIC_STATUS_SUCCESS, "RegistrationOpen");
        Lib { api, reg }
    }

    fn t(&self) -> &QUIC_API_TABLE {
        // SAFETY: the table stays valid until MsQuicClose in `drop`.
        unsafe { &*self.api }
    }

    /// A configuration for the one ALPN token `alpn` with `settings`.
    fn configuration(&self, alpn: &str, settings: &QUIC_SETTINGS) -> HQUIC {
        let alpn = QUIC_BUFFER {
            Length: alpn.len() as u32,
            Buffer: alpn.as_ptr() as *mut u8,
        };
        let mut cfg = null_mut();
        // SAFETY: every pointer is valid for the call; the library copies what it keeps.
        let status = unsafe {
            self.t().ConfigurationOpen.unwrap()(
                self.reg,
                &alpn,
                1,
                settings,
                size_of::<QUIC_SETTINGS>() as u32,
                null_mut(),
                &mut cfg,
            )
        };
        assert_eq!(status, QUIC_STATUS_SUCCESS, "ConfigurationOpen");
        cfg
    }

    fn load_credential(&self, cfg: HQUIC, cred: &QUIC_CREDENTIAL_CONFIG) {
        // SAFETY: `cfg` is open; `cred` and what it points to are valid for the call.
        let status = unsafe { self.t().ConfigurationLoadCredential.unwrap()(cfg, cred) };
        assert_eq!(status, QUIC_STATUS_SUCCESS, "ConfigurationLoadCredential");
    }
}

impl Drop for Lib {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A failed check may leave handles open, and RegistrationClose waits for them: leak
            // rather than turn a failure into a hang.
            return;
        }
        // SAFETY: the registration and table are open and released once, in order; every
        // connection and listener of the test is closed by now.
        unsafe {
            self.t().RegistrationClose.unwrap()(self.reg);
            MsQuicClose(self.api as *const c_void);
        }
    }
}

/// An all-empty credential config.
fn empty_credential() -> QUIC_CREDENTIAL_CONFIG {
    // SAFETY: the struct is plain C data (integers, pointers, an optional fn pointer) for which
    // all-zero is valid (NULL / None / 0).
    unsafe { std::mem::zeroed() }
}

/// A server configuration for the one ALPN token `alpn`, allowing the peer bidirectional
/// streams, with the test certificate loaded from its PEM files.
fn server_configuration(lib: &Lib, alpn: &str) -> HQUIC {
    let mut settings = QUIC_SETTINGS {
        PeerBidiStreamCount: 4,
        IdleTimeoutMs: 10_000,
        ..QUIC_SETTINGS::default()
    };
    settings.set_is_set(QUIC_SETTINGS::IS_SET_PEER_BIDI_STREAM_COUNT, true);
    settings.set_is_set(QUIC_SETTINGS::IS_SET_IDLE_TIMEOUT_MS, true);
    let cfg = lib.configuration(alpn, &settings);
    let cert = test_cert();
    let mut files = QUIC_CERTIFICATE_FILE {
        PrivateKeyFile: cert.key_file.as_ptr(),
        CertificateFile: cert.cert_file.as_ptr(),
    };
    let mut cred = empty_credential();
    cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    cred.Certificate.CertificateFile = &mut files;
    lib.load_credential(cfg, &cred);
    cfg
}

/// Opens a listener with [`listener_cb`] and `ctx`, starts it on 127.0.0.1 (any port) for the
/// one ALPN token `alpn`, and returns it with its port.
fn start_listener(lib: &Lib, ctx: &Ctx, alpn: &str) -> (HQUIC, u16) {
    let ctx_ptr = ctx as *const Ctx as *mut c_void;
    let t = lib.t();
    let mut listener = null_mut();
    let app = QUIC_BUFFER {
        Length: alpn.len() as u32,
        Buffer: alpn.as_ptr() as *mut u8,
    };
    let mut addr = QUIC_ADDR::zeroed();
    let mut local = QUIC_ADDR::zeroed();
    // SAFETY: the registration is open; the caller keeps `ctx` alive until the listener is
    // closed; every pointer is valid for its call; `local` has room for a QUIC_ADDR.
    unsafe {
        addr.Ipv4.sin_family = QUIC_ADDRESS_FAMILY_INET;
        addr.Ipv4.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let s = t.ListenerOpen.unwrap()(lib.reg, Some(listener_cb), ctx_ptr, &mut listener);
        assert_eq!(s, QUIC_STATUS_SUCCESS, "ListenerOpen");
        let s = t.ListenerStart.unwrap()(listener, &app, 1, &addr);
        assert_eq!(s, QUIC_STATUS_SUCCESS, "ListenerStart");
        let mut len = size_of::<QUIC_ADDR>() as u32;
        let s = t.GetParam.unwrap()(
            listener,
            QUIC_PARAM_LISTENER_LOCAL_ADDRESS,
            &mut len,
            &mut local as *mut QUIC_ADDR as *mut c_void,
        );
        assert_eq!(s, QUIC_STATUS_SUCCESS, "GetParam(LISTENER_LOCAL_ADDRESS)");
    }
    (listener, local.port())
}

/// A qmux server + our client: a stream round trip in both directions.
async fn our_client_against_qmux_server(their: Their) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (sock, _) = tcp.accept().await.unwrap();
        let tls_config = qmux_server_tls(their.wire().as_bytes());
        let (negotiated, session) = match their {
            Their::Raw(_) => {
                // Read the ClientHello first to check what our client offers.
                let acceptor = rustls::server::Acceptor::default();
                let start = tokio_rustls::LazyConfigAcceptor::new(acceptor, sock)
                    .await
                    .expect("ClientHello");
                let offered: Vec<Vec<u8>> = start
                    .client_hello()
                    .alpn()
                    .map(|list| list.map(<[u8]>::to_vec).collect())
                    .unwrap_or_default();
                let expected = [format!("{APP}qx").into_bytes(), APP.as_bytes().to_vec()];
                assert_eq!(offered, expected, "our client offers X + qx, then X");
                let tls = start.into_stream(tls_config).await.expect("TLS accept");
                let negotiated = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                (negotiated, qmux_session(tls, true).await)
            }
            Their::Native => {
                let session = qmux::tls::Server::new(tls_config)
                    .accept(sock)
                    .await
                    .expect("qmux::tls::Server accept");
                assert_eq!(
                    session.protocol(),
                    Some(APP),
                    "qmux parsed the app protocol"
                );
                (Some(NATIVE.as_bytes().to_vec()), session)
            }
        };
        let (mut send, mut recv) = session.accept_bi().await.unwrap();
        let got = recv.read_all().await.unwrap().to_vec();
        send.write_all(&reversed(&got)).await.unwrap();
        send.finish().unwrap();
        // Stay up until our side closes the connection.
        let closed = session.closed().await;
        (negotiated, got, format!("{closed}"))
    });

    let lib = Lib::open();
    let (tx, mut rx) = unbounded_channel();
    let mut settings = QUIC_SETTINGS {
        IdleTimeoutMs: 10_000,
        ..QUIC_SETTINGS::default()
    };
    settings.set_is_set(QUIC_SETTINGS::IS_SET_IDLE_TIMEOUT_MS, true);
    let cfg = lib.configuration(their.ours(), &settings);
    let mut cred = empty_credential();
    cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    cred.CaCertificateFile = test_cert().cert_file.as_ptr();
    lib.load_credential(cfg, &cred);

    let ctx = Box::new(Ctx {
        api: lib.api,
        config: null_mut(),
        tx,
    });
    let ctx_ptr = &*ctx as *const Ctx as *mut c_void;
    let t = lib.t();
    let mut conn = null_mut();
    let host = CString::new("localhost").unwrap();
    // SAFETY: the registration and configuration are open; `ctx` outlives the connection;
    // `host` is a NUL-terminated string valid for the call.
    unsafe {
        let s = t.ConnectionOpen.unwrap()(lib.reg, Some(client_conn_cb), ctx_ptr, &mut conn);
        assert_eq!(s, QUIC_STATUS_SUCCESS, "ConnectionOpen");
        let s =
            t.ConnectionStart.unwrap()(conn, cfg, QUIC_ADDRESS_FAMILY_INET, host.as_ptr(), port);
        assert!(QUIC_SUCCEEDED(s), "ConnectionStart: {s:#x}");
    }
    let alpn_seen = wait(&mut rx, "CONNECTED", |e| match e {
        Ev::Connected(a) => Some(a),
        Ev::TransportShutdown(s) => panic!("handshake failed: {s:#x}"),
        _ => None,
    })
    .await;
    assert_eq!(alpn_seen, their.ours().as_bytes(), "the application sees X");

    // One bidirectional stream: the message with FIN, then the reversed answer with FIN.
    let mut data = message();
    let buf = QUIC_BUFFER {
        Length: data.len() as u32,
        Buffer: data.as_mut_ptr(),
    };
    let mut stream = null_mut();
    // SAFETY: `conn` is connected; `buf` and `data` outlive the stream (it is closed below,
    // after SHUTDOWN_COMPLETE).
    unsafe {
        let s = t.StreamOpen.unwrap()(
            conn,
            QUIC_STREAM_OPEN_FLAG_NONE,
            Some(client_stream_cb),
            ctx_ptr,
            &mut stream,
        );
        assert_eq!(s, QUIC_STATUS_SUCCESS, "StreamOpen");
        let s = t.StreamSend.unwrap()(
            stream,
            &buf,
            1,
            QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN,
            null_mut(),
        );
        assert!(QUIC_SUCCEEDED(s), "StreamSend: {s:#x}");
    }
    let mut answer = Vec::new();
    let mut fin = false;
    while !fin {
        match next(&mut rx, "the answer").await {
            Ev::Received(b) => answer.extend(b),
            Ev::PeerFin => fin = true,
            Ev::TransportShutdown(s) => panic!("connection failed: {s:#x}"),
            _ => {}
        }
    }
    assert!(answer == reversed(&message()), "the answer arrived intact");
    wait(&mut rx, "stream SHUTDOWN_COMPLETE", |e| {
        matches!(e, Ev::StreamDone).then_some(())
    })
    .await;

    // SAFETY: the stream is complete and `conn` open; both are closed once.
    unsafe {
        t.StreamClose.unwrap()(stream);
        t.ConnectionShutdown.unwrap()(conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    }
    wait(&mut rx, "connection SHUTDOWN_COMPLETE", |e| {
        matches!(e, Ev::ConnDone).then_some(())
    })
    .await;
    // SAFETY: shut down and complete; closed once, then the configuration.
    unsafe {
        t.ConnectionClose.unwrap()(conn);
        t.ConfigurationClose.unwrap()(cfg);
    }
    drop(lib);
    drop(ctx);

    let (negotiated, got, closed) = tokio::time::timeout(LIMIT, server)
        .await
        .expect("qmux server finished")
        .expect("qmux server task");
    assert_eq!(
        negotiated.as_deref(),
        Some(their.wire().as_bytes()),
        "TLS ALPN on the wire"
    );
    assert!(
        got == message(),
        "the request arrived intact at the qmux server"
    );
    println!("qmux server saw the close as: {closed}");
}

/// Our listener + a qmux client offering only `their.wire()`: a stream round trip in both
/// directions.
async fn qmux_client_against_our_listener(their: Their) {
    let lib = Lib::open();
    let (tx, mut rx) = unbounded_channel();
    let cfg = server_configuration(&lib, their.ours());
    let ctx = Box::new(Ctx {
        api: lib.api,
        config: cfg,
        tx,
    });
    let t = lib.t();
    let (listener, port) = start_listener(&lib, &ctx, their.ours());

    let client = tokio::spawn(async move {
        let client_tls = qmux_client_tls(their.wire().as_bytes());
        let (negotiated, session) = match their {
            Their::Raw(_) => {
                let sock = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
                let name = ServerName::try_from("localhost").unwrap();
                let tls = tokio_rustls::TlsConnector::from(client_tls)
                    .connect(name, sock)
                    .await
                    .expect("TLS connect");
                let negotiated = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                (negotiated, qmux_session(tls, false).await)
            }
            Their::Native => {
                // Offers exactly `qmux-02.echo` (its own ALPN list replaces the config's).
                let session = qmux::tls::Client::new(client_tls)
                    .with_protocol(APP, &[qmux::Version::QMux02])
                    .require_protocol()
                    .connect(("127.0.0.1", port), "localhost")
                    .await
                    .expect("qmux::tls::Client connect");
                assert_eq!(
                    session.protocol(),
                    Some(APP),
                    "qmux parsed the app protocol"
                );
                (Some(NATIVE.as_bytes().to_vec()), session)
            }
        };
        let (mut send, mut recv) = session.open_bi().await.unwrap();
        send.write_all(&message()).await.unwrap();
        send.finish().unwrap();
        let answer = recv.read_all().await.unwrap().to_vec();
        session.close(0, "done");
        (negotiated, answer)
    });

    let (client_alpns, server_name) = wait(&mut rx, "NEW_CONNECTION", |e| match e {
        Ev::NewConnection {
            client_alpns,
            server_name,
        } => Some((client_alpns, server_name)),
        _ => None,
    })
    .await;
    assert_eq!(
        client_alpns,
        vec![their.ours().as_bytes().to_vec()],
        "the client's list in application form"
    );
    assert_eq!(server_name, "localhost");
    let alpn_seen = wait(&mut rx, "CONNECTED", |e| match e {
        Ev::Connected(a) => Some(a),
        Ev::TransportShutdown(s) => panic!("handshake failed: {s:#x}"),
        _ => None,
    })
    .await;
    assert_eq!(alpn_seen, their.ours().as_bytes(), "the application sees X");
    let request = wait(&mut rx, "the request", |e| match e {
        Ev::Received(b) => Some(b),
        _ => None,
    })
    .await;
    assert!(
        request == message(),
        "the request arrived intact at our server"
    );

    let (negotiated, answer) = tokio::time::timeout(LIMIT, client)
        .await
        .expect("qmux client finished")
        .expect("qmux client task");
    assert_eq!(
        negotiated.as_deref(),
        Some(their.wire().as_bytes()),
        "TLS ALPN on the wire"
    );
    assert!(answer == reversed(&message()), "the answer arrived intact");
    // The qmux client's close ends our connection; its callback closes the handle.
    wait(&mut rx, "connection SHUTDOWN_COMPLETE", |e| {
        matches!(e, Ev::ConnDone).then_some(())
    })
    .await;

    // SAFETY: the listener and configuration are open and closed once; ListenerClose waits for
    // the listener's callbacks to end.
    unsafe {
        t.ListenerClose.unwrap()(listener);
        t.ConfigurationClose.unwrap()(cfg);
    }
    drop(lib);
    drop(ctx);
}

/// Our client offers `echoqx`, `echo` (checked in the ClientHello); a qmux server that only
/// knows `echoqx` picks it.
#[tokio::test]
async fn our_client_qmux_server_qx_form() {
    our_client_against_qmux_server(Their::Raw("echoqx")).await;
}

/// Our client offers `echoqx`, `echo`; a qmux server that only knows `echo` picks it.
#[tokio::test]
async fn our_client_qmux_server_plain_form() {
    our_client_against_qmux_server(Their::Raw("echo")).await;
}

/// A qmux client offering only `echoqx` reaches our listener configured with `echo`.
#[tokio::test]
async fn qmux_client_our_listener_qx_form() {
    qmux_client_against_our_listener(Their::Raw("echoqx")).await;
}

/// A qmux client offering only `echo` reaches our listener configured with `echo`.
#[tokio::test]
async fn qmux_client_our_listener_plain_form() {
    qmux_client_against_our_listener(Their::Raw("echo")).await;
}

/// The crate's own `qmux::tls::Server` (ALPN `qmux-02.echo`) + our client configured with the
/// token `qmux-02.echo` (offering `qmux-02.echoqx`, `qmux-02.echo`).
#[tokio::test]
async fn our_client_native_qmux_tls_server() {
    our_client_against_qmux_server(Their::Native).await;
}

/// The crate's own `qmux::tls::Client` (offering only `qmux-02.echo`) + our listener configured
/// with the token `qmux-02.echo`.
#[tokio::test]
async fn native_qmux_tls_client_our_listener() {
    qmux_client_against_our_listener(Their::Native).await;
}

/// The limit: `qmux::tls::Client` for app protocol `echo` offers `qmux-02.echo`,
/// `qmux-01.echo`, `qmux-00.echo`, `qmux-02`, `qmux-01`, `qmux-00`, `webtransport`, never `echo`
/// or `echoqx`, so our listener configured with `echo` has no common token and the handshake
/// fails.
#[tokio::test]
async fn native_qmux_tls_client_cannot_offer_plain_or_qx_form() {
    let lib = Lib::open();
    let (tx, _rx) = unbounded_channel();
    let cfg = server_configuration(&lib, APP);
    let ctx = Box::new(Ctx {
        api: lib.api,
        config: cfg,
        tx,
    });
    let (listener, port) = start_listener(&lib, &ctx, APP);
    let client = qmux::tls::Client::new(qmux_client_tls(b"")).with_protocol(APP, &[]);
    let attempt = client.connect(("127.0.0.1", port), "localhost");
    let result = tokio::time::timeout(LIMIT, attempt)
        .await
        .expect("the failed handshake ends in time");
    let err = result.err().expect("no common ALPN: the handshake fails");
    assert!(
        format!("{err}").contains("NoApplicationProtocol"),
        "our listener aborts with no_application_protocol: {err}"
    );
    println!("qmux::tls::Client against an `echo` listener: {err}");
    // SAFETY: the listener and configuration are open and closed once.
    unsafe {
        lib.t().ListenerClose.unwrap()(listener);
        lib.t().ConfigurationClose.unwrap()(cfg);
    }
    drop(lib);
    drop(ctx);
}
