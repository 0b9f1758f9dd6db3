//! Watching for floods of peer input that changes nothing (qmux-02 §12: many tiny or
//! PADDING-only records, redundant flow-control frames, QX_PING floods; implementations
//! should watch for such patterns and may treat them as connection errors).
//!
//! Every such frame or record is charged to one leaky bucket per connection (a generic cell
//! rate algorithm on the engine's clock): it drains at [`NOISE_RATE`] per second and holds
//! [`NOISE_BURST`]. A peer that stays above the rate for long enough to fill the bucket is
//! closed with PROTOCOL_VIOLATION, with a reason naming what it flooded. Keep-alive pings,
//! stale credit frames that crossed ours in flight and the occasional repeated BLOCKED
//! frame of a normal peer stay far below it; a peer sending useless frames as fast as the
//! transport takes them fills it within milliseconds.

use std::time::{Duration, Instant};

/// Useless input that may be sustained per second.
pub const NOISE_RATE: u32 = 2_000;
/// Useless input allowed at once above the rate (the bucket's size).
pub const NOISE_BURST: u32 = 10_000;

/// Peer input that changed nothing, charged to the flood guard.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Noise {
    /// A record holding only PADDING, or nothing.
    EmptyRecord,
    /// A STREAM frame with no data and no FIN for a stream that was already open.
    EmptyStreamFrame,
    /// MAX_DATA, MAX_STREAM_DATA or MAX_STREAMS that raised no limit.
    RedundantCredit,
    /// DATA_BLOCKED, STREAM_DATA_BLOCKED or STREAMS_BLOCKED that reported nothing new.
    RedundantBlocked,
    /// RESET_STREAM, RESET_STREAM_AT or STOP_SENDING repeated, or for a finished stream.
    Repeated,
    /// A QX_PING request.
    PingRequest,
    /// A TLS KeyUpdate message (reported by the TLS layer).
    KeyUpdate,
    /// A TLS record with no content (reported by the TLS layer).
    EmptyTlsRecord,
}

impl Noise {
    /// The reason phrase a connection closed for this flood carries.
    pub fn reason(self) -> &'static str {
        match self {
            Noise::EmptyRecord => "flood of empty or PADDING-only records",
            Noise::EmptyStreamFrame => "flood of empty STREAM frames",
            Noise::RedundantCredit => {
                "flood of MAX_DATA/MAX_STREAM_DATA/MAX_STREAMS raising nothing"
            }
            Noise::RedundantBlocked => "flood of redundant BLOCKED frames",
            Noise::Repeated => "flood of repeated RESET_STREAM/STOP_SENDING frames",
            Noise::PingRequest => "flood of QX_PING requests",
            Noise::KeyUpdate => "flood of TLS KeyUpdate messages",
            Noise::EmptyTlsRecord => "flood of empty TLS records",
        }
    }
}

/// The leaky bucket: `empty_at` is when it would be empty again (the theoretical arrival time
/// of GCRA); each charge pushes it one interval later.
#[derive(Clone, Debug, Default)]
pub(super) struct FloodGuard {
    empty_at: Option<Instant>,
}

/// Time one unit of noise takes to drain.
const INTERVAL: Duration = Duration::from_nanos(1_000_000_000 / NOISE_RATE as u64);

impl FloodGuard {
    /// Charges `count` units at `now`; true when the bucket overflows.
    pub(super) fn charge(&mut self, now: Instant, count: u32) -> bool {
        let start = self.empty_at.map_or(now, |t| t.max(now));
        let empty_at = start + INTERVAL * count;
        self.empty_at = Some(empty_at);
        empty_at.saturating_duration_since(now) > INTERVAL * NOISE_BURST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_holds_its_burst_then_drains_at_the_rate() {
        let t0 = Instant::now();
        let mut g = FloodGuard::default();
        assert!(!g.charge(t0, NOISE_BURST));
        assert!(g.charge(t0, 1), "one more at once overflows");
        let mut g = FloodGuard::default();
        assert!(!g.charge(t0, NOISE_BURST));
        // A second later, a second's worth of rate fits again.
        assert!(!g.charge(t0 + Duration::from_secs(1), NOISE_RATE));
        assert!(g.charge(t0 + Duration::from_secs(1), 1));
        // Steady traffic at the rate never overflows.
        let mut g = FloodGuard::default();
        for i in 0..(NOISE_RATE * 30) {
            assert!(!g.charge(t0 + INTERVAL * i, 1));
        }
    }
}
