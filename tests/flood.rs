//! A hostile peer must not starve the other connections of its worker nor make the server's
//! memory grow: an echo server on the library (driven through its C API table, ONE worker
//! via QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, so every connection shares it) serves a
//! well-behaved client doing echo round trips while raw TLS clients flood it:
//!
//! 1. STREAMS_BLOCKED records as fast as TCP takes them (frames that change nothing): the
//!    server raises PEER_NEEDS_STREAMS once, closes the connection with PROTOCOL_VIOLATION
//!    (CONNECTION_CLOSE on the wire, SHUTDOWN_INITIATED_BY_TRANSPORT with
//!    QUIC_STATUS_PROTOCOL_ERROR for the application);
//! 2. TLS KeyUpdate requests as fast as TCP takes them: answered once at a time, and closed
//!    the same way;
//! 3. tiny DATAGRAMs as fast as TCP takes them (legal, each one delivered) for a few seconds.
//!
//! Throughout, every round trip of the good client must complete within [`RTT_LIMIT`], and
//! the process's peak resident memory (VmHWM) must grow by less than [`MEMORY_LIMIT`].
//! The clients are our own engine (`msquic::proto`) over rustls, in threads of this process.
//! Every wait is bounded; there are no sleeps.

use std::ffi::c_void;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use msquic::api::abi::*;
use msquic::api::entry::{MsQuicClose, MsQuicOpenVersion};
use msquic::proto::frame::{Frame, FrameType};
use msquic::proto::{self, Dir, Side, record};

#[path = "common/test_cert.rs"]
mod common_cert;
use common_cert::TestCert;

/// The application protocol.
const ALPN: &str = "flood";
/// The bound on every round trip of the good client while the floods run.
const RTT_LIMIT: Duration = Duration::from_secs(1);
/// The bound on the growth of the process's peak resident memory.
const MEMORY_LIMIT: u64 = 64 << 20;
/// How long each flood runs at most.
const FLOOD_TIME: Duration = Duration::from_secs(4);
/// The bound on other waits.
const LIMIT: Duration = Duration::from_secs(20);
/// The server's limit on the client's bidirectional streams.
const PEER_BIDI: u16 = 4;

/// The shared test certificate, its files in this test's own folder.
fn test_cert() -> &'static TestCert {
    common_cert::test_cert("flood-cert")
}

/// VmHWM (peak resident set) of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM value");
    kb * 1024
}

// ---------------------------------------------------------------- the server

/// What the server's callbacks report.
#[derive(Debug)]
enum Ev {
    /// SHUTDOWN_INITIATED_BY_TRANSPORT with its status.
    TransportShutdown(QUIC_STATUS),
}

struct ServerCtx {
    api: *const QUIC_API_TABLE,
    config: HQUIC,
    tx: Sender<Ev>,
    peer_needs_streams: AtomicUsize,
    datagrams: AtomicUsize,
    /// Set at the first SHUTDOWN_INITIATED_BY_TRANSPORT (only a flooder is shut down).
    transport_shutdown: AtomicBool,
}

/// Data being echoed: the buffer MsQuic points at, freed at SEND_COMPLETE.
struct Echo {
    buf: QUIC_BUFFER,
    data: Vec<u8>,
}

