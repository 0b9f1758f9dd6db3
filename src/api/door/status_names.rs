//! The one table from a `QUIC_STATUS` value to its MsQuic name, for log lines: every status
//! of `abi::status`, the TLS alert statuses (named, or `QUIC_STATUS_TLS_ALERT(n)` with the
//! alert's RFC 8446 name) and the certificate statuses.

use core::fmt;

use crate::api::abi::*;

/// Named statuses (the first name wins where MsQuic gives one value two names).
const NAMES: &[(QUIC_STATUS, &str)] = &[
    (QUIC_STATUS_SUCCESS, "QUIC_STATUS_SUCCESS"),
    (QUIC_STATUS_PENDING, "QUIC_STATUS_PENDING"),
    (QUIC_STATUS_CONTINUE, "QUIC_STATUS_CONTINUE"),
    (QUIC_STATUS_OUT_OF_MEMORY, "QUIC_STATUS_OUT_OF_MEMORY"),
    (
        QUIC_STATUS_INVALID_PARAMETER,
        "QUIC_STATUS_INVALID_PARAMETER",
    ),
    (QUIC_STATUS_INVALID_STATE, "QUIC_STATUS_INVALID_STATE"),
    (QUIC_STATUS_NOT_SUPPORTED, "QUIC_STATUS_NOT_SUPPORTED"),
    (QUIC_STATUS_NOT_FOUND, "QUIC_STATUS_NOT_FOUND"),
    (QUIC_STATUS_BUFFER_TOO_SMALL, "QUIC_STATUS_BUFFER_TOO_SMALL"),
    (
        QUIC_STATUS_HANDSHAKE_FAILURE,
        "QUIC_STATUS_HANDSHAKE_FAILURE",
    ),
    (QUIC_STATUS_ABORTED, "QUIC_STATUS_ABORTED"),
    (QUIC_STATUS_ADDRESS_IN_USE, "QUIC_STATUS_ADDRESS_IN_USE"),
    (QUIC_STATUS_INVALID_ADDRESS, "QUIC_STATUS_INVALID_ADDRESS"),
    (
        QUIC_STATUS_CONNECTION_TIMEOUT,
        "QUIC_STATUS_CONNECTION_TIMEOUT",
    ),
    (QUIC_STATUS_CONNECTION_IDLE, "QUIC_STATUS_CONNECTION_IDLE"),
    (QUIC_STATUS_INTERNAL_ERROR, "QUIC_STATUS_INTERNAL_ERROR"),
    (
        QUIC_STATUS_CONNECTION_REFUSED,
        "QUIC_STATUS_CONNECTION_REFUSED",
    ),
    (QUIC_STATUS_PROTOCOL_ERROR, "QUIC_STATUS_PROTOCOL_ERROR"),
    (QUIC_STATUS_VER_NEG_ERROR, "QUIC_STATUS_VER_NEG_ERROR"),
    (QUIC_STATUS_UNREACHABLE, "QUIC_STATUS_UNREACHABLE"),
    (QUIC_STATUS_TLS_ERROR, "QUIC_STATUS_TLS_ERROR"),
    (QUIC_STATUS_USER_CANCELED, "QUIC_STATUS_USER_CANCELED"),
    (QUIC_STATUS_ALPN_NEG_FAILURE, "QUIC_STATUS_ALPN_NEG_FAILURE"),
    (
        QUIC_STATUS_STREAM_LIMIT_REACHED,
        "QUIC_STATUS_STREAM_LIMIT_REACHED",
    ),
    (QUIC_STATUS_ALPN_IN_USE, "QUIC_STATUS_ALPN_IN_USE"),
    (
        QUIC_STATUS_ADDRESS_NOT_AVAILABLE,
        "QUIC_STATUS_ADDRESS_NOT_AVAILABLE",
    ),
    (QUIC_STATUS_CLOSE_NOTIFY, "QUIC_STATUS_CLOSE_NOTIFY"),
    (QUIC_STATUS_BAD_CERTIFICATE, "QUIC_STATUS_BAD_CERTIFICATE"),
    (
        QUIC_STATUS_UNSUPPORTED_CERTIFICATE,
        "QUIC_STATUS_UNSUPPORTED_CERTIFICATE",
    ),
    (
        QUIC_STATUS_REVOKED_CERTIFICATE,
        "QUIC_STATUS_REVOKED_CERTIFICATE",
    ),
    (
        QUIC_STATUS_EXPIRED_CERTIFICATE,
        "QUIC_STATUS_EXPIRED_CERTIFICATE",
    ),
    (
        QUIC_STATUS_UNKNOWN_CERTIFICATE,
        "QUIC_STATUS_UNKNOWN_CERTIFICATE",
    ),
    (
        QUIC_STATUS_REQUIRED_CERTIFICATE,
        "QUIC_STATUS_REQUIRED_CERTIFICATE",
    ),
    (QUIC_STATUS_CERT_EXPIRED, "QUIC_STATUS_CERT_EXPIRED"),
    (
        QUIC_STATUS_CERT_UNTRUSTED_ROOT,
        "QUIC_STATUS_CERT_UNTRUSTED_ROOT",
    ),
    (QUIC_STATUS_CERT_NO_CERT, "QUIC_STATUS_CERT_NO_CERT"),
];

