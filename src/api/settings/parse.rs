//! Converting between the C `QUIC_SETTINGS` and [`Settings`]: the size rules, the IsSet bits
//! and MsQuic's validation of each value.

use super::values::{ALL_FIELDS, fields_within};
use super::{Invalid, Settings, SettingsUpdate};
use crate::api::abi::QUIC_SETTINGS as C;

/// The C struct's size.
pub(super) const FULL_SIZE: u32 = size_of::<C>() as u32;

/// Byte ranges of the fields past the fixed 109-byte part, in order: `DestCidUpdateIdleTimeoutMs`,
/// `Flags` and the three per-type windows. The bytes between them are padding.
const SIZED_RANGES: [(usize, usize); 5] =
    [(112, 116), (120, 128), (128, 132), (132, 136), (136, 140)];

/// Sets `dst` to `src` if `bit` is in `mask`.
fn take<T: Copy>(mask: u64, bit: u64, dst: &mut T, src: T) {
    if mask & bit != 0 {
        *dst = src;
    }
}

impl SettingsUpdate {
    /// The update a C struct of `size` bytes describes: the fields that lie wholly within
    /// `size` and whose IsSet bit is set, as given. Sizes below `QUIC_SETTINGS::MIN_SIZE`
    /// (109) are invalid (MsQuic's only check before it applies anything); bytes beyond
    /// `size` are ignored. The values are checked when the update is applied, one field at a
    /// time ([`Settings::apply_with`]).
    pub fn from_c(c: &C, size: u32) -> Result<Self, Invalid> {
        if size < C::MIN_SIZE {
            return Err(Invalid("QUIC_SETTINGS size below 109 bytes"));
        }
        let mask = c.IsSetFlags & fields_within(size);
        let mut v = Settings {
            is_set: mask,
            ..Settings::DEFAULT
        };
        let m = mask;
        take(
            m,
            C::IS_SET_MAX_BYTES_PER_KEY,
            &mut v.max_bytes_per_key,
            c.MaxBytesPerKey,
        );
        take(
            m,
            C::IS_SET_HANDSHAKE_IDLE_TIMEOUT_MS,
            &mut v.handshake_idle_timeout_ms,
            c.HandshakeIdleTimeoutMs,
        );
        take(
            m,
            C::IS_SET_IDLE_TIMEOUT_MS,
            &mut v.idle_timeout_ms,
            c.IdleTimeoutMs,
        );
        take(
            m,
            C::IS_SET_MTU_DISCOVERY_SEARCH_COMPLETE_TIMEOUT_US,
            &mut v.mtu_discovery_search_complete_timeout_us,
            c.MtuDiscoverySearchCompleteTimeoutUs,
        );
        take(
            m,
            C::IS_SET_TLS_CLIENT_MAX_SEND_BUFFER,
            &mut v.tls_client_max_send_buffer,
            c.TlsClientMaxSendBuffer,
        );
        take(
            m,
            C::IS_SET_TLS_SERVER_MAX_SEND_BUFFER,
            &mut v.tls_server_max_send_buffer,
            c.TlsServerMaxSendBuffer,
        );
        take(
            m,
            C::IS_SET_STREAM_RECV_WINDOW_DEFAULT,
            &mut v.stream_recv_window_default,
            c.StreamRecvWindowDefault,
        );
        take(
            m,
            C::IS_SET_STREAM_RECV_BUFFER_DEFAULT,
            &mut v.stream_recv_buffer_default,
            c.StreamRecvBufferDefault,
        );
        take(
            m,
            C::IS_SET_CONN_FLOW_CONTROL_WINDOW,
            &mut v.conn_flow_control_window,
            c.ConnFlowControlWindow,
        );
        take(
            m,
            C::IS_SET_MAX_WORKER_QUEUE_DELAY_US,
            &mut v.max_worker_queue_delay_us,
            c.MaxWorkerQueueDelayUs,
        );
        take(
            m,
            C::IS_SET_MAX_STATELESS_OPERATIONS,
            &mut v.max_stateless_operations,
            c.MaxStatelessOperations,
        );
        take(
            m,
            C::IS_SET_INITIAL_WINDOW_PACKETS,
            &mut v.initial_window_packets,
            c.InitialWindowPackets,
        );
        take(
            m,
            C::IS_SET_SEND_IDLE_TIMEOUT_MS,
            &mut v.send_idle_timeout_ms,
            c.SendIdleTimeoutMs,
        );
        take(
            m,
            C::IS_SET_INITIAL_RTT_MS,
            &mut v.initial_rtt_ms,
            c.InitialRttMs,
        );
        take(
            m,
            C::IS_SET_MAX_ACK_DELAY_MS,
            &mut v.max_ack_delay_ms,
            c.MaxAckDelayMs,
        );
        take(
            m,
            C::IS_SET_DISCONNECT_TIMEOUT_MS,
            &mut v.disconnect_timeout_ms,
            c.DisconnectTimeoutMs,
        );
        take(
            m,
            C::IS_SET_KEEP_ALIVE_INTERVAL_MS,
            &mut v.keep_alive_interval_ms,
            c.KeepAliveIntervalMs,
        );
        take(
            m,
            C::IS_SET_CONGESTION_CONTROL_ALGORITHM,
            &mut v.congestion_control_algorithm,
            c.CongestionControlAlgorithm,
        );
        take(
            m,
            C::IS_SET_PEER_BIDI_STREAM_COUNT,
            &mut v.peer_bidi_stream_count,
            c.PeerBidiStreamCount,
        );
        take(
            m,
            C::IS_SET_PEER_UNIDI_STREAM_COUNT,
            &mut v.peer_unidi_stream_count,
            c.PeerUnidiStreamCount,
        );
        take(
            m,
            C::IS_SET_MAX_BINDING_STATELESS_OPERATIONS,
            &mut v.max_binding_stateless_operations,
            c.MaxBindingStatelessOperations,
        );
        take(
            m,
            C::IS_SET_STATELESS_OPERATION_EXPIRATION_MS,
            &mut v.stateless_operation_expiration_ms,
            c.StatelessOperationExpirationMs,
        );
        take(m, C::IS_SET_MINIMUM_MTU, &mut v.minimum_mtu, c.MinimumMtu);
        take(m, C::IS_SET_MAXIMUM_MTU, &mut v.maximum_mtu, c.MaximumMtu);
        take(
            m,
            C::IS_SET_SEND_BUFFERING_ENABLED,
            &mut v.send_buffering_enabled,
            c.send_buffering_enabled(),
        );
        take(
            m,
            C::IS_SET_PACING_ENABLED,
            &mut v.pacing_enabled,
            c.pacing_enabled(),
        );
        take(
            m,
            C::IS_SET_MIGRATION_ENABLED,
            &mut v.migration_enabled,
            c.migration_enabled(),
        );
        take(
            m,
            C::IS_SET_DATAGRAM_RECEIVE_ENABLED,
            &mut v.datagram_receive_enabled,
            c.datagram_receive_enabled(),
        );
        take(
            m,
            C::IS_SET_SERVER_RESUMPTION_LEVEL,
            &mut v.server_resumption_level,
            c.server_resumption_level(),
        );
        take(
            m,
            C::IS_SET_GREASE_QUIC_BIT_ENABLED,
            &mut v.grease_quic_bit_enabled,
            c.grease_quic_bit_enabled(),
        );
        take(
            m,
            C::IS_SET_ECN_ENABLED,
            &mut v.ecn_enabled,
            c.ecn_enabled(),
        );
        take(
            m,
            C::IS_SET_MAX_OPERATIONS_PER_DRAIN,
            &mut v.max_operations_per_drain,
            c.MaxOperationsPerDrain,
        );
        take(
            m,
            C::IS_SET_MTU_DISCOVERY_MISSING_PROBE_COUNT,
            &mut v.mtu_discovery_missing_probe_count,
            c.MtuDiscoveryMissingProbeCount,
        );
        take(
            m,
            C::IS_SET_DEST_CID_UPDATE_IDLE_TIMEOUT_MS,
            &mut v.dest_cid_update_idle_timeout_ms,
            c.DestCidUpdateIdleTimeoutMs,
        );
        take(
            m,
            C::IS_SET_HY_START_ENABLED,
            &mut v.hy_start_enabled,
            c.flag(C::FLAG_HY_START_ENABLED),
        );
        take(
            m,
            C::IS_SET_STREAM_RECV_WINDOW_BIDI_LOCAL_DEFAULT,
            &mut v.stream_recv_window_bidi_local_default,
            c.StreamRecvWindowBidiLocalDefault,
        );
        take(
            m,
            C::IS_SET_STREAM_RECV_WINDOW_BIDI_REMOTE_DEFAULT,
            &mut v.stream_recv_window_bidi_remote_default,
            c.StreamRecvWindowBidiRemoteDefault,
        );
        take(
            m,
            C::IS_SET_STREAM_RECV_WINDOW_UNIDI_DEFAULT,
            &mut v.stream_recv_window_unidi_default,
            c.StreamRecvWindowUnidiDefault,
        );
        take(
            m,
            C::IS_SET_ENCRYPTION_OFFLOAD_ALLOWED,
            &mut v.encryption_offload_allowed,
            c.flag(C::FLAG_ENCRYPTION_OFFLOAD_ALLOWED),
        );
        take(
            m,
            C::IS_SET_RELIABLE_RESET_ENABLED,
            &mut v.reliable_reset_enabled,
            c.flag(C::FLAG_RELIABLE_RESET_ENABLED),
        );
        take(
            m,
            C::IS_SET_ONE_WAY_DELAY_ENABLED,
            &mut v.one_way_delay_enabled,
            c.flag(C::FLAG_ONE_WAY_DELAY_ENABLED),
        );
        take(
            m,
            C::IS_SET_NET_STATS_EVENT_ENABLED,
            &mut v.net_stats_event_enabled,
            c.flag(C::FLAG_NET_STATS_EVENT_ENABLED),
        );
        take(
            m,
            C::IS_SET_STREAM_MULTI_RECEIVE_ENABLED,
            &mut v.stream_multi_receive_enabled,
            c.flag(C::FLAG_STREAM_MULTI_RECEIVE_ENABLED),
        );
        take(
            m,
            C::IS_SET_XDP_ENABLED,
            &mut v.xdp_enabled,
            c.flag(C::FLAG_XDP_ENABLED),
        );
        take(
            m,
            C::IS_SET_QTIP_ENABLED,
            &mut v.qtip_enabled,
            c.flag(C::FLAG_QTIP_ENABLED),
        );
        take(
            m,
            C::IS_SET_RESERVED_RIO_ENABLED,
            &mut v.reserved_rio_enabled,
            c.flag(C::FLAG_RESERVED_RIO_ENABLED),
        );
        Ok(Self { values: v })
    }
}