unsafe extern "C" fn stream_cb(
    stream: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_STREAM_EVENT,
) -> QUIC_STATUS {
    // SAFETY: `ctx` is the server context, alive for the test; `ev` is valid for the call.
    let (c, ev) = unsafe { (&*(ctx as *const ServerCtx), &*ev) };
    // SAFETY: the table is open for the whole test.
    let api = unsafe { &*c.api };
    match ev.Type {
        QUIC_STREAM_EVENT_RECEIVE => {
            // SAFETY: a RECEIVE event: `BufferCount` valid buffers of `Length` bytes each.
            let data = unsafe {
                let r = ev.payload.RECEIVE;
                let mut out = Vec::with_capacity(r.TotalBufferLength as usize);
                for i in 0..r.BufferCount as usize {
                    let b = &*r.Buffers.add(i);
                    if b.Length > 0 {
                        out.extend_from_slice(std::slice::from_raw_parts(
                            b.Buffer,
                            b.Length as usize,
                        ));
                    }
                }
                out
            };
            if !data.is_empty() {
                let echo = Box::into_raw(Box::new(Echo {
                    buf: QUIC_BUFFER {
                        Length: 0,
                        Buffer: null_mut(),
                    },
                    data,
                }));
                // SAFETY: `echo` stays alive until SEND_COMPLETE gives it back.
                unsafe {
                    (*echo).buf = QUIC_BUFFER {
                        Length: (*echo).data.len() as u32,
                        Buffer: (*echo).data.as_mut_ptr(),
                    };
                    let s = api.StreamSend.unwrap()(
                        stream,
                        &(*echo).buf,
                        1,
                        QUIC_SEND_FLAG_NONE,
                        echo as *mut c_void,
                    );
                    if QUIC_FAILED(s) {
                        drop(Box::from_raw(echo));
                    }
                }
            }
        }
        QUIC_STREAM_EVENT_SEND_COMPLETE => {
            // SAFETY: the context is the `Echo` given to StreamSend, returned once.
            unsafe {
                let echo = ev.payload.SEND_COMPLETE.ClientContext as *mut Echo;
                if !echo.is_null() {
                    drop(Box::from_raw(echo));
                }
            }
        }
        QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE => {
            // SAFETY: the stream is done; closing it ends its callbacks.
            unsafe { api.StreamClose.unwrap()(stream) };
        }
        _ => {}
    }
    QUIC_STATUS_SUCCESS
}

unsafe extern "C" fn conn_cb(
    conn: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_CONNECTION_EVENT,
) -> QUIC_STATUS {
    // SAFETY: as in `stream_cb`.
    let (c, ev) = unsafe { (&*(ctx as *const ServerCtx), &*ev) };
    // SAFETY: the table is open.
    let api = unsafe { &*c.api };
    match ev.Type {
        QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED => {
            // SAFETY: the event's stream handle; the handler matches the C prototype.
            unsafe {
                api.SetCallbackHandler.unwrap()(
                    ev.payload.PEER_STREAM_STARTED.Stream,
                    stream_cb as *mut c_void,
                    ctx,
                );
            }
        }
        QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS => {
            c.peer_needs_streams.fetch_add(1, Ordering::Relaxed);
        }
        QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED => {
            c.datagrams.fetch_add(1, Ordering::Relaxed);
        }
        QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT => {
            // SAFETY: the matching payload member.
            let status = unsafe { ev.payload.SHUTDOWN_INITIATED_BY_TRANSPORT.Status };
            c.transport_shutdown.store(true, Ordering::Relaxed);
            let _ = c.tx.send(Ev::TransportShutdown(status));
        }
        QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE => {
            // SAFETY: the connection is done: closed here.
            unsafe { api.ConnectionClose.unwrap()(conn) };
        }
        _ => {}
    }
    QUIC_STATUS_SUCCESS
}

unsafe extern "C" fn listener_cb(
    _listener: HQUIC,
    ctx: *mut c_void,
    ev: *mut QUIC_LISTENER_EVENT,
) -> QUIC_STATUS {
    // SAFETY: as in `stream_cb`.
    let (c, ev) = unsafe { (&*(ctx as *const ServerCtx), &*ev) };
    if ev.Type != QUIC_LISTENER_EVENT_NEW_CONNECTION {
        return QUIC_STATUS_SUCCESS;
    }
    // SAFETY: the event's connection; the configuration is open for the test.
    unsafe {
        let conn = ev.payload.NEW_CONNECTION.Connection;
        let api = &*c.api;
        api.SetCallbackHandler.unwrap()(conn, conn_cb as *mut c_void, ctx);
        api.ConnectionSetConfiguration.unwrap()(conn, c.config)
    }
}

/// The library with one worker, a registration, a server configuration and a listener.
struct Server {
    api: *const QUIC_API_TABLE,
    reg: HQUIC,
    config: HQUIC,
    listener: HQUIC,
    ctx: Box<ServerCtx>,
    events: Receiver<Ev>,
    port: u16,
}

