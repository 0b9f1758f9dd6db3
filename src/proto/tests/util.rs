//! The pair harness: two engines joined by byte queues that re-chunk what they carry, and a
//! virtual clock that only moves when a test says so.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::proto::connection::{Config, Connection, Event};
use crate::proto::error::TransportErrorCode;
use crate::proto::frame::{self, Frame};
use crate::proto::record::{Deframed, RecordReader};
use crate::proto::shared::SharedBytes;
use crate::proto::stream_id::Side;

/// Windows large enough that flow control holds nothing back in a test moving a few
/// hundred kilobytes: 4 MiB for the connection, 1 MiB per stream.
pub fn big_windows() -> Config {
    Config {
        initial_max_data: 4 << 20,
        initial_max_stream_data_bidi_local: 1 << 20,
        initial_max_stream_data_bidi_remote: 1 << 20,
        initial_max_stream_data_uni: 1 << 20,
        ..Config::default()
    }
}

/// A small deterministic PRNG (xorshift64*), so failures replay exactly.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// How a byte queue hands bytes to the receiving engine.
#[derive(Clone, Debug)]
pub enum Chunking {
    /// Everything queued, in one call.
    Whole,
    /// One byte per call.
    OneByte,
    /// Random split points.
    Random(Rng),
}

impl Chunking {
    fn next_len(&mut self, avail: usize) -> usize {
        match self {
            Self::Whole => avail,
            Self::OneByte => 1,
            Self::Random(rng) => rng.range(1, avail.min(40_000)),
        }
    }
}

/// One endpoint in the pair.
pub struct End {
    pub conn: Connection,
    /// Bytes on their way to this endpoint.
    pub inbound: VecDeque<u8>,
    /// The peer ended its direction; deliver EOF once `inbound` is empty.
    pub eof_pending: bool,
    pub eof_delivered: bool,
    /// This endpoint has shut down its sending direction.
    pub write_shut: bool,
    pub events: Vec<Event>,
    /// Every byte this endpoint sent, for wire checks.
    pub sent: Vec<u8>,
}

impl End {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            inbound: VecDeque::new(),
            eof_pending: false,
            eof_delivered: false,
            write_shut: false,
            events: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// Removes and returns the events collected so far.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

pub struct Pair {
    pub client: End,
    pub server: End,
    pub time: Instant,
    pub chunking: Chunking,
    /// Size of the buffer handed to `poll_transmit`.
    pub transmit_buf: usize,
    /// Stop moving bytes (a stalled transport).
    pub frozen: bool,
    /// Deliver with `handle_input_shared`, each piece in a fresh buffer (as socket reads
    /// would), instead of `handle_input`.
    pub shared_input: bool,
    /// Take output with `transmit_gathered` (up to `transmit_buf` bytes a call) instead of
    /// `poll_transmit`.
    pub gathered: bool,
}

impl Pair {
    pub fn new(client: Config, server: Config, chunking: Chunking) -> Self {
        let time = Instant::now(); // Only a base value: the harness never reads the clock again.
        Self {
            client: End::new(Connection::new(Side::Client, client, time)),
            server: End::new(Connection::new(Side::Server, server, time)),
            time,
            chunking,
            transmit_buf: 64 * 1024,
            frozen: false,
            shared_input: false,
            gathered: false,
        }
    }

    /// Both sides connected, events cleared.
    pub fn connected(client: Config, server: Config, chunking: Chunking) -> Self {
        let mut p = Self::new(client, server, chunking);
        p.drive();
        assert!(p.client.conn.is_connected() && p.server.conn.is_connected());
        p.client.events.clear();
        p.server.events.clear();
        p
    }

