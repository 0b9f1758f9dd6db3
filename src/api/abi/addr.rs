//! `QUIC_ADDR`: an IPv4 or IPv6 socket address, as the C `sockaddr` family of structs.

use super::QUIC_ADDRESS_FAMILY;

/// Unspecified family (`AF_UNSPEC`): a wildcard address.
/// cbindgen:ignore
pub const QUIC_ADDRESS_FAMILY_UNSPEC: QUIC_ADDRESS_FAMILY = libc::AF_UNSPEC as u16;
/// IPv4 (`AF_INET`).
/// cbindgen:ignore
pub const QUIC_ADDRESS_FAMILY_INET: QUIC_ADDRESS_FAMILY = libc::AF_INET as u16;
/// IPv6 (`AF_INET6`).
/// cbindgen:ignore
pub const QUIC_ADDRESS_FAMILY_INET6: QUIC_ADDRESS_FAMILY = libc::AF_INET6 as u16;

/// A socket address; the family field (common to all three views) says which view is valid.
/// Ports and addresses are in network byte order. Written by hand in the header (a C union).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub union QUIC_ADDR {
    /// The generic view: only `sa_family` is meaningful.
    pub Ip: libc::sockaddr,
    /// The IPv4 view.
    pub Ipv4: libc::sockaddr_in,
    /// The IPv6 view.
    pub Ipv6: libc::sockaddr_in6,
}

impl QUIC_ADDR {
    /// An all-zero address: family `UNSPEC`, port 0.
    pub const fn zeroed() -> Self {
        // SAFETY: every field is a plain C struct of integers, for which all-zero is valid.
        unsafe { core::mem::zeroed() }
    }

    /// The address family.
    pub fn family(&self) -> QUIC_ADDRESS_FAMILY {
        // SAFETY: `sa_family` sits at offset 0 in all three views, so reading it through the
        // generic view is valid whichever view was written.
        unsafe { self.Ip.sa_family }
    }

    /// The port in host byte order (the IPv4 and IPv6 views keep it at the same offset).
    pub fn port(&self) -> u16 {
        // SAFETY: `sin_port` and `sin6_port` are both a `u16` at offset 2.
        u16::from_be(unsafe { self.Ipv4.sin_port })
    }
}

impl core::fmt::Debug for QUIC_ADDR {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("QUIC_ADDR")
            .field("family", &self.family())
            .field("port", &self.port())
            .finish_non_exhaustive()
    }
}

/// Text form of an address with optional port, filled by `QuicAddrToString`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_ADDR_STR {
    /// The NUL-terminated text.
    pub Address: [core::ffi::c_char; 64],
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<QUIC_ADDR>() == 28 && align_of::<QUIC_ADDR>() == 4);
    assert!(offset_of!(libc::sockaddr_in, sin_family) == 0);
    assert!(offset_of!(libc::sockaddr_in, sin_port) == 2);
    assert!(offset_of!(libc::sockaddr_in, sin_addr) == 4);
    assert!(offset_of!(libc::sockaddr_in6, sin6_port) == 2);
    assert!(offset_of!(libc::sockaddr_in6, sin6_flowinfo) == 4);
    assert!(offset_of!(libc::sockaddr_in6, sin6_addr) == 8);
    assert!(offset_of!(libc::sockaddr_in6, sin6_scope_id) == 24);
    assert!(size_of::<QUIC_ADDR_STR>() == 64);
    assert!(QUIC_ADDRESS_FAMILY_UNSPEC == 0);
    assert!(QUIC_ADDRESS_FAMILY_INET == 2);
    assert!(QUIC_ADDRESS_FAMILY_INET6 == 10);
};
