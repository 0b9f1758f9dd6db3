//! Two connections over loopback TCP, each on its own worker: the server echoes every stream,
//! calling back into its connection from inside event delivery.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::{Conn, ConnEvent, ConnSink};
use crate::proto::{self, Dir, Event, SendData, StreamId};
use crate::runtime::listener::Listener;
use crate::runtime::worker::{Pool, WorkerCx};

const WAIT: Duration = Duration::from_secs(20);

/// Reads everything readable on `id`: (bytes, end reached).
fn drain(engine: &mut proto::Connection, id: StreamId) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match engine.read(id, &mut buf) {
            Ok((0, fin)) => return (out, fin),
            Ok((n, fin)) => {
                out.extend_from_slice(&buf[..n]);
                if fin {
                    return (out, true);
                }
            }
            Err(_) => return (out, false),
        }
    }
}

/// Echoes each stream back, finishing when the peer finishes.
struct EchoSink;

impl ConnSink for EchoSink {
    fn deliver(&self, cx: &WorkerCx, conn: &Rc<Conn>, event: ConnEvent) {
        if let ConnEvent::Engine(Event::StreamReadable { id }) = event {
            conn.with_engine(cx, |e| {
                let (data, fin) = drain(e, id);
                if !data.is_empty() {
                    e.send(id, SendData::Owned(data), None).unwrap();
                }
                if fin {
                    e.finish(id).unwrap();
                }
            });
        }
    }
}

/// What the client side reports to the test thread.
#[derive(Debug)]
enum Seen {
    Connected,
    Data(Vec<u8>),
    Fin,
    Failed(std::io::ErrorKind),
    Closed,
}

struct ClientSink {
    tx: Sender<Seen>,
}

impl ConnSink for ClientSink {
    fn deliver(&self, cx: &WorkerCx, conn: &Rc<Conn>, event: ConnEvent) {
        let seen = match event {
            ConnEvent::Engine(Event::Connected) => Seen::Connected,
            ConnEvent::Engine(Event::StreamReadable { id }) => {
                let (data, fin) = conn.with_engine(cx, |e| drain(e, id));
                if !data.is_empty() {
                    let _ = self.tx.send(Seen::Data(data));
                }
                if !fin {
                    return;
                }
                Seen::Fin
            }
            ConnEvent::TransportFailed(kind) => Seen::Failed(kind),
            ConnEvent::Engine(Event::Drained) => Seen::Closed,
            _ => return,
        };
        let _ = self.tx.send(seen);
    }
}

thread_local! {
    static CLIENT: RefCell<Option<Rc<Conn>>> = const { RefCell::new(None) };
}

fn start_server(pool: &Pool) -> SocketAddr {
    pool.worker(0)
        .run(|cx| {
            let on_accept = Box::new(|cx: &WorkerCx, sock, _peer| {
                Conn::accept(
                    cx,
                    sock,
                    super::Wire::Plain,
                    proto::Config::default(),
                    Box::new(EchoSink),
                )
                .unwrap()
                .begin(cx);
            });
            let listener =
                Listener::bind(cx, "127.0.0.1:0".parse().unwrap(), false, on_accept).unwrap();
            listener.local_addr().unwrap()
        })
        .unwrap()
}

fn start_client(pool: &Pool, addr: SocketAddr) -> Receiver<Seen> {
    let (tx, rx) = crossbeam_channel::unbounded();
    pool.worker(1).run(move |cx| {
        let conn = Conn::connect(
            cx,
            addr,
            super::Wire::Plain,
            proto::Config::default(),
            Box::new(ClientSink { tx }),
        )
        .unwrap();
        CLIENT.with(|c| *c.borrow_mut() = Some(conn));
    });
    rx
}

fn on_client<R: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&WorkerCx, &Rc<Conn>) -> R + Send + 'static,
) -> R {
    pool.worker(1)
        .run(move |cx| CLIENT.with(|c| f(cx, c.borrow().as_ref().expect("client"))))
        .unwrap()
}

