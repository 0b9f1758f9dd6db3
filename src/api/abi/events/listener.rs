//! `QUIC_LISTENER_EVENT` (24 bytes).

use super::{bit, with_bit};
use crate::api::abi::{BOOLEAN, HQUIC, QUIC_NEW_CONNECTION_INFO};

/// `QUIC_LISTENER_EVENT_TYPE`: which member of a listener event's union is valid.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QUIC_LISTENER_EVENT_TYPE(pub u32);
/// A client connected; the application takes the connection or rejects it.
pub const QUIC_LISTENER_EVENT_NEW_CONNECTION: QUIC_LISTENER_EVENT_TYPE =
    QUIC_LISTENER_EVENT_TYPE(0);
/// `ListenerStop` finished.
pub const QUIC_LISTENER_EVENT_STOP_COMPLETE: QUIC_LISTENER_EVENT_TYPE = QUIC_LISTENER_EVENT_TYPE(1);
/// The listener entered or left DoS mode (with `QUIC_PARAM_DOS_MODE_EVENTS`).
pub const QUIC_LISTENER_EVENT_DOS_MODE_CHANGED: QUIC_LISTENER_EVENT_TYPE =
    QUIC_LISTENER_EVENT_TYPE(2);

/// Payload of `QUIC_LISTENER_EVENT_NEW_CONNECTION`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_LISTENER_EVENT_NEW_CONNECTION_PAYLOAD {
    /// What is known about the connection.
    pub Info: *const QUIC_NEW_CONNECTION_INFO,
    /// The new connection; the application must set its callback or reject it.
    pub Connection: HQUIC,
}

/// Payload of `QUIC_LISTENER_EVENT_STOP_COMPLETE`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_LISTENER_EVENT_STOP_COMPLETE_PAYLOAD {
    /// C bitfields: AppCloseInProgress (bit 0).
    pub Bitfields: BOOLEAN,
}

impl QUIC_LISTENER_EVENT_STOP_COMPLETE_PAYLOAD {
    /// A payload with `AppCloseInProgress` as given.
    pub const fn new(app_close_in_progress: bool) -> Self {
        Self {
            Bitfields: with_bit(0, 0, app_close_in_progress),
        }
    }
    /// `AppCloseInProgress`: the stop was caused by `ListenerClose`.
    pub const fn app_close_in_progress(&self) -> bool {
        bit(self.Bitfields, 0)
    }
}

/// Payload of `QUIC_LISTENER_EVENT_DOS_MODE_CHANGED`.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_LISTENER_EVENT_DOS_MODE_CHANGED_PAYLOAD {
    /// C bitfields: DosModeEnabled (bit 0).
    pub Bitfields: BOOLEAN,
}

impl QUIC_LISTENER_EVENT_DOS_MODE_CHANGED_PAYLOAD {
    /// A payload with `DosModeEnabled` as given.
    pub const fn new(dos_mode_enabled: bool) -> Self {
        Self {
            Bitfields: with_bit(0, 0, dos_mode_enabled),
        }
    }
    /// `DosModeEnabled`.
    pub const fn dos_mode_enabled(&self) -> bool {
        bit(self.Bitfields, 0)
    }
}

/// The union of a listener event (anonymous in C).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub union QUIC_LISTENER_EVENT_PAYLOAD {
    /// `QUIC_LISTENER_EVENT_NEW_CONNECTION`.
    pub NEW_CONNECTION: QUIC_LISTENER_EVENT_NEW_CONNECTION_PAYLOAD,
    /// `QUIC_LISTENER_EVENT_STOP_COMPLETE`.
    pub STOP_COMPLETE: QUIC_LISTENER_EVENT_STOP_COMPLETE_PAYLOAD,
    /// `QUIC_LISTENER_EVENT_DOS_MODE_CHANGED`.
    pub DOS_MODE_CHANGED: QUIC_LISTENER_EVENT_DOS_MODE_CHANGED_PAYLOAD,
}

/// An event delivered to a listener callback.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QUIC_LISTENER_EVENT {
    /// Which `payload` member is valid.
    pub Type: QUIC_LISTENER_EVENT_TYPE,
    /// The event's data.
    pub payload: QUIC_LISTENER_EVENT_PAYLOAD,
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<QUIC_LISTENER_EVENT_TYPE>() == 4);
    assert!(size_of::<QUIC_LISTENER_EVENT>() == 24 && align_of::<QUIC_LISTENER_EVENT>() == 8);
    assert!(offset_of!(QUIC_LISTENER_EVENT, Type) == 0);
    assert!(offset_of!(QUIC_LISTENER_EVENT, payload) == 8);
    assert!(offset_of!(QUIC_LISTENER_EVENT_NEW_CONNECTION_PAYLOAD, Info) == 0);
    assert!(offset_of!(QUIC_LISTENER_EVENT_NEW_CONNECTION_PAYLOAD, Connection) == 8);
    assert!(size_of::<QUIC_LISTENER_EVENT_STOP_COMPLETE_PAYLOAD>() == 1);
    assert!(size_of::<QUIC_LISTENER_EVENT_DOS_MODE_CHANGED_PAYLOAD>() == 1);
};
