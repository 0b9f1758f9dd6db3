//! `QUIC_TLS_SECRETS`: traffic secrets for SSLKEYLOGFILE-style logging.

use super::QUIC_TLS_SECRETS_MAX_SECRET_LEN;

const SECRET: usize = QUIC_TLS_SECRETS_MAX_SECRET_LEN as usize;

/// Application memory the library fills with the handshake's secrets
/// (`QUIC_PARAM_CONN_TLS_SECRETS`). Written by hand in the header (its `IsSet` is a bitfield
/// struct).
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_TLS_SECRETS {
    /// Length of each secret.
    pub SecretLength: u8,
    /// C bitfields, which secrets are present: ClientRandom (bit 0), ClientEarlyTrafficSecret
    /// (1), ClientHandshakeTrafficSecret (2), ServerHandshakeTrafficSecret (3),
    /// ClientTrafficSecret0 (4), ServerTrafficSecret0 (5).
    pub IsSet: u8,
    /// The client's hello random.
    pub ClientRandom: [u8; 32],
    /// client_early_traffic_secret.
    pub ClientEarlyTrafficSecret: [u8; SECRET],
    /// client_handshake_traffic_secret.
    pub ClientHandshakeTrafficSecret: [u8; SECRET],
    /// server_handshake_traffic_secret.
    pub ServerHandshakeTrafficSecret: [u8; SECRET],
    /// client_application_traffic_secret_0.
    pub ClientTrafficSecret0: [u8; SECRET],
    /// server_application_traffic_secret_0.
    pub ServerTrafficSecret0: [u8; SECRET],
}

/// Bit masks and accessors (Rust only).
/// cbindgen:ignore
impl QUIC_TLS_SECRETS {
    /// `IsSet` bit: `ClientRandom`.
    pub const IS_SET_CLIENT_RANDOM: u8 = 1 << 0;
    /// `IsSet` bit: `ClientEarlyTrafficSecret`.
    pub const IS_SET_CLIENT_EARLY_TRAFFIC_SECRET: u8 = 1 << 1;
    /// `IsSet` bit: `ClientHandshakeTrafficSecret`.
    pub const IS_SET_CLIENT_HANDSHAKE_TRAFFIC_SECRET: u8 = 1 << 2;
    /// `IsSet` bit: `ServerHandshakeTrafficSecret`.
    pub const IS_SET_SERVER_HANDSHAKE_TRAFFIC_SECRET: u8 = 1 << 3;
    /// `IsSet` bit: `ClientTrafficSecret0`.
    pub const IS_SET_CLIENT_TRAFFIC_SECRET_0: u8 = 1 << 4;
    /// `IsSet` bit: `ServerTrafficSecret0`.
    pub const IS_SET_SERVER_TRAFFIC_SECRET_0: u8 = 1 << 5;
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    type T = QUIC_TLS_SECRETS;
    assert!(size_of::<T>() == 354 && align_of::<T>() == 1);
    assert!(offset_of!(T, SecretLength) == 0);
    assert!(offset_of!(T, IsSet) == 1);
    assert!(offset_of!(T, ClientRandom) == 2);
    assert!(offset_of!(T, ClientEarlyTrafficSecret) == 34);
    assert!(offset_of!(T, ClientHandshakeTrafficSecret) == 98);
    assert!(offset_of!(T, ServerHandshakeTrafficSecret) == 162);
    assert!(offset_of!(T, ClientTrafficSecret0) == 226);
    assert!(offset_of!(T, ServerTrafficSecret0) == 290);
};
