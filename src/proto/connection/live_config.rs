//! Timing settings changed on a running connection (the application's settings after start).

use std::time::Duration;

use super::Connection;

impl Connection {
    /// Our idle timeout from now on (zero: none on our side). The peer learned the value
    /// from our transport parameters; a change afterwards only moves our timer, as in
    /// MsQuic: the timeout in force is the smaller non-zero of this and the peer's, counted
    /// from the last activity.
    pub fn set_idle_timeout(&mut self, timeout: Duration) {
        self.config.max_idle_timeout = timeout;
    }

    /// The keep-alive interval from now on (`None`: no keep-alive): a QX_PING request after
    /// this long without a record sent or received.
    pub fn set_keep_alive_interval(&mut self, interval: Option<Duration>) {
        self.config.keep_alive_interval = interval;
    }
}
