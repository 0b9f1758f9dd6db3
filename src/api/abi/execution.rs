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
