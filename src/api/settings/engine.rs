//! From MsQuic settings to the QMux engine's [`Config`] and the runtime's timers
//! (decisions.md §4).

use std::time::Duration;

use super::Settings;
use crate::proto::Config;

/// The max_datagram_frame_size advertised when `DatagramReceiveEnabled` is set: 65535, the
/// value MsQuic advertises (`QUIC_DEFAULT_MAX_DATAGRAM_LENGTH`, "to not explicitly limit the
/// length of datagrams"). Over QMux a DATAGRAM frame must also fit in one record, so the
/// effective limit is the smaller of this and our max_record_size; a larger value would
/// promise nothing more, and a smaller one would refuse datagrams MsQuic peers expect.
pub const MAX_DATAGRAM_FRAME_SIZE: u64 = 65_535;

impl Settings {
    /// The engine configuration for a connection with these settings:
    /// - `IdleTimeoutMs` -> max_idle_timeout (0 disables it);
    /// - `ConnFlowControlWindow` -> initial_max_data;
    /// - `StreamRecvWindow{BidiLocal,BidiRemote,Unidi}Default` ->
    ///   initial_max_stream_data_{bidi_local,bidi_remote,uni};
    /// - `Peer{Bidi,Unidi}StreamCount` -> max_streams_{bidi,uni};
    /// - `DatagramReceiveEnabled` -> max_datagram_frame_size [`MAX_DATAGRAM_FRAME_SIZE`];
    /// - `ReliableResetEnabled` -> reset_stream_at;
    /// - `KeepAliveIntervalMs` -> keep_alive_interval (0 = none).
    ///
    /// Replies to STOP_SENDING are held until the application has seen
    /// PEER_RECEIVE_ABORTED (see `api::stream::reset::answer_stop`).
    ///
    /// Record size, close wait and stream scheduling keep the engine's defaults. `is_server`
    /// is taken for symmetry with MsQuic, where some settings are side-specific; none of the
    /// engine's fields differs by side today.
    pub fn engine_config(&self, is_server: bool) -> Config {
        let _ = is_server;
        Config {
            max_idle_timeout: Duration::from_millis(self.idle_timeout_ms),
            initial_max_data: u64::from(self.conn_flow_control_window),
            initial_max_stream_data_bidi_local: u64::from(
                self.stream_recv_window_bidi_local_default,
            ),
            initial_max_stream_data_bidi_remote: u64::from(
                self.stream_recv_window_bidi_remote_default,
            ),
            initial_max_stream_data_uni: u64::from(self.stream_recv_window_unidi_default),
            max_streams_bidi: u64::from(self.peer_bidi_stream_count),
            max_streams_uni: u64::from(self.peer_unidi_stream_count),
            max_datagram_frame_size: self
                .datagram_receive_enabled
                .then_some(MAX_DATAGRAM_FRAME_SIZE),
            reset_stream_at: self.reliable_reset_enabled,
            keep_alive_interval: self.keep_alive_interval(),
            hold_stop_replies: true,
            ..Config::default()
        }
    }

    /// `IdleTimeoutMs`, or `None` when 0 (no idle timeout).
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_ms != 0).then(|| Duration::from_millis(self.idle_timeout_ms))
    }

    /// `HandshakeIdleTimeoutMs`: the deadline for TCP connect, TLS and the peer's transport
    /// parameters, or `None` when 0.
    pub fn handshake_idle_timeout(&self) -> Option<Duration> {
        (self.handshake_idle_timeout_ms != 0)
            .then(|| Duration::from_millis(self.handshake_idle_timeout_ms))
    }

    /// `DisconnectTimeoutMs`: how long the socket may accept no bytes while data waits
    /// before the connection ends with CONNECTION_TIMEOUT.
    pub fn disconnect_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.disconnect_timeout_ms))
    }

    /// `KeepAliveIntervalMs`, or `None` when 0 (no keep-alive).
    pub fn keep_alive_interval(&self) -> Option<Duration> {
        (self.keep_alive_interval_ms != 0)
            .then(|| Duration::from_millis(u64::from(self.keep_alive_interval_ms)))
    }
}