#[test]
fn stream_echoes_byte_exact_over_loopback() {
    let pool = Pool::new(2).unwrap();
    let addr = start_server(&pool);
    let rx = start_client(&pool, addr);
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Seen::Connected));

    let payload: Vec<u8> = (0..4_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let sent = payload.clone();
    on_client(&pool, move |cx, conn| {
        conn.with_engine(cx, |e| {
            let id = e.open(Dir::Bi).unwrap();
            e.send(id, SendData::Owned(sent), None).unwrap();
            e.finish(id).unwrap();
        })
    });
    let mut echoed = Vec::new();
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Seen::Data(d) => echoed.extend_from_slice(&d),
            Seen::Fin => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(echoed.len(), payload.len());
    assert!(echoed == payload, "echo differs");

    on_client(&pool, |cx, conn| {
        conn.with_engine(cx, |e| e.close(std::time::Instant::now(), 0, b""))
    });
    loop {
        match rx.recv_timeout(WAIT).unwrap() {
            Seen::Closed => break,
            Seen::Data(_) | Seen::Fin => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(on_client(&pool, |_, conn| conn.is_finished()));
}

#[test]
fn nothing_listening_fails_the_transport() {
    let pool = Pool::new(2).unwrap();
    // Bind and drop a listener to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rx = start_client(&pool, SocketAddr::from(([127, 0, 0, 1], port)));
    match rx.recv_timeout(WAIT).unwrap() {
        Seen::Failed(kind) => assert_eq!(kind, std::io::ErrorKind::ConnectionRefused),
        other => panic!("unexpected {other:?}"),
    }
}

/// A QX_TRANSPORT_PARAMETERS record with large credit (as in c-tests/disconnect_timeout.c):
/// initial_max_data and every initial_max_stream_data 2^30 - 1, 100 streams each way.
const CANNED_TP: [u8; 42] = [
    0x29, 0xff, 0x51, 0x53, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x20, 0x04, 0x04, 0xbf, 0xff, 0xff, 0xff,
    0x05, 0x04, 0xbf, 0xff, 0xff, 0xff, 0x06, 0x04, 0xbf, 0xff, 0xff, 0xff, 0x07, 0x04, 0xbf, 0xff,
    0xff, 0xff, 0x08, 0x02, 0x40, 0x64, 0x09, 0x02, 0x40, 0x64,
];

/// A raw peer that sends [`CANNED_TP`] and then reads `chunk` bytes every `pause` until it
/// has `total` bytes (or forever if `total` is 0: it then stops reading after the first
/// chunk). Returns the address and a receiver for the byte count read, with the socket
/// (kept open as long as the test holds it).
fn slow_reader(
    chunk: usize,
    pause: Duration,
    total: usize,
) -> (
    SocketAddr,
    Receiver<(usize, std::net::TcpStream)>,
    std::thread::JoinHandle<()>,
) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let thread = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.write_all(&CANNED_TP).unwrap();
        let mut buf = vec![0u8; chunk];
        let mut got = 0;
        loop {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
            if total == 0 {
                // Stop reading.
                break;
            }
            if got >= total {
                break;
            }
            std::thread::sleep(pause);
        }
        let _ = tx.send((got, sock));
    });
    (addr, rx, thread)
}

fn send_on_connect(pool: &Pool, rx: &Receiver<Seen>, len: usize, timeout: Duration) {
    on_client(pool, move |cx, conn| {
        conn.set_disconnect_timeout(cx, timeout)
    });
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Seen::Connected));
    on_client(pool, move |cx, conn| {
        conn.with_engine(cx, |e| {
            let id = e.open(Dir::Bi).unwrap();
            e.send(id, SendData::Owned(vec![7; len]), None).unwrap();
            e.finish(id).unwrap();
        })
    });
}

