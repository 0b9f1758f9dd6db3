//! The transport new registrations start with: read from the environment by each
//! `MsQuicOpenVersion` (`door::library`), logged once for the first registration opened since.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::api::registration::params::{TRANSPORT_ENV, transport_from_env, transport_name};

/// The transport new registrations start with, read from the environment at each open.
static DEFAULT_TRANSPORT: AtomicU32 = AtomicU32::new(0);

/// Whether MSQUIC_QMUX_TRANSPORT chose [`DEFAULT_TRANSPORT`] (else it is the default).
static TRANSPORT_FROM_ENV: AtomicBool = AtomicBool::new(false);

/// Whether the transport line was logged since the library was opened.
static TRANSPORT_LOGGED: AtomicBool = AtomicBool::new(false);

/// `MsQuicOpenVersion`: reads the default transport from the environment.
pub(crate) fn read_env() {
    let (transport, from_env) = transport_from_env();
    DEFAULT_TRANSPORT.store(transport, Ordering::Relaxed);
    TRANSPORT_FROM_ENV.store(from_env, Ordering::Relaxed);
}

/// The last `MsQuicClose`: the next registration opened logs the transport again.
pub(crate) fn reset_logged() {
    TRANSPORT_LOGGED.store(false, Ordering::Relaxed);
}

/// The transport a new registration starts with (decisions.md §1).
pub(crate) fn default_transport() -> u32 {
    DEFAULT_TRANSPORT.load(Ordering::Relaxed)
}

/// Logs the default transport, and where it came from, for the first registration opened
/// (`log_id`) since the library was opened.
pub(crate) fn log_transport_once(log_id: usize) {
    let transport = default_transport();
    if !TRANSPORT_LOGGED.swap(true, Ordering::Relaxed) {
        let source = if TRANSPORT_FROM_ENV.load(Ordering::Relaxed) {
            format!("from {TRANSPORT_ENV}")
        } else {
            format!("the default; {TRANSPORT_ENV} not set")
        };
        crate::runtime::log::qlog!(
            Info,
            log_id,
            "transport: {} ({source})",
            transport_name(transport)
        );
    }
}
