//! `QUIC_STATUS` values on Linux (errno-based) and the success test MsQuic apps use.

use super::QUIC_STATUS;

/// The operation succeeded.
pub const QUIC_STATUS_SUCCESS: QUIC_STATUS = 0;
/// The operation was queued and will complete later (counts as success).
pub const QUIC_STATUS_PENDING: QUIC_STATUS = -2i32 as u32;
/// Keep delivering (counts as success).
pub const QUIC_STATUS_CONTINUE: QUIC_STATUS = -1i32 as u32;
/// ENOMEM.
pub const QUIC_STATUS_OUT_OF_MEMORY: QUIC_STATUS = 12;
/// EINVAL.
pub const QUIC_STATUS_INVALID_PARAMETER: QUIC_STATUS = 22;
/// EPERM.
pub const QUIC_STATUS_INVALID_STATE: QUIC_STATUS = 1;
/// EOPNOTSUPP.
pub const QUIC_STATUS_NOT_SUPPORTED: QUIC_STATUS = 95;
/// ENOENT.
pub const QUIC_STATUS_NOT_FOUND: QUIC_STATUS = 2;
/// Same value as `QUIC_STATUS_NOT_FOUND`.
pub const QUIC_STATUS_FILE_NOT_FOUND: QUIC_STATUS = QUIC_STATUS_NOT_FOUND;
/// EOVERFLOW.
pub const QUIC_STATUS_BUFFER_TOO_SMALL: QUIC_STATUS = 75;
/// ECONNABORTED.
pub const QUIC_STATUS_HANDSHAKE_FAILURE: QUIC_STATUS = 103;
/// ECANCELED.
pub const QUIC_STATUS_ABORTED: QUIC_STATUS = 125;
/// EADDRINUSE.
pub const QUIC_STATUS_ADDRESS_IN_USE: QUIC_STATUS = 98;
/// EAFNOSUPPORT.
pub const QUIC_STATUS_INVALID_ADDRESS: QUIC_STATUS = 97;
/// ETIMEDOUT.
pub const QUIC_STATUS_CONNECTION_TIMEOUT: QUIC_STATUS = 110;
/// ETIME.
pub const QUIC_STATUS_CONNECTION_IDLE: QUIC_STATUS = 62;
/// EIO.
pub const QUIC_STATUS_INTERNAL_ERROR: QUIC_STATUS = 5;
/// ECONNREFUSED.
pub const QUIC_STATUS_CONNECTION_REFUSED: QUIC_STATUS = 111;
/// EPROTO.
pub const QUIC_STATUS_PROTOCOL_ERROR: QUIC_STATUS = 71;
/// EPROTONOSUPPORT.
pub const QUIC_STATUS_VER_NEG_ERROR: QUIC_STATUS = 93;
/// EHOSTUNREACH.
pub const QUIC_STATUS_UNREACHABLE: QUIC_STATUS = 113;
/// ENOKEY.
pub const QUIC_STATUS_TLS_ERROR: QUIC_STATUS = 126;
/// EOWNERDEAD.
pub const QUIC_STATUS_USER_CANCELED: QUIC_STATUS = 130;
/// ENOPROTOOPT.
pub const QUIC_STATUS_ALPN_NEG_FAILURE: QUIC_STATUS = 92;
/// ESTRPIPE.
pub const QUIC_STATUS_STREAM_LIMIT_REACHED: QUIC_STATUS = 86;
/// EPROTOTYPE.
pub const QUIC_STATUS_ALPN_IN_USE: QUIC_STATUS = 91;
/// EADDRNOTAVAIL.
pub const QUIC_STATUS_ADDRESS_NOT_AVAILABLE: QUIC_STATUS = 99;

/// Base of MsQuic's own (non-errno) status space.
pub const ERROR_BASE: QUIC_STATUS = 200_000_000;
/// Base of the TLS-alert statuses.
pub const TLS_ERROR_BASE: QUIC_STATUS = 256 + ERROR_BASE;
/// Base of the certificate statuses.
pub const CERT_ERROR_BASE: QUIC_STATUS = 512 + ERROR_BASE;

/// The status that reports TLS alert `alert`.
pub const fn QUIC_STATUS_TLS_ALERT(alert: u32) -> QUIC_STATUS {
    (alert & 0xff) + TLS_ERROR_BASE
}

/// The status for certificate error `val`.
pub const fn QUIC_STATUS_CERT_ERROR(val: u32) -> QUIC_STATUS {
    val + CERT_ERROR_BASE
}

/// TLS close_notify.
pub const QUIC_STATUS_CLOSE_NOTIFY: QUIC_STATUS = QUIC_STATUS_TLS_ALERT(0);
/// TLS bad_certificate.
pub const QUIC_STATUS_BAD_CERTIFICATE: QUIC_STATUS = QUIC_STATUS_TLS_ALERT(42);
/// TLS unsupported_certificate.
pub const QUIC_STATUS_UNSUPPORTED_CERTIFICATE: QUIC_STATUS = QUIC_STATUS_TLS_ALERT(43);
/// TLS certificate_revoked.
pub const QUIC_STATUS_REVOKED_CERTIFICATE: QUIC_STATUS = QUIC_STATUS_TLS_ALERT(44);
/// TLS certificate_expired.
pub const QUIC_STATUS_EXPIRED_CERTIFICATE: QUIC_STATUS = QUIC_STATUS_TLS_ALERT(45);
/// TLS certificate_unknown.
pub const QUIC_STATUS_UNKNOWN_CERTIFICATE: QUIC_STATUS = QUIC_STATUS_TLS_ALERT(46);
/// TLS certificate_required.
pub const QUIC_STATUS_REQUIRED_CERTIFICATE: QUIC_STATUS = QUIC_STATUS_TLS_ALERT(116);
/// The certificate has expired.
pub const QUIC_STATUS_CERT_EXPIRED: QUIC_STATUS = QUIC_STATUS_CERT_ERROR(1);
/// The certificate chains to an untrusted root.
pub const QUIC_STATUS_CERT_UNTRUSTED_ROOT: QUIC_STATUS = QUIC_STATUS_CERT_ERROR(2);
/// No certificate was presented.
pub const QUIC_STATUS_CERT_NO_CERT: QUIC_STATUS = QUIC_STATUS_CERT_ERROR(3);

/// MsQuic's `QUIC_FAILED`: PENDING and CONTINUE count as success.
pub const fn QUIC_FAILED(status: QUIC_STATUS) -> bool {
    (status as i32) > 0
}

/// MsQuic's `QUIC_SUCCEEDED`.
pub const fn QUIC_SUCCEEDED(status: QUIC_STATUS) -> bool {
    (status as i32) <= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_msquic_abi_md() {
        assert_eq!(QUIC_STATUS_PENDING, 0xFFFF_FFFE);
        assert_eq!(QUIC_STATUS_CONTINUE, 0xFFFF_FFFF);
        assert_eq!(QUIC_STATUS_BAD_CERTIFICATE, 0x0BEB_C32A);
        assert_eq!(QUIC_STATUS_REQUIRED_CERTIFICATE, 0x0BEB_C374);
        assert_eq!(QUIC_STATUS_CLOSE_NOTIFY, 0x0BEB_C300);
        assert_eq!(QUIC_STATUS_CERT_NO_CERT, 0x0BEB_C403);
        assert!(QUIC_SUCCEEDED(QUIC_STATUS_PENDING));
        assert!(QUIC_SUCCEEDED(QUIC_STATUS_CONTINUE));
        assert!(QUIC_FAILED(QUIC_STATUS_INVALID_PARAMETER));
    }
}
