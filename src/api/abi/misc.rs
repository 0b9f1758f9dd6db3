//! Small plain structs: buffers, registration and connection information, TLS and ticket
//! configuration.

use core::ffi::{c_char, c_ulong, c_void};

use super::{
    HQUIC, QUIC_ADDR, QUIC_ADDRESS_FAMILY, QUIC_AEAD_ALGORITHM_TYPE, QUIC_CIPHER_ALGORITHM,
    QUIC_CIPHER_SUITE, QUIC_CONNECTION_CALLBACK_HANDLER, QUIC_CONNECTION_POOL_FLAGS,
    QUIC_EXECUTION_PROFILE, QUIC_HASH_ALGORITHM, QUIC_KEY_EXCHANGE_ALGORITHM, QUIC_TLS_GROUP,
    QUIC_TLS_PROTOCOL_VERSION,
};

/// A length and a pointer to that many bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_BUFFER {
    /// Number of bytes at `Buffer`.
    pub Length: u32,
    /// The bytes.
    pub Buffer: *mut u8,
}

/// Options of `RegistrationOpen`; every field may be NULL or zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_REGISTRATION_CONFIG {
    /// A NUL-terminated application name, or NULL.
    pub AppName: *const c_char,
    /// The scheduling profile.
    pub ExecutionProfile: QUIC_EXECUTION_PROFILE,
}

/// What a listener knows about an incoming connection (`QUIC_LISTENER_EVENT_NEW_CONNECTION`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_NEW_CONNECTION_INFO {
    /// The QUIC version the client used.
    pub QuicVersion: u32,
    /// The local address the connection arrived on.
    pub LocalAddress: *const QUIC_ADDR,
    /// The client's address.
    pub RemoteAddress: *const QUIC_ADDR,
    /// Length of `CryptoBuffer`.
    pub CryptoBufferLength: u32,
    /// Length of `ClientAlpnList`.
    pub ClientAlpnListLength: u16,
    /// Length of `ServerName`.
    pub ServerNameLength: u16,
    /// Length of `NegotiatedAlpn`.
    pub NegotiatedAlpnLength: u8,
    /// The client's first TLS flight.
    pub CryptoBuffer: *const u8,
    /// The client's ALPN list in TLS wire form (length-prefixed entries).
    pub ClientAlpnList: *const u8,
    /// The ALPN the server selected.
    pub NegotiatedAlpn: *const u8,
    /// The requested server name, not NUL-terminated; may be NULL.
    pub ServerName: *const c_char,
}

/// The result of a handshake (`QUIC_PARAM_TLS_HANDSHAKE_INFO`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct QUIC_HANDSHAKE_INFO {
    /// The TLS version.
    pub TlsProtocolVersion: QUIC_TLS_PROTOCOL_VERSION,
    /// The bulk cipher.
    pub CipherAlgorithm: QUIC_CIPHER_ALGORITHM,
    /// Key size of the cipher in bits.
    pub CipherStrength: i32,
    /// The hash.
    pub Hash: QUIC_HASH_ALGORITHM,
    /// Size of the hash in bits.
    pub HashStrength: i32,
    /// The key exchange algorithm.
    pub KeyExchangeAlgorithm: QUIC_KEY_EXCHANGE_ALGORITHM,
    /// Strength of the key exchange in bits.
    pub KeyExchangeStrength: i32,
    /// The cipher suite.
    pub CipherSuite: QUIC_CIPHER_SUITE,
    /// The key-exchange group.
    pub TlsGroup: QUIC_TLS_GROUP,
}

/// A key protecting TLS session tickets (`QUIC_PARAM_CONFIGURATION_TICKET_KEYS`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_TICKET_KEY_CONFIG {
    /// The key's identifier.
    pub Id: [u8; 16],
    /// The key material.
    pub Material: [u8; 64],
    /// How many bytes of `Material` are used.
    pub MaterialLength: u8,
}

/// How stateless retry tokens are protected (`QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_STATELESS_RETRY_CONFIG {
    /// The AEAD algorithm.
    pub Algorithm: QUIC_AEAD_ALGORITHM_TYPE,
    /// How often the key rotates, in milliseconds.
    pub RotationMs: u32,
    /// Length of `Secret`; must match the algorithm's key length.
    pub SecretLength: u32,
    /// The secret the keys derive from.
    pub Secret: *const u8,
}

