//! Statistics structs: connection (v1 and size-versioned v2), listener, stream and network.

/// `Timing` member of `QUIC_STATISTICS` (an anonymous struct type in C).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STATISTICS_TIMING {
    /// When the connection started (microseconds, platform clock).
    pub Start: u64,
    /// When the peer's Initial flight was processed.
    pub InitialFlightEnd: u64,
    /// When the peer's Handshake flight was processed.
    pub HandshakeFlightEnd: u64,
}

/// `Handshake` member of `QUIC_STATISTICS`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STATISTICS_HANDSHAKE {
    /// TLS bytes of the client's first flight.
    pub ClientFlight1Bytes: u32,
    /// TLS bytes of the server's first flight.
    pub ServerFlight1Bytes: u32,
    /// TLS bytes of the client's second flight.
    pub ClientFlight2Bytes: u32,
}

/// `Send` member of `QUIC_STATISTICS`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STATISTICS_SEND {
    /// Current path MTU.
    pub PathMtu: u16,
    /// Packets sent.
    pub TotalPackets: u64,
    /// Packets sent that needed acknowledgement.
    pub RetransmittablePackets: u64,
    /// Packets suspected lost.
    pub SuspectedLostPackets: u64,
    /// Suspected losses that were acknowledged after all.
    pub SpuriousLostPackets: u64,
    /// Bytes sent.
    pub TotalBytes: u64,
    /// Stream payload bytes sent.
    pub TotalStreamBytes: u64,
    /// Congestion events.
    pub CongestionCount: u32,
    /// Persistent congestion events.
    pub PersistentCongestionCount: u32,
}

/// `Recv` member of `QUIC_STATISTICS`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STATISTICS_RECV {
    /// Packets received.
    pub TotalPackets: u64,
    /// Packets received out of order.
    pub ReorderedPackets: u64,
    /// Packets dropped (duplicates included).
    pub DroppedPackets: u64,
    /// Duplicate packets.
    pub DuplicatePackets: u64,
    /// Bytes received.
    pub TotalBytes: u64,
    /// Stream payload bytes received.
    pub TotalStreamBytes: u64,
    /// Packets that failed decryption.
    pub DecryptionFailures: u64,
    /// ACK frames received.
    pub ValidAckFrames: u64,
}

/// `Misc` member of `QUIC_STATISTICS`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STATISTICS_MISC {
    /// Key updates.
    pub KeyUpdateCount: u32,
}

/// Connection statistics, first version (`QUIC_PARAM_CONN_STATISTICS`, 200 bytes). Written by
/// hand in the header (bitfields and anonymous member struct types).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STATISTICS {
    /// Correlation id of the connection.
    pub CorrelationId: u64,
    /// C bitfields: VersionNegotiation (bit 0), StatelessRetry (1), ResumptionAttempted (2),
    /// ResumptionSucceeded (3).
    pub Bitfields: u32,
    /// Smoothed RTT, in microseconds.
    pub Rtt: u32,
    /// Smallest RTT, in microseconds.
    pub MinRtt: u32,
    /// Largest RTT, in microseconds.
    pub MaxRtt: u32,
    /// Handshake timing.
    pub Timing: QUIC_STATISTICS_TIMING,
    /// Handshake flight sizes.
    pub Handshake: QUIC_STATISTICS_HANDSHAKE,
    /// Send counters.
    pub Send: QUIC_STATISTICS_SEND,
    /// Receive counters.
    pub Recv: QUIC_STATISTICS_RECV,
    /// Other counters.
    pub Misc: QUIC_STATISTICS_MISC,
}