#[test]
fn slow_but_steady_reader_is_not_timed_out() {
    const LEN: usize = 4 << 20;
    let pool = Pool::new(2).unwrap();
    // 16 KiB every 10 ms: the socket takes bytes far more often than every 500 ms, but
    // the transfer takes over two seconds. Writability is only signalled once the socket's
    // send buffer (megabytes, autotuned) has drained well below full, which at this pace
    // takes longer than the timeout: the write tried at expiry is what sees the progress.
    let (addr, got, reader) = slow_reader(16 << 10, Duration::from_millis(10), LEN);
    let rx = start_client(&pool, addr);
    let started = std::time::Instant::now();
    send_on_connect(&pool, &rx, LEN, Duration::from_millis(500));
    let (got, _sock) = got.recv_timeout(WAIT).unwrap();
    if let Ok(seen) = rx.try_recv() {
        panic!("the client saw {seen:?}");
    }
    assert!(got >= LEN, "the reader got {got} bytes");
    assert!(started.elapsed() > Duration::from_millis(500));
    assert!(rx.try_recv().is_err(), "the client saw an event");
    assert!(!on_client(&pool, |_, conn| conn.is_finished()));
    reader.join().unwrap();
}

#[test]
fn reader_that_stops_times_the_connection_out() {
    let pool = Pool::new(2).unwrap();
    let (addr, _got, _reader) = slow_reader(4096, Duration::ZERO, 0);
    let rx = start_client(&pool, addr);
    send_on_connect(&pool, &rx, 64 << 20, Duration::from_millis(300));
    match rx.recv_timeout(WAIT).unwrap() {
        Seen::Failed(kind) => assert_eq!(kind, std::io::ErrorKind::TimedOut),
        other => panic!("unexpected {other:?}"),
    }
    assert!(on_client(&pool, |_, conn| conn.is_finished()));
}

/// A blocking rustls server (rustls' own buffered connection, ALPN `xqx`) on a new port: the
/// address, and what accepts one connection and sends it [`CANNED_TP`].
fn rustls_server() -> (
    SocketAddr,
    impl FnOnce() -> rustls::StreamOwned<rustls::ServerConnection, std::net::TcpStream>,
) {
    use std::io::Write;
    use std::sync::Arc;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.cert.der().clone()], key)
    .unwrap();
    config.alpn_protocols = vec![b"xqx".to_vec()];
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = move || {
        let (sock, _) = listener.accept().unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(&CANNED_TP).unwrap();
        tls.flush().unwrap();
        tls
    };
    (addr, accept)
}

/// A QMux/TLS client connection to `addr` (no certificate check) on worker 1 of `pool`.
fn start_tls_client(pool: &Pool, addr: SocketAddr) -> Receiver<Seen> {
    let creds = crate::runtime::tls::Credentials {
        verification: crate::runtime::tls::PeerVerification::None,
        ..Default::default()
    };
    let tls = creds.client_config(&[b"x".to_vec()]).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    pool.worker(1).run(move |cx| {
        let session = crate::runtime::tls::TlsSession::client(&tls, "localhost").unwrap();
        let conn = Conn::connect(
            cx,
            addr,
            super::Wire::Tls(Box::new(session)),
            proto::Config::default(),
            Box::new(ClientSink { tx }),
        )
        .unwrap();
        CLIENT.with(|c| *c.borrow_mut() = Some(conn));
    });
    rx
}

/// The server thread of [`rustls_key_updating_server`]: bytes read, key updates asked for,
/// and the socket (kept open while the test holds it).
type KeyUpdatingServer = std::thread::JoinHandle<(usize, usize, std::net::TcpStream)>;

/// A blocking rustls server (rustls' own buffered connection) that sends [`CANNED_TP`],
/// then reads until `total` plaintext bytes arrived, asking for a TLS KeyUpdate every
/// `every` bytes.
fn rustls_key_updating_server(total: usize, every: usize) -> (SocketAddr, KeyUpdatingServer) {
    use std::io::{Read, Write};
    let (addr, accept) = rustls_server();
    let thread = std::thread::spawn(move || {
        let mut tls = accept();
        let mut buf = vec![0u8; 64 << 10];
        let (mut got, mut updates, mut next) = (0, 0, every);
        while got < total {
            let n = tls.read(&mut buf).expect("the client's records decrypt");
            assert!(n > 0, "the client closed early");
            got += n;
            if got >= next {
                next += every;
                tls.conn.refresh_traffic_keys().unwrap();
                updates += 1;
                tls.flush().unwrap();
                while tls.conn.wants_write() {
                    tls.conn.write_tls(&mut tls.sock).unwrap();
                }
            }
        }
        (got, updates, tls.sock)
    });
    (addr, thread)
}

