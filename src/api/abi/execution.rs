//! Application-driven execution (preview): thread configuration and execution contexts.

use super::QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS;

/// An event queue: an epoll file descriptor on Linux.
pub type QUIC_EVENTQ = core::ffi::c_int;

/// Worker thread configuration (`QUIC_PARAM_GLOBAL_EXECUTION_CONFIG`, preview). In C the
/// processor list runs past the struct: the real size is
/// `QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + ProcessorCount * sizeof(uint16_t)`.
#[cfg(msquic_preview)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_GLOBAL_EXECUTION_CONFIG {
    /// Options.
    pub Flags: QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS,
    /// How long an idle polling thread spins before it sleeps, in microseconds.
    pub PollingIdleTimeoutUs: u32,
    /// Number of entries in `ProcessorList`.
    pub ProcessorCount: u32,
    /// The processors to run threads on (`ProcessorCount` entries).
    pub ProcessorList: [u16; 1],
}

/// The smallest valid `QUIC_GLOBAL_EXECUTION_CONFIG` buffer: up to `ProcessorList` (preview).
#[cfg(msquic_preview)]
pub const QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE: u32 = 12;

/// One application-driven execution context to create (`ExecutionCreate`, preview).
#[cfg(msquic_preview)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_EXECUTION_CONFIG {
    /// The processor the context's work should stay on.
    pub IdealProcessor: u32,
    /// The event queue the application polls.
    pub EventQ: *mut QUIC_EVENTQ,
}

/// An execution context (opaque; preview).
/// cbindgen:ignore
#[repr(C)]
pub struct QUIC_EXECUTION {
    _private: [u8; 0],
}

/// A submission queue entry (`QUIC_SQE` on Linux, written in C in the header): what an
/// epoll event's `data.ptr` points at for an event the library put in the application's
/// queue; the application calls `Completion` with the event.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_SQE {
    /// The descriptor the entry watches.
    pub fd: core::ffi::c_int,
    /// Called by the application with the completion entry (a `struct epoll_event*`).
    pub Completion: Option<unsafe extern "C" fn(Cqe: *mut core::ffi::c_void)>,
}

const _: () = {
    assert!(core::mem::size_of::<QUIC_SQE>() == 16);
    assert!(core::mem::offset_of!(QUIC_SQE, fd) == 0);
    assert!(core::mem::offset_of!(QUIC_SQE, Completion) == 8);
};

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<QUIC_GLOBAL_EXECUTION_CONFIG>() == 16);
    assert!(align_of::<QUIC_GLOBAL_EXECUTION_CONFIG>() == 4);
    assert!(offset_of!(QUIC_GLOBAL_EXECUTION_CONFIG, Flags) == 0);
    assert!(offset_of!(QUIC_GLOBAL_EXECUTION_CONFIG, PollingIdleTimeoutUs) == 4);
    assert!(offset_of!(QUIC_GLOBAL_EXECUTION_CONFIG, ProcessorCount) == 8);
    assert!(offset_of!(QUIC_GLOBAL_EXECUTION_CONFIG, ProcessorList) == 12);
    assert!(QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE == 12);

    assert!(size_of::<QUIC_EXECUTION_CONFIG>() == 16);
    assert!(offset_of!(QUIC_EXECUTION_CONFIG, IdealProcessor) == 0);
    assert!(offset_of!(QUIC_EXECUTION_CONFIG, EventQ) == 8);
};
