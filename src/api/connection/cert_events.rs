//! The application's say over the peer's certificate: PEER_CERTIFICATE_RECEIVED and
//! ConnectionCertificateValidationComplete.
//!
//! With INDICATE_CERTIFICATE_RECEIVED (DEFER_CERTIFICATE_VALIDATION needs it),
//! PEER_CERTIFICATE_RECEIVED is raised once the TLS handshake is done, before CONNECTED: on a
//! client for the server's certificate, on a server for the client's certificate or its
//! absence (as MsQuic's OpenSSL build: a server that did not ask, or was not sent one, is
//! told with no certificate):
//! - DeferredStatus is the outcome of validating the chain. With DEFER the handshake
//!   accepted any certificate (a server also none) and the chain is validated now;
//!   otherwise the handshake already validated it (or NO_CERTIFICATE_VALIDATION skips it),
//!   so the status is SUCCESS. A server told of no certificate gets CERT_NO_CERT when it
//!   validates client certificates (REQUIRE_CLIENT_AUTHENTICATION or DEFER, without
//!   NO_CERTIFICATE_VALIDATION), else SUCCESS. DeferredErrorFlags is 0, as MsQuic's OpenSSL
//!   build reports.
//! - With USE_PORTABLE_CERTIFICATES, Certificate points to a QUIC_BUFFER holding the leaf in
//!   DER and Chain to one holding the chain OpenSSL builds (leaf first, up to the trust
//!   anchor when found) as a PKCS#7 SignedData. Without the flag, or without a certificate,
//!   both are NULL (there are no OpenSSL objects to give).
//! - The application accepts by returning a success status, or rejects with a failure: the
//!   connection then closes with the bad_certificate alert (QUIC_STATUS_BAD_CERTIFICATE), or
//!   certificate_required when no certificate came. It may return PENDING and decide later
//!   with ConnectionCertificateValidationComplete; CONNECTED waits until then.

use std::rc::Rc;
use std::time::Instant;

use crate::api::abi::*;
use crate::api::connection::worker::ConnSlot;
use crate::api::connection::{self, on_slot};
use crate::api::door::boundary;
use crate::api::door::status_names::StatusName;
use crate::proto::{TransportError, TransportErrorCode};
use crate::runtime::conn::Conn;
use crate::runtime::tls::{CertStatus, TlsClientConfig, TlsServerConfig};
use crate::runtime::worker::WorkerCx;

const INDICATE: u32 = QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED.0;
const DEFER: u32 = QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION.0;
const PORTABLE: u32 = QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES.0;
const NO_VALIDATION: u32 = QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.0;
const REQUIRE_CLIENT: u32 = QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION.0;
/// TLS alert `bad_certificate`.
const BAD_CERTIFICATE: u8 = 42;
/// TLS alert `certificate_required`.
const CERTIFICATE_REQUIRED: u8 = 116;

/// Whose certificate is checked, with the TLS configuration that checks it.
enum Peer {
    /// A client checks the server's certificate for this name.
    Server(TlsClientConfig, String),
    /// A server checks the client's certificate.
    Client(TlsServerConfig),
}

/// What a connection needs to raise the event.
pub(crate) struct CertCheck {
    flags: u32,
    peer: Peer,
}

impl CertCheck {
    /// A client's check, for a connection started with `flags` (the configuration's) to
    /// `server_name`, or `None` when the application asked for no event.
    pub(crate) fn client(flags: u32, tls: TlsClientConfig, server_name: String) -> Option<Self> {
        Self::new(flags, Peer::Server(tls, server_name))
    }

    /// A server's check, for a connection accepted with `flags` (the configuration's), or
    /// `None` when the application asked for no event.
    pub(crate) fn server(flags: u32, tls: TlsServerConfig) -> Option<Self> {
        Self::new(flags, Peer::Client(tls))
    }

    fn new(flags: u32, peer: Peer) -> Option<Self> {
        (flags & (INDICATE | DEFER) != 0).then_some(Self { flags, peer })
    }
}

