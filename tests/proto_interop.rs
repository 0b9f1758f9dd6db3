//! Interop with an independent implementation: the crates.io `qmux` crate (moq-dev), driven
//! over an in-memory byte stream with its draft-02 wire version, each side as client and as
//! server. Every wait is bounded, so a bug fails the test instead of hanging it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use msquic::proto::{CloseCause, Config, Connection, Dir, Event, Side, StreamId};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use web_transport_trait::{RecvStream as _, SendStream as _, Session as _};

const LIMIT: Duration = Duration::from_secs(20);

/// Our engine with the plumbing a runtime would give it.
struct Ours {
    conn: Connection,
    rd: ReadHalf<DuplexStream>,
    wr: WriteHalf<DuplexStream>,
    out: Vec<u8>,
    events: Vec<Event>,
    write_shut: bool,
    eof: bool,
}

impl Ours {
    fn new(side: Side, io: DuplexStream) -> Self {
        let config = Config {
            max_datagram_frame_size: Some(16382),
            reset_stream_at: true,
            ..Config::default()
        };
        let (rd, wr) = tokio::io::split(io);
        Self {
            conn: Connection::new(side, config, Instant::now()),
            rd,
            wr,
            out: vec![0; 64 * 1024],
            events: Vec::new(),
            write_shut: false,
            eof: false,
        }
    }

    async fn flush(&mut self) {
        loop {
            let n = self.conn.poll_transmit(Instant::now(), &mut self.out);
            if n == 0 {
                break;
            }
            self.wr.write_all(&self.out[..n]).await.unwrap();
        }
        if self.conn.wants_write_shutdown() && !self.write_shut {
            self.write_shut = true;
            let _ = self.wr.shutdown().await;
        }
        while let Some(e) = self.conn.poll_event() {
            self.events.push(e);
        }
    }

