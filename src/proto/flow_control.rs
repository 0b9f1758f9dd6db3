//! Flow-control windows: the credit we grant the peer and the credit the peer grants us.
//!
//! Both are used at two levels, the connection (MAX_DATA) and each stream (MAX_STREAM_DATA).

/// Credit we grant the peer for data it sends us.
///
/// Credit goes back only as the application consumes data, and a new limit is advertised once
/// about half the window is used.
#[derive(Clone, Debug)]
pub struct RecvWindow {
    /// The window size: how far past `consumed` the limit is raised.
    window: u64,
    /// The limit we last advertised (or will advertise once the update is sent).
    max: u64,
    /// The highest amount the peer has sent (offsets, or the sum across streams).
    received: u64,
    /// How much the application has consumed (or we have discarded on its behalf).
    consumed: u64,
    /// The limit is set explicitly ([`RecvWindow::raise_to`]) instead of following
    /// consumption.
    manual: bool,
    /// The peer reported being blocked, not yet answered by an update: the cap for growth
    /// given with the report.
    blocked_cap: Option<u64>,
    /// The latest limit the peer reported being blocked at.
    blocked_seen: Option<u64>,
}

impl RecvWindow {
    /// A window whose initial limit, advertised in transport parameters, is `window`.
    pub fn new(window: u64) -> Self {
        Self {
            window,
            max: window,
            received: 0,
            consumed: 0,
            manual: false,
            blocked_cap: None,
            blocked_seen: None,
        }
    }

    /// The limit currently granted.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// How much the peer has sent.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// How much has been consumed.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Records that the peer has now sent `total`; fails if that exceeds the limit.
    pub fn on_received(&mut self, total: u64) -> Result<(), FlowControlViolation> {
        if total > self.max {
            return Err(FlowControlViolation);
        }
        self.received = self.received.max(total);
        Ok(())
    }

    /// Records that `n` more bytes were consumed.
    pub fn consume(&mut self, n: u64) {
        self.consumed += n;
        debug_assert!(self.consumed <= self.received);
    }

    /// Whether the limit should be raised now: at least half the window is used up (never
    /// for a window whose limit is set explicitly).
    pub fn should_update(&self) -> bool {
        !self.manual
            && self.max - self.consumed <= self.window / 2
            && self.consumed + self.window > self.max
    }

    /// The peer says it is blocked at `limit`, one we granted. The next update checks
    /// whether the reader kept up (see [`RecvWindow::update`]); the window may then grow up
    /// to `cap`. A limit we have raised since still counts: over a long round trip the
    /// report always arrives after the reader has consumed past the half that raised it,
    /// and it is the sign that the window, not the reader, paces the peer.
    ///
    /// Returns whether the report was news: false for a limit we never granted and for one
    /// no later than a limit already reported.
    pub fn note_blocked(&mut self, limit: u64, cap: u64) -> bool {
        if limit > self.max || self.blocked_seen.is_some_and(|seen| limit <= seen) {
            return false;
        }
        self.blocked_seen = Some(limit);
        if !self.manual {
            self.blocked_cap = Some(cap);
        }
        true
    }

    /// The current window size.
    pub fn window(&self) -> u64 {
        self.window
    }

    /// Raises the limit to `consumed + window` (unless it is set explicitly) and returns it.
    ///
    /// If the peer reported being blocked since the last update and the reader kept up (at
    /// most half the window waits to be consumed), the window, not the reader, held the
    /// transfer back: it doubles first, up to the cap given with the blocked report. This is
    /// how a stream's window grows from its initial size toward the connection's, as
    /// MsQuic's receive window grows when the application drains it quickly, until a sender
    /// is no longer blocked (about twice what the path holds).
    pub fn update(&mut self) -> u64 {
        if !self.manual {
            if let Some(cap) = self.blocked_cap.take() {
                if self.received - self.consumed <= self.window / 2 {
                    self.window = self.window.saturating_mul(2).min(cap.max(self.window));
                }
            }
            self.max = self.max.max(self.consumed + self.window);
        }
        self.max
    }

    /// Stops the limit from following consumption: from now on only
    /// [`RecvWindow::raise_to`] moves it. Returns whether it grew to `max` (limits never
    /// shrink, so a lower `max` leaves the current one).
    pub fn raise_to(&mut self, max: u64) -> bool {
        self.manual = true;
        if max > self.max {
            self.max = max;
            true
        } else {
            false
        }
    }
}

/// The peer sent more than its credit allowed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct FlowControlViolation;

/// Credit the peer grants us for data we send.
#[derive(Clone, Debug, Default)]
pub struct SendCredit {
    /// The peer's current limit.
    max: u64,
    /// How much we have sent.
    used: u64,
    /// The limit at which we last reported being blocked, so we report each limit once.
    blocked_reported: Option<u64>,
}

impl SendCredit {
    /// Credit starting at the peer's initial limit `max`.
    pub fn new(max: u64) -> Self {
        Self {
            max,
            used: 0,
            blocked_reported: None,
        }
    }

    /// How much more we may send.
    pub fn available(&self) -> u64 {
        self.max - self.used
    }

