//! How long sending was blocked, and by what: connection flow control (MAX_DATA), a stream's
//! flow control (MAX_STREAM_DATA), or the application (a stream with nothing queued). The
//! engine sees time only when the caller passes it in, so intervals start and end at the
//! `now` of the call that noticed the change (`handle_input`, `handle_timeout`,
//! `poll_transmit`), which the runtime makes right after every application command.

use std::time::{Duration, Instant};

use super::Connection;
use crate::proto::stream_id::StreamId;

/// Time blocked by each cause (see [`Connection::blocked_times`]).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct BlockedTimes {
    /// Connection flow control, since the stream was opened.
    pub conn_flow_control: Duration,
    /// The stream's flow control.
    pub stream_flow_control: Duration,
    /// The application: the stream had nothing queued to send.
    pub app: Duration,
}

/// An interval clock: a running total and the start of the interval in progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interval {
    since: Option<Instant>,
    total: Duration,
}

impl Interval {
    /// Starts an interval at `now` unless one is running.
    pub fn begin(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// Ends the running interval at `now`, if any.
    pub fn end(&mut self, now: Instant) {
        if let Some(since) = self.since.take() {
            self.total += now.saturating_duration_since(since);
        }
    }

    /// The total up to `now`, the running interval included.
    pub fn at(&self, now: Instant) -> Duration {
        self.total
            + self
                .since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }
}

/// A sending half's blocked-time clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamBlocked {
    /// Waiting for MAX_STREAM_DATA.
    pub flow_control: Interval,
    /// Waiting for the application's data.
    pub app: Interval,
    /// The connection's flow-control total when the stream opened.
    pub conn_base: Duration,
    /// The caller said it no longer needs the figures.
    pub forgotten: bool,
}

/// How many finished streams' figures are kept at most: a caller that never calls
/// [`Connection::forget_blocked_times`] cannot make the engine grow without bound.
const MAX_FINISHED: usize = 4096;

impl Connection {
    /// Time the sending half of `id` has been blocked, by cause, up to `now`: while the
    /// engine tracks the stream, and afterwards (frozen) until
    /// [`Connection::forget_blocked_times`], for up to 4096 finished streams. `None` for a
    /// stream we cannot send on or know nothing of.
    pub fn blocked_times(&self, id: StreamId, now: Instant) -> Option<BlockedTimes> {
        match self.streams.get(&id) {
            Some(s) => Some(self.times_of(&s.send.as_ref()?.blocked, now)),
            None => self.finished_blocked.get(&id).copied(),
        }
    }

    fn times_of(&self, b: &StreamBlocked, now: Instant) -> BlockedTimes {
        BlockedTimes {
            conn_flow_control: self.conn_blocked.at(now).saturating_sub(b.conn_base),
            stream_flow_control: b.flow_control.at(now),
            app: b.app.at(now),
        }
    }

    /// Drops what [`Connection::blocked_times`] keeps for a finished stream.
    pub fn forget_blocked_times(&mut self, id: StreamId) {
        self.finished_blocked.remove(&id);
        if let Some(send) = self.streams.get_mut(&id).and_then(|s| s.send.as_mut()) {
            send.blocked.forgotten = true;
        }
    }

    /// Clocks for a new sending half: waiting for the application from the start.
    pub(super) fn new_stream_blocked(&self) -> StreamBlocked {
        let mut b = StreamBlocked {
            conn_base: self.conn_blocked.at(self.clock),
            ..StreamBlocked::default()
        };
        b.app.begin(self.clock);
        b
    }

    /// A stream leaves the engine: its figures are frozen and kept for `blocked_times`.
    pub(super) fn keep_blocked_times(&mut self, id: StreamId, b: &StreamBlocked) {
        if b.forgotten || self.finished_blocked.len() >= MAX_FINISHED {
            return;
        }
        let times = self.times_of(b, self.clock);
        self.finished_blocked.insert(id, times);
    }
}