/// RFC 8446 names of the TLS alerts, for the alert statuses without a name of their own.
const ALERTS: &[(u32, &str)] = &[
    (10, "unexpected_message"),
    (20, "bad_record_mac"),
    (22, "record_overflow"),
    (40, "handshake_failure"),
    (47, "illegal_parameter"),
    (48, "unknown_ca"),
    (49, "access_denied"),
    (50, "decode_error"),
    (51, "decrypt_error"),
    (70, "protocol_version"),
    (71, "insufficient_security"),
    (80, "internal_error"),
    (86, "inappropriate_fallback"),
    (90, "user_canceled"),
    (109, "missing_extension"),
    (110, "unsupported_extension"),
    (112, "unrecognized_name"),
    (113, "bad_certificate_status_response"),
    (115, "unknown_psk_identity"),
    (120, "no_application_protocol"),
];

/// MsQuic's name of `status`, if it has one.
pub(crate) fn name(status: QUIC_STATUS) -> Option<&'static str> {
    NAMES.iter().find(|(s, _)| *s == status).map(|(_, n)| *n)
}

/// Shows a status as its name and hex value: `QUIC_STATUS_ALPN_NEG_FAILURE (0x5c)`, or
/// `QUIC_STATUS_TLS_ALERT(48 unknown_ca) (0xbebc330)` for an alert without a status name.
#[derive(Clone, Copy)]
pub(crate) struct StatusName(pub(crate) QUIC_STATUS);

impl fmt::Display for StatusName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if let Some(n) = name(s) {
            return write!(f, "{n} ({s:#x})");
        }
        if (TLS_ERROR_BASE..TLS_ERROR_BASE + 256).contains(&s) {
            let alert = s - TLS_ERROR_BASE;
            return match ALERTS.iter().find(|(a, _)| *a == alert) {
                Some((_, n)) => write!(f, "QUIC_STATUS_TLS_ALERT({alert} {n}) ({s:#x})"),
                None => write!(f, "QUIC_STATUS_TLS_ALERT({alert}) ({s:#x})"),
            };
        }
        if (CERT_ERROR_BASE..CERT_ERROR_BASE + 256).contains(&s) {
            return write!(
                f,
                "QUIC_STATUS_CERT_ERROR({}) ({s:#x})",
                s - CERT_ERROR_BASE
            );
        }
        write!(f, "unknown status ({s:#x})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert_eq!(
            StatusName(QUIC_STATUS_ALPN_NEG_FAILURE).to_string(),
            "QUIC_STATUS_ALPN_NEG_FAILURE (0x5c)"
        );
        assert_eq!(
            StatusName(QUIC_STATUS_FILE_NOT_FOUND).to_string(),
            "QUIC_STATUS_NOT_FOUND (0x2)"
        );
        assert_eq!(
            StatusName(QUIC_STATUS_TLS_ALERT(48)).to_string(),
            "QUIC_STATUS_TLS_ALERT(48 unknown_ca) (0xbebc330)"
        );
        assert_eq!(
            StatusName(QUIC_STATUS_BAD_CERTIFICATE).to_string(),
            "QUIC_STATUS_BAD_CERTIFICATE (0xbebc32a)"
        );
        assert_eq!(
            StatusName(QUIC_STATUS_CERT_NO_CERT).to_string(),
            "QUIC_STATUS_CERT_NO_CERT (0xbebc403)"
        );
        assert_eq!(StatusName(7).to_string(), "unknown status (0x7)");
        // Every named value appears once.
        for (i, (s, _)) in NAMES.iter().enumerate() {
            assert!(NAMES[..i].iter().all(|(t, _)| t != s));
        }
    }
}
