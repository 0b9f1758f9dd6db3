//! Applying an update over a level's [`Settings`] the way MsQuic's `QuicSettingApply` does:
//! field by field in MsQuic's order, each value checked just before it is stored. A refused
//! value stops the update there: the fields before it stay applied (the caller answers
//! INVALID_PARAMETER all the same), the fields after it are not. When MTUs may change, the
//! MTU pair is recomputed on every update, so an update that sets no MTU still puts MsQuic's
//! floor (1248) into an unset `MinimumMtu` and 1500 into an unset `MaximumMtu`.

use super::values::limits;
use super::{Apply, Invalid, MTU_BITS, Settings, SettingsUpdate};
use crate::api::abi::QUIC_SETTINGS as C;

impl Settings {
    /// Applies `update` over these settings, overwriting fields already set (MsQuic's
    /// SetParam and ConfigurationOpen); see [`apply_with`](Self::apply_with).
    pub fn apply(&mut self, update: &SettingsUpdate) -> Result<(), Invalid> {
        self.apply_with(update, Apply::OVERWRITE)
    }

    /// Applies `update` in MsQuic's order. Each field it sets (and, without
    /// [`Apply::overwrite`], that is not set here yet) takes its value and becomes explicitly
    /// set. Setting `StreamRecvWindowDefault` also sets the value of the per-type windows
    /// (only those not set here, without overwrite; without marking them set); a per-type
    /// window in the same update comes later and wins. A refused value returns the error
    /// with the fields before it applied. Order (MsQuic 2.5's, of the fields a
    /// `QUIC_SETTINGS` carries): SendBuffering, Pacing, Migration, DatagramReceive,
    /// MaxOperationsPerDrain, MaxWorkerQueueDelay, MaxStatelessOperations,
    /// InitialWindowPackets, SendIdleTimeout, InitialRtt, MaxAckDelay, DisconnectTimeout,
    /// KeepAliveInterval, IdleTimeout, HandshakeIdleTimeout, PeerBidi/UnidiStreamCount,
    /// TlsClient/ServerMaxSendBuffer, the stream windows (general first), StreamRecvBuffer,
    /// ConnFlowControlWindow, MaxBytesPerKey, ServerResumptionLevel, the MTU pair,
    /// MtuDiscoverySearchComplete, MtuDiscoveryMissingProbeCount, the two stateless-operation
    /// fields, CongestionControlAlgorithm, DestCidUpdateIdleTimeout, GreaseQuicBit, ECN, then
    /// the `Flags` fields (which have no checks).
    pub fn apply_with(&mut self, update: &SettingsUpdate, how: Apply) -> Result<(), Invalid> {
        let src = update.values();
        let take = if how.overwrite {
            src.is_set
        } else {
            src.is_set & !self.is_set
        };
        let t = |bit: u64| take & bit != 0;
        let dst = self;

        // A field with no check, or one whose check `ok` must pass: stored and marked set.
        macro_rules! field {
            ($bit:ident => $field:ident) => {
                if t(C::$bit) {
                    dst.$field = src.$field;
                    dst.is_set |= C::$bit;
                }
            };
            ($bit:ident => $field:ident, $ok:expr, $why:literal) => {
                if t(C::$bit) {
                    let ok: fn(_) -> bool = $ok;
                    if !ok(src.$field) {
                        return Err(Invalid($why));
                    }
                    dst.$field = src.$field;
                    dst.is_set |= C::$bit;
                }
            };
        }
        let power_of_two = |w: u32| w.is_power_of_two();

        field!(IS_SET_SEND_BUFFERING_ENABLED => send_buffering_enabled);
        field!(IS_SET_PACING_ENABLED => pacing_enabled);
        field!(IS_SET_MIGRATION_ENABLED => migration_enabled);
        field!(IS_SET_DATAGRAM_RECEIVE_ENABLED => datagram_receive_enabled);
        field!(IS_SET_MAX_OPERATIONS_PER_DRAIN => max_operations_per_drain,
            |n| n != 0, "MaxOperationsPerDrain is 0");
        field!(IS_SET_MAX_WORKER_QUEUE_DELAY_US => max_worker_queue_delay_us);
        field!(IS_SET_MAX_STATELESS_OPERATIONS => max_stateless_operations);
        field!(IS_SET_INITIAL_WINDOW_PACKETS => initial_window_packets);
        field!(IS_SET_SEND_IDLE_TIMEOUT_MS => send_idle_timeout_ms);
        field!(IS_SET_INITIAL_RTT_MS => initial_rtt_ms, |ms| ms != 0, "InitialRttMs is 0");
        field!(IS_SET_MAX_ACK_DELAY_MS => max_ack_delay_ms,
            |ms| ms <= limits::MAX_ACK_DELAY_MS, "MaxAckDelayMs above 16383");
        field!(IS_SET_DISCONNECT_TIMEOUT_MS => disconnect_timeout_ms,
            |ms| (1..=limits::MAX_DISCONNECT_TIMEOUT_MS).contains(&ms),
            "DisconnectTimeoutMs not in 1..=600000");
        field!(IS_SET_KEEP_ALIVE_INTERVAL_MS => keep_alive_interval_ms);
        field!(IS_SET_IDLE_TIMEOUT_MS => idle_timeout_ms,
            |ms| ms <= limits::MAX_TIMEOUT_MS, "IdleTimeoutMs above 2^62-1");
        field!(IS_SET_HANDSHAKE_IDLE_TIMEOUT_MS => handshake_idle_timeout_ms,
            |ms| ms <= limits::MAX_TIMEOUT_MS, "HandshakeIdleTimeoutMs above 2^62-1");
        field!(IS_SET_PEER_BIDI_STREAM_COUNT => peer_bidi_stream_count);
        field!(IS_SET_PEER_UNIDI_STREAM_COUNT => peer_unidi_stream_count);
        field!(IS_SET_TLS_CLIENT_MAX_SEND_BUFFER => tls_client_max_send_buffer);
        field!(IS_SET_TLS_SERVER_MAX_SEND_BUFFER => tls_server_max_send_buffer);

        if t(C::IS_SET_STREAM_RECV_WINDOW_DEFAULT) {
            let w = src.stream_recv_window_default;
            if !power_of_two(w) {
                return Err(Invalid("StreamRecvWindowDefault not a power of two"));
            }
            dst.stream_recv_window_default = w;
            dst.is_set |= C::IS_SET_STREAM_RECV_WINDOW_DEFAULT;
            macro_rules! spread_window {
                ($($bit:ident => $field:ident),* $(,)?) => {
                    $( if how.overwrite || !dst.is_set(C::$bit) { dst.$field = w; } )*
                };
            }
            per_type_windows!(spread_window);
        }
        field!(IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT => stream_recv_window_bidi_local_default,
            power_of_two, "StreamRecvWindowBidiLocalDefault not a power of two");
        field!(IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT => stream_recv_window_bidi_remote_default,
            power_of_two, "StreamRecvWindowBidiRemoteDefault not a power of two");
        field!(IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT => stream_recv_window_unidi_default,
            power_of_two, "StreamRecvWindowUnidiDefault not a power of two");
        field!(IS_SET_STREAM_RECV_BUFFER_DEFAULT => stream_recv_buffer_default,
            |n| n >= limits::MIN_STREAM_RECV_BUFFER, "StreamRecvBufferDefault below 4096");
        field!(IS_SET_CONN_FLOW_CONTROL_WINDOW => conn_flow_control_window);
        field!(IS_SET_MAX_BYTES_PER_KEY => max_bytes_per_key,
            |n| n <= limits::MAX_BYTES_PER_KEY, "MaxBytesPerKey above 2^38");
        field!(IS_SET_SERVER_RESUMPTION_LEVEL => server_resumption_level,
            |l| l <= limits::MAX_SERVER_RESUMPTION_LEVEL,
            "ServerResumptionLevel above RESUME_AND_ZERORTT");

        if how.allow_mtu_and_ecn {
            dst.apply_mtus(src, t(C::IS_SET_MINIMUM_MTU), t(C::IS_SET_MAXIMUM_MTU))?;
        } else if src.is_set & MTU_BITS != 0 {
            return Err(Invalid("MTU changed after the connection started"));
        }

        field!(IS_SET_MTU_DISCOVERY_SEARCH_COMPLETE_TIMEOUT_US => mtu_discovery_search_complete_timeout_us);
        field!(IS_SET_MTU_DISCOVERY_MISSING_PROBE_COUNT => mtu_discovery_missing_probe_count);
        field!(IS_SET_MAX_BINDING_STATELESS_OPERATIONS => max_binding_stateless_operations);
        field!(IS_SET_STATELESS_OPERATION_EXPIRATION_MS => stateless_operation_expiration_ms);
        field!(IS_SET_CONGESTION_CONTROL_ALGORITHM => congestion_control_algorithm,
            |a| a < limits::CONGESTION_CONTROL_ALGORITHM_MAX,
            "CongestionControlAlgorithm not below QUIC_CONGESTION_CONTROL_ALGORITHM_MAX");
        field!(IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS => dest_cid_update_idle_timeout_ms);
        field!(IS_SET_GREASE_QUIC_BIT_ENABLED => grease_quic_bit_enabled);
        if how.allow_mtu_and_ecn {
            field!(IS_SET_ECN_ENABLED => ecn_enabled);
        } else if src.is_set(C::IS_SET_ECN_ENABLED) {
            return Err(Invalid("ECN changed after the connection started"));
        }
        field!(IS_SET_ENCRYPTION_OFFLOAD_ALLOWED => encryption_offload_allowed);
        field!(IS_SET_RELIABLE_RESET_ENABLED => reliable_reset_enabled);
        field!(IS_SET_XDP_ENABLED => xdp_enabled);
        field!(IS_SET_QTIP_ENABLED => qtip_enabled);
        field!(IS_SET_RESERVED_RIO_ENABLED => reserved_rio_enabled);
        field!(IS_SET_ONE_WAY_DELAY_ENABLED => one_way_delay_enabled);
        field!(IS_SET_NET_STATS_EVENT_ENABLED => net_stats_event_enabled);
        field!(IS_SET_STREAM_MULTI_RECEIVE_ENABLED => stream_multi_receive_enabled);
        field!(IS_SET_HY_START_ENABLED => hy_start_enabled);
        Ok(())
    }

