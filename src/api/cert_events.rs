//! The application's say over the peer's certificate: PEER_CERTIFICATE_RECEIVED and
//! ConnectionCertificateValidationComplete.
//!
//! With INDICATE_CERTIFICATE_RECEIVED or DEFER_CERTIFICATE_VALIDATION in the credential,
//! PEER_CERTIFICATE_RECEIVED is raised once the TLS handshake is done, before CONNECTED: on a
//! client for the server's certificate, on a server for a client certificate (when the client
//! sent one, as REQUIRE_CLIENT_AUTHENTICATION asks):
//! - DeferredStatus is the outcome of validating the chain. A client with DEFER accepted the
//!   certificate in the handshake and validates it now; otherwise the handshake already
//!   validated it, so the status is SUCCESS (a server validates client certificates in the
//!   handshake even with DEFER). DeferredErrorFlags is 0, as MsQuic's OpenSSL build reports.
//! - With USE_PORTABLE_CERTIFICATES, Certificate points to a QUIC_BUFFER holding the leaf in
//!   DER. Chain is NULL: we do not build the PKCS#7 blob MsQuic hands out. Without the flag
//!   both are NULL (there are no OpenSSL `X509` objects to give).
//! - The application accepts by returning a success status, or rejects with a failure: the
//!   connection then closes with the bad_certificate alert (QUIC_STATUS_BAD_CERTIFICATE). It
//!   may return PENDING and decide later with ConnectionCertificateValidationComplete;
//!   CONNECTED waits until then.

use std::rc::Rc;
use std::time::Instant;

use crate::api::abi::*;
use crate::api::boundary;
use crate::api::conn_worker::ConnSlot;
use crate::api::connection::{self, on_slot};
use crate::proto::{TransportError, TransportErrorCode};
use crate::runtime::conn::Conn;
use crate::runtime::tls::TlsClientConfig;
use crate::runtime::worker::WorkerCx;

const INDICATE: u32 = QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED.0;
const DEFER: u32 = QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION.0;
const PORTABLE: u32 = QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES.0;
/// The credential flags a configuration keeps for this module.
pub(crate) const CREDENTIAL_FLAGS: u32 = INDICATE | DEFER | PORTABLE;
/// TLS alert `bad_certificate`.
const BAD_CERTIFICATE: u8 = 42;

/// What a connection needs to raise the event.
pub(crate) struct CertCheck {
    flags: u32,
    /// A client's TLS configuration (for deferred validation); `None` on a server.
    client: Option<TlsClientConfig>,
    server_name: String,
}

impl CertCheck {
    /// The check for a connection started with `flags` (the configuration's), or `None`
    /// when the application asked for no event.
    pub(crate) fn new(
        flags: u32,
        client: Option<TlsClientConfig>,
        server_name: String,
    ) -> Option<Self> {
        (flags & (INDICATE | DEFER) != 0).then_some(Self {
            flags,
            client,
            server_name,
        })
    }
}

/// MsQuic's status for a certificate that failed validation.
fn status_of(e: &crate::runtime::tls::TlsError) -> QUIC_STATUS {
    use crate::runtime::tls::CertStatus as C;
    match e.cert_status() {
        Some(C::Expired) => QUIC_STATUS_CERT_EXPIRED,
        Some(C::UntrustedRoot) => QUIC_STATUS_CERT_UNTRUSTED_ROOT,
        Some(C::NoCert) => QUIC_STATUS_CERT_NO_CERT,
        Some(C::Revoked) => QUIC_STATUS_TLS_ALERT(44),
        Some(C::BadCertificate) | None => QUIC_STATUS_BAD_CERTIFICATE,
    }
}

/// The TLS handshake is done: raises PEER_CERTIFICATE_RECEIVED if the application asked.
pub(crate) fn on_handshake_complete(slot: &Rc<ConnSlot>, cx: &WorkerCx, conn: &Rc<Conn>) {
    let Some(check) = slot.handle.obj.cert_check.lock().take() else {
        return;
    };
    let chain = conn
        .tls(|s| s.and_then(|s| s.peer_certificates()).map(<[_]>::to_vec))
        .unwrap_or_default();
    if chain.is_empty() && check.client.is_none() {
        return; // A client that sent no certificate: nothing to tell.
    }
    let deferred = match &check.client {
        Some(client) if check.flags & DEFER != 0 => client
            .deferred_check(&chain, &check.server_name)
            .map_or(QUIC_STATUS_SUCCESS, |e| status_of(&e)),
        _ => QUIC_STATUS_SUCCESS,
    };
    let leaf = chain
        .first()
        .map(|c| c.as_ref().to_vec())
        .unwrap_or_default();
    let leaf_buffer = QUIC_BUFFER {
        Length: leaf.len() as u32,
        Buffer: leaf.as_ptr().cast_mut(),
    };
    let portable = check.flags & PORTABLE != 0 && !leaf.is_empty();
    let mut event = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            PEER_CERTIFICATE_RECEIVED: QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED_PAYLOAD {
                Certificate: if portable {
                    (&leaf_buffer as *const QUIC_BUFFER).cast_mut().cast()
                } else {
                    core::ptr::null_mut()
                },
                DeferredErrorFlags: 0,
                DeferredStatus: deferred,
                Chain: core::ptr::null_mut(),
            },
        },
    };
    // CONNECTED waits for the answer (it may be queued behind this event already).
    slot.cert_pending.set(true);
    let status = slot.emit(&mut event);
    if status == QUIC_STATUS_PENDING {
        return;
    }
    if QUIC_FAILED(status) {
        reject(slot, cx, BAD_CERTIFICATE);
    } else {
        slot.cert_pending.set(false);
        slot.resume_connected(cx);
    }
}

/// Closes the connection with TLS alert `alert` (CONNECTION_CLOSE with the crypto error);
/// CONNECTED never comes (`cert_pending` stays set).
fn reject(slot: &Rc<ConnSlot>, cx: &WorkerCx, alert: u8) {
    let error = TransportError {
        code: TransportErrorCode(0x100 + u64::from(alert)),
        frame_type: None,
        reason: "certificate rejected",
    };
    slot.with_engine(cx, |e| e.close_with_error(Instant::now(), error));
}

/// `ConnectionCertificateValidationComplete`: the application's answer to a
/// PEER_CERTIFICATE_RECEIVED it returned PENDING for (either side).
pub(crate) unsafe extern "C" fn validation_complete(
    h: HQUIC,
    result: BOOLEAN,
    alert: QUIC_TLS_ALERT_CODES,
) -> QUIC_STATUS {
    boundary::status(|| {
        // SAFETY: `h` is an application handle; `of_handle` validates it (a stream stands for
        // its connection, as in MsQuic).
        let Some(conn) = (unsafe { connection::of_handle(h) }) else {
            return QUIC_STATUS_INVALID_PARAMETER;
        };
        let alert = alert.0;
        if result == 0 && alert > u32::from(u8::MAX) {
            return QUIC_STATUS_INVALID_PARAMETER;
        }
        on_slot(&conn, false, move |cx, slot| {
            if !slot.cert_pending.get() || slot.is_shutting_down() {
                return;
            }
            if result != 0 {
                slot.cert_pending.set(false);
                slot.resume_connected(cx);
            } else {
                let code = u8::try_from(alert).unwrap_or(BAD_CERTIFICATE);
                reject(slot, cx, code);
            }
        });
        QUIC_STATUS_PENDING
    })
}