/// QUIC version policy (`QUIC_PARAM_*_VERSION_SETTINGS`, preview).
#[cfg(msquic_preview)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_VERSION_SETTINGS {
    /// Versions accepted from peers.
    pub AcceptableVersions: *const u32,
    /// Versions offered to peers.
    pub OfferedVersions: *const u32,
    /// Versions deployed on every server of a cluster.
    pub FullyDeployedVersions: *const u32,
    /// Length of `AcceptableVersions`.
    pub AcceptableVersionsLength: u32,
    /// Length of `OfferedVersions`.
    pub OfferedVersionsLength: u32,
    /// Length of `FullyDeployedVersions`.
    pub FullyDeployedVersionsLength: u32,
}

/// A Schannel credential attribute (Windows only; declared for source compatibility).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_SCHANNEL_CREDENTIAL_ATTRIBUTE_W {
    /// The attribute id.
    pub Attribute: c_ulong,
    /// Length of `Buffer`.
    pub BufferLength: c_ulong,
    /// The attribute value.
    pub Buffer: *mut c_void,
}

/// Input of `ConnectionExportKeyingMaterial` (RFC 5705 / RFC 8446 §7.5 exporter; preview).
#[cfg(msquic_preview)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_KEYING_MATERIAL_CONFIG {
    /// The NUL-terminated exporter label.
    pub Label: *const c_char,
    /// Length of `Context`.
    pub ContextLength: u32,
    /// The exporter context, or NULL.
    pub Context: *const u8,
    /// How many bytes to export into the output buffer.
    pub OutputLength: u32,
}

/// Input of `ConnectionPoolCreate` (preview): `NumberOfConnections` client connections to one
/// server, spread over processors.
#[cfg(msquic_preview)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CONNECTION_POOL_CONFIG {
    /// The registration the connections belong to.
    pub Registration: HQUIC,
    /// The configuration they start with.
    pub Configuration: HQUIC,
    /// Their callback.
    pub Handler: QUIC_CONNECTION_CALLBACK_HANDLER,
    /// One context per connection, or NULL.
    pub Context: *mut *mut c_void,
    /// The NUL-terminated server name.
    pub ServerName: *const c_char,
    /// The server's address, or NULL to resolve `ServerName`.
    pub ServerAddress: *const QUIC_ADDR,
    /// Address family to use.
    pub Family: QUIC_ADDRESS_FAMILY,
    /// Server port in host byte order.
    pub ServerPort: u16,
    /// How many connections to create.
    pub NumberOfConnections: u16,
    /// One CIBIR id per connection, or NULL.
    pub CibirIds: *mut *mut u8,
    /// Length of each CIBIR id (0 = none).
    pub CibirIdLength: u8,
    /// Options.
    pub Flags: QUIC_CONNECTION_POOL_FLAGS,
}

/// An XDP map handle: a map file descriptor on Linux.
pub type QUIC_XDP_MAP_HANDLE = core::ffi::c_int;

