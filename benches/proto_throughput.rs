//! Throughput of the sans-IO engine: 1 GiB of stream data through a client/server pair in
//! memory, with no TLS or sockets, counting heap allocations on the data path. Each setting
//! runs twice: the receiver fed with `handle_input_shared` (stream data referenced in the
//! input buffer, one copy per byte in all) and with `handle_input` (copied, two in all).
//!
//! Run with `cargo bench --bench proto_throughput` (needs `harness = false` in Cargo.toml).
//! `PROTO_BENCH_MIB` sets the amount (default 1024); `PROTO_BENCH_ONLY` runs only the settings
//! whose label `record/transmit KiB/input` contains it, e.g. `16382/256/shared`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use msquic::proto::{Config, Connection, Dir, SendData, SharedBytes, Side, StreamId};

/// Counts allocations so the data path can be shown to allocate nothing per frame.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

struct Outcome {
    elapsed: Duration,
    records: u64,
    allocs: u64,
    /// Input buffers the receiving side's "socket" had to allocate (shared input only).
    fresh_buffers: u64,
}

/// How the receiver is fed.
#[derive(Clone, Copy, PartialEq)]
enum Input {
    /// `handle_input_shared`: the sender's output buffer moves to the receiver, as a socket
    /// read into a fresh buffer would; the engine keeps stream data as references into it. A
    /// buffer comes back for reuse once the application has consumed everything in it.
    Shared,
    /// `handle_input(&[u8])`: the receiver copies stream data out of the records.
    Copied,
}

fn run(total: u64, record_size: u64, transmit_buf: usize, input: Input) -> Outcome {
    let window = 64 << 20;
    let config = Config {
        initial_max_data: window,
        initial_max_stream_data_bidi_local: window,
        initial_max_stream_data_bidi_remote: window,
        initial_max_stream_data_uni: window,
        max_record_size: record_size,
        max_idle_timeout: Duration::ZERO,
        ..Config::default()
    };
    let now = Instant::now();
    let mut client = Connection::new(Side::Client, config.clone(), now);
    let mut server = Connection::new(Side::Server, config, now);
    // The server's output (flow-control updates) goes back through a buffer of its own.
    let mut back = vec![0u8; 64 << 10];
    // Handshake.
    for _ in 0..2 {
        let n = client.poll_transmit(now, &mut back);
        server.handle_input(now, &back[..n]);
        let n = server.poll_transmit(now, &mut back);
        client.handle_input(now, &back[..n]);
    }
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    let id = client.open(Dir::Uni).expect("stream");
    let server_id = StreamId::new(Side::Client, Dir::Uni, 0);
    let chunk = Arc::new(vec![0x5au8; 256 << 10]);
    let chunks = total / chunk.len() as u64;
    let mut wire = Arc::new(vec![0u8; transmit_buf]);
    let mut fresh_buffers = 0;
    // Keep a few chunks queued at a time, as an application with a send buffer would.
    let mut queued = 0u64;
    let mut received = 0u64;
    let records_before = client.stats().records_sent;
    let allocs_before = ALLOCS.load(Ordering::Relaxed);
    let start = Instant::now();
    while received < chunks * chunk.len() as u64 {
        while queued < chunks && (queued * chunk.len() as u64) < received + (1 << 20) {
            let data = SendData::Shared(Arc::new(Shared(chunk.clone())));
            client.send(id, data, None).expect("send");
            queued += 1;
        }
        if Arc::get_mut(&mut wire).is_none() {
            // The receiver still holds the last buffer: read into a fresh one.
            wire = Arc::new(vec![0u8; transmit_buf]);
            fresh_buffers += 1;
        }
        let out = Arc::get_mut(&mut wire).expect("unique: checked above");
        let n = client.poll_transmit(now, out);
        match input {
            Input::Shared => {
                server.handle_input_shared(now, SharedBytes::new(Arc::clone(&wire), 0..n))
            }
            Input::Copied => server.handle_input(now, &wire[..n]),
        }
        // The application consumes in place (peek + consume: no copy out).
        if let Ok(c) = server.peek(server_id) {
            let len = c.len();
            received += len as u64;
            let _ = server.consume(server_id, len);
        }
        let n = server.poll_transmit(now, &mut back);
        client.handle_input(now, &back[..n]);
        while server.poll_event().is_some() {}
        while client.poll_event().is_some() {}
    }
    let elapsed = start.elapsed();
    Outcome {
        elapsed,
        records: client.stats().records_sent - records_before,
        allocs: ALLOCS.load(Ordering::Relaxed) - allocs_before,
        fresh_buffers,
    }
}