/// MsQuic's DeferredStatus for a certificate that failed validation.
fn status_of(class: CertStatus) -> QUIC_STATUS {
    match class {
        CertStatus::Expired => QUIC_STATUS_CERT_EXPIRED,
        CertStatus::UntrustedRoot => QUIC_STATUS_CERT_UNTRUSTED_ROOT,
        CertStatus::NoCert => QUIC_STATUS_CERT_NO_CERT,
        CertStatus::Revoked => QUIC_STATUS_TLS_ALERT(44),
        CertStatus::BadCertificate => QUIC_STATUS_BAD_CERTIFICATE,
        _ => QUIC_STATUS_TLS_ERROR,
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
    let validates = check.flags & NO_VALIDATION == 0;
    let deferred = match &check.peer {
        Peer::Server(client, name) if check.flags & DEFER != 0 => client
            .deferred_check(&chain, name)
            .map_or(QUIC_STATUS_SUCCESS, status_of),
        Peer::Client(_) if chain.is_empty() => {
            if validates && check.flags & (REQUIRE_CLIENT | DEFER) != 0 {
                QUIC_STATUS_CERT_NO_CERT
            } else {
                QUIC_STATUS_SUCCESS
            }
        }
        Peer::Client(server) => server
            .deferred_check(&chain)
            .map_or(QUIC_STATUS_SUCCESS, status_of),
        Peer::Server(..) => QUIC_STATUS_SUCCESS,
    };
    let portable = check.flags & PORTABLE != 0 && !chain.is_empty();
    let leaf = chain
        .first()
        .map(|c| c.as_ref().to_vec())
        .unwrap_or_default();
    let pkcs7 = if portable {
        match &check.peer {
            Peer::Server(client, _) => client.portable_chain(&chain),
            Peer::Client(server) => server.portable_chain(&chain),
        }
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let leaf_buffer = QUIC_BUFFER {
        Length: leaf.len() as u32,
        Buffer: leaf.as_ptr().cast_mut(),
    };
    let chain_buffer = QUIC_BUFFER {
        Length: pkcs7.len() as u32,
        Buffer: pkcs7.as_ptr().cast_mut(),
    };
    let (certificate, chain_ptr) = if portable {
        (
            (&leaf_buffer as *const QUIC_BUFFER).cast_mut().cast(),
            (&chain_buffer as *const QUIC_BUFFER).cast_mut().cast(),
        )
    } else {
        (core::ptr::null_mut(), core::ptr::null_mut())
    };
    let mut event = QUIC_CONNECTION_EVENT {
        Type: QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED,
        payload: QUIC_CONNECTION_EVENT_PAYLOAD {
            PEER_CERTIFICATE_RECEIVED: QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED_PAYLOAD {
                Certificate: certificate,
                DeferredErrorFlags: 0,
                DeferredStatus: deferred,
                Chain: chain_ptr,
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
        let alert = if chain.is_empty() {
            CERTIFICATE_REQUIRED
        } else {
            BAD_CERTIFICATE
        };
        let why = format!(
            "the application refused the peer's certificate: PEER_CERTIFICATE_RECEIVED \
             returned {} (the library's own check gave {})",
            StatusName(status),
            StatusName(deferred)
        );
        reject(slot, cx, alert, why);
    } else {
        slot.cert_pending.set(false);
        slot.resume_connected(cx);
    }
}

/// Closes the connection with TLS alert `alert` (CONNECTION_CLOSE with the crypto error);
/// CONNECTED never comes (`cert_pending` stays set).
fn reject(slot: &Rc<ConnSlot>, cx: &WorkerCx, alert: u8, why: String) {
    slot.note_why(format!(
        "{why}; TLS alert {alert} ({}) sent",
        crate::runtime::tls::alert_name(alert)
    ));
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
    boundary::call("ConnectionCertificateValidationComplete", || {
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
                let why = format!(
                    "the application refused the peer's certificate: \
                     ConnectionCertificateValidationComplete(FALSE, {alert})"
                );
                reject(slot, cx, code, why);
            }
        });
        QUIC_STATUS_PENDING
    })
}
