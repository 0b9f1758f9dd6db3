//! Worker threads, sockets, TLS, timers, the operation queue and callback delivery. Knows
//! nothing of C types. Only `sys` (a few libc calls), `tls::pkcs12` (AWS-LC's PKCS#12
//! reader), `tls::streaming` (AWS-LC's AES-GCM, sealing records as they are written) and
//! `external` (one `Send` promise for the state of a worker the application drives) may use
//! `unsafe`.
#![deny(unsafe_code)]

pub mod conn;
pub mod counters;
#[allow(unsafe_code)]
mod external;
pub mod listener;
pub mod log;
pub mod resolver;
#[allow(unsafe_code)]
mod sys;
pub mod timers;
pub mod tls;
pub mod worker;
