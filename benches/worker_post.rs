//! The cost of queuing work to a worker from another thread (what every API call made outside
//! a callback does): process CPU time per queued operation, with the worker polling as the
//! shared workers do (50 µs after its last work).
//!
//! Two patterns: a thread queuing without pause (the worker is always awake) and bursts of 64
//! operations 100 µs apart (the worker goes to sleep between bursts, so each burst's first
//! operation must wake it). Each runs `WORKER_BENCH_ROUNDS` times (default 5); the median is
//! printed.
//!
//! Run with `cargo bench --bench worker_post` (needs `harness = false` in Cargo.toml).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use msquic::runtime::worker::{Worker, WorkerOptions};

/// User plus system CPU time of the whole process.
fn process_cpu() -> Duration {
    // SAFETY: all-zero bytes are a valid `rusage`, which getrusage fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable `rusage`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// Queues `count` operations to `worker`, pausing `pause` after every 64, and waits until all
/// have run; returns the process CPU time per operation in nanoseconds (the pauses are spent
/// sleeping, so they cost no CPU).
fn run(worker: &Worker, count: u64, pause: Duration) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let cpu = process_cpu();
    for i in 0..count {
        let done = done.clone();
        worker.post(Box::new(move |_| {
            done.fetch_add(1, Ordering::Relaxed);
        }));
        if !pause.is_zero() && i % 64 == 63 {
            std::thread::sleep(pause);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while done.load(Ordering::Relaxed) < count {
        assert!(Instant::now() < deadline, "operations did not run");
        std::thread::yield_now();
    }
    (process_cpu() - cpu).as_nanos() as f64 / count as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("WORKER_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let worker = Worker::spawn_with(
        0,
        WorkerOptions {
            busy_poll: Duration::from_micros(50),
            ..WorkerOptions::default()
        },
    )
    .expect("worker");
    for (label, count, pause) in [
        ("without pause", 2_000_000, Duration::ZERO),
        (
            "bursts of 64, 100 µs apart",
            200_000,
            Duration::from_micros(100),
        ),
    ] {
        let figures: Vec<f64> = (0..rounds).map(|_| run(&worker, count, pause)).collect();
        println!(
            "{label}: {:.0} ns of CPU per operation (median of {rounds}; runs {:?})",
            median(figures.clone()),
            figures.iter().map(|f| f.round()).collect::<Vec<_>>()
        );
    }
    worker.stop();
}
