//! `QUIC_CONNECTION_EVENT` (56 bytes with preview features, 32 without).

use core::ffi::c_void;

use super::{bit, with_bit};
use crate::api::abi::{
    BOOLEAN, HQUIC, QUIC_ADDR, QUIC_BUFFER, QUIC_CERTIFICATE, QUIC_CERTIFICATE_CHAIN,
    QUIC_DATAGRAM_SEND_STATE, QUIC_NETWORK_STATISTICS, QUIC_RECEIVE_FLAGS, QUIC_STATUS,
    QUIC_STREAM_OPEN_FLAGS, QUIC_UINT62,
};

/// `QUIC_CONNECTION_EVENT_TYPE`: which member of a connection event's union is valid.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_CONNECTION_EVENT_TYPE(pub u32);
/// The handshake completed.
pub const QUIC_CONNECTION_EVENT_CONNECTED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(0);
/// The transport began closing the connection (error, idle timeout).
pub const QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(1);
/// The peer application closed the connection.
pub const QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(2);
/// Shutdown finished: the handle may be closed.
pub const QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(3);
/// The local address changed.
pub const QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(4);
/// The peer's address changed.
pub const QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(5);
/// The peer opened a stream.
pub const QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(6);
/// The peer allows a new number of streams.
pub const QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(7);
/// The peer wants to open more streams than allowed.
pub const QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(8);
/// The connection's ideal processor changed.
pub const QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(9);
/// Datagram sending became possible or impossible.
pub const QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(10);
/// A datagram arrived.
pub const QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(11);
/// A sent datagram changed state.
pub const QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(12);
/// A server resumed a session (server only).
pub const QUIC_CONNECTION_EVENT_RESUMED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(13);
/// A client received a resumption ticket (client only).
pub const QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(14);
/// The peer's certificate arrived (with `QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED`).
pub const QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(15);
/// Reliable reset was negotiated (preview).
#[cfg(msquic_preview)]
pub const QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(16);
/// One-way delay timestamps were negotiated (preview).
#[cfg(msquic_preview)]
pub const QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(17);
/// Periodic path statistics (preview; with `NetStatsEventEnabled`).
#[cfg(msquic_preview)]
pub const QUIC_CONNECTION_EVENT_NETWORK_STATISTICS: QUIC_CONNECTION_EVENT_TYPE =
    QUIC_CONNECTION_EVENT_TYPE(18);

/// Payload of `QUIC_CONNECTION_EVENT_CONNECTED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_CONNECTED_PAYLOAD {
    /// Whether a session was resumed.
    pub SessionResumed: BOOLEAN,
    /// Length of `NegotiatedAlpn`.
    pub NegotiatedAlpnLength: u8,
    /// The negotiated ALPN (not NUL-terminated).
    pub NegotiatedAlpn: *const u8,
}

/// Payload of `QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT_PAYLOAD {
    /// Why, as a status.
    pub Status: QUIC_STATUS,
    /// The transport error code on the wire.
    pub ErrorCode: QUIC_UINT62,
}

/// Payload of `QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER_PAYLOAD {
    /// The peer application's error code.
    pub ErrorCode: QUIC_UINT62,
}

/// Payload of `QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE_PAYLOAD {
    /// C bitfields: HandshakeCompleted (bit 0), PeerAcknowledgedShutdown (1),
    /// AppCloseInProgress (2).
    pub Bitfields: BOOLEAN,
}

impl QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE_PAYLOAD {
    /// A payload with the three flags as given.
    pub const fn new(
        handshake_completed: bool,
        peer_acknowledged_shutdown: bool,
        app_close_in_progress: bool,
    ) -> Self {
        let b = with_bit(0, 0, handshake_completed);
        let b = with_bit(b, 1, peer_acknowledged_shutdown);
        Self {
            Bitfields: with_bit(b, 2, app_close_in_progress),
        }
    }
    /// `HandshakeCompleted`.
    pub const fn handshake_completed(&self) -> bool {
        bit(self.Bitfields, 0)
    }
    /// `PeerAcknowledgedShutdown`.
    pub const fn peer_acknowledged_shutdown(&self) -> bool {
        bit(self.Bitfields, 1)
    }
    /// `AppCloseInProgress`: the event comes from inside `ConnectionClose`.
    pub const fn app_close_in_progress(&self) -> bool {
        bit(self.Bitfields, 2)
    }
}

/// Payload of `QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED` and `PEER_ADDRESS_CHANGED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_ADDRESS_CHANGED_PAYLOAD {
    /// The new address.
    pub Address: *const QUIC_ADDR,
}

