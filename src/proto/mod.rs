//! The QMux protocol as a sans-IO state machine: bytes in, bytes and events out.
#![forbid(unsafe_code)]
