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
                .unwrap();
            });
            let listener = Listener::bind(cx, "127.0.0.1:0".parse().unwrap(), on_accept).unwrap();
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