impl Server {
    fn start() -> Self {
        let mut raw: *const c_void = null();
        // SAFETY: `raw` is a valid out-pointer.
        let status = unsafe { MsQuicOpenVersion(QUIC_API_VERSION_2, &mut raw) };
        assert_eq!(status, QUIC_STATUS_SUCCESS, "MsQuicOpenVersion");
        let api = raw as *const QUIC_API_TABLE;
        // SAFETY: the table is open.
        let t = unsafe { &*api };
        // One shared worker (processor 0), before the first registration starts the pool.
        let mut exec = Vec::new();
        exec.extend_from_slice(&0u32.to_ne_bytes()); // Flags
        exec.extend_from_slice(&0u32.to_ne_bytes()); // PollingIdleTimeoutUs
        exec.extend_from_slice(&1u32.to_ne_bytes()); // ProcessorCount
        exec.extend_from_slice(&0u16.to_ne_bytes()); // ProcessorList[0]
        // SAFETY: the buffer holds the struct with its one-entry processor list.
        let status = unsafe {
            t.SetParam.unwrap()(
                null_mut(),
                QUIC_PARAM_GLOBAL_EXECUTION_CONFIG,
                exec.len() as u32,
                exec.as_ptr() as *const c_void,
            )
        };
        assert_eq!(status, QUIC_STATUS_SUCCESS, "GLOBAL_EXECUTION_CONFIG");
        let mut reg = null_mut();
        // SAFETY: a NULL config is allowed; `reg` is an out-pointer.
        let status = unsafe { t.RegistrationOpen.unwrap()(null(), &mut reg) };
        assert_eq!(status, QUIC_STATUS_SUCCESS, "RegistrationOpen");

        let mut settings = QUIC_SETTINGS {
            PeerBidiStreamCount: PEER_BIDI,
            IdleTimeoutMs: 30_000,
            ..QUIC_SETTINGS::default()
        };
        settings.set_is_set(QUIC_SETTINGS::IS_SET_PEER_BIDI_STREAM_COUNT, true);
        settings.set_is_set(QUIC_SETTINGS::IS_SET_IDLE_TIMEOUT_MS, true);
        settings.set_datagram_receive_enabled(true);
        settings.set_is_set(QUIC_SETTINGS::IS_SET_DATAGRAM_RECEIVE_ENABLED, true);
        let alpn = QUIC_BUFFER {
            Length: ALPN.len() as u32,
            Buffer: ALPN.as_ptr() as *mut u8,
        };
        let mut config = null_mut();
        let cert = test_cert();
        let mut files = QUIC_CERTIFICATE_FILE {
            PrivateKeyFile: cert.key_file.as_ptr(),
            CertificateFile: cert.cert_file.as_ptr(),
        };
        // SAFETY: the credential struct is plain C data for which all-zero is valid.
        let mut cred: QUIC_CREDENTIAL_CONFIG = unsafe { std::mem::zeroed() };
        cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        cred.Certificate.CertificateFile = &mut files;
        // SAFETY: every pointer is valid for its call.
        unsafe {
            let s = t.ConfigurationOpen.unwrap()(
                reg,
                &alpn,
                1,
                &settings,
                size_of::<QUIC_SETTINGS>() as u32,
                null_mut(),
                &mut config,
            );
            assert_eq!(s, QUIC_STATUS_SUCCESS, "ConfigurationOpen");
            let s = t.ConfigurationLoadCredential.unwrap()(config, &cred);
            assert_eq!(s, QUIC_STATUS_SUCCESS, "ConfigurationLoadCredential");
        }
        let (tx, events) = unbounded();
        let ctx = Box::new(ServerCtx {
            api,
            config,
            tx,
            peer_needs_streams: AtomicUsize::new(0),
            datagrams: AtomicUsize::new(0),
            transport_shutdown: AtomicBool::new(false),
        });
        let mut listener = null_mut();
        let mut addr = QUIC_ADDR::zeroed();
        let mut local = QUIC_ADDR::zeroed();
        // SAFETY: `ctx` outlives the listener; every pointer is valid for its call.
        unsafe {
            addr.Ipv4.sin_family = QUIC_ADDRESS_FAMILY_INET;
            addr.Ipv4.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let ctx_ptr = &*ctx as *const ServerCtx as *mut c_void;
            let s = t.ListenerOpen.unwrap()(reg, Some(listener_cb), ctx_ptr, &mut listener);
            assert_eq!(s, QUIC_STATUS_SUCCESS, "ListenerOpen");
            let s = t.ListenerStart.unwrap()(listener, &alpn, 1, &addr);
            assert_eq!(s, QUIC_STATUS_SUCCESS, "ListenerStart");
            let mut len = size_of::<QUIC_ADDR>() as u32;
            let s = t.GetParam.unwrap()(
                listener,
                QUIC_PARAM_LISTENER_LOCAL_ADDRESS,
                &mut len,
                &mut local as *mut QUIC_ADDR as *mut c_void,
            );
            assert_eq!(s, QUIC_STATUS_SUCCESS, "LISTENER_LOCAL_ADDRESS");
        }
        Server {
            api,
            reg,
            config,
            listener,
            ctx,
            events,
            port: local.port(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return; // Connections may be open: leak rather than hang in RegistrationClose.
        }
        // SAFETY: the handles are open and closed once, in order.
        unsafe {
            let t = &*self.api;
            t.ListenerClose.unwrap()(self.listener);
            t.RegistrationShutdown.unwrap()(self.reg, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
            t.ConfigurationClose.unwrap()(self.config);
            t.RegistrationClose.unwrap()(self.reg);
            MsQuicClose(self.api as *const c_void);
        }
        let _ = &self.ctx;
    }
}

// ---------------------------------------------------------------- clients

fn tls_client() -> rustls::ClientConnection {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(test_cert().cert_der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.as_bytes().to_vec()];
    rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap()
}

/// A TCP connection to the server with the TLS handshake done.
fn connect(port: u16) -> (rustls::ClientConnection, TcpStream) {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    sock.set_nodelay(true).unwrap();
    sock.set_read_timeout(Some(LIMIT)).unwrap();
    let mut tls = tls_client();
    while tls.is_handshaking() {
        tls.complete_io(&mut sock).expect("TLS handshake");
    }
    (tls, sock)
}

/// Writes `plain` through `tls` to `sock`.
fn send(tls: &mut rustls::ClientConnection, sock: &mut TcpStream, plain: &[u8]) -> io::Result<()> {
    tls.writer().write_all(plain)?;
    while tls.wants_write() {
        tls.write_tls(sock)?;
    }
    Ok(())
}

/// The client's transport parameters record, as our engine sends it.
fn tp_record() -> Vec<u8> {
    let mut params = Vec::new();
    proto::Config::default()
        .transport_parameters()
        .encode(&mut params);
    records(&[Frame::TransportParameters {
        ty: FrameType::QX_TRANSPORT_PARAMETERS,
        params: &params,
    }])
}

/// Each frame in a record of its own.
fn records(frames: &[Frame<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let mut body = Vec::new();
        f.encode(&mut body);
        record::encode(&body, &mut out);
    }
    out
}

/// The well-behaved client: our engine over rustls, echo round trips on one stream.
struct Good {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    conn: proto::Connection,
    stream: proto::StreamId,
}

impl Good {
    fn connect(port: u16) -> Self {
        let (tls, sock) = connect(port);
        let conn = proto::Connection::new(Side::Client, proto::Config::default(), Instant::now());
        let mut good = Good {
            tls: rustls::StreamOwned::new(tls, sock),
            conn,
            stream: proto::StreamId(0),
        };
        good.flush();
        while !good.conn.is_connected() {
            good.receive();
        }
        good.stream = good.conn.open(Dir::Bi).expect("open a stream");
        good
    }

    fn flush(&mut self) {
        let mut out = vec![0u8; 1 << 16];
        loop {
            let n = self.conn.poll_transmit(Instant::now(), &mut out);
            if n == 0 {
                break;
            }
            self.tls.write_all(&out[..n]).expect("good client write");
        }
        self.tls.flush().expect("good client flush");
    }

    fn receive(&mut self) {
        let mut buf = vec![0u8; 1 << 16];
        let n = self
            .tls
            .read(&mut buf)
            .expect("good client read (timed out?)");
        assert!(n > 0, "the server ended the good connection");
        self.conn.handle_input(Instant::now(), &buf[..n]);
        while let Some(e) = self.conn.poll_event() {
            if let proto::Event::Closed(cause) = e {
                panic!("the good connection closed: {cause:?}");
            }
        }
    }

    /// One echo round trip of `msg`; returns how long it took.
    fn round_trip(&mut self, msg: &[u8]) -> Duration {
        let start = Instant::now();
        self.conn
            .send(self.stream, msg.to_vec().into(), None)
            .expect("send");
        self.flush();
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        while got.len() < msg.len() {
            let (n, _) = self.conn.read(self.stream, &mut buf).expect("read");
            got.extend_from_slice(&buf[..n]);
            if n == 0 {
                self.receive();
            }
            self.flush();
        }
        assert_eq!(got, msg, "the echo");
        start.elapsed()
    }
}

/// What the good client's thread reports.
#[derive(Default)]
struct Trips {
    stop: AtomicBool,
    count: AtomicUsize,
    slowest_us: AtomicU64,
}

impl Trips {
    fn slowest(&self) -> Duration {
        Duration::from_micros(self.slowest_us.load(Ordering::Relaxed))
    }

    /// Waits (bounded) until at least one more round trip completed than `seen`.
    fn wait_past(&self, seen: usize) -> usize {
        let start = Instant::now();
        loop {
            let now = self.count.load(Ordering::Relaxed);
            if now > seen {
                return now;
            }
            assert!(start.elapsed() < LIMIT, "the good client made no progress");
            std::thread::yield_now();
        }
    }
}

/// Round trips on `good` until told to stop.
fn round_trips(mut good: Good, trips: &Trips) {
    let mut count = 0;
    while !trips.stop.load(Ordering::Relaxed) {
        let msg: Vec<u8> = (0..100).map(|i| (i + count) as u8).collect();
        let took = good.round_trip(&msg);
        trips
            .slowest_us
            .fetch_max(took.as_micros() as u64, Ordering::Relaxed);
        count += 1;
        trips.count.store(count, Ordering::Relaxed);
    }
}

/// Checks the good client's round trips and the memory after a flood.
fn check(what: &str, trips: &Trips, base: u64) {
    // A round trip that started during the flood has finished.
    trips.wait_past(trips.count.load(Ordering::Relaxed) + 1);
    let slowest = trips.slowest();
    let grown = peak_rss().saturating_sub(base);
    eprintln!(
        "after {what}: {} round trips, slowest {slowest:?}; peak RSS grew {} KiB",
        trips.count.load(Ordering::Relaxed),
        grown >> 10
    );
    assert!(
        slowest < RTT_LIMIT,
        "a round trip took {slowest:?} during the {what}"
    );
    assert!(
        grown < MEMORY_LIMIT,
        "peak RSS grew by {} MiB during the {what}",
        grown >> 20
    );
}

/// A raw client that sends its transport parameters, then repeats `step` as fast as TCP
/// takes it until `stop`, an error, or [`FLOOD_TIME`]; then ends its direction. Returns the
/// steps made and the plaintext it received until the server ended.
fn flood(
    port: u16,
    stop: &AtomicBool,
    mut step: impl FnMut(&mut rustls::ClientConnection, &mut TcpStream) -> io::Result<()>,
) -> (u64, Vec<u8>) {
    let (mut tls, mut sock) = connect(port);
    let raw = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = unbounded();
    let mut reader = sock.try_clone().unwrap();
    let sink = raw.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
        let _ = done_tx.send(());
    });
    send(&mut tls, &mut sock, &tp_record()).expect("transport parameters");
    // Past the handshake on both sides: the server's first records (its session ticket, its
    // transport parameters) have arrived.
    let start = Instant::now();
    while raw.lock().unwrap().is_empty() {
        assert!(start.elapsed() < LIMIT, "nothing from the server");
        std::thread::yield_now();
    }
    let start = Instant::now();
    let mut sent = 0u64;
    while !stop.load(Ordering::Relaxed) && start.elapsed() < FLOOD_TIME {
        if step(&mut tls, &mut sock).is_err() {
            break;
        }
        sent += 1;
    }
    let _ = sock.shutdown(Shutdown::Write);
    done_rx
        .recv_timeout(LIMIT)
        .expect("the server ends the connection");
    let raw = std::mem::take(&mut *raw.lock().unwrap());
    let mut plain = Vec::new();
    let mut rd = &raw[..];
    while !rd.is_empty() {
        // (rustls gives up after 32 KeyUpdates without data in between: our answers to the
        // KeyUpdate flood end its reading early.)
        if tls.read_tls(&mut rd).is_err() || tls.process_new_packets().is_err() {
            break;
        }
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = tls.reader().read(&mut buf) {
            if n == 0 {
                break;
            }
            plain.extend_from_slice(&buf[..n]);
        }
    }
    (sent, plain)
}

