//! `ConfigurationLoadCredential`: reads a `QUIC_CREDENTIAL_CONFIG` into the runtime's TLS
//! credentials and builds the configuration's TLS client or server setup.

use core::ffi::{CStr, c_char};
use std::path::PathBuf;

use crate::api::abi::*;
use crate::api::door::boundary;
use crate::runtime::tls::{
    CertificateSource, CipherSuites, CredentialError, CredentialStatus, Credentials,
    PeerVerification, TlsClientConfig, TlsServerConfig,
};

/// A configuration's loaded TLS side.
#[derive(Clone)]
pub(crate) enum LoadedTls {
    /// Credentials for clients.
    Client(TlsClientConfig),
    /// Credentials for servers.
    Server(TlsServerConfig),
}

/// Why loading failed, as the status ConfigurationLoadCredential returns.
pub(crate) fn status_of(e: &CredentialError) -> QUIC_STATUS {
    match e.status() {
        CredentialStatus::InvalidParameter => QUIC_STATUS_INVALID_PARAMETER,
        CredentialStatus::NotSupported => QUIC_STATUS_NOT_SUPPORTED,
        _ => QUIC_STATUS_TLS_ERROR,
    }
}

/// Copies a C string that must be present.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
unsafe fn string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Reads the application's description; `Err` is the status to return.
///
/// # Safety
/// `cred` points to a valid `QUIC_CREDENTIAL_CONFIG` whose pointers are as its type says.
pub(crate) unsafe fn read(
    cred: &QUIC_CREDENTIAL_CONFIG,
) -> Result<(bool, Credentials), QUIC_STATUS> {
    let flags = cred.Flags.0;
    let client = flags & QUIC_CREDENTIAL_FLAG_CLIENT.0 != 0;
    // As MsQuic: deferring validation is only meaningful with the event that reports it.
    if flags & QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION.0 != 0
        && flags & QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED.0 == 0
    {
        return Err(invalid(
            "DEFER_CERTIFICATE_VALIDATION needs INDICATE_CERTIFICATE_RECEIVED",
        ));
    }
    let certificate = match cred.Type {
        QUIC_CREDENTIAL_TYPE_NONE => {
            if !client {
                return Err(invalid(
                    "a server credential needs a certificate (Type is QUIC_CREDENTIAL_TYPE_NONE)",
                ));
            }
            CertificateSource::None
        }
        QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE => {
            // SAFETY: the type says this union member is the one set.
            let file = unsafe { cred.Certificate.CertificateFile };
            if file.is_null() {
                return Err(QUIC_STATUS_INVALID_PARAMETER);
            }
            // SAFETY: non-NULL; its strings are NUL-terminated by the API contract.
            let (key, cert) = unsafe {
                (
                    string((*file).PrivateKeyFile),
                    string((*file).CertificateFile),
                )
            };
            let (Some(key), Some(cert)) = (key, cert) else {
                return Err(invalid("CertificateFile or PrivateKeyFile is NULL"));
            };
            CertificateSource::PemFiles {
                cert_chain: PathBuf::from(cert),
                private_key: PathBuf::from(key),
                password: None,
            }
        }
        QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED => {
            // SAFETY: the type says this union member is the one set.
            let file = unsafe { cred.Certificate.CertificateFileProtected };
            if file.is_null() {
                return Err(QUIC_STATUS_INVALID_PARAMETER);
            }
            // SAFETY: non-NULL; its strings are NUL-terminated by the API contract.
            let (key, cert, password) = unsafe {
                (
                    string((*file).PrivateKeyFile),
                    string((*file).CertificateFile),
                    string((*file).PrivateKeyPassword),
                )
            };
            let (Some(key), Some(cert), Some(password)) = (key, cert, password) else {
                return Err(invalid(
                    "CertificateFile, PrivateKeyFile or PrivateKeyPassword is NULL",
                ));
            };
            CertificateSource::PemFiles {
                cert_chain: PathBuf::from(cert),
                private_key: PathBuf::from(key),
                password: Some(password),
            }
        }
        QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12 => {
            // SAFETY: the type says this union member is the one set.
            let p12 = unsafe { cred.Certificate.CertificatePkcs12 };
            if p12.is_null() {
                return Err(QUIC_STATUS_INVALID_PARAMETER);
            }
            // SAFETY: non-NULL and valid by the API contract.
            let p12 = unsafe { &*p12 };
            if p12.Asn1Blob.is_null() || p12.Asn1BlobLength == 0 {
                return Err(invalid("the PKCS#12 blob is empty"));
            }
            // SAFETY: `Asn1BlobLength` readable bytes at `Asn1Blob` by the API contract.
            let blob =
                unsafe { core::slice::from_raw_parts(p12.Asn1Blob, p12.Asn1BlobLength as usize) };
            // SAFETY: NULL or NUL-terminated.
            let password = unsafe { string(p12.PrivateKeyPassword) };
            CertificateSource::Pkcs12 {
                blob: blob.to_vec(),
                password,
            }
        }
        QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH
        | QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH_STORE
        | QUIC_CREDENTIAL_TYPE_CERTIFICATE_CONTEXT => {
            boundary::fail_reason(format!(
                "credential type {} (a Windows certificate store) is not supported",
                cred.Type.0
            ));
            return Err(QUIC_STATUS_NOT_SUPPORTED);
        }
        _ => {
            return Err(invalid(format!("unknown credential type {}", cred.Type.0)));
        }
    };
    let ca_file = if flags & QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE.0 != 0 {
        // SAFETY: NULL or NUL-terminated by the API contract.
        match unsafe { string(cred.CaCertificateFile) } {
            Some(path) => Some(PathBuf::from(path)),
            None => {
                return Err(invalid(
                    "SET_CA_CERTIFICATE_FILE with a NULL CaCertificateFile",
                ));
            }
        }
    } else {
        None
    };
    let verification = if flags & QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.0 != 0 {
        PeerVerification::None
    } else {
        PeerVerification::Roots {
            system: true,
            ca_file,
        }
    };
    let cipher_suites = if flags & QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES.0 != 0 {
        let allowed = cred.AllowedCipherSuites.0;
        let suites = CipherSuites {
            aes_128_gcm_sha256: allowed & QUIC_ALLOWED_CIPHER_SUITE_AES_128_GCM_SHA256.0 != 0,
            aes_256_gcm_sha384: allowed & QUIC_ALLOWED_CIPHER_SUITE_AES_256_GCM_SHA384.0 != 0,
            chacha20_poly1305_sha256: allowed
                & QUIC_ALLOWED_CIPHER_SUITE_CHACHA20_POLY1305_SHA256.0
                != 0,
        };
        let any = suites.aes_128_gcm_sha256
            || suites.aes_256_gcm_sha384
            || suites.chacha20_poly1305_sha256;
        if allowed & !0x7 != 0 || !any {
            return Err(invalid(format!(
                "AllowedCipherSuites {allowed:#x} names no known cipher suite or an unknown one"
            )));
        }
        suites
    } else {
        CipherSuites::ALL
    };
    let credentials = Credentials {
        certificate,
        verification,
        require_client_auth: flags & QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION.0 != 0,
        defer_validation: flags & QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION.0 != 0,
        cipher_suites,
    };
    Ok((client, credentials))
}

/// Builds the TLS setup for the configuration's ALPN list.
pub(crate) fn build(
    client: bool,
    credentials: &Credentials,
    alpns: &[Vec<u8>],
) -> Result<LoadedTls, QUIC_STATUS> {
    let built = if client {
        credentials.client_config(alpns).map(LoadedTls::Client)
    } else {
        credentials.server_config(alpns).map(LoadedTls::Server)
    };
    built.map_err(|e| {
        boundary::fail_reason(e.to_string());
        status_of(&e)
    })
}

/// Records `reason` for the failing call's log line; returns INVALID_PARAMETER.
fn invalid(reason: impl Into<String>) -> QUIC_STATUS {
    boundary::fail_reason(reason);
    QUIC_STATUS_INVALID_PARAMETER
}