impl Settings {
    /// These settings as the C struct, with `IsSetFlags` saying what was explicitly set.
    pub fn to_c(&self) -> C {
        let mut c = C {
            IsSetFlags: self.is_set & ALL_FIELDS,
            MaxBytesPerKey: self.max_bytes_per_key,
            HandshakeIdleTimeoutMs: self.handshake_idle_timeout_ms,
            IdleTimeoutMs: self.idle_timeout_ms,
            MtuDiscoverySearchCompleteTimeoutUs: self.mtu_discovery_search_complete_timeout_us,
            TlsClientMaxSendBuffer: self.tls_client_max_send_buffer,
            TlsServerMaxSendBuffer: self.tls_server_max_send_buffer,
            StreamRecvWindowDefault: self.stream_recv_window_default,
            StreamRecvBufferDefault: self.stream_recv_buffer_default,
            ConnFlowControlWindow: self.conn_flow_control_window,
            MaxWorkerQueueDelayUs: self.max_worker_queue_delay_us,
            MaxStatelessOperations: self.max_stateless_operations,
            InitialWindowPackets: self.initial_window_packets,
            SendIdleTimeoutMs: self.send_idle_timeout_ms,
            InitialRttMs: self.initial_rtt_ms,
            MaxAckDelayMs: self.max_ack_delay_ms,
            DisconnectTimeoutMs: self.disconnect_timeout_ms,
            KeepAliveIntervalMs: self.keep_alive_interval_ms,
            CongestionControlAlgorithm: self.congestion_control_algorithm,
            PeerBidiStreamCount: self.peer_bidi_stream_count,
            PeerUnidiStreamCount: self.peer_unidi_stream_count,
            MaxBindingStatelessOperations: self.max_binding_stateless_operations,
            StatelessOperationExpirationMs: self.stateless_operation_expiration_ms,
            MinimumMtu: self.minimum_mtu,
            MaximumMtu: self.maximum_mtu,
            Bitfields: 0,
            MaxOperationsPerDrain: self.max_operations_per_drain,
            MtuDiscoveryMissingProbeCount: self.mtu_discovery_missing_probe_count,
            DestCidUpdateIdleTimeoutMs: self.dest_cid_update_idle_timeout_ms,
            Flags: 0,
            StreamRecvWindowBidiLocalDefault: self.stream_recv_window_bidi_local_default,
            StreamRecvWindowBidiRemoteDefault: self.stream_recv_window_bidi_remote_default,
            StreamRecvWindowUnidiDefault: self.stream_recv_window_unidi_default,
        };
        c.set_send_buffering_enabled(self.send_buffering_enabled);
        c.set_pacing_enabled(self.pacing_enabled);
        c.set_migration_enabled(self.migration_enabled);
        c.set_datagram_receive_enabled(self.datagram_receive_enabled);
        c.set_server_resumption_level(self.server_resumption_level);
        c.set_grease_quic_bit_enabled(self.grease_quic_bit_enabled);
        c.set_ecn_enabled(self.ecn_enabled);
        let flags = [
            (C::FLAG_HY_START_ENABLED, self.hy_start_enabled),
            (
                C::FLAG_ENCRYPTION_OFFLOAD_ALLOWED,
                self.encryption_offload_allowed,
            ),
            (C::FLAG_RELIABLE_RESET_ENABLED, self.reliable_reset_enabled),
            (C::FLAG_ONE_WAY_DELAY_ENABLED, self.one_way_delay_enabled),
            (
                C::FLAG_NET_STATS_EVENT_ENABLED,
                self.net_stats_event_enabled,
            ),
            (
                C::FLAG_STREAM_MULTI_RECEIVE_ENABLED,
                self.stream_multi_receive_enabled,
            ),
            (C::FLAG_XDP_ENABLED, self.xdp_enabled),
            (C::FLAG_QTIP_ENABLED, self.qtip_enabled),
            (C::FLAG_RESERVED_RIO_ENABLED, self.reserved_rio_enabled),
        ];
        for (flag, on) in flags {
            c.set_flag(flag, on);
        }
        c
    }

