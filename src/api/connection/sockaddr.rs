//! Conversions between `QUIC_ADDR` and Rust socket addresses.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::api::abi::{QUIC_ADDR, QUIC_ADDRESS_FAMILY_INET, QUIC_ADDRESS_FAMILY_INET6};

/// The socket address in `addr`; `None` for `UNSPEC` or an unknown family.
pub(crate) fn from_quic(addr: &QUIC_ADDR) -> Option<SocketAddr> {
    match addr.family() {
        QUIC_ADDRESS_FAMILY_INET => {
            // SAFETY: the family says the IPv4 view is the one written.
            let v4 = unsafe { addr.Ipv4 };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(v4.sin_port),
            )))
        }
        QUIC_ADDRESS_FAMILY_INET6 => {
            // SAFETY: the family says the IPv6 view is the one written.
            let v6 = unsafe { addr.Ipv6 };
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// `addr` with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket
/// reports for an IPv4 peer) as the plain IPv4 address, as MsQuic reports it.
pub(crate) fn unmapped(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(ip) => SocketAddr::V4(SocketAddrV4::new(ip, v6.port())),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}

/// Sets the port of `addr`, whatever its family (MsQuic's `QuicAddrSetPort`: the port sits
/// at the same offset in every view, so an `UNSPEC` address can carry one).
pub(crate) fn set_port(addr: &mut QUIC_ADDR, port: u16) {
    addr.Ipv6.sin6_port = port.to_be();
}

/// `addr` as a `QUIC_ADDR`.
pub(crate) fn to_quic(addr: SocketAddr) -> QUIC_ADDR {
    let mut out = QUIC_ADDR::zeroed();
    match addr {
        SocketAddr::V4(v4) => {
            out.Ipv4.sin_family = QUIC_ADDRESS_FAMILY_INET;
            out.Ipv4.sin_port = v4.port().to_be();
            out.Ipv4.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
        }
        SocketAddr::V6(v6) => {
            out.Ipv6.sin6_family = QUIC_ADDRESS_FAMILY_INET6;
            out.Ipv6.sin6_port = v6.port().to_be();
            out.Ipv6.sin6_flowinfo = v6.flowinfo();
            out.Ipv6.sin6_addr.s6_addr = v6.ip().octets();
            out.Ipv6.sin6_scope_id = v6.scope_id();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for text in ["127.0.0.1:4433", "[::1]:443", "0.0.0.0:0", "[fe80::1%3]:9"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(from_quic(&to_quic(addr)), Some(addr), "{text}");
        }
        assert_eq!(from_quic(&QUIC_ADDR::zeroed()), None);
    }

    #[test]
    fn unmaps_ipv4_mapped_addresses_only() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(unmapped(mapped), "127.0.0.1:80".parse().unwrap());
        for text in ["[::1]:80", "127.0.0.1:80", "[::]:0"] {
            let addr: SocketAddr = text.parse().unwrap();
            assert_eq!(unmapped(addr), addr, "{text}");
        }
    }

    #[test]
    fn unspec_address_carries_only_the_port() {
        let mut addr = QUIC_ADDR::zeroed();
        set_port(&mut addr, 4433);
        assert_eq!(addr.family(), 0);
        assert_eq!(addr.port(), 4433);
        assert_eq!(from_quic(&addr), None);
    }
}
