//! msquic-qmux: a binary drop-in for Microsoft's `libmsquic.so.2` (MsQuic 2.7 API) that carries
//! the whole API over QMux (draft-ietf-quic-qmux-02): QUIC v1 stream frames in length-prefixed
//! records over TLS 1.3 on TCP.
//!
//! Layers, with dependencies flowing one way:
//! - [`api`]: the C ABI (types, handles, the function table, the panic boundary).
//! - [`runtime`]: worker threads, sockets, TLS, timers; knows nothing of C types.
//! - [`proto`]: the QMux protocol as a sans-IO state machine.

pub mod api;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod proto;
pub mod runtime;
