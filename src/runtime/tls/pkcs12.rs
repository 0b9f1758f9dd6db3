//! PKCS#12 (PFX) blobs, read with AWS-LC's `PKCS12_parse` (through `aws-lc-sys`, the
//! library aws-lc-rs and rustls already use): the MAC is checked with the password (SHA-1 or
//! SHA-2), and the bags may be encrypted with PBES2 (PBKDF2 with AES-CBC, OpenSSL 3's
//! default) or the legacy PKCS#12 schemes (3DES, RC2-40, as `openssl pkcs12 -legacy` makes
//! them). As OpenSSL does, no password (or an empty one) tries both encodings of "empty".
//!
//! One of the TLS layer's two users of `unsafe` (with `streaming.rs`): a handful of C calls,
//! each owned result freed by a guard.

use std::ffi::{CString, c_char, c_int};
use std::ptr::{null, null_mut};

use aws_lc_sys as ffi;

use super::error::CredentialError;

/// The key (PKCS#8 DER) and the certificates (DER, the key's own first, then the others in
/// the blob's order) of a PKCS#12 blob.
pub struct Pkcs12Contents {
    /// The private key, PKCS#8 DER.
    pub key: Vec<u8>,
    /// The certificate chain, leaf first.
    pub certs: Vec<Vec<u8>>,
}

/// The last AWS-LC error on this thread, as text, for `what`.
fn error(what: &str) -> CredentialError {
    // SAFETY: reads (and pops) this thread's error queue; no pointer is involved.
    let code = unsafe { ffi::ERR_get_error() };
    let mut buf = [0u8; 256];
    if code != 0 {
        // SAFETY: `buf` is writable for its length; the function NUL-terminates within it.
        unsafe { ffi::ERR_error_string_n(code, buf.as_mut_ptr().cast::<c_char>(), buf.len()) };
    }
    let text = std::ffi::CStr::from_bytes_until_nul(&buf)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    // SAFETY: clears this thread's error queue.
    unsafe { ffi::ERR_clear_error() };
    if text.is_empty() {
        CredentialError::BadPkcs12(what.to_owned())
    } else {
        CredentialError::BadPkcs12(format!("{what}: {text}"))
    }
}

/// Owns the outputs of `PKCS12_parse` and frees them on drop.
struct Parsed {
    key: *mut ffi::EVP_PKEY,
    cert: *mut ffi::X509,
    others: *mut ffi::stack_st_X509,
}

impl Drop for Parsed {
    fn drop(&mut self) {
        // SAFETY: each pointer is NULL or owned by this value (handed over by PKCS12_parse);
        // the stack's elements are X509 objects it owns.
        unsafe {
            ffi::EVP_PKEY_free(self.key);
            ffi::X509_free(self.cert);
            if !self.others.is_null() {
                let stack = self.others.cast::<ffi::OPENSSL_STACK>();
                for i in 0..ffi::OPENSSL_sk_num(stack) {
                    ffi::X509_free(ffi::OPENSSL_sk_value(stack, i).cast::<ffi::X509>());
                }
                ffi::OPENSSL_sk_free(stack);
            }
        }
    }
}

/// Runs an OpenSSL-style `i2d` function: once for the length, once into the buffer.
fn to_der(what: &str, i2d: impl Fn(*mut *mut u8) -> c_int) -> Result<Vec<u8>, CredentialError> {
    let len = i2d(null_mut());
    let Ok(len) = usize::try_from(len) else {
        return Err(error(what));
    };
    let mut der = vec![0u8; len];
    let mut at = der.as_mut_ptr();
    if usize::try_from(i2d(&mut at)).ok() != Some(len) {
        return Err(error(what));
    }
    Ok(der)
}

fn x509_der(cert: *mut ffi::X509) -> Result<Vec<u8>, CredentialError> {
    // SAFETY: `cert` is a valid X509; `out` is NULL or points at a buffer of the length the
    // NULL call returned.
    to_der("certificate", |out| unsafe { ffi::i2d_X509(cert, out) })
}

/// A `PKCS12` object, freed on drop.
struct Pfx(*mut ffi::PKCS12);

impl Drop for Pfx {
    fn drop(&mut self) {
        // SAFETY: the pointer came from d2i_PKCS12 and is freed once.
        unsafe { ffi::PKCS12_free(self.0) };
    }
}