#[test]
fn key_updates_from_a_rustls_server_are_answered_while_data_flows() {
    const LEN: usize = 16 << 20;
    let (addr, server) = rustls_key_updating_server(LEN, 2 << 20);
    let pool = Pool::new(2).unwrap();
    let rx = start_tls_client(&pool, addr);
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Seen::Connected));
    on_client(&pool, move |cx, conn| {
        conn.with_engine(cx, |e| {
            let id = e.open(Dir::Bi).unwrap();
            e.send(id, SendData::Owned(vec![5; LEN]), None).unwrap();
        })
    });
    let (got, updates, _sock) = server.join().unwrap();
    assert!(got >= LEN);
    assert!(updates >= 7, "{updates} key updates");
    if let Ok(seen) = rx.try_recv() {
        panic!("the client saw {seen:?}");
    }
}

#[test]
fn a_graceful_close_sends_the_last_record_and_close_notify_in_one_write() {
    use std::io::Read;
    let (addr, accept) = rustls_server();
    let (ready_tx, ready) = crossbeam_channel::bounded(1);
    let server = std::thread::spawn(move || {
        let mut tls = accept();
        // The client's transport parameters: all it sends before it closes.
        let mut buf = vec![0u8; 4096];
        let n = tls.read(&mut buf).unwrap();
        assert!(n > 0);
        let before = crate::runtime::sys::tcp_info(&tls.sock).unwrap();
        ready_tx.send(()).unwrap();
        let mut rest = Vec::new();
        // Ends with Ok(0) only after a close_notify (a bare end of input is an error).
        tls.read_to_end(&mut rest)
            .expect("a close_notify before the end of input");
        let after = crate::runtime::sys::tcp_info(&tls.sock).unwrap();
        (rest, after.data_segs_in - before.data_segs_in)
    });
    let pool = Pool::new(2).unwrap();
    let rx = start_tls_client(&pool, addr);
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Seen::Connected));
    ready.recv_timeout(WAIT).unwrap();
    on_client(&pool, |cx, conn| {
        conn.with_engine(cx, |e| e.close(std::time::Instant::now(), 0, b""))
    });
    let (rest, segments) = server.join().unwrap();
    assert!(!rest.is_empty(), "the record with the close frame");
    assert_eq!(
        segments, 1,
        "the close and the close_notify came in {segments} segments"
    );
}