/// Connection statistics, size-versioned (`QUIC_PARAM_CONN_STATISTICS_V2`): callers pass at
/// least `QUIC_STATISTICS_V2_SIZE_1` bytes and get every field that fits. Written by hand in
/// the header (bitfields; the last six fields are preview).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STATISTICS_V2 {
    /// Correlation id of the connection.
    pub CorrelationId: u64,
    /// C bitfields: VersionNegotiation (bit 0), StatelessRetry (1), ResumptionAttempted (2),
    /// ResumptionSucceeded (3), GreaseBitNegotiated (4), EcnCapable (5),
    /// EncryptionOffloaded (6).
    pub Bitfields: u32,
    /// Smoothed RTT, in microseconds.
    pub Rtt: u32,
    /// Smallest RTT, in microseconds.
    pub MinRtt: u32,
    /// Largest RTT, in microseconds.
    pub MaxRtt: u32,
    /// When the connection started.
    pub TimingStart: u64,
    /// When the peer's Initial flight was processed.
    pub TimingInitialFlightEnd: u64,
    /// When the peer's Handshake flight was processed.
    pub TimingHandshakeFlightEnd: u64,
    /// TLS bytes of the client's first flight.
    pub HandshakeClientFlight1Bytes: u32,
    /// TLS bytes of the server's first flight.
    pub HandshakeServerFlight1Bytes: u32,
    /// TLS bytes of the client's second flight.
    pub HandshakeClientFlight2Bytes: u32,
    /// Current path MTU.
    pub SendPathMtu: u16,
    /// Packets sent.
    pub SendTotalPackets: u64,
    /// Packets sent that needed acknowledgement.
    pub SendRetransmittablePackets: u64,
    /// Packets suspected lost.
    pub SendSuspectedLostPackets: u64,
    /// Suspected losses acknowledged after all.
    pub SendSpuriousLostPackets: u64,
    /// Bytes sent.
    pub SendTotalBytes: u64,
    /// Stream payload bytes sent.
    pub SendTotalStreamBytes: u64,
    /// Congestion events.
    pub SendCongestionCount: u32,
    /// Persistent congestion events.
    pub SendPersistentCongestionCount: u32,
    /// Packets received.
    pub RecvTotalPackets: u64,
    /// Packets received out of order.
    pub RecvReorderedPackets: u64,
    /// Packets dropped.
    pub RecvDroppedPackets: u64,
    /// Duplicate packets.
    pub RecvDuplicatePackets: u64,
    /// Bytes received.
    pub RecvTotalBytes: u64,
    /// Stream payload bytes received.
    pub RecvTotalStreamBytes: u64,
    /// Packets that failed decryption.
    pub RecvDecryptionFailures: u64,
    /// ACK frames received.
    pub RecvValidAckFrames: u64,
    /// Key updates.
    pub KeyUpdateCount: u32,
    /// Congestion window, in bytes.
    pub SendCongestionWindow: u32,
    /// Destination connection id changes.
    pub DestCidUpdateCount: u32,
    /// Congestion events caused by ECN.
    pub SendEcnCongestionCount: u32,
    /// TTL of the handshake's first packet.
    pub HandshakeHopLimitTTL: u8,
    /// RTT variance, in microseconds.
    pub RttVariance: u32,
    /// Average connection queue delay, in microseconds (preview).
    pub ConnectionQueueDelayAvgUs: u32,
    /// Largest connection queue delay, in microseconds (preview).
    pub ConnectionQueueDelayMaxUs: u32,
    /// Average send queue delay, in microseconds (preview).
    pub SendQueueDelayAvgUs: u32,
    /// Largest send queue delay, in microseconds (preview).
    pub SendQueueDelayMaxUs: u32,
    /// Average receive queue delay, in microseconds (preview).
    pub ReceiveQueueDelayAvgUs: u32,
    /// Largest receive queue delay, in microseconds (preview).
    pub ReceiveQueueDelayMaxUs: u32,
}

/// `QUIC_STATISTICS_V2` through `KeyUpdateCount` (MsQuic 2.0).
pub const QUIC_STATISTICS_V2_SIZE_1: u32 = 188;
/// `QUIC_STATISTICS_V2` through `DestCidUpdateCount` (MsQuic 2.1).
pub const QUIC_STATISTICS_V2_SIZE_2: u32 = 196;
/// `QUIC_STATISTICS_V2` through `SendEcnCongestionCount` (MsQuic 2.2).
pub const QUIC_STATISTICS_V2_SIZE_3: u32 = 200;
/// `QUIC_STATISTICS_V2` through `RttVariance` (MsQuic 2.5).
pub const QUIC_STATISTICS_V2_SIZE_4: u32 = 208;
/// `QUIC_STATISTICS_V2` through `ReceiveQueueDelayMaxUs` (MsQuic 2.6, preview).
#[cfg(msquic_preview)]
pub const QUIC_STATISTICS_V2_SIZE_5: u32 = 232;