    /// The peer's current limit.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Applies a new limit from the peer; returns whether it grew (limits never shrink).
    pub fn raise(&mut self, max: u64) -> bool {
        if max > self.max {
            self.max = max;
            true
        } else {
            false
        }
    }

    /// How much we have sent.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Replaces a limit assumed before the peer spoke (0-RTT's remembered one) with the
    /// peer's `max`, which may be lower, but never below what was sent.
    pub fn reset_max(&mut self, max: u64) {
        self.max = max.max(self.used);
        self.blocked_reported = None;
    }

    /// Records `n` bytes sent (at most [`SendCredit::available`]).
    pub fn consume(&mut self, n: u64) {
        debug_assert!(n <= self.available());
        self.used += n;
    }

    /// If we are blocked at a limit not yet reported, marks it reported and returns it.
    pub fn take_blocked(&mut self) -> Option<u64> {
        if self.available() == 0 && self.blocked_reported != Some(self.max) {
            self.blocked_reported = Some(self.max);
            Some(self.max)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_grows_when_the_peer_is_blocked_and_the_reader_keeps_up() {
        let mut w = RecvWindow::new(100);
        w.on_received(100).unwrap();
        w.consume(90);
        assert!(w.note_blocked(100, 350));
        assert!(!w.note_blocked(100, 350), "a repeated report is no news");
        assert!(w.should_update());
        assert_eq!(w.update(), 90 + 200);
        assert_eq!(w.window(), 200);
        // Blocked again at the new limit: doubles up to the cap only.
        w.on_received(290).unwrap();
        w.consume(200);
        w.note_blocked(290, 350);
        assert_eq!(w.update(), 290 + 350);
        assert_eq!(w.window(), 350);
        w.on_received(640).unwrap();
        w.consume(350);
        w.note_blocked(640, 350);
        w.update();
        assert_eq!(w.window(), 350);
    }

    #[test]
    fn a_report_of_a_limit_raised_since_still_grows_the_window() {
        // Over a long round trip the reader consumed past half the window, which raised the
        // limit, before the peer's report of being blocked at the old one arrived.
        let mut w = RecvWindow::new(100);
        w.on_received(100).unwrap();
        w.consume(60);
        assert_eq!(w.update(), 160);
        w.consume(40);
        assert!(
            w.note_blocked(100, 1000),
            "the first report of a granted limit is news"
        );
        w.on_received(160).unwrap();
        w.consume(30);
        assert!(w.should_update());
        assert_eq!(w.update(), 130 + 200, "the window doubled");
        assert_eq!(w.window(), 200);
    }

    #[test]
    fn window_stays_when_the_reader_lags_or_the_report_is_not_news() {
        // The reader holds more than half the window: it is the bottleneck.
        let mut w = RecvWindow::new(100);
        w.on_received(100).unwrap();
        w.consume(40);
        w.note_blocked(100, 1000);
        w.update();
        assert_eq!(w.window(), 100);
        // Reports of limits never granted, or no later than one reported before.
        let mut w = RecvWindow::new(100);
        w.on_received(100).unwrap();
        w.consume(60);
        assert_eq!(w.update(), 160);
        assert!(
            !w.note_blocked(500, 1000),
            "a limit never granted is no news"
        );
        assert!(w.note_blocked(100, 1000));
        assert!(!w.note_blocked(100, 1000), "a repeated report is no news");
        assert!(!w.note_blocked(90, 1000), "an older limit is no news");
        // A window set explicitly never grows.
        let mut w = RecvWindow::new(100);
        w.raise_to(100);
        w.on_received(100).unwrap();
        w.consume(100);
        w.note_blocked(100, 1000);
        assert_eq!(w.update(), 100);
        assert_eq!(w.window(), 100);
    }

    #[test]
    fn recv_window_updates_at_half() {
        let mut w = RecvWindow::new(100);
        assert_eq!(w.on_received(100), Ok(()));
        assert_eq!(w.on_received(101), Err(FlowControlViolation));
        w.consume(49);
        assert!(!w.should_update());
        w.consume(1);
        assert!(w.should_update());
        assert_eq!(w.update(), 150);
        assert!(!w.should_update());
        assert_eq!(w.on_received(150), Ok(()));
        w.consume(100);
        assert!(w.should_update());
        assert_eq!(w.update(), 250);
    }

    #[test]
    fn explicit_limit_ignores_consumption() {
        let mut w = RecvWindow::new(100);
        assert!(!w.raise_to(50));
        assert_eq!(w.max(), 100);
        assert_eq!(w.on_received(100), Ok(()));
        w.consume(100);
        assert!(!w.should_update());
        assert_eq!(w.update(), 100);
        assert!(w.raise_to(130));
        assert_eq!(w.update(), 130);
        assert_eq!(w.on_received(131), Err(FlowControlViolation));
    }

    #[test]
    fn send_credit_reports_each_limit_once() {
        let mut c = SendCredit::new(10);
        assert_eq!(c.take_blocked(), None);
        c.consume(10);
        assert_eq!(c.take_blocked(), Some(10));
        assert_eq!(c.take_blocked(), None);
        assert!(!c.raise(5));
        assert!(c.raise(20));
        assert_eq!(c.available(), 10);
        c.consume(10);
        assert_eq!(c.take_blocked(), Some(20));
    }
}