/// Payload of `QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED_PAYLOAD {
    /// The new stream; the application must set its callback.
    pub Stream: HQUIC,
    /// The stream's kind; the application may OR in `DELAY_ID_FC_UPDATES`.
    pub Flags: QUIC_STREAM_OPEN_FLAGS,
}

/// Payload of `QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE_PAYLOAD {
    /// Bidirectional streams that may be opened.
    pub BidirectionalCount: u16,
    /// Unidirectional streams that may be opened.
    pub UnidirectionalCount: u16,
}

/// Payload of `QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS_PAYLOAD {
    /// Whether the peer wants bidirectional streams.
    pub Bidirectional: BOOLEAN,
}

/// Payload of `QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED_PAYLOAD {
    /// The new ideal processor.
    pub IdealProcessor: u16,
    /// The new partition.
    pub PartitionIndex: u16,
}

/// Payload of `QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED_PAYLOAD {
    /// Whether datagrams may be sent.
    pub SendEnabled: BOOLEAN,
    /// The largest datagram that may be sent.
    pub MaxSendLength: u16,
}

/// Payload of `QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED_PAYLOAD {
    /// The datagram.
    pub Buffer: *const QUIC_BUFFER,
    /// Its properties.
    pub Flags: QUIC_RECEIVE_FLAGS,
}

/// Payload of `QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED_PAYLOAD {
    /// The context given to `DatagramSend` (the application may replace it).
    pub ClientContext: *mut c_void,
    /// The new state.
    pub State: QUIC_DATAGRAM_SEND_STATE,
}

/// Payload of `QUIC_CONNECTION_EVENT_RESUMED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_RESUMED_PAYLOAD {
    /// Length of `ResumptionState`.
    pub ResumptionStateLength: u16,
    /// Application data from the ticket.
    pub ResumptionState: *const u8,
}

/// Payload of `QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED_PAYLOAD {
    /// Length of `ResumptionTicket`.
    pub ResumptionTicketLength: u32,
    /// The ticket to keep for a later `QUIC_PARAM_CONN_RESUMPTION_TICKET`.
    pub ResumptionTicket: *const u8,
}

/// Payload of `QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED_PAYLOAD {
    /// The peer's certificate (a DER `QUIC_BUFFER` with portable certificates).
    pub Certificate: *mut QUIC_CERTIFICATE,
    /// Deferred error flags (Schannel; zero elsewhere).
    pub DeferredErrorFlags: u32,
    /// The most severe deferred validation error.
    pub DeferredStatus: QUIC_STATUS,
    /// The peer's chain (a PKCS#7 `QUIC_BUFFER` with portable certificates).
    pub Chain: *mut QUIC_CERTIFICATE_CHAIN,
}

/// Payload of `QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED` (preview).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED_PAYLOAD {
    /// Whether both ends support reliable reset.
    pub IsNegotiated: BOOLEAN,
}

/// Payload of `QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED` (preview).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED_PAYLOAD {
    /// Whether this end sends timestamps.
    pub SendNegotiated: BOOLEAN,
    /// Whether this end receives timestamps.
    pub ReceiveNegotiated: BOOLEAN,
}