    /// MsQuic's MTU step, run on every update that may change MTUs: each MTU starts from
    /// this level's value if explicitly set, else from the floor (1248) or the ceiling
    /// (1500); a taken MTU of the update replaces it, brought into 1248..=1500; a minimum
    /// above the maximum is refused (nothing of the pair changes); otherwise both values are
    /// stored, and the update's MTU bits become set here.
    fn apply_mtus(
        &mut self,
        src: &Settings,
        take_min: bool,
        take_max: bool,
    ) -> Result<(), Invalid> {
        let clamp = |mtu: u16| mtu.clamp(limits::MIN_MTU, limits::MAX_MTU);
        let mut min = if self.is_set(C::IS_SET_MINIMUM_MTU) {
            self.minimum_mtu
        } else {
            limits::MIN_MTU
        };
        let mut max = if self.is_set(C::IS_SET_MAXIMUM_MTU) {
            self.maximum_mtu
        } else {
            limits::MAX_MTU
        };
        if take_min {
            min = clamp(src.minimum_mtu);
        }
        if take_max {
            max = clamp(src.maximum_mtu);
        }
        if min > max {
            return Err(Invalid("MinimumMtu above MaximumMtu"));
        }
        self.is_set |= src.is_set & MTU_BITS;
        self.minimum_mtu = min;
        self.maximum_mtu = max;
        Ok(())
    }
}