    /// Reads the update an application passed as `QUIC_SETTINGS` of `size` bytes (see
    /// [`SettingsUpdate::from_c`]): below 109 bytes is invalid, fields that do not lie wholly
    /// within `size` are not read, and only fields whose IsSet bit is set are taken. The
    /// values are checked when the update is applied.
    ///
    /// # Safety
    /// `ptr` must be non-NULL and readable for `size` bytes; it need not be aligned.
    pub unsafe fn read_from(ptr: *const C, size: u32) -> Result<SettingsUpdate, Invalid> {
        if size < C::MIN_SIZE {
            return Err(Invalid("QUIC_SETTINGS size below 109 bytes"));
        }
        let n = size.min(FULL_SIZE) as usize;
        let mut c = C::default();
        // SAFETY: `ptr` is readable for `size >= n` bytes by the caller's contract; `c` is a
        // local of `FULL_SIZE >= n` bytes whose fields are all integers, so any bytes are a
        // valid value; byte copies need no alignment; the two cannot overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(ptr.cast::<u8>(), (&raw mut c).cast::<u8>(), n);
        }
        SettingsUpdate::from_c(&c, size)
    }

    /// [`read_from`](Self::read_from) as `ConfigurationOpen` uses it: a NULL pointer, or one
    /// whose `IsSetFlags` is 0, means no settings (MsQuic then skips the size check);
    /// otherwise the size rules apply. A non-NULL pointer with fewer than 8 bytes is invalid,
    /// since its `IsSetFlags` cannot be read.
    ///
    /// # Safety
    /// `ptr` must be NULL or readable for `size` bytes; it need not be aligned.
    pub unsafe fn read_optional(
        ptr: *const C,
        size: u32,
    ) -> Result<Option<SettingsUpdate>, Invalid> {
        if ptr.is_null() {
            return Ok(None);
        }
        if (size as usize) < size_of::<u64>() {
            return Err(Invalid("QUIC_SETTINGS size below 109 bytes"));
        }
        // SAFETY: `ptr` is readable for at least the 8 bytes of `IsSetFlags` (offset 0); the
        // read tolerates misalignment.
        let flags = unsafe { ptr.cast::<u64>().read_unaligned() };
        if flags == 0 {
            return Ok(None);
        }
        // SAFETY: the caller's contract is `read_from`'s.
        unsafe { Self::read_from(ptr, size) }.map(Some)
    }

    /// Writes these settings into an application's `QUIC_SETTINGS` of `size` bytes, as
    /// MsQuic's GetParam does: every field that lies wholly within `size`, and in
    /// `IsSetFlags` the bits of the explicitly set fields among them. Padding and bytes
    /// beyond the fields written are left untouched. Returns the bytes the struct occupies
    /// (`size`, at most 144), or 0 without writing if `size` is below 109.
    ///
    /// # Safety
    /// `ptr` must be writable for `size` bytes; it need not be aligned.
    pub unsafe fn write_to(&self, ptr: *mut C, size: u32) -> u32 {
        if size < C::MIN_SIZE {
            return 0;
        }
        let mut c = self.to_c();
        c.IsSetFlags &= fields_within(size);
        let src = (&raw const c).cast::<u8>();
        let dst = ptr.cast::<u8>();
        let fixed = C::MIN_SIZE as usize;
        // SAFETY: `dst` is writable for `size >= 109` bytes by the caller's contract; the
        // first 109 bytes of `c` are its fields from `IsSetFlags` through
        // `MtuDiscoveryMissingProbeCount`, laid out without padding, so all are initialized;
        // byte copies need no alignment; `c` is a local, so no overlap.
        unsafe { core::ptr::copy_nonoverlapping(src, dst, fixed) };
        for (start, end) in SIZED_RANGES {
            if end > size as usize {
                break;
            }
            // SAFETY: `start..end` is one field of `c` (initialized) and lies within the
            // `size` writable bytes of `dst`; as above for alignment and overlap.
            unsafe { core::ptr::copy_nonoverlapping(src.add(start), dst.add(start), end - start) };
        }
        size.min(FULL_SIZE)
    }
}