/// The same plain memcpy the engine still does (into a record, by the sender) with no
/// protocol work at all: the ceiling for the shared-input path.
fn one_copy_baseline(total: u64, piece: usize) -> Duration {
    let chunk = vec![0x5au8; 256 << 10];
    let mut wire = vec![0u8; 256 << 10];
    let (mut src, mut dst) = (0usize, 0usize);
    let start = Instant::now();
    let mut moved = 0u64;
    while moved < total {
        let n = piece.min(chunk.len() - src).min(wire.len() - dst);
        wire[dst..dst + n].copy_from_slice(&chunk[src..src + n]);
        src = (src + n) % chunk.len();
        dst = (dst + n) % wire.len();
        moved += n as u64;
        std::hint::black_box(&wire);
    }
    start.elapsed()
}

/// The ceiling for any engine that copies each byte twice (into a record, then into a stream's
/// receive buffer): the same two copies with no protocol work at all.
fn two_copies_baseline(total: u64, piece: usize) -> Duration {
    let chunk = vec![0x5au8; 256 << 10];
    let mut wire = vec![0u8; piece];
    let mut ring = vec![0u8; 256 << 10];
    let (mut src, mut dst) = (0usize, 0usize);
    let start = Instant::now();
    let mut moved = 0u64;
    while moved < total {
        let n = piece.min(chunk.len() - src).min(ring.len() - dst);
        wire[..n].copy_from_slice(&chunk[src..src + n]);
        ring[dst..dst + n].copy_from_slice(&wire[..n]);
        src = (src + n) % chunk.len();
        dst = (dst + n) % ring.len();
        moved += n as u64;
        std::hint::black_box(&ring);
    }
    start.elapsed()
}

fn main() {
    let mib: u64 = std::env::var("PROTO_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mib << 20;
    let only = std::env::var("PROTO_BENCH_ONLY").ok();
    println!("proto_throughput: {mib} MiB through a client/server pair in memory, one stream");
    println!(
        "  (allocations per record: 1 per 256 KiB send is the boxed chunk; shared input adds 1 \
         per input buffer that stream data references)"
    );
    let gbps = |d: Duration| total as f64 / d.as_secs_f64() / 1e9;
    if only.is_none() {
        println!(
            "  baseline, one plain memcpy per byte in 16 KiB pieces:  {:>6.2} GB/s",
            gbps(one_copy_baseline(total, 16384))
        );
        println!(
            "  baseline, two plain memcpys per byte in 16 KiB pieces: {:>6.2} GB/s",
            gbps(two_copies_baseline(total, 16384))
        );
    }
    for (record, tbuf) in [
        (16382, 16 << 10),
        (16382, 64 << 10),
        (16382, 256 << 10),
        (65535, 256 << 10),
        (1 << 20, 4 << 20),
    ] {
        for (input, name) in [
            (Input::Shared, "shared input"),
            (Input::Copied, "copied input"),
        ] {
            let label = format!("{record}/{}/{}", tbuf >> 10, &name[..6]);
            if only.as_deref().is_some_and(|o| !label.contains(o)) {
                continue;
            }
            let o = run(total, record, tbuf, input);
            println!(
                "  max_record_size {record:>7}, transmit buffer {:>4} KiB, {name}: {:>6.2} GB/s, \
                 {} records, {:.4} allocations per record, {} fresh input buffers",
                tbuf >> 10,
                gbps(o.elapsed),
                o.records,
                o.allocs as f64 / o.records.max(1) as f64,
                o.fresh_buffers,
            );
        }
    }
}