impl Pfx {
    /// `PKCS12_parse` with `password` (NULL or a C string); the packed error on failure.
    fn parse(&self, password: *const c_char) -> Result<Parsed, u32> {
        let mut parsed = Parsed {
            key: null_mut(),
            cert: null_mut(),
            others: null_mut(),
        };
        // SAFETY: clears this thread's error queue.
        unsafe { ffi::ERR_clear_error() };
        // SAFETY: `self.0` is valid; the password is NULL or a C string that outlives the
        // call; the out-pointers are writable and their results owned by `parsed`.
        let ok = unsafe {
            ffi::PKCS12_parse(
                self.0,
                password,
                &mut parsed.key,
                &mut parsed.cert,
                &mut parsed.others,
            )
        };
        if ok == 1 {
            return Ok(parsed);
        }
        // SAFETY: reads this thread's error queue.
        Err(unsafe { ffi::ERR_peek_error() })
    }

    /// Gives a blob written without a MAC (`openssl pkcs12 -nomac`) one, made with
    /// `password`, so that `PKCS12_parse` (which requires a MAC) reads it; the password
    /// still has to decrypt the bags.
    fn add_mac(&mut self, password: *const c_char) -> bool {
        // SAFETY: `self.0` is valid; the password is NULL or a C string (length -1: strlen);
        // a NULL salt is generated; a NULL digest is SHA-1.
        unsafe { ffi::PKCS12_set_mac(self.0, password, -1, null_mut(), 0, 1, null()) == 1 }
    }
}

/// Reads `blob` with `password` (`None`: no password).
pub fn parse(blob: &[u8], password: Option<&str>) -> Result<Pkcs12Contents, CredentialError> {
    let password = password
        .map(CString::new)
        .transpose()
        .map_err(|_| CredentialError::BadPkcs12("the password holds a NUL byte".into()))?;
    let password_ptr = password.as_ref().map_or(null(), |p| p.as_ptr());
    // SAFETY: clears this thread's error queue.
    unsafe { ffi::ERR_clear_error() };
    let mut input = blob.as_ptr();
    // SAFETY: `input` points at `blob.len()` readable bytes; d2i_PKCS12 copies them.
    let p12 = unsafe { ffi::d2i_PKCS12(null_mut(), &mut input, blob.len()) };
    if p12.is_null() {
        return Err(error("not a PKCS#12 blob"));
    }
    let mut pfx = Pfx(p12);
    let parsed = match pfx.parse(password_ptr) {
        Err(code) if ffi::ERR_GET_REASON(code) == ffi::PKCS8_R_MISSING_MAC => {
            // The empty password has two encodings (as in `PKCS12_parse` itself): try both.
            let empty = password.as_ref().is_none_or(|p| p.is_empty());
            let candidates: &[*const c_char] = if empty {
                &[null(), c"".as_ptr()]
            } else {
                &[password_ptr]
            };
            let mut result = Err(0);
            for &candidate in candidates {
                if !pfx.add_mac(candidate) {
                    break;
                }
                result = pfx.parse(candidate);
                if result.is_ok() {
                    break;
                }
            }
            result
        }
        other => other,
    };
    let Ok(parsed) = parsed else {
        return Err(error("unreadable PKCS#12 blob"));
    };
    if parsed.key.is_null() || parsed.cert.is_null() {
        return Err(CredentialError::Pkcs12WithoutKey);
    }
    // SAFETY: `parsed.key` is a valid EVP_PKEY; the result is freed below.
    let info = unsafe { ffi::EVP_PKEY2PKCS8(parsed.key) };
    if info.is_null() {
        return Err(error("private key"));
    }
    // SAFETY: `info` is valid until freed right after.
    let key = to_der("private key", |out| unsafe {
        ffi::i2d_PKCS8_PRIV_KEY_INFO(info, out)
    });
    // SAFETY: `info` came from EVP_PKEY2PKCS8 and is freed once.
    unsafe { ffi::PKCS8_PRIV_KEY_INFO_free(info) };
    let mut certs = vec![x509_der(parsed.cert)?];
    if !parsed.others.is_null() {
        let stack = parsed.others.cast::<ffi::OPENSSL_STACK>();
        // SAFETY: `stack` is a valid stack of X509 owned by `parsed`.
        for i in 0..unsafe { ffi::OPENSSL_sk_num(stack) } {
            // SAFETY: `i` is below the stack's length.
            let cert = unsafe { ffi::OPENSSL_sk_value(stack, i) }.cast::<ffi::X509>();
            certs.push(x509_der(cert)?);
        }
    }
    Ok(Pkcs12Contents { key: key?, certs })
}
