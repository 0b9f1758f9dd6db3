//! `QUIC_STREAM_EVENT` (40 bytes, with or without preview features).

use core::ffi::c_void;

use super::{bit, with_bit};
use crate::api::abi::{BOOLEAN, QUIC_BUFFER, QUIC_RECEIVE_FLAGS, QUIC_STATUS, QUIC_UINT62};

/// `QUIC_STREAM_EVENT_TYPE`: which member of a stream event's union is valid.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_STREAM_EVENT_TYPE(pub u32);
/// `StreamStart` finished.
pub const QUIC_STREAM_EVENT_START_COMPLETE: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(0);
/// Data arrived.
pub const QUIC_STREAM_EVENT_RECEIVE: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(1);
/// A `StreamSend` finished; its buffers may be reused.
pub const QUIC_STREAM_EVENT_SEND_COMPLETE: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(2);
/// The peer finished sending (FIN).
pub const QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(3);
/// The peer aborted its sending (RESET_STREAM).
pub const QUIC_STREAM_EVENT_PEER_SEND_ABORTED: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(4);
/// The peer aborted its receiving (STOP_SENDING).
pub const QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED: QUIC_STREAM_EVENT_TYPE =
    QUIC_STREAM_EVENT_TYPE(5);
/// This side's sending finished.
pub const QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE: QUIC_STREAM_EVENT_TYPE =
    QUIC_STREAM_EVENT_TYPE(6);
/// Both directions finished: the handle may be closed.
pub const QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(7);
/// The amount of data worth keeping queued changed.
pub const QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE: QUIC_STREAM_EVENT_TYPE =
    QUIC_STREAM_EVENT_TYPE(8);
/// The peer accepted a stream that started blocked.
pub const QUIC_STREAM_EVENT_PEER_ACCEPTED: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(9);
/// Data sent with `CANCEL_ON_LOSS` was lost; the application picks the reset code.
pub const QUIC_STREAM_EVENT_CANCEL_ON_LOSS: QUIC_STREAM_EVENT_TYPE = QUIC_STREAM_EVENT_TYPE(10);
/// The stream needs more application-owned receive buffers (preview).
#[cfg(msquic_preview)]
pub const QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED: QUIC_STREAM_EVENT_TYPE =
    QUIC_STREAM_EVENT_TYPE(11);

/// Payload of `QUIC_STREAM_EVENT_START_COMPLETE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STREAM_EVENT_START_COMPLETE_PAYLOAD {
    /// The outcome.
    pub Status: QUIC_STATUS,
    /// The stream id.
    pub ID: QUIC_UINT62,
    /// C bitfields: PeerAccepted (bit 0).
    pub Bitfields: BOOLEAN,
}

impl QUIC_STREAM_EVENT_START_COMPLETE_PAYLOAD {
    /// A payload with `PeerAccepted` as given.
    pub const fn new(status: QUIC_STATUS, id: QUIC_UINT62, peer_accepted: bool) -> Self {
        Self {
            Status: status,
            ID: id,
            Bitfields: with_bit(0, 0, peer_accepted),
        }
    }
    /// `PeerAccepted`: the peer's stream limit already allows the stream.
    pub const fn peer_accepted(&self) -> bool {
        bit(self.Bitfields, 0)
    }
}

/// Payload of `QUIC_STREAM_EVENT_RECEIVE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_STREAM_EVENT_RECEIVE_PAYLOAD {
    /// Stream offset of the first byte.
    pub AbsoluteOffset: u64,
    /// Bytes in `Buffers`; the application may lower it to what it consumed.
    pub TotalBufferLength: u64,
    /// The data.
    pub Buffers: *const QUIC_BUFFER,
    /// Number of `Buffers`.
    pub BufferCount: u32,
    /// Properties of the data.
    pub Flags: QUIC_RECEIVE_FLAGS,
}

/// Payload of `QUIC_STREAM_EVENT_SEND_COMPLETE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_STREAM_EVENT_SEND_COMPLETE_PAYLOAD {
    /// Whether the send was canceled.
    pub Canceled: BOOLEAN,
    /// The context given to `StreamSend`.
    pub ClientContext: *mut c_void,
}

/// Payload of `QUIC_STREAM_EVENT_PEER_SEND_ABORTED`, `PEER_RECEIVE_ABORTED` and
/// `CANCEL_ON_LOSS` (where the application writes `ErrorCode`).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STREAM_EVENT_ERROR_CODE_PAYLOAD {
    /// The application error code.
    pub ErrorCode: QUIC_UINT62,
}

/// Payload of `QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE_PAYLOAD {
    /// Whether the send direction ended with FIN.
    pub Graceful: BOOLEAN,
}

/// Payload of `QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD {
    /// Whether the stream ended because the connection did.
    pub ConnectionShutdown: BOOLEAN,
    /// C bitfields: AppCloseInProgress (bit 0), ConnectionShutdownByApp (1),
    /// ConnectionClosedRemotely (2).
    pub Bitfields: BOOLEAN,
    /// The connection's error code, if it shut down.
    pub ConnectionErrorCode: QUIC_UINT62,
    /// The connection's close status, if it shut down.
    pub ConnectionCloseStatus: QUIC_STATUS,
}