/// The union of a connection event (anonymous in C).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub union QUIC_CONNECTION_EVENT_PAYLOAD {
    /// `QUIC_CONNECTION_EVENT_CONNECTED`.
    pub CONNECTED: QUIC_CONNECTION_EVENT_CONNECTED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT`.
    pub SHUTDOWN_INITIATED_BY_TRANSPORT:
        QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER`.
    pub SHUTDOWN_INITIATED_BY_PEER: QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE`.
    pub SHUTDOWN_COMPLETE: QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED`.
    pub LOCAL_ADDRESS_CHANGED: QUIC_CONNECTION_EVENT_ADDRESS_CHANGED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED`.
    pub PEER_ADDRESS_CHANGED: QUIC_CONNECTION_EVENT_ADDRESS_CHANGED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED`.
    pub PEER_STREAM_STARTED: QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE`.
    pub STREAMS_AVAILABLE: QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS`.
    pub PEER_NEEDS_STREAMS: QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED`.
    pub IDEAL_PROCESSOR_CHANGED: QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED`.
    pub DATAGRAM_STATE_CHANGED: QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED`.
    pub DATAGRAM_RECEIVED: QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED`.
    pub DATAGRAM_SEND_STATE_CHANGED: QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_RESUMED`.
    pub RESUMED: QUIC_CONNECTION_EVENT_RESUMED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED`.
    pub RESUMPTION_TICKET_RECEIVED: QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED`.
    pub PEER_CERTIFICATE_RECEIVED: QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED` (preview).
    pub RELIABLE_RESET_NEGOTIATED: QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED` (preview).
    pub ONE_WAY_DELAY_NEGOTIATED: QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED_PAYLOAD,
    /// `QUIC_CONNECTION_EVENT_NETWORK_STATISTICS` (preview).
    pub NETWORK_STATISTICS: QUIC_NETWORK_STATISTICS,
}

/// An event delivered to a connection callback. The library always writes the 56-byte preview
/// layout; an application built without preview features reads only the first 32 bytes.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QUIC_CONNECTION_EVENT {
    /// Which `payload` member is valid.
    pub Type: QUIC_CONNECTION_EVENT_TYPE,
    /// The event's data.
    pub payload: QUIC_CONNECTION_EVENT_PAYLOAD,
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    type E = QUIC_CONNECTION_EVENT;
    assert!(size_of::<QUIC_CONNECTION_EVENT_TYPE>() == 4);
    assert!(size_of::<E>() == 56 && align_of::<E>() == 8);
    assert!(offset_of!(E, Type) == 0);
    assert!(offset_of!(E, payload) == 8);
    // Offsets within the event (msquic-abi.md §3.7) are 8 + the offset within the payload.
    type C = QUIC_CONNECTION_EVENT_CONNECTED_PAYLOAD;
    assert!(8 + offset_of!(C, SessionResumed) == 8);
    assert!(8 + offset_of!(C, NegotiatedAlpnLength) == 9);
    assert!(8 + offset_of!(C, NegotiatedAlpn) == 16);
    type T = QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT_PAYLOAD;
    assert!(8 + offset_of!(T, Status) == 8);
    assert!(8 + offset_of!(T, ErrorCode) == 16);
    type P = QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER_PAYLOAD;
    assert!(8 + offset_of!(P, ErrorCode) == 8);
    assert!(size_of::<QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE_PAYLOAD>() == 1);
    assert!(8 + offset_of!(QUIC_CONNECTION_EVENT_ADDRESS_CHANGED_PAYLOAD, Address) == 8);
    type S = QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED_PAYLOAD;
    assert!(8 + offset_of!(S, Stream) == 8);
    assert!(8 + offset_of!(S, Flags) == 16);
    type A = QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE_PAYLOAD;
    assert!(8 + offset_of!(A, BidirectionalCount) == 8);
    assert!(8 + offset_of!(A, UnidirectionalCount) == 10);
    assert!(
        8 + offset_of!(
            QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS_PAYLOAD,
            Bidirectional
        ) == 8
    );
    type I = QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED_PAYLOAD;
    assert!(8 + offset_of!(I, IdealProcessor) == 8);
    assert!(8 + offset_of!(I, PartitionIndex) == 10);
    type Ds = QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED_PAYLOAD;
    assert!(8 + offset_of!(Ds, SendEnabled) == 8);
    assert!(8 + offset_of!(Ds, MaxSendLength) == 10);
    type Dr = QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED_PAYLOAD;
    assert!(8 + offset_of!(Dr, Buffer) == 8);
    assert!(8 + offset_of!(Dr, Flags) == 16);
    type Dss = QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED_PAYLOAD;
    assert!(8 + offset_of!(Dss, ClientContext) == 8);
    assert!(8 + offset_of!(Dss, State) == 16);
    type R = QUIC_CONNECTION_EVENT_RESUMED_PAYLOAD;
    assert!(8 + offset_of!(R, ResumptionStateLength) == 8);
    assert!(8 + offset_of!(R, ResumptionState) == 16);
    type Rt = QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED_PAYLOAD;
    assert!(8 + offset_of!(Rt, ResumptionTicketLength) == 8);
    assert!(8 + offset_of!(Rt, ResumptionTicket) == 16);
    type Pc = QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED_PAYLOAD;
    assert!(8 + offset_of!(Pc, Certificate) == 8);
    assert!(8 + offset_of!(Pc, DeferredErrorFlags) == 16);
    assert!(8 + offset_of!(Pc, DeferredStatus) == 20);
    assert!(8 + offset_of!(Pc, Chain) == 24);
    // Without preview the largest member is PEER_CERTIFICATE_RECEIVED: 8 + 24 = 32 bytes.
    assert!(8 + size_of::<Pc>() == 32);
    type Rr = QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED_PAYLOAD;
    assert!(8 + offset_of!(Rr, IsNegotiated) == 8);
    type Ow = QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED_PAYLOAD;
    assert!(8 + offset_of!(Ow, SendNegotiated) == 8);
    assert!(8 + offset_of!(Ow, ReceiveNegotiated) == 9);
    assert!(8 + size_of::<QUIC_NETWORK_STATISTICS>() == 56);
};
