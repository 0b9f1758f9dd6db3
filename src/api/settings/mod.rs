//! MsQuic's settings semantics: the plain [`Settings`] (every `QUIC_SETTINGS` value plus which
//! were explicitly set), reading and writing the C struct, composing the three levels, the
//! mapping to the engine's [`Config`](crate::proto::Config), and the settings parameters.
//!
//! Levels compose as in MsQuic (settings.c, configuration.c, connection.c):
//! - **Library** ([`global`]): MsQuic's defaults, changed by `SetParam(NULL,
//!   QUIC_PARAM_GLOBAL_SETTINGS)` ([`Settings::apply`], which overwrites).
//! - **Configuration**: `ConfigurationOpen` reads the application's struct
//!   ([`Settings::read_optional`]), applies it over [`Settings::default`] and then
//!   [`inherit`](Settings::inherit)s every field it did not set from [`global`]
//!   ([`Settings::for_configuration`] does both). `QUIC_PARAM_CONFIGURATION_SETTINGS` applies
//!   over it ([`set_settings_param`]). MsQuic refreshes a configuration's unset fields when
//!   the library settings change successfully; [`refresh_configuration`] does that here
//!   before a configuration's settings are read or changed (it is the caller's job).
//! - **Connection**: opened with the library's values and nothing set
//!   ([`Settings::for_connection`]); `QUIC_PARAM_CONN_SETTINGS` applies over it (MTU and ECN
//!   only before start: [`Apply::STARTED`]); on start (client) or `SetConfiguration`
//!   (server) the configuration's explicitly set fields are applied without overwriting the
//!   connection's own ([`Settings::adopt`]).
//!
//! A lower level's explicitly set field always wins over a higher level's.
//!
//! Updates are applied as MsQuic's `QuicSettingApply` applies them ([`Settings::apply_with`]):
//! field by field in MsQuic's order, a refused value stopping the update with the fields
//! before it applied, and the MTU pair recomputed on every update that may change MTUs (an
//! unset `MinimumMtu` becomes 1248). Configurations keep what their own updates did to their
//! unset fields until the library settings next change successfully
//! ([`refresh_configuration`]).
//!
//! Differences from MsQuic 2.5's code, where MsQuic 2.7 or its documentation differ:
//! `TlsServerMaxSendBuffer` is applied and defaults to 8192 (MsQuic 2.5 applies the client
//! field twice) and `HyStartEnabled` is applied (MsQuic 2.5 drops it). One check is
//! stricter: `CongestionControlAlgorithm` must be below `QUIC_CONGESTION_CONTROL_ALGORITHM_MAX`
//! (MsQuic only asserts it in debug builds and falls back to CUBIC); it is checked at the
//! field's place in MsQuic's order.

mod engine;
mod params;
mod parse;
mod values;

#[cfg(test)]
mod tests;

use core::fmt;

pub use engine::MAX_DATAGRAM_FRAME_SIZE;
pub(crate) use params::{get_global_param, set_global_param};
pub use params::{
    get_settings_param, global, global_changed_elsewhere, refresh_configuration, reset_global,
    set_settings_param, set_settings_param_with,
};
pub use values::{ALL_FIELDS, Settings, defaults, limits};

use crate::api::abi::{QUIC_SETTINGS as C, QUIC_STATUS, QUIC_STATUS_INVALID_PARAMETER};

/// A settings value MsQuic refuses; the API answers `QUIC_STATUS_INVALID_PARAMETER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invalid(pub &'static str);

impl Invalid {
    /// The status the API returns for it.
    pub const fn status(self) -> QUIC_STATUS {
        QUIC_STATUS_INVALID_PARAMETER
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid settings: {}", self.0)
    }
}

impl std::error::Error for Invalid {}

/// Values for some fields, to apply over [`Settings`] (which checks them, field by field):
/// what an application's `QUIC_SETTINGS` asked for ([`Settings::read_from`]), or a level's
/// explicitly set fields ([`Settings::explicit`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsUpdate {
    /// The values; only the fields in `values.is_set` belong to the update.
    values: Settings,
}

impl SettingsUpdate {
    /// An update that sets nothing.
    pub const fn empty() -> Self {
        Self {
            values: Settings::DEFAULT,
        }
    }

    /// The fields this update sets (`QUIC_SETTINGS::IS_SET_*` bits).
    pub const fn mask(&self) -> u64 {
        self.values.is_set
    }

    /// The values: only the fields in [`mask`](Self::mask) are meaningful.
    pub const fn values(&self) -> &Settings {
        &self.values
    }
}