/// One interface's XDP map (`QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG`, preview).
#[cfg(msquic_preview)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_XDP_MAP_CONFIG {
    /// The interface index.
    pub InterfaceIndex: u32,
    /// The map.
    pub MapHandle: QUIC_XDP_MAP_HANDLE,
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<QUIC_BUFFER>() == 16 && align_of::<QUIC_BUFFER>() == 8);
    assert!(offset_of!(QUIC_BUFFER, Length) == 0);
    assert!(offset_of!(QUIC_BUFFER, Buffer) == 8);

    assert!(size_of::<QUIC_REGISTRATION_CONFIG>() == 16);
    assert!(align_of::<QUIC_REGISTRATION_CONFIG>() == 8);
    assert!(offset_of!(QUIC_REGISTRATION_CONFIG, AppName) == 0);
    assert!(offset_of!(QUIC_REGISTRATION_CONFIG, ExecutionProfile) == 8);

    assert!(size_of::<QUIC_NEW_CONNECTION_INFO>() == 72);
    assert!(align_of::<QUIC_NEW_CONNECTION_INFO>() == 8);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, QuicVersion) == 0);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, LocalAddress) == 8);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, RemoteAddress) == 16);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, CryptoBufferLength) == 24);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, ClientAlpnListLength) == 28);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, ServerNameLength) == 30);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, NegotiatedAlpnLength) == 32);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, CryptoBuffer) == 40);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, ClientAlpnList) == 48);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, NegotiatedAlpn) == 56);
    assert!(offset_of!(QUIC_NEW_CONNECTION_INFO, ServerName) == 64);

    assert!(size_of::<QUIC_HANDSHAKE_INFO>() == 36 && align_of::<QUIC_HANDSHAKE_INFO>() == 4);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, TlsProtocolVersion) == 0);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, CipherAlgorithm) == 4);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, CipherStrength) == 8);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, Hash) == 12);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, HashStrength) == 16);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, KeyExchangeAlgorithm) == 20);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, KeyExchangeStrength) == 24);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, CipherSuite) == 28);
    assert!(offset_of!(QUIC_HANDSHAKE_INFO, TlsGroup) == 32);

    assert!(size_of::<QUIC_TICKET_KEY_CONFIG>() == 81);
    assert!(align_of::<QUIC_TICKET_KEY_CONFIG>() == 1);
    assert!(offset_of!(QUIC_TICKET_KEY_CONFIG, Id) == 0);
    assert!(offset_of!(QUIC_TICKET_KEY_CONFIG, Material) == 16);
    assert!(offset_of!(QUIC_TICKET_KEY_CONFIG, MaterialLength) == 80);

    assert!(size_of::<QUIC_STATELESS_RETRY_CONFIG>() == 24);
    assert!(offset_of!(QUIC_STATELESS_RETRY_CONFIG, Algorithm) == 0);
    assert!(offset_of!(QUIC_STATELESS_RETRY_CONFIG, RotationMs) == 4);
    assert!(offset_of!(QUIC_STATELESS_RETRY_CONFIG, SecretLength) == 8);
    assert!(offset_of!(QUIC_STATELESS_RETRY_CONFIG, Secret) == 16);

    assert!(size_of::<QUIC_VERSION_SETTINGS>() == 40);
    assert!(offset_of!(QUIC_VERSION_SETTINGS, AcceptableVersions) == 0);
    assert!(offset_of!(QUIC_VERSION_SETTINGS, OfferedVersions) == 8);
    assert!(offset_of!(QUIC_VERSION_SETTINGS, FullyDeployedVersions) == 16);
    assert!(offset_of!(QUIC_VERSION_SETTINGS, AcceptableVersionsLength) == 24);
    assert!(offset_of!(QUIC_VERSION_SETTINGS, OfferedVersionsLength) == 28);
    assert!(offset_of!(QUIC_VERSION_SETTINGS, FullyDeployedVersionsLength) == 32);

    assert!(size_of::<QUIC_SCHANNEL_CREDENTIAL_ATTRIBUTE_W>() == 24);

    assert!(size_of::<QUIC_KEYING_MATERIAL_CONFIG>() == 32);
    assert!(offset_of!(QUIC_KEYING_MATERIAL_CONFIG, Label) == 0);
    assert!(offset_of!(QUIC_KEYING_MATERIAL_CONFIG, ContextLength) == 8);
    assert!(offset_of!(QUIC_KEYING_MATERIAL_CONFIG, Context) == 16);
    assert!(offset_of!(QUIC_KEYING_MATERIAL_CONFIG, OutputLength) == 24);

    type Pool = QUIC_CONNECTION_POOL_CONFIG;
    assert!(size_of::<Pool>() == 72 && align_of::<Pool>() == 8);
    assert!(offset_of!(Pool, Registration) == 0);
    assert!(offset_of!(Pool, Configuration) == 8);
    assert!(offset_of!(Pool, Handler) == 16);
    assert!(offset_of!(Pool, Context) == 24);
    assert!(offset_of!(Pool, ServerName) == 32);
    assert!(offset_of!(Pool, ServerAddress) == 40);
    assert!(offset_of!(Pool, Family) == 48);
    assert!(offset_of!(Pool, ServerPort) == 50);
    assert!(offset_of!(Pool, NumberOfConnections) == 52);
    assert!(offset_of!(Pool, CibirIds) == 56);
    assert!(offset_of!(Pool, CibirIdLength) == 64);
    assert!(offset_of!(Pool, Flags) == 68);

    assert!(size_of::<QUIC_XDP_MAP_CONFIG>() == 8);
    assert!(offset_of!(QUIC_XDP_MAP_CONFIG, InterfaceIndex) == 0);
    assert!(offset_of!(QUIC_XDP_MAP_CONFIG, MapHandle) == 4);
};