/// The CONNECTION_CLOSE (code, reason) in a QMux byte stream, if any.
fn connection_close(mut bytes: &[u8]) -> Option<(u64, String)> {
    while !bytes.is_empty() {
        let first = bytes[0];
        let len_size = 1usize << (first >> 6);
        if bytes.len() < len_size {
            return None;
        }
        let mut size = u64::from(first & 0x3f);
        for b in &bytes[1..len_size] {
            size = size << 8 | u64::from(*b);
        }
        let end = len_size + size as usize;
        let body = bytes.get(len_size..end)?;
        for f in proto::frame::Iter::new(body).flatten() {
            if let Frame::ConnectionClose {
                error_code, reason, ..
            } = f
            {
                return Some((error_code, String::from_utf8_lossy(reason).into_owned()));
            }
        }
        bytes = &bytes[end..];
    }
    None
}

#[test]
fn a_flooding_peer_neither_starves_its_worker_nor_grows_memory() {
    let server = Server::start();
    let port = server.port;
    let mut good = Good::connect(port);
    // Warm up (allocations of a first round trip, the flooders' first connections).
    for _ in 0..10 {
        good.round_trip(b"warm up");
    }
    let base = peak_rss();
    let trips = Arc::new(Trips::default());
    let t = trips.clone();
    let good = std::thread::spawn(move || round_trips(good, &t));
    trips.wait_past(0);

    // 1. STREAMS_BLOCKED at the server's limit, over and over.
    let blocked = records(&[Frame::StreamsBlocked {
        dir: Dir::Bi,
        limit: u64::from(PEER_BIDI),
    }]);
    let chunk = blocked.repeat((16 << 10) / blocked.len());
    let (sent, plain) = flood(port, &server.ctx.transport_shutdown, |tls, sock| {
        send(tls, sock, &chunk)
    });
    check("STREAMS_BLOCKED flood", &trips, base);
    let status = match server.events.recv_timeout(LIMIT) {
        Ok(Ev::TransportShutdown(s)) => s,
        Err(e) => panic!("the flooder was not shut down ({sent} bytes sent): {e}"),
    };
    assert_eq!(status, QUIC_STATUS_PROTOCOL_ERROR, "{status:#x}");
    let (code, reason) = connection_close(&plain).expect("CONNECTION_CLOSE on the wire");
    assert_eq!(code, 0x0a, "PROTOCOL_VIOLATION");
    assert!(reason.contains("BLOCKED"), "{reason}");
    assert_eq!(server.ctx.peer_needs_streams.load(Ordering::Relaxed), 1);

    // 2. TLS KeyUpdate requests, over and over.
    server
        .ctx
        .transport_shutdown
        .store(false, Ordering::Relaxed);
    let (sent, plain) = flood(port, &server.ctx.transport_shutdown, |tls, sock| {
        for _ in 0..100 {
            tls.refresh_traffic_keys().map_err(io::Error::other)?;
        }
        while tls.wants_write() {
            tls.write_tls(sock)?;
        }
        Ok(())
    });
    check("KeyUpdate flood", &trips, base);
    let status = match server.events.recv_timeout(LIMIT) {
        Ok(Ev::TransportShutdown(s)) => s,
        Err(e) => panic!("the KeyUpdate flooder was not shut down ({sent} steps): {e}"),
    };
    assert_eq!(status, QUIC_STATUS_PROTOCOL_ERROR, "{status:#x}");
    // rustls may have stopped reading before it (see `flood`).
    if let Some((code, reason)) = connection_close(&plain) {
        assert_eq!(code, 0x0a, "PROTOCOL_VIOLATION");
        assert!(reason.contains("KeyUpdate"), "{reason}");
    }

    // 3. Tiny DATAGRAMs: legal, each delivered; the connection stays up.
    let datagram = records(&[Frame::Datagram {
        data: b"x",
        has_len: false,
    }]);
    let chunk = datagram.repeat((16 << 10) / datagram.len());
    let never = AtomicBool::new(false);
    let (sent, plain) = flood(port, &never, |tls, sock| send(tls, sock, &chunk));
    check("DATAGRAM flood", &trips, base);
    assert_eq!(
        connection_close(&plain),
        None,
        "the datagram flooder was not closed"
    );
    while let Ok(Ev::TransportShutdown(s)) = server.events.try_recv() {
        // Only its end of input (after the flood) shuts it down.
        assert_ne!(s, QUIC_STATUS_PROTOCOL_ERROR);
    }
    let delivered = server.ctx.datagrams.load(Ordering::Relaxed);
    assert!(delivered > 0, "datagrams arrived ({sent} bytes sent)");

    eprintln!("{delivered} datagrams delivered");
    trips.stop.store(true, Ordering::Relaxed);
    good.join().expect("the good client");
}