/// How [`Settings::apply_with`] treats fields already set, and whether MTU and ECN may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Apply {
    /// Replace fields already explicitly set (SetParam); otherwise keep them (a connection
    /// adopting its configuration's settings).
    pub overwrite: bool,
    /// Accept `MinimumMtu`, `MaximumMtu` and `EcnEnabled`; MsQuic refuses them once a
    /// connection has started.
    pub allow_mtu_and_ecn: bool,
}

impl Apply {
    /// SetParam on the library, a configuration or a connection not yet started.
    pub const OVERWRITE: Self = Self {
        overwrite: true,
        allow_mtu_and_ecn: true,
    };
    /// SetParam on a started connection: MTU and ECN changes are invalid.
    pub const STARTED: Self = Self {
        overwrite: true,
        allow_mtu_and_ecn: false,
    };
}

/// Calls `$m!` with `IS_SET_* => field` for every field copied as is (all but the stream
/// windows and the MTUs, which have rules of their own).
macro_rules! plain_fields {
    ($m:ident) => {
        $m! {
            IS_SET_MAX_BYTES_PER_KEY => max_bytes_per_key,
            IS_SET_HANDSHAKE_IDLE_TIMEOUT_MS => handshake_idle_timeout_ms,
            IS_SET_IDLE_TIMEOUT_MS => idle_timeout_ms,
            IS_SET_MTU_DISCOVERY_SEARCH_COMPLETE_TIMEOUT_US => mtu_discovery_search_complete_timeout_us,
            IS_SET_TLS_CLIENT_MAX_SEND_BUFFER => tls_client_max_send_buffer,
            IS_SET_TLS_SERVER_MAX_SEND_BUFFER => tls_server_max_send_buffer,
            IS_SET_STREAM_RECV_BUFFER_DEFAULT => stream_recv_buffer_default,
            IS_SET_CONN_FLOW_CONTROL_WINDOW => conn_flow_control_window,
            IS_SET_MAX_WORKER_QUEUE_DELAY_US => max_worker_queue_delay_us,
            IS_SET_MAX_STATELESS_OPERATIONS => max_stateless_operations,
            IS_SET_INITIAL_WINDOW_PACKETS => initial_window_packets,
            IS_SET_SEND_IDLE_TIMEOUT_MS => send_idle_timeout_ms,
            IS_SET_INITIAL_RTT_MS => initial_rtt_ms,
            IS_SET_MAX_ACK_DELAY_MS => max_ack_delay_ms,
            IS_SET_DISCONNECT_TIMEOUT_MS => disconnect_timeout_ms,
            IS_SET_KEEP_ALIVE_INTERVAL_MS => keep_alive_interval_ms,
            IS_SET_CONGESTION_CONTROL_ALGORITHM => congestion_control_algorithm,
            IS_SET_PEER_BIDI_STREAM_COUNT => peer_bidi_stream_count,
            IS_SET_PEER_UNIDI_STREAM_COUNT => peer_unidi_stream_count,
            IS_SET_MAX_BINDING_STATELESS_OPERATIONS => max_binding_stateless_operations,
            IS_SET_STATELESS_OPERATION_EXPIRATION_MS => stateless_operation_expiration_ms,
            IS_SET_SEND_BUFFERING_ENABLED => send_buffering_enabled,
            IS_SET_PACING_ENABLED => pacing_enabled,
            IS_SET_MIGRATION_ENABLED => migration_enabled,
            IS_SET_DATAGRAM_RECEIVE_ENABLED => datagram_receive_enabled,
            IS_SET_SERVER_RESUMPTION_LEVEL => server_resumption_level,
            IS_SET_GREASE_QUIC_BIT_ENABLED => grease_quic_bit_enabled,
            IS_SET_ECN_ENABLED => ecn_enabled,
            IS_SET_MAX_OPERATIONS_PER_DRAIN => max_operations_per_drain,
            IS_SET_MTU_DISCOVERY_MISSING_PROBE_COUNT => mtu_discovery_missing_probe_count,
            IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS => dest_cid_update_idle_timeout_ms,
            IS_SET_HY_START_ENABLED => hy_start_enabled,
            IS_SET_ENCRYPTION_OFFLOAD_ALLOWED => encryption_offload_allowed,
            IS_SET_RELIABLE_RESET_ENABLED => reliable_reset_enabled,
            IS_SET_ONE_WAY_DELAY_ENABLED => one_way_delay_enabled,
            IS_SET_NET_STATS_EVENT_ENABLED => net_stats_event_enabled,
            IS_SET_STREAM_MULTI_RECEIVE_ENABLED => stream_multi_receive_enabled,
            IS_SET_XDP_ENABLED => xdp_enabled,
            IS_SET_QTIP_ENABLED => qtip_enabled,
            IS_SET_RESERVED_RIO_ENABLED => reserved_rio_enabled,
        }
    };
}

