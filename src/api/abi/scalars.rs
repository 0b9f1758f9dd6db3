//! Scalar types and the opaque handle.

/// The opaque object every `HQUIC` points to.
#[repr(C)]
pub struct QUIC_HANDLE {
    _private: [u8; 0],
}

/// A handle to any MsQuic object: registration, configuration, listener, connection or stream.
pub type HQUIC = *mut QUIC_HANDLE;

/// A 62-bit unsigned integer carried in a `uint64_t` (QUIC error codes, stream IDs).
pub type QUIC_UINT62 = u64;

/// The largest value a `QUIC_UINT62` may hold.
pub const QUIC_UINT62_MAX: u64 = (1 << 62) - 1;

/// MsQuic's `BOOLEAN`: an `unsigned char`, 0 is false.
pub type BOOLEAN = u8;

/// `QUIC_ADDRESS_FAMILY`: `sa_family_t` on Linux.
pub type QUIC_ADDRESS_FAMILY = u16;

/// `QUIC_STATUS`: an `unsigned int` holding an errno-based status on Linux.
pub type QUIC_STATUS = u32;
