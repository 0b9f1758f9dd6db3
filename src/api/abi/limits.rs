//! Size limits of the API.

/// An ALPN is 1 to 255 bytes.
pub const QUIC_MAX_ALPN_LENGTH: u32 = 255;
/// A server name is at most 65535 bytes.
pub const QUIC_MAX_SNI_LENGTH: u32 = 65535;
/// The most application bytes a server may put in a resumption ticket.
pub const QUIC_MAX_RESUMPTION_APP_DATA_LENGTH: u32 = 1000;
/// The length of the stateless reset key (`QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY`).
pub const QUIC_STATELESS_RESET_KEY_LENGTH: u32 = 32;
/// The most `QUIC_TICKET_KEY_CONFIG`s in use at once.
pub const QUIC_MAX_TICKET_KEY_COUNT: u32 = 16;
/// The size of each secret in `QUIC_TLS_SECRETS`.
pub const QUIC_TLS_SECRETS_MAX_SECRET_LEN: u32 = 64;
