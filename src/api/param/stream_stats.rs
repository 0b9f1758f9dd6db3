//! `QUIC_PARAM_STREAM_STATISTICS`: how long a stream's sending was blocked, and by what.

use std::time::{Duration, Instant};

/// The blocked time the API layer measures itself: waiting for the peer's stream-count limit
/// (a start held back until MAX_STREAMS admits it).
#[derive(Default)]
pub(crate) struct Timings {
    id_fc_since: Option<Instant>,
    id_fc_total: Duration,
}

impl Timings {
    /// The stream starts waiting for the peer's stream limit.
    pub(crate) fn id_blocked(&mut self, now: Instant) {
        self.id_fc_since.get_or_insert(now);
    }

    /// The stream got its place under the peer's stream limit.
    pub(crate) fn id_unblocked(&mut self, now: Instant) {
        if let Some(since) = self.id_fc_since.take() {
            self.id_fc_total += now.saturating_duration_since(since);
        }
    }

    /// Time spent waiting for the peer's stream limit, up to `now`.
    pub(crate) fn id_blocked_time(&self, now: Instant) -> Duration {
        self.id_fc_total
            + self
                .id_fc_since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s))
    }
}
