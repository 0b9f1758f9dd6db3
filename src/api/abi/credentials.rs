//! Credentials: `QUIC_CREDENTIAL_CONFIG` and the certificate descriptions it points to.

use core::ffi::{c_char, c_void};

use super::{
    QUIC_ALLOWED_CIPHER_SUITE_FLAGS, QUIC_CERTIFICATE_HASH_STORE_FLAGS, QUIC_CREDENTIAL_FLAGS,
    QUIC_CREDENTIAL_LOAD_COMPLETE_HANDLER, QUIC_CREDENTIAL_TYPE,
};

/// A platform certificate object (`void` in C).
pub type QUIC_CERTIFICATE = c_void;
/// A platform certificate chain object (`void` in C).
pub type QUIC_CERTIFICATE_CHAIN = c_void;

/// A certificate found by its SHA-1 thumbprint (Windows).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CERTIFICATE_HASH {
    /// The thumbprint.
    pub ShaHash: [u8; 20],
}

/// A certificate found by thumbprint in a named store (Windows).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CERTIFICATE_HASH_STORE {
    /// Which store family.
    pub Flags: QUIC_CERTIFICATE_HASH_STORE_FLAGS,
    /// The thumbprint.
    pub ShaHash: [u8; 20],
    /// The NUL-terminated store name.
    pub StoreName: [c_char; 128],
}

/// A PEM private key file and a PEM certificate (chain) file. Note the key comes first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CERTIFICATE_FILE {
    /// Path of the PEM private key.
    pub PrivateKeyFile: *const c_char,
    /// Path of the PEM certificate chain.
    pub CertificateFile: *const c_char,
}

/// Like `QUIC_CERTIFICATE_FILE`, with a password for the encrypted private key.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CERTIFICATE_FILE_PROTECTED {
    /// Path of the encrypted PEM private key.
    pub PrivateKeyFile: *const c_char,
    /// Path of the PEM certificate chain.
    pub CertificateFile: *const c_char,
    /// The NUL-terminated key password.
    pub PrivateKeyPassword: *const c_char,
}

/// An in-memory PKCS#12 blob.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct QUIC_CERTIFICATE_PKCS12 {
    /// The DER bytes.
    pub Asn1Blob: *const u8,
    /// Length of `Asn1Blob`.
    pub Asn1BlobLength: u32,
    /// The blob's password, or NULL.
    pub PrivateKeyPassword: *const c_char,
}

/// The certificate pointer of `QUIC_CREDENTIAL_CONFIG`; `Type` says which member is valid.
/// (An anonymous union in C, so its members are named directly on the config there.)
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub union QUIC_CREDENTIAL_CONFIG_CERTIFICATE {
    /// `QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH`.
    pub CertificateHash: *mut QUIC_CERTIFICATE_HASH,
    /// `QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH_STORE`.
    pub CertificateHashStore: *mut QUIC_CERTIFICATE_HASH_STORE,
    /// `QUIC_CREDENTIAL_TYPE_CERTIFICATE_CONTEXT`.
    pub CertificateContext: *mut QUIC_CERTIFICATE,
    /// `QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE`.
    pub CertificateFile: *mut QUIC_CERTIFICATE_FILE,
    /// `QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED`.
    pub CertificateFileProtected: *mut QUIC_CERTIFICATE_FILE_PROTECTED,
    /// `QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12`.
    pub CertificatePkcs12: *mut QUIC_CERTIFICATE_PKCS12,
}

/// The credential of a configuration (`ConfigurationLoadCredential`). Written by hand in the
/// header because of its anonymous union.
/// cbindgen:ignore
#[repr(C)]
#[derive(Clone, Copy)]
pub struct QUIC_CREDENTIAL_CONFIG {
    /// Which certificate member is set.
    pub Type: QUIC_CREDENTIAL_TYPE,
    /// Options.
    pub Flags: QUIC_CREDENTIAL_FLAGS,
    /// The certificate (anonymous in C).
    pub Certificate: QUIC_CREDENTIAL_CONFIG_CERTIFICATE,
    /// Principal name (Schannel), or NULL.
    pub Principal: *const c_char,
    /// Unused; must be NULL.
    pub Reserved: *mut c_void,
    /// Completion callback for `QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS`.
    pub AsyncHandler: QUIC_CREDENTIAL_LOAD_COMPLETE_HANDLER,
    /// Allowed suites, with `QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES`.
    pub AllowedCipherSuites: QUIC_ALLOWED_CIPHER_SUITE_FLAGS,
    /// CA file to trust, with `QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE`.
    pub CaCertificateFile: *const c_char,
}

impl core::fmt::Debug for QUIC_CREDENTIAL_CONFIG {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("QUIC_CREDENTIAL_CONFIG")
            .field("Type", &self.Type)
            .field("Flags", &self.Flags)
            .finish_non_exhaustive()
    }
}

const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<QUIC_CERTIFICATE_FILE>() == 16);
    assert!(offset_of!(QUIC_CERTIFICATE_FILE, PrivateKeyFile) == 0);
    assert!(offset_of!(QUIC_CERTIFICATE_FILE, CertificateFile) == 8);

    assert!(size_of::<QUIC_CERTIFICATE_FILE_PROTECTED>() == 24);
    assert!(offset_of!(QUIC_CERTIFICATE_FILE_PROTECTED, PrivateKeyFile) == 0);
    assert!(offset_of!(QUIC_CERTIFICATE_FILE_PROTECTED, CertificateFile) == 8);
    assert!(offset_of!(QUIC_CERTIFICATE_FILE_PROTECTED, PrivateKeyPassword) == 16);

    assert!(size_of::<QUIC_CERTIFICATE_PKCS12>() == 24);
    assert!(offset_of!(QUIC_CERTIFICATE_PKCS12, Asn1Blob) == 0);
    assert!(offset_of!(QUIC_CERTIFICATE_PKCS12, Asn1BlobLength) == 8);
    assert!(offset_of!(QUIC_CERTIFICATE_PKCS12, PrivateKeyPassword) == 16);

    assert!(size_of::<QUIC_CERTIFICATE_HASH>() == 20);
    assert!(align_of::<QUIC_CERTIFICATE_HASH>() == 1);

    assert!(size_of::<QUIC_CERTIFICATE_HASH_STORE>() == 152);
    assert!(align_of::<QUIC_CERTIFICATE_HASH_STORE>() == 4);
    assert!(offset_of!(QUIC_CERTIFICATE_HASH_STORE, Flags) == 0);
    assert!(offset_of!(QUIC_CERTIFICATE_HASH_STORE, ShaHash) == 4);
    assert!(offset_of!(QUIC_CERTIFICATE_HASH_STORE, StoreName) == 24);

    assert!(size_of::<QUIC_CREDENTIAL_CONFIG>() == 56);
    assert!(align_of::<QUIC_CREDENTIAL_CONFIG>() == 8);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, Type) == 0);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, Flags) == 4);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, Certificate) == 8);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, Principal) == 16);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, Reserved) == 24);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, AsyncHandler) == 32);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, AllowedCipherSuites) == 40);
    assert!(offset_of!(QUIC_CREDENTIAL_CONFIG, CaCertificateFile) == 48);
};