impl QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD {
    /// Sets the three bitfield flags.
    pub const fn with_flags(
        mut self,
        app_close_in_progress: bool,
        connection_shutdown_by_app: bool,
        connection_closed_remotely: bool,
    ) -> Self {
        let b = with_bit(0, 0, app_close_in_progress);
        let b = with_bit(b, 1, connection_shutdown_by_app);
        self.Bitfields = with_bit(b, 2, connection_closed_remotely);
        self
    }
    /// `AppCloseInProgress`: the event comes from inside `StreamClose`.
    pub const fn app_close_in_progress(&self) -> bool {
        bit(self.Bitfields, 0)
    }
    /// `ConnectionShutdownByApp`.
    pub const fn connection_shutdown_by_app(&self) -> bool {
        bit(self.Bitfields, 1)
    }
    /// `ConnectionClosedRemotely`.
    pub const fn connection_closed_remotely(&self) -> bool {
        bit(self.Bitfields, 2)
    }
}

/// Payload of `QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE_PAYLOAD {
    /// Bytes worth keeping queued.
    pub ByteCount: u64,
}

/// Payload of `QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED` (preview).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED_PAYLOAD {
    /// Bytes of buffer space needed.
    pub BufferLengthNeeded: u64,
}

/// The union of a stream event (anonymous in C).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub union QUIC_STREAM_EVENT_PAYLOAD {
    /// `QUIC_STREAM_EVENT_START_COMPLETE`.
    pub START_COMPLETE: QUIC_STREAM_EVENT_START_COMPLETE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_RECEIVE`.
    pub RECEIVE: QUIC_STREAM_EVENT_RECEIVE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_SEND_COMPLETE`.
    pub SEND_COMPLETE: QUIC_STREAM_EVENT_SEND_COMPLETE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_PEER_SEND_ABORTED`.
    pub PEER_SEND_ABORTED: QUIC_STREAM_EVENT_ERROR_CODE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED`.
    pub PEER_RECEIVE_ABORTED: QUIC_STREAM_EVENT_ERROR_CODE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE`.
    pub SEND_SHUTDOWN_COMPLETE: QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE`.
    pub SHUTDOWN_COMPLETE: QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE`.
    pub IDEAL_SEND_BUFFER_SIZE: QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_CANCEL_ON_LOSS` (the application writes `ErrorCode`).
    pub CANCEL_ON_LOSS: QUIC_STREAM_EVENT_ERROR_CODE_PAYLOAD,
    /// `QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED` (preview).
    pub RECEIVE_BUFFER_NEEDED: QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED_PAYLOAD,
}

/// An event delivered to a stream callback.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QUIC_STREAM_EVENT {
    /// Which `payload` member is valid.
    pub Type: QUIC_STREAM_EVENT_TYPE,
    /// The event's data.
    pub payload: QUIC_STREAM_EVENT_PAYLOAD,
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    type E = QUIC_STREAM_EVENT;
    assert!(size_of::<QUIC_STREAM_EVENT_TYPE>() == 4);
    assert!(size_of::<E>() == 40 && align_of::<E>() == 8);
    assert!(offset_of!(E, Type) == 0);
    assert!(offset_of!(E, payload) == 8);
    // Offsets within the event (msquic-abi.md §3.8) are 8 + the offset within the payload.
    type Sc = QUIC_STREAM_EVENT_START_COMPLETE_PAYLOAD;
    assert!(8 + offset_of!(Sc, Status) == 8);
    assert!(8 + offset_of!(Sc, ID) == 16);
    assert!(8 + offset_of!(Sc, Bitfields) == 24);
    type R = QUIC_STREAM_EVENT_RECEIVE_PAYLOAD;
    assert!(8 + offset_of!(R, AbsoluteOffset) == 8);
    assert!(8 + offset_of!(R, TotalBufferLength) == 16);
    assert!(8 + offset_of!(R, Buffers) == 24);
    assert!(8 + offset_of!(R, BufferCount) == 32);
    assert!(8 + offset_of!(R, Flags) == 36);
    type Snd = QUIC_STREAM_EVENT_SEND_COMPLETE_PAYLOAD;
    assert!(8 + offset_of!(Snd, Canceled) == 8);
    assert!(8 + offset_of!(Snd, ClientContext) == 16);
    assert!(8 + offset_of!(QUIC_STREAM_EVENT_ERROR_CODE_PAYLOAD, ErrorCode) == 8);
    type Ssc = QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE_PAYLOAD;
    assert!(8 + offset_of!(Ssc, Graceful) == 8);
    type Sh = QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE_PAYLOAD;
    assert!(8 + offset_of!(Sh, ConnectionShutdown) == 8);
    assert!(8 + offset_of!(Sh, Bitfields) == 9);
    assert!(8 + offset_of!(Sh, ConnectionErrorCode) == 16);
    assert!(8 + offset_of!(Sh, ConnectionCloseStatus) == 24);
    type I = QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE_PAYLOAD;
    assert!(8 + offset_of!(I, ByteCount) == 8);
    type Rb = QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED_PAYLOAD;
    assert!(8 + offset_of!(Rb, BufferLengthNeeded) == 8);
};