    fn transmit(
        from: &mut End,
        to: &mut End,
        now: Instant,
        buf: &mut [u8],
        gathered: bool,
    ) -> bool {
        let mut progress = false;
        loop {
            let n = if gathered {
                let max = buf.len();
                let out = from.conn.transmit_gathered(now, max, |slices| {
                    let mut n = 0;
                    for s in slices.iter() {
                        buf[n..n + s.len()].copy_from_slice(s);
                        n += s.len();
                    }
                    n
                });
                out.unwrap_or(0)
            } else {
                from.conn.poll_transmit(now, buf)
            };
            if n == 0 {
                break;
            }
            assert!(!from.write_shut, "bytes after shutting down the write side");
            from.sent.extend_from_slice(&buf[..n]);
            to.inbound.extend(&buf[..n]);
            progress = true;
        }
        if from.conn.wants_write_shutdown() && !from.write_shut {
            from.write_shut = true;
            to.eof_pending = true;
            progress = true;
        }
        while let Some(e) = from.conn.poll_event() {
            from.events.push(e);
            progress = true;
        }
        progress
    }

    fn deliver(to: &mut End, now: Instant, chunking: &mut Chunking, shared: bool) -> bool {
        let mut progress = false;
        let mut piece = Vec::new();
        while !to.inbound.is_empty() {
            let n = chunking.next_len(to.inbound.len());
            if shared {
                let fresh: Vec<u8> = to.inbound.drain(..n).collect();
                to.conn
                    .handle_input_shared(now, SharedBytes::from_vec(fresh));
            } else {
                piece.clear();
                piece.extend(to.inbound.drain(..n));
                to.conn.handle_input(now, &piece);
            }
            progress = true;
        }
        if to.eof_pending && !to.eof_delivered {
            to.eof_delivered = true;
            to.conn.handle_eof(now);
            progress = true;
        }
        while let Some(e) = to.conn.poll_event() {
            to.events.push(e);
            progress = true;
        }
        progress
    }

    /// One round: both sides transmit, then both receive.
    pub fn step(&mut self) -> bool {
        let mut buf = vec![0u8; self.transmit_buf];
        let now = self.time;
        let g = self.gathered;
        let mut progress = Self::transmit(&mut self.client, &mut self.server, now, &mut buf, g);
        progress |= Self::transmit(&mut self.server, &mut self.client, now, &mut buf, g);
        if !self.frozen {
            let shared = self.shared_input;
            progress |= Self::deliver(&mut self.server, now, &mut self.chunking, shared);
            progress |= Self::deliver(&mut self.client, now, &mut self.chunking, shared);
        }
        progress
    }

    /// Steps until nothing moves, without advancing time.
    pub fn drive(&mut self) {
        for _ in 0..100_000 {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not settle: livelock");
    }

    /// Moves the clock to the earliest timer, fires it, and drives.
    /// Returns false if no timer is armed.
    pub fn advance(&mut self) -> bool {
        let next = [
            self.client.conn.poll_timeout(),
            self.server.conn.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        let Some(t) = next else { return false };
        self.time = self.time.max(t);
        self.client.conn.handle_timeout(self.time);
        self.server.conn.handle_timeout(self.time);
        self.drive();
        true
    }

    /// Moves the clock forward by `d` firing timers on the way, then drives.
    pub fn advance_by(&mut self, d: Duration) {
        let end = self.time + d;
        loop {
            let next = [
                self.client.conn.poll_timeout(),
                self.server.conn.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= end => {
                    self.time = self.time.max(t);
                    self.client.conn.handle_timeout(self.time);
                    self.server.conn.handle_timeout(self.time);
                    self.drive();
                }
                _ => break,
            }
        }
        self.time = end;
        self.drive();
    }
}

/// Splits a byte stream into record payloads (panics on malformed input: test use only).
pub fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut r = RecordReader::new(1 << 30);
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let (used, d) = r.next(&bytes[pos..]).unwrap();
        match d {
            Deframed::Input(range) => out.push(bytes[pos + range.start..pos + range.end].to_vec()),
            Deframed::Buffered => out.push(r.take_buffer()),
            Deframed::NeedMore => panic!("incomplete record"),
        }
        pos += used;
    }
    out
}

/// The CONNECTION_CLOSE code found in `bytes`, if any (transport codes only).
pub fn close_code(bytes: &[u8]) -> Option<TransportErrorCode> {
    for rec in records(bytes) {
        for f in frame::Iter::new(&rec) {
            if let Ok(Frame::ConnectionClose { error_code, .. }) = f {
                return Some(TransportErrorCode(error_code));
            }
        }
    }
    None
}

pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}
