//! `QUIC_PARAM_STREAM_STATISTICS`: how long a stream's sending was blocked, and by what.
//!
//! Measured: the peer's stream-count limit (a start held back until MAX_STREAMS admits it,
//! timed here), connection flow control (MAX_DATA), the stream's flow control
//! (MAX_STREAM_DATA) and the application (nothing queued to send), the last three timed by
//! the engine. Always 0 over QMux: scheduling, pacing, amplification protection and
//! congestion control, which are QUIC-over-UDP mechanisms with no counterpart here (TCP's
//! own congestion control sits below us, invisible).

use core::ffi::c_void;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::api::abi::{
    QUIC_STATUS, QUIC_STATUS_BUFFER_TOO_SMALL, QUIC_STATUS_INVALID_PARAMETER,
    QUIC_STATUS_INVALID_STATE, QUIC_STREAM_STATISTICS,
};
use crate::api::connection::link::on_slot;
use crate::api::door::handle::Handle;
use crate::api::param::buffer::answer;
use crate::api::stream::Stream;
use crate::proto::{BlockedTimes, StreamId};

/// The blocked time the API layer measures itself: waiting for the peer's stream-count limit.
#[derive(Default)]
pub(crate) struct Timings {
    id_fc_since: Option<Instant>,
    id_fc_total: Duration,
    /// The engine's figures as last read, for when it no longer has them.
    last: BlockedTimes,
}

impl Timings {
    /// The stream starts waiting for the peer's stream limit.
    pub(crate) fn id_blocked(&mut self, now: Instant) {
        self.id_fc_since.get_or_insert(now);
    }

    /// The stream got its place under the peer's stream limit; `now` is read only if it
    /// had to wait (most starts never do, and the clock costs on every one).
    pub(crate) fn id_unblocked(&mut self, now: impl FnOnce() -> Instant) {
        if let Some(since) = self.id_fc_since.take() {
            self.id_fc_total += now().saturating_duration_since(since);
        }
    }

    fn id_blocked_time(&self, now: Instant) -> Duration {
        self.id_fc_total
            + self
                .id_fc_since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// GetParam of `QUIC_PARAM_STREAM_STATISTICS`, MsQuic's order of checks: the size
/// (BUFFER_TOO_SMALL with 64), a NULL buffer (INVALID_PARAMETER), a stream not started
/// (INVALID_STATE).
///
/// # Safety
/// `len` is valid for reads and writes; `buf` is NULL or writable for `*len` bytes.
pub(crate) unsafe fn get(
    stream: &Arc<Handle<Stream>>,
    len: *mut u32,
    buf: *mut c_void,
) -> QUIC_STATUS {
    const SIZE: u32 = size_of::<QUIC_STREAM_STATISTICS>() as u32;
    // SAFETY: `len` is valid by the caller's contract.
    if unsafe { len.read() } < SIZE {
        // SAFETY: as above.
        unsafe { len.write(SIZE) };
        return QUIC_STATUS_BUFFER_TOO_SMALL;
    }
    if buf.is_null() {
        return QUIC_STATUS_INVALID_PARAMETER;
    }
    let Some(id) = stream.obj.id() else {
        return QUIC_STATUS_INVALID_STATE;
    };
    let now = Instant::now();
    let read = Arc::new(Mutex::new(None));
    let r = read.clone();
    on_slot(&stream.obj.connection, true, move |_cx, slot| {
        *r.lock() = slot
            .inspect(|e| e.blocked_times(StreamId(id), now))
            .flatten();
    });
    let engine = *read.lock();
    let (engine, id_fc) = {
        let mut t = stream.obj.extra.timings.lock();
        if let Some(e) = engine {
            t.last = e;
        }
        (t.last, t.id_blocked_time(now))
    };
    let stats = QUIC_STREAM_STATISTICS {
        ConnBlockedBySchedulingUs: 0,
        ConnBlockedByPacingUs: 0,
        ConnBlockedByAmplificationProtUs: 0,
        ConnBlockedByCongestionControlUs: 0,
        ConnBlockedByFlowControlUs: us(engine.conn_flow_control),
        StreamBlockedByIdFlowControlUs: us(id_fc),
        StreamBlockedByFlowControlUs: us(engine.stream_flow_control),
        StreamBlockedByAppUs: us(engine.app),
    };
    // SAFETY: QUIC_STREAM_STATISTICS is plain old data (eight u64) of exactly this size.
    let bytes: [u8; SIZE as usize] = unsafe { core::mem::transmute(stats) };
    // SAFETY: the caller's contract is ours.
    unsafe { answer(len, buf, &bytes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unblocked_start_reads_no_clock_and_a_blocked_one_counts_its_wait() {
        let mut t = Timings::default();
        t.id_unblocked(|| panic!("a start that never waited reads no clock"));
        assert_eq!(t.id_fc_total, Duration::ZERO);
        let t0 = Instant::now();
        t.id_blocked(t0);
        t.id_unblocked(|| t0 + Duration::from_millis(5));
        assert_eq!(t.id_fc_total, Duration::from_millis(5));
        assert_eq!(
            t.id_blocked_time(t0 + Duration::from_secs(1)),
            Duration::from_millis(5)
        );
    }
}