thread_local! {
    /// Set while the stats test's application command runs on the client's worker.
    static IN_COMMAND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A client that wants network statistics (or not) and reports them, with whether each
/// arrived inside an application command.
struct StatsSink {
    tx: Sender<Option<(super::NetStats, bool)>>,
    wants: bool,
}

impl ConnSink for StatsSink {
    fn deliver(&self, _cx: &WorkerCx, _conn: &Rc<Conn>, event: ConnEvent) {
        match event {
            ConnEvent::Engine(Event::Connected) => {
                let _ = self.tx.send(None);
            }
            ConnEvent::NetworkStatistics(stats) => {
                let _ = self.tx.send(Some((stats, IN_COMMAND.with(|c| c.get()))));
            }
            _ => {}
        }
    }

    fn wants_net_stats(&self) -> bool {
        self.wants
    }
}

#[test]
fn network_statistics_follow_writes_in_a_turn_of_their_own() {
    for wants in [true, false] {
        let pool = Pool::new(2).unwrap();
        let addr = start_server(&pool);
        let (tx, rx) = crossbeam_channel::unbounded();
        pool.worker(1).run(move |cx| {
            let sink = Box::new(StatsSink { tx, wants });
            let conn = Conn::connect(cx, addr, super::Wire::Plain, Default::default(), sink);
            CLIENT.with(|c| *c.borrow_mut() = Some(conn.unwrap()));
        });
        assert!(rx.recv_timeout(WAIT).unwrap().is_none(), "connected first");
        on_client(&pool, |cx, conn| {
            IN_COMMAND.with(|c| c.set(true));
            conn.with_engine(cx, |e| {
                let id = e.open(Dir::Bi).unwrap();
                e.send(id, SendData::Owned(vec![7; 100_000]), None).unwrap();
            });
            IN_COMMAND.with(|c| c.set(false));
        });
        if !wants {
            assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
            continue;
        }
        let (stats, in_command) = rx.recv_timeout(WAIT).unwrap().expect("statistics");
        assert!(!in_command, "raised inside the application's command");
        assert!(stats.congestion_window > 0, "{stats:?}");
        assert_eq!(
            stats.bandwidth,
            u64::from(stats.congestion_window) / stats.smoothed_rtt_us.max(1)
        );
    }
}

#[test]
fn a_send_buffer_reading_stands_for_its_round_without_the_clock() {
    let at = std::time::Instant::now();
    let no_clock = || -> std::time::Instant { panic!("read within its round: no clock read") };
    assert!(super::send_buffer_fresh(at, 7, 7, no_clock));
    // Another round, or no worker: the clock decides.
    assert!(super::send_buffer_fresh(at, 7, 8, || at));
    assert!(!super::send_buffer_fresh(at, 7, 8, || at + Duration::from_secs(1)));
    assert!(!super::send_buffer_fresh(at, 0, 0, || at + Duration::from_secs(1)));
    assert!(super::send_buffer_fresh(at, 0, 0, || at));
}

/// A raw peer that sends [`CANNED_TP`], reads nothing until `go` is signalled, then reads
/// and decodes the client's records until stream 0 ends; returns stream 0's bytes.
fn late_reader(go: Receiver<()>) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        sock.write_all(&CANNED_TP).unwrap();
        sock.set_read_timeout(Some(WAIT)).unwrap();
        go.recv_timeout(WAIT).unwrap();
        let now = std::time::Instant::now();
        // Decodes with the limits CANNED_TP granted.
        let limits = proto::Config {
            initial_max_data: (1 << 30) - 1,
            initial_max_stream_data_bidi_remote: (1 << 30) - 1,
            ..proto::Config::default()
        };
        let mut decoder = proto::Connection::new(proto::Side::Server, limits, now);
        let id = StreamId::new(proto::Side::Client, Dir::Bi, 0);
        let mut got = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = sock.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed before the stream ended");
            decoder.handle_input(now, &buf[..n]);
            let (data, fin) = drain(&mut decoder, id);
            got.extend_from_slice(&data);
            if fin {
                return got;
            }
        }
    });
    (addr, thread)
}

#[test]
fn gathered_writes_the_socket_takes_in_part_keep_the_byte_stream_whole() {
    let pool = Pool::new(2).unwrap();
    let (go_tx, go_rx) = crossbeam_channel::bounded(1);
    let (addr, reader) = late_reader(go_rx);
    let rx = start_client(&pool, addr);
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), Seen::Connected));
    // More than loopback's socket buffers hold: with the peer not reading, a gathered write
    // is taken in part and the rest waits in the send buffer.
    let payload: Vec<u8> = (0..32_000_000u32)
        .map(|i| (i * 13 + i / 509) as u8)
        .collect();
    let sent = payload.clone();
    on_client(&pool, move |cx, conn| {
        conn.with_engine(cx, |e| {
            let id = e.open(Dir::Bi).unwrap();
            e.send(id, SendData::Owned(sent), None).unwrap();
            e.finish(id).unwrap();
        })
    });
    let deadline = std::time::Instant::now() + WAIT;
    while on_client(&pool, |_, conn| conn.unwritten_bytes()) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no write was taken in part"
        );
        // Each check is a round trip through the client's worker, which meanwhile writes.
    }
    go_tx.send(()).unwrap();
    let got = reader.join().unwrap();
    assert_eq!(got.len(), payload.len());
    assert!(got == payload, "the stream's bytes differ");
}