/// The three per-type stream receive windows: IsSet bit and field.
macro_rules! per_type_windows {
    ($m:ident) => {
        $m! {
            IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT => stream_recv_window_bidi_local_default,
            IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT => stream_recv_window_bidi_remote_default,
            IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT => stream_recv_window_unidi_default,
        }
    };
}

/// The IsSet bits of the MTU pair.
const MTU_BITS: u64 = C::IS_SET_MINIMUM_MTU | C::IS_SET_MAXIMUM_MTU;

// After the macros, which it uses.
mod apply;

impl Settings {
    /// Takes every field not explicitly set here from `parent` (the level above), leaving
    /// what is set alone (MsQuic's `QuicSettingsCopy`). A per-type stream window not set
    /// here takes the parent's, even if this level set `StreamRecvWindowDefault` (which only
    /// spreads to the per-type windows when applied). An MTU set on one side only keeps the
    /// pair ordered. Calling it again after `parent` changed refreshes the inherited values.
    pub fn inherit(&mut self, parent: &Settings) {
        let own = self.is_set;
        let unset = |bit: u64| own & bit == 0;
        let dst = self;
        macro_rules! copy_unset {
            ($($bit:ident => $field:ident),* $(,)?) => {
                $( if unset(C::$bit) { dst.$field = parent.$field; } )*
            };
        }
        plain_fields!(copy_unset);

        // The per-type windows are copied like any field: a window this level spread from
        // its own StreamRecvWindowDefault without setting the type's own is replaced too.
        if unset(C::IS_SET_STREAM_RECV_WINDOW_DEFAULT) {
            dst.stream_recv_window_default = parent.stream_recv_window_default;
        }
        per_type_windows!(copy_unset);

        match (unset(C::IS_SET_MINIMUM_MTU), unset(C::IS_SET_MAXIMUM_MTU)) {
            (true, true) => {
                dst.minimum_mtu = parent.minimum_mtu;
                dst.maximum_mtu = parent.maximum_mtu;
            }
            (false, true) if parent.maximum_mtu > dst.minimum_mtu => {
                dst.maximum_mtu = parent.maximum_mtu;
            }
            (true, false) if parent.minimum_mtu < dst.maximum_mtu => {
                dst.minimum_mtu = parent.minimum_mtu;
            }
            _ => {}
        }
    }

    /// Applies `upper`'s explicitly set fields where this level has not set its own (a
    /// connection adopting its configuration's settings on start or `SetConfiguration`), as
    /// MsQuic does there: in [`apply_with`](Self::apply_with)'s order without overwriting,
    /// MTU and ECN only if not `started`, the MTU pair recomputed. Like MsQuic, which
    /// ignores the outcome, it cannot fail: a refusal (MTUs that would end up out of order,
    /// or MTU or ECN once started) only leaves the fields after it unadopted.
    pub fn adopt(&mut self, upper: &Settings, started: bool) {
        let how = Apply {
            overwrite: false,
            allow_mtu_and_ecn: !started,
        };
        let _ = self.apply_with(&upper.explicit(), how);
    }

    /// MsQuic's MTU step on its own, as any update that may change MTUs runs it: an unset
    /// `MinimumMtu` becomes 1248 and an unset `MaximumMtu` 1500 (for parameters MsQuic
    /// applies through its settings code, such as the version settings).
    pub fn recompute_mtus(&mut self) {
        let _ = self.apply(&SettingsUpdate::empty());
    }

    /// This level's explicitly set fields as an update.
    pub fn explicit(&self) -> SettingsUpdate {
        SettingsUpdate {
            values: self.clone(),
        }
    }

    /// A configuration's settings: `app` (what `ConfigurationOpen` was given, if anything)
    /// over MsQuic's defaults, then every field it leaves unset taken from the library's
    /// current settings ([`global`]), which [`refresh_configuration`] refreshes after
    /// the library's next successful change.
    pub fn for_configuration(app: Option<&SettingsUpdate>) -> Result<Self, Invalid> {
        let mut s = Self::DEFAULT;
        if let Some(update) = app {
            s.apply(update)?;
        }
        let library = params::global_for_configuration();
        s.inherit(&library);
        s.library_generation = library.library_generation;
        Ok(s)
    }

    /// A new connection's settings: the library's current values with nothing explicitly set.
    pub fn for_connection() -> Self {
        let mut s = Self::DEFAULT;
        s.inherit(&global());
        s
    }
}