/// Listener statistics (`QUIC_PARAM_LISTENER_STATS`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_LISTENER_STATISTICS {
    /// Connections accepted.
    pub TotalAcceptedConnections: u64,
    /// Connections rejected.
    pub TotalRejectedConnections: u64,
    /// Packets the listener's binding dropped.
    pub BindingRecvDroppedPackets: u64,
}

/// Path statistics (`QUIC_PARAM_CONN_NETWORK_STATISTICS` and the `NETWORK_STATISTICS` event).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_NETWORK_STATISTICS {
    /// Bytes sent and not yet acknowledged.
    pub BytesInFlight: u32,
    /// Bytes queued and not yet acknowledged.
    pub PostedBytes: u64,
    /// Bytes that should be queued to not limit throughput.
    pub IdealBytes: u64,
    /// Smoothed RTT, in microseconds.
    pub SmoothedRTT: u64,
    /// Congestion window, in bytes.
    pub CongestionWindow: u32,
    /// Estimated bandwidth.
    pub Bandwidth: u64,
}

/// Where a stream's sending was blocked, in microseconds (`QUIC_PARAM_STREAM_STATISTICS`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STREAM_STATISTICS {
    /// Connection blocked by the stream scheduler.
    pub ConnBlockedBySchedulingUs: u64,
    /// Connection blocked by pacing.
    pub ConnBlockedByPacingUs: u64,
    /// Connection blocked by amplification protection.
    pub ConnBlockedByAmplificationProtUs: u64,
    /// Connection blocked by congestion control.
    pub ConnBlockedByCongestionControlUs: u64,
    /// Connection blocked by connection flow control.
    pub ConnBlockedByFlowControlUs: u64,
    /// Stream blocked by the stream-count limit.
    pub StreamBlockedByIdFlowControlUs: u64,
    /// Stream blocked by stream flow control.
    pub StreamBlockedByFlowControlUs: u64,
    /// Stream blocked waiting for the application.
    pub StreamBlockedByAppUs: u64,
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    // QUIC_STATISTICS (v1): msquic-abi.md gives the size; member offsets follow the SysV rules.
    type V1 = QUIC_STATISTICS;
    assert!(size_of::<V1>() == 200 && align_of::<V1>() == 8);
    assert!(offset_of!(V1, Bitfields) == 8);
    assert!(offset_of!(V1, Rtt) == 12);
    assert!(offset_of!(V1, MinRtt) == 16);
    assert!(offset_of!(V1, MaxRtt) == 20);
    assert!(offset_of!(V1, Timing) == 24);
    assert!(offset_of!(V1, Handshake) == 48);
    assert!(offset_of!(V1, Send) == 64);
    assert!(offset_of!(V1, Recv) == 128);
    assert!(offset_of!(V1, Misc) == 192);
    assert!(offset_of!(QUIC_STATISTICS_SEND, TotalPackets) == 8);
    assert!(offset_of!(QUIC_STATISTICS_SEND, CongestionCount) == 56);

    type V2 = QUIC_STATISTICS_V2;
    assert!(size_of::<V2>() == 232 && align_of::<V2>() == 8);
    assert!(offset_of!(V2, CorrelationId) == 0);
    assert!(offset_of!(V2, Bitfields) == 8);
    assert!(offset_of!(V2, Rtt) == 12);
    assert!(offset_of!(V2, MinRtt) == 16);
    assert!(offset_of!(V2, MaxRtt) == 20);
    assert!(offset_of!(V2, TimingStart) == 24);
    assert!(offset_of!(V2, TimingInitialFlightEnd) == 32);
    assert!(offset_of!(V2, TimingHandshakeFlightEnd) == 40);
    assert!(offset_of!(V2, HandshakeClientFlight1Bytes) == 48);
    assert!(offset_of!(V2, HandshakeServerFlight1Bytes) == 52);
    assert!(offset_of!(V2, HandshakeClientFlight2Bytes) == 56);
    assert!(offset_of!(V2, SendPathMtu) == 60);
    assert!(offset_of!(V2, SendTotalPackets) == 64);
    assert!(offset_of!(V2, SendRetransmittablePackets) == 72);
    assert!(offset_of!(V2, SendSuspectedLostPackets) == 80);
    assert!(offset_of!(V2, SendSpuriousLostPackets) == 88);
    assert!(offset_of!(V2, SendTotalBytes) == 96);
    assert!(offset_of!(V2, SendTotalStreamBytes) == 104);
    assert!(offset_of!(V2, SendCongestionCount) == 112);
    assert!(offset_of!(V2, SendPersistentCongestionCount) == 116);
    assert!(offset_of!(V2, RecvTotalPackets) == 120);
    assert!(offset_of!(V2, RecvReorderedPackets) == 128);
    assert!(offset_of!(V2, RecvDroppedPackets) == 136);
    assert!(offset_of!(V2, RecvDuplicatePackets) == 144);
    assert!(offset_of!(V2, RecvTotalBytes) == 152);
    assert!(offset_of!(V2, RecvTotalStreamBytes) == 160);
    assert!(offset_of!(V2, RecvDecryptionFailures) == 168);
    assert!(offset_of!(V2, RecvValidAckFrames) == 176);
    assert!(offset_of!(V2, KeyUpdateCount) == 184);
    assert!(offset_of!(V2, SendCongestionWindow) == 188);
    assert!(offset_of!(V2, DestCidUpdateCount) == 192);
    assert!(offset_of!(V2, SendEcnCongestionCount) == 196);
    assert!(offset_of!(V2, HandshakeHopLimitTTL) == 200);
    assert!(offset_of!(V2, RttVariance) == 204);
    assert!(offset_of!(V2, ConnectionQueueDelayAvgUs) == 208);
    assert!(offset_of!(V2, ConnectionQueueDelayMaxUs) == 212);
    assert!(offset_of!(V2, SendQueueDelayAvgUs) == 216);
    assert!(offset_of!(V2, SendQueueDelayMaxUs) == 220);
    assert!(offset_of!(V2, ReceiveQueueDelayAvgUs) == 224);
    assert!(offset_of!(V2, ReceiveQueueDelayMaxUs) == 228);
    assert!(QUIC_STATISTICS_V2_SIZE_1 == 188);
    assert!(QUIC_STATISTICS_V2_SIZE_2 == 196);
    assert!(QUIC_STATISTICS_V2_SIZE_3 == 200);
    assert!(QUIC_STATISTICS_V2_SIZE_4 == 208);
    assert!(QUIC_STATISTICS_V2_SIZE_5 == 232);

    assert!(size_of::<QUIC_LISTENER_STATISTICS>() == 24);
    assert!(offset_of!(QUIC_LISTENER_STATISTICS, TotalAcceptedConnections) == 0);
    assert!(offset_of!(QUIC_LISTENER_STATISTICS, TotalRejectedConnections) == 8);
    assert!(offset_of!(QUIC_LISTENER_STATISTICS, BindingRecvDroppedPackets) == 16);

    type N = QUIC_NETWORK_STATISTICS;
    assert!(size_of::<N>() == 48 && align_of::<N>() == 8);
    assert!(offset_of!(N, BytesInFlight) == 0);
    assert!(offset_of!(N, PostedBytes) == 8);
    assert!(offset_of!(N, IdealBytes) == 16);
    assert!(offset_of!(N, SmoothedRTT) == 24);
    assert!(offset_of!(N, CongestionWindow) == 32);
    assert!(offset_of!(N, Bandwidth) == 40);

    type St = QUIC_STREAM_STATISTICS;
    assert!(size_of::<St>() == 64 && align_of::<St>() == 8);
    assert!(offset_of!(St, ConnBlockedBySchedulingUs) == 0);
    assert!(offset_of!(St, ConnBlockedByPacingUs) == 8);
    assert!(offset_of!(St, ConnBlockedByAmplificationProtUs) == 16);
    assert!(offset_of!(St, ConnBlockedByCongestionControlUs) == 24);
    assert!(offset_of!(St, ConnBlockedByFlowControlUs) == 32);
    assert!(offset_of!(St, StreamBlockedByIdFlowControlUs) == 40);
    assert!(offset_of!(St, StreamBlockedByFlowControlUs) == 48);
    assert!(offset_of!(St, StreamBlockedByAppUs) == 56);
};