    /// Drives the engine until `done` holds, reading from the peer as needed.
    async fn until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        let run = async {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                self.flush().await;
                if done(self) {
                    return;
                }
                assert!(!self.eof, "peer ended the stream while waiting for {what}");
                let n = self.rd.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    self.eof = true;
                    self.conn.handle_eof(Instant::now());
                } else {
                    self.conn.handle_input(Instant::now(), &buf[..n]);
                }
            }
        };
        tokio::time::timeout(LIMIT, run)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    /// Reads whatever is readable on `id` into `into`; true once the stream's end is read.
    fn read(&mut self, id: StreamId, into: &mut Vec<u8>) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            match self.conn.read(id, &mut buf) {
                Ok((n, fin)) => {
                    into.extend_from_slice(&buf[..n]);
                    if fin {
                        return true;
                    }
                    if n == 0 {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    fn take(&mut self, pred: impl Fn(&Event) -> bool) -> Option<Event> {
        let i = self.events.iter().position(pred)?;
        Some(self.events.remove(i))
    }
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// The qmux side's script; returns what it observed for checking.
async fn their_script(session: qmux::Session) -> (usize, Vec<u8>, String, String) {
    // 1. Echo our first bidi stream reversed.
    let (mut send, mut recv) = session.accept_bi().await.unwrap();
    let mut data = recv.read_all().await.unwrap().to_vec();
    data.reverse();
    send.write_all(&data).await.unwrap();
    send.finish().unwrap();
    // 2. A 100 000-byte uni stream to us.
    let mut uni = session.open_uni().await.unwrap();
    uni.write_all(&pattern(100_000, 1)).await.unwrap();
    uni.finish().unwrap();
    // 3. Our 300 000-byte uni stream.
    let mut recv = session.accept_uni().await.unwrap();
    let big = recv.read_all().await.unwrap();
    assert!(
        big.as_ref() == pattern(300_000, 2),
        "our uni stream arrived intact"
    );
    // 4. A bidi stream they reset with code 7.
    let (mut send, _recv) = session.open_bi().await.unwrap();
    send.write_all(b"doomed").await.unwrap();
    send.reset(7);
    // 5. Ask us to stop sending on our second bidi stream.
    let (_send, mut recv) = session.accept_bi().await.unwrap();
    let mut first = [0u8; 1];
    recv.read(&mut first).await.unwrap();
    recv.stop(9);
    // 6. Datagram ping-pong.
    let dg = session.recv_datagram().await.unwrap();
    assert_eq!(dg.as_ref(), b"ping");
    session.send_datagram(Bytes::from_static(b"pong")).unwrap();
    // 7. Our RESET_STREAM_AT: 10 reliable bytes, then the reset.
    let mut recv = session.accept_uni().await.unwrap();
    let mut reliable = Vec::new();
    let mut buf = [0u8; 64];
    let reset = loop {
        match recv.read(&mut buf).await {
            Ok(Some(n)) => reliable.extend_from_slice(&buf[..n]),
            Ok(None) => break "finished".to_string(),
            Err(e) => break format!("{e}"),
        }
    };
    // 8. Wait for our close.
    let closed = format!("{}", session.closed().await);
    (big.len(), reliable, reset, closed)
}

async fn scenario(ours_side: Side) {
    let (a, b) = tokio::io::duplex(256 * 1024);
    let cfg = qmux::Config::new(qmux::Version::QMux02);
    let transport = qmux::transport::Stream::new(b, qmux::Version::QMux02, cfg.max_record_size);
    let theirs = tokio::spawn(async move {
        let session = match ours_side {
            Side::Client => qmux::Session::accept(transport, cfg).await.unwrap(),
            Side::Server => qmux::Session::connect(transport, cfg).await.unwrap(),
        };
        their_script(session).await
    });
    let mut us = Ours::new(ours_side, a);
    us.until("connected", |u| u.conn.is_connected()).await;
    assert!(us.events.contains(&Event::Connected));
    assert_eq!(us.conn.peer_params().unwrap().max_record_size, 16382);

    // 1. A bidi stream echoed back reversed.
    let a = us.conn.open(Dir::Bi).unwrap();
    us.conn.send(a, b"hello qmux"[..].into(), None).unwrap();
    us.conn.finish(a).unwrap();
    let mut echoed = Vec::new();
    us.until("echo", |u| u.read(a, &mut echoed)).await;
    assert_eq!(echoed, b"xumq olleh");

    // 2. Their uni stream: 100 000 bytes, more than our 64 KiB window (MAX_STREAM_DATA).
    us.until("their uni stream", |u| {
        u.events
            .iter()
            .any(|e| matches!(e, Event::StreamOpened { id } if id.dir() == Dir::Uni))
    })
    .await;
    let Some(Event::StreamOpened { id: theirs_uni }) =
        us.take(|e| matches!(e, Event::StreamOpened { id } if id.dir() == Dir::Uni))
    else {
        unreachable!()
    };
    let mut got = Vec::new();
    us.until("their uni data", |u| u.read(theirs_uni, &mut got))
        .await;
    assert!(got == pattern(100_000, 1));

    // 3. Our 300 000-byte uni stream (beyond their 256 KiB window).
    let u = us.conn.open(Dir::Uni).unwrap();
    us.conn
        .send(u, pattern(300_000, 2).into(), Some(1))
        .unwrap();
    us.conn.finish(u).unwrap();
    us.until("our uni sent", |u2| {
        u2.events.contains(&Event::SendShutdownComplete {
            id: u,
            graceful: true,
        })
    })
    .await;

    // 4. Their reset bidi stream.
    us.until("their reset", |u| {
        u.events
            .iter()
            .any(|e| matches!(e, Event::StreamReset { error_code: 7, .. }))
            || {
                // Read whatever arrives so the reset is delivered.
                let ids: Vec<StreamId> = u
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        Event::StreamReadable { id } => Some(*id),
                        _ => None,
                    })
                    .collect();
                for id in ids {
                    let mut sink = Vec::new();
                    u.read(id, &mut sink);
                }
                false
            }
    })
    .await;

    // 5. They stop our second bidi stream; we reset it in reply.
    let b = us.conn.open(Dir::Bi).unwrap();
    us.conn.send(b, vec![1u8; 1000].into(), None).unwrap();
    us.until("stop sending", |u| {
        u.events.contains(&Event::StopSending {
            id: b,
            error_code: 9,
        })
    })
    .await;

    // 6. Datagrams.
    us.conn.send_datagram(b"ping".to_vec(), 5).unwrap();
    us.until("pong", |u| {
        u.events
            .contains(&Event::DatagramReceived(b"pong".to_vec()))
    })
    .await;
    assert!(us.events.contains(&Event::DatagramSent { token: 5 }));

    // 7. RESET_STREAM_AT towards them.
    let r = us.conn.open(Dir::Uni).unwrap();
    us.conn.send(r, pattern(20, 3).into(), None).unwrap();
    us.conn.reset_at(r, 3, 10).unwrap();
    us.until("reset_at written", |u| {
        u.events.contains(&Event::SendShutdownComplete {
            id: r,
            graceful: false,
        })
    })
    .await;

    // 8. Close with an application code.
    us.conn.close(Instant::now(), 0x42, b"bye");
    us.flush().await;
    let (big, reliable, reset, closed) = tokio::time::timeout(LIMIT, theirs)
        .await
        .expect("their side finished")
        .unwrap();
    assert_eq!(big, 300_000);
    // qmux 0.6.6 accepts RESET_STREAM_AT but treats it as an immediate reset (it drops
    // buffered bytes instead of delivering Reliable Size first), so only a prefix is certain.
    assert!(reliable.len() <= 10 && reliable[..] == pattern(10, 3)[..reliable.len()]);
    assert!(reset.contains('3'), "{reset}");
    assert!(closed.contains("66") && closed.contains("bye"), "{closed}");
    assert!(us.events.iter().any(|e| matches!(
        e,
        Event::Closed(CloseCause::LocalClose {
            error_code: 0x42,
            ..
        })
    )));
}

#[tokio::test]
async fn ours_as_client_theirs_as_server() {
    scenario(Side::Client).await;
}

#[tokio::test]
async fn ours_as_server_theirs_as_client() {
    scenario(Side::Server).await;
}

#[tokio::test]
async fn they_close_and_we_report_it() {
    for side in [Side::Client, Side::Server] {
        let (a, b) = tokio::io::duplex(64 * 1024);
        let cfg = qmux::Config::new(qmux::Version::QMux02);
        let transport = qmux::transport::Stream::new(b, qmux::Version::QMux02, cfg.max_record_size);
        let theirs = tokio::spawn(async move {
            let session = match side {
                Side::Client => qmux::Session::accept(transport, cfg).await.unwrap(),
                Side::Server => qmux::Session::connect(transport, cfg).await.unwrap(),
            };
            session.close(5, "theirs");
            session.closed().await;
        });
        let mut us = Ours::new(side, a);
        us.until("their close", |u| u.conn.is_closed()).await;
        assert!(
            us.events
                .contains(&Event::Closed(CloseCause::PeerApplication {
                    error_code: 5,
                    reason: b"theirs".to_vec()
                })),
            "{:?}",
            us.events
        );
        us.flush().await;
        assert!(us.write_shut);
        tokio::time::timeout(LIMIT, theirs).await.unwrap().unwrap();
    }
}
