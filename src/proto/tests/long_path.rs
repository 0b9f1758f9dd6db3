//! A path with a long round trip: a reader that keeps up must let a stream's window grow to
//! what the path holds, or one stream moves a window per round trip however fast the path.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::proto::connection::{Config, Connection};
use crate::proto::stream_id::{Dir, Side};

/// One direction of the path: bytes leave at `rate` bytes per millisecond, one after the
/// other, and arrive `delay` after they left.
struct Link {
    rate: u64,
    delay: Duration,
    /// When the last byte queued leaves.
    free_at: Duration,
    /// (arrival, bytes), in order.
    queue: VecDeque<(Duration, Vec<u8>)>,
}

impl Link {
    fn new(rate: u64, delay: Duration) -> Self {
        Self {
            rate,
            delay,
            free_at: Duration::ZERO,
            queue: VecDeque::new(),
        }
    }

    /// Queues `bytes` at time `now`, in pieces of a TCP segment.
    fn send(&mut self, now: Duration, bytes: &[u8]) {
        for piece in bytes.chunks(1448) {
            let start = self.free_at.max(now);
            self.free_at = start + Duration::from_micros(piece.len() as u64 * 1000 / self.rate);
            self.queue
                .push_back((self.free_at + self.delay, piece.to_vec()));
        }
    }

    /// Queues everything `conn` has to send at `now` (`t` on its clock).
    fn take_output(&mut self, conn: &mut Connection, t: Instant, now: Duration, buf: &mut [u8]) {
        loop {
            let n = conn.poll_transmit(t, buf);
            if n == 0 {
                return;
            }
            self.send(now, &buf[..n]);
        }
    }

    /// The next piece that has arrived by `now`.
    fn arrived(&mut self, now: Duration) -> Option<Vec<u8>> {
        if self.queue.front()?.0 <= now {
            return self.queue.pop_front().map(|(_, b)| b);
        }
        None
    }
}

/// Moves `total` bytes on one stream from client to server over a path of `rtt` and `rate`
/// bytes per millisecond, the server reading each piece as it arrives; returns the time the
/// last byte took to arrive.
fn transfer(server: Config, total: usize, rtt: Duration, rate: u64) -> Duration {
    let base = Instant::now();
    let mut client = Connection::new(Side::Client, Config::default(), base);
    let mut server = Connection::new(Side::Server, server, base);
    let mut up = Link::new(rate, rtt / 2);
    let mut down = Link::new(u64::MAX / 4, rtt / 2);
    let mut buf = vec![0u8; 64 << 10];
    let mut id = None;
    let mut got = 0;
    let mut now = Duration::ZERO;
    let step = Duration::from_millis(1);
    while now < Duration::from_secs(60) {
        let t = base + now;
        if id.is_none() && client.is_connected() {
            let s = client.open(Dir::Uni).unwrap();
            client.send(s, vec![5u8; total].into(), None).unwrap();
            client.finish(s).unwrap();
            id = Some(s);
        }
        up.take_output(&mut client, t, now, &mut buf);
        while let Some(piece) = up.arrived(now) {
            server.handle_input(t, &piece);
            if let Some(s) = id {
                // A reader that keeps up: everything readable is consumed at once.
                while let Ok((n, fin)) = server.read(s, &mut buf) {
                    got += n;
                    if fin {
                        assert_eq!(got, total);
                        return now;
                    }
                    if n == 0 {
                        break;
                    }
                }
            }
        }
        down.take_output(&mut server, t, now, &mut buf);
        while let Some(piece) = down.arrived(now) {
            client.handle_input(t, &piece);
        }
        while client.poll_event().is_some() {}
        while server.poll_event().is_some() {}
        now += step;
    }
    panic!("{got} of {total} bytes in a minute");
}

#[test]
fn a_stream_window_grows_to_what_a_long_path_holds() {
    // 50 ms round trip, 10 MB/s: the path holds 500 KB. A 64 KiB stream window that never
    // grew would move 64 KiB per round trip (about 1.3 MB/s): 8 MiB in over 6 s.
    let server = Config {
        initial_max_stream_data_uni: 64 << 10,
        initial_max_data: 16 << 20,
        ..Config::default()
    };
    let rtt = Duration::from_millis(50);
    let total = 8 << 20;
    let took = transfer(server, total, rtt, 10_000);
    // At the path's rate the bytes take 0.84 s, plus a few round trips while the window
    // doubles from 64 KiB past 500 KB.
    assert!(took < Duration::from_millis(1_600), "8 MiB took {took:?}");
}
